"""Cold speech: a render that speaks its narration against one that finds it cached.

Speech runs on a pool beside the encoder, so a cold render (nothing cached: every sentence
spoken, every segment encoded) should cost little more than a render whose narration is
cached (every segment encoded). The issue's target: at most 1.3x in English (Piper); the
Chinese figure (Kokoro, about real time on one core) is reported next to it. Each language
renders the reference lesson (bench/reference_lesson.py, bench/reference_lesson_zh.py) in
measured subprocesses (bench/lectern_runner.py), cold and cached interleaved per round,
each from an empty segment cache; the cached runs reuse the clips the cold run of the same
round spoke. Part of `make bench`; alone: `python -m bench.cold_speech --rounds 1`.
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import measure  # noqa: E402
from bench.reference_lesson import reference_storyboard  # noqa: E402
from bench.reference_lesson_zh import reference_storyboard_zh  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.3
ENGINES = {"en": "piper", "zh": "kokoro"}


def measure_language(
    language: str,
    work_dir: Path,
    *,
    rounds: int,
    size_px: tuple[int, int],
    fps: int,
    device: str,
    scene_count: int = 12,
    log=print,
) -> dict:
    """Cold and speech-cached renders of one language's reference lesson; medians and ratio."""
    lesson_dir = work_dir / language
    lesson_dir.mkdir(parents=True, exist_ok=True)
    make = reference_storyboard if language == "en" else reference_storyboard_zh
    storyboard = make(work_dir / "images", scene_count=scene_count)
    storyboard_path = lesson_dir / "storyboard.pickle"
    storyboard_path.write_bytes(pickle.dumps(storyboard))
    runs: dict[str, list[dict]] = {"cold": [], "cached": []}
    for round_index in range(rounds):
        speech_dir = lesson_dir / f"speech-{round_index + 1}"
        shutil.rmtree(speech_dir, ignore_errors=True)
        (speech_dir / "audio").mkdir(parents=True)
        for kind in ("cold", "cached"):
            label = f"{language}-{kind}-round{round_index + 1}"
            record = _render(storyboard_path, lesson_dir, label, speech_dir, size_px, fps, device)
            runs[kind].append(record)
            log(
                f"cold speech {label}: {record['wall_s']:.1f} s wall, {record['cpu_s']:.1f} s CPU"
                f" ({record['video_duration_s']:.1f} s video, stages {record['stage_s']})"
            )
    cold_s = _median(runs["cold"], "wall_s")
    cached_s = _median(runs["cached"], "wall_s")
    frames = {run["frame_count"] for kind in runs.values() for run in kind}
    return {
        "engine": ENGINES[language],
        "engines_used": sorted({e for kind in runs.values() for r in kind for e in r["engines"]}),
        "scenes": len(storyboard.scenes),
        "video_duration_s": runs["cold"][0]["video_duration_s"],
        "same_video_length": len(frames) == 1,
        "cold_wall_s": cold_s,
        "cached_wall_s": cached_s,
        "ratio": round(cold_s / cached_s, 3),
        "cold_cpu_s": _median(runs["cold"], "cpu_s"),
        "cached_cpu_s": _median(runs["cached"], "cpu_s"),
        "cpu_ratio": round(_median(runs["cold"], "cpu_s") / _median(runs["cached"], "cpu_s"), 3),
        "runs": runs,
    }


def _render(storyboard_path, lesson_dir, label, speech_dir, size_px, fps, device) -> dict:
    out_path = lesson_dir / "runs" / f"{label}.mp4"
    out_path.parent.mkdir(exist_ok=True)
    cache_dir = lesson_dir / "caches" / label  # a fresh segment cache: every scene encoded
    shutil.rmtree(cache_dir, ignore_errors=True)
    cache_dir.mkdir(parents=True)
    argv = [
        sys.executable,
        "-m",
        "bench.lectern_runner",
        str(storyboard_path),
        str(out_path),
        f"--cache-dir={cache_dir}",
        f"--speech-cache-dir={speech_dir}",
        f"--width={size_px[0]}",
        f"--height={size_px[1]}",
        f"--fps={fps}",
        f"--device={device}",
    ]
    measured = measure.run_measured(argv, log_path=out_path.with_suffix(".log"), cwd=REPO_ROOT)
    video = measure.probe_video(out_path)
    summary = json.loads(out_path.with_suffix(".bench.json").read_text("utf-8"))
    manifest = json.loads(out_path.with_suffix(".json").read_text("utf-8"))
    shutil.rmtree(cache_dir, ignore_errors=True)
    return {
        "label": label,
        **asdict(measured),
        "video_duration_s": video.video_duration_s,
        "frame_count": video.frame_count,
        "stage_s": summary["statistics"].get("stage_s"),
        "engines": sorted({s["engine"] for sc in manifest["scenes"] for s in sc["sentences"]}),
        "warnings": summary["warnings"],
    }


def _median(runs: list[dict], field: str) -> float:
    return round(statistics.median(run[field] for run in runs), 2)


def measure_cold_speech(
    work_dir: Path,
    *,
    rounds: int,
    size_px: tuple[int, int],
    fps: int,
    device: str,
    scene_count: int = 12,
    languages=("en", "zh"),
    log=print,
) -> dict:
    """The section's results: per language, cold and cached medians and their ratio."""
    found: dict[str, object] = {
        "rounds": rounds,
        "goal": f"English cold render <= {TARGET_RATIO}x the speech-cached render",
    }
    for language in languages:
        found[language] = measure_language(
            language,
            work_dir,
            rounds=rounds,
            size_px=size_px,
            fps=fps,
            device=device,
            scene_count=scene_count,
            log=log,
        )
    if "en" in found:
        found["met"] = found["en"]["ratio"] <= TARGET_RATIO
    return found


def summary_lines(found: dict) -> list[str]:
    """The section as printed lines, for the benchmark's table."""
    lines = [f"cold speech vs speech cached ({found['goal']}):"]
    for language in ("en", "zh"):
        if language in found:
            r = found[language]
            lines.append(
                f"  {language} ({r['engine']}): cold {r['cold_wall_s']:.1f} s, cached "
                f"{r['cached_wall_s']:.1f} s = {r['ratio']:.2f}x wall, {r['cpu_ratio']:.2f}x CPU "
                f"({r['video_duration_s']:.0f} s video)"
            )
    return lines


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--scenes", type=int, default=12, help="scenes of the lesson (<= 12)")
    parser.add_argument("--languages", default="en,zh")
    parser.add_argument("--out", type=Path, help="write the results JSON here")
    args = parser.parse_args(argv)
    width, height = (int(part) for part in args.size.lower().split("x"))
    work_dir = Path(tempfile.mkdtemp(prefix="lectern-cold-speech-"))
    started = time.perf_counter()
    try:
        found = measure_cold_speech(
            work_dir,
            rounds=args.rounds,
            size_px=(width, height),
            fps=args.fps,
            device=args.device,
            scene_count=args.scenes,
            languages=tuple(args.languages.split(",")),
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    found["bench_wall_s"] = round(time.perf_counter() - started, 1)
    print("\n".join(summary_lines(found)))
    if args.out:
        args.out.write_text(json.dumps(found, indent=1) + "\n", "utf-8")
    return found


if __name__ == "__main__":
    main()
