"""Frames per second of each compositor backend on one slide: moving (Ken Burns) and held.

Counts compositing only (no encoding): a 6 s scene with two captions and the opening
label, after one warm-up run. Run from the repository root:
    python -m bench.compositor_fps [--size 1280x720] [--backends pillow torch-cpu cuda]
"""

from __future__ import annotations

import argparse
import time

from synthesis.frames.compositor import CaptionCue, KenBurnsMove, ScenePlan, get_compositor
from synthesis.frames.slides import render_visual
from synthesis.storyboard import Visual


def _plan(size_px: tuple[int, int], motion: KenBurnsMove | None) -> ScenePlan:
    visual = Visual(
        "text",
        title="What is version control?",
        bullets=("Every commit is a snapshot of your project.", "线性回归基于几个简单的假设。"),
    )
    return ScenePlan(
        base=render_visual(visual, size_px=size_px, language="en"),
        duration_s=6.0,
        fps=30,
        size_px=size_px,
        motion=motion,
        captions=(
            CaptionCue(0.0, 3.0, "Every commit is a snapshot of your project."),
            CaptionCue(3.0, 6.0, "You can always go back to it later."),
        ),
        language="en",
        opening_label=True,
    )


def measure(backend: str, plan: ScenePlan, batch_size: int, repeats: int = 2) -> float:
    """Best frames per second over repeats, after a warm-up."""
    compositor = get_compositor(backend)
    best = 0.0
    for attempt in range(repeats + 1):
        started = time.perf_counter()
        frames = sum(len(batch) for batch in compositor.scene_frames(plan, batch_size=batch_size))
        elapsed = time.perf_counter() - started
        if attempt:
            best = max(best, frames / elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--backends", nargs="+", default=["cpu", "torch-cpu"])
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    for motion_name, motion in (("moving", KenBurnsMove()), ("held", None)):
        plan = _plan((width, height), motion)
        for backend in args.backends:
            fps = measure(backend, plan, args.batch_size)
            print(f"{args.size} {motion_name:6} {backend:10} {fps:8.1f} fps")


if __name__ == "__main__":
    main()
