"""Renderer (1): Lectern's `synthesis.render.render`, in a subprocess the benchmark can measure.

The segment cache is whatever --cache-dir holds (the benchmark passes a fresh folder for a
cold render). The narration cache is shared: <cache-dir>/audio links to the clips the
benchmark spoke beforehand, so speech costs a cache lookup, as on any re-render.

Two benchmark variants are real render settings, so the comparison is made on equal terms:
--motion-everywhere  RenderSettings(motion="everywhere"): Ken Burns on every scene (Lectern
                     moves only image scenes and holds slides still, tune stillimage).
--lossless           RenderSettings(quality="lossless"): x264 at qp 0 (ultrafast: lossless
                     output does not depend on the preset), the reference for SSIM.
Run from the repository root: python -m bench.lectern_runner STORYBOARD.pickle OUT.mp4 ...
"""

from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

from synthesis import render
from synthesis.storyboard import RenderSettings


def bench_settings(args: argparse.Namespace) -> RenderSettings:
    """The render settings of the benchmark's Lectern runs (the variants runner's too)."""
    return RenderSettings(
        width_px=args.width,
        height_px=args.height,
        fps=args.fps,
        device=args.device,
        quality="lossless" if getattr(args, "lossless", False) else "standard",
        motion="everywhere" if getattr(args, "motion_everywhere", False) else "images",
    )


def main() -> None:
    """Command-line entry for the benchmark's subprocess."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("storyboard", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--speech-cache-dir", type=Path, required=True)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--motion-everywhere", action="store_true")
    parser.add_argument("--lossless", action="store_true")
    args = parser.parse_args()

    args.cache_dir.mkdir(parents=True, exist_ok=True)
    shared_audio = args.speech_cache_dir.resolve() / "audio"
    if not (args.cache_dir / "audio").exists():
        (args.cache_dir / "audio").symlink_to(shared_audio, target_is_directory=True)
    storyboard = pickle.loads(args.storyboard.read_bytes())
    settings = bench_settings(args)
    result = render.render(storyboard, args.out, settings=settings, cache_dir=args.cache_dir)
    summary = {
        "duration_s": result.duration_s,
        "warnings": list(result.warnings),
        "statistics": result.manifest_data.get("statistics", {}),
    }
    args.out.with_suffix(".bench.json").write_text(json.dumps(summary, indent=1), "utf-8")


if __name__ == "__main__":
    main()
