"""Render-speed benchmark: Lectern against a naive moviepy renderer and an ffmpeg filtergraph.

All renderers get the same storyboard, the same narration clips and timings, and the same
slide pictures. They run interleaved, in rounds, each in its own measured subprocess; the
report gives medians, ratios and the issue's targets, and results go to
bench/results/latest.json. Run with `make bench`, or `python bench/run.py --quick` for a
short smoke. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (make bench): put the repository root on the path.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import environment, first_frame, intelligibility, measure, report  # noqa: E402
from bench.cold_speech import measure_cold_speech, summary_lines  # noqa: E402
from bench.knowledge_tracing import measure_knowledge_tracing  # noqa: E402
from bench.knowledge_tracing import summary_lines as knowledge_tracing_lines  # noqa: E402
from bench.prepare import PreparedLesson, prepare_lesson  # noqa: E402
from bench.reference_lesson import EditKind, edited_scene_index, reference_storyboard  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "bench" / "results" / "latest.json"
RENDERERS = ("lectern", "lectern-motion", "ffmpeg", "moviepy")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; --quick shrinks everything for a smoke run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (default 3)")
    parser.add_argument(
        "--moviepy-rounds",
        type=int,
        default=1,
        help="rounds for the slow moviepy peer, at most --rounds (default 1)",
    )
    parser.add_argument("--scenes", type=int, default=12, help="scenes in the main lesson")
    parser.add_argument(
        "--memory-scenes",
        default="3,24",
        help="two scene counts compared for Lectern's memory (default 3,24)",
    )
    parser.add_argument("--size", default="1280x720", help="WIDTHxHEIGHT (default 1280x720)")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--device", default="auto", help="Lectern's device: auto, cpu or cuda")
    parser.add_argument(
        "--renderers",
        default=",".join(RENDERERS),
        help=f"comma-separated subset of {', '.join(RENDERERS)}",
    )
    parser.add_argument("--no-rerender", action="store_true", help="skip the one-scene edit")
    parser.add_argument(
        "--no-variants", action="store_true", help="skip the personalized variants section"
    )
    parser.add_argument(
        "--variants", type=int, default=30, help="distinct variants to make (default 30)"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the 3 vs 24 scenes run")
    parser.add_argument("--no-ssim", action="store_true", help="skip lossless renders and SSIM")
    parser.add_argument(
        "--no-cold-speech",
        action="store_true",
        help="skip cold-speech renders (English and Chinese) against speech-cached ones",
    )
    parser.add_argument(
        "--no-intelligibility",
        action="store_true",
        help="skip transcribing the corpus narration with Whisper (bench/intelligibility.py)",
    )
    parser.add_argument(
        "--intelligibility-speech-s",
        type=float,
        default=150.0,
        help="speech per corpus lesson and voice for the intelligibility section (default 150)",
    )
    parser.add_argument(
        "--moviepy-ssim-scenes",
        type=int,
        default=3,
        help="score moviepy's SSIM on the first N scenes (its lossless render is slow)",
    )
    parser.add_argument(
        "--no-knowledge-tracing",
        action="store_true",
        help="skip the learner models and sequencing policy on simulated classes",
    )
    parser.add_argument(
        "--no-first-frame",
        action="store_true",
        help="skip the first frame of new variants in Chromium (bench/first_frame.py)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 scenes at 640x360, 1 round, memory 2 vs 4 scenes",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON")
    parser.add_argument("--work-dir", type=Path, help="keep renders here (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.moviepy_rounds, args.scenes = 1, 1, 3
        args.size, args.memory_scenes = "640x360", "2,4"
        args.intelligibility_speech_s = min(args.intelligibility_speech_s, 20.0)
        if args.out == DEFAULT_OUT:
            # A smoke run's numbers are not results: keep them out of the repository.
            args.out = Path(tempfile.gettempdir()) / "lectern-bench-quick.json"
    args.moviepy_rounds = min(args.moviepy_rounds, args.rounds)
    width, height = (int(part) for part in args.size.lower().split("x"))
    args.size_px = (width, height)
    args.renderer_names = [name.strip() for name in args.renderers.split(",") if name.strip()]
    unknown = set(args.renderer_names) - set(RENDERERS)
    if unknown:
        parser.error(f"unknown renderers: {', '.join(sorted(unknown))}")
    args.memory_counts = [int(part) for part in args.memory_scenes.split(",")]
    return args


class Bench:
    """One benchmark run: the work folder, the prepared lessons and everything measured."""

    def __init__(self, args: argparse.Namespace, work_dir: Path) -> None:
        self.args = args
        self.work_dir = work_dir
        self.speech_cache_dir = work_dir / "speech-cache"
        self.python = sys.executable

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    def prepare(
        self, name: str, scene_count: int, *, edited: EditKind | None = None
    ) -> PreparedLesson:
        started = time.perf_counter()
        storyboard = reference_storyboard(
            self.work_dir / "images", scene_count=scene_count, edited=edited
        )
        lesson = prepare_lesson(
            storyboard,
            self.work_dir / "lessons" / name,
            size_px=self.args.size_px,
            fps=self.args.fps,
            speech_cache_dir=self.speech_cache_dir,
        )
        self.log(
            f"prepared {name}: {scene_count} scenes, {lesson.job.duration_s:.1f} s "
            f"({time.perf_counter() - started:.1f} s, speech by {', '.join(lesson.engines)})"
        )
        return lesson

    def command(
        self,
        renderer: str,
        lesson: PreparedLesson,
        out_path: Path,
        *,
        cache_dir: Path | None = None,
        lossless: bool = False,
    ) -> list[str]:
        """The subprocess command that renders lesson to out_path with one renderer."""
        if renderer in ("ffmpeg", "moviepy"):
            argv = [self.python, "-m", f"bench.peer_{renderer}", str(lesson.job_path)]
            return argv + [str(out_path)] + (["--lossless"] if lossless else [])
        width, height = self.args.size_px
        argv = [
            self.python,
            "-m",
            "bench.lectern_runner",
            str(lesson.storyboard_path),
            str(out_path),
            f"--cache-dir={cache_dir}",
            f"--speech-cache-dir={self.speech_cache_dir}",
            f"--width={width}",
            f"--height={height}",
            f"--fps={self.args.fps}",
            f"--device={self.args.device}",
        ]
        if renderer == "lectern-motion":
            argv.append("--motion-everywhere")
        return argv + (["--lossless"] if lossless else [])

    def fresh_cache(self, label: str) -> Path:
        path = self.work_dir / "caches" / label
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def run(
        self,
        renderer: str,
        lesson: PreparedLesson,
        label: str,
        *,
        cache_dir: Path | None = None,
        lossless: bool = False,
    ) -> dict:
        """Render once in a measured subprocess; return what it cost and what it made."""
        runs_dir = self.work_dir / "runs"
        runs_dir.mkdir(exist_ok=True)
        out_path = runs_dir / f"{label}.mp4"
        if renderer.startswith("lectern") and cache_dir is None:
            cache_dir = self.fresh_cache(label)
        argv = self.command(renderer, lesson, out_path, cache_dir=cache_dir, lossless=lossless)
        measured = measure.run_measured(argv, log_path=runs_dir / f"{label}.log", cwd=REPO_ROOT)
        video = measure.probe_video(out_path)
        record = {
            "renderer": renderer,
            "label": label,
            **asdict(measured),
            "video": asdict(video),
            "path": str(out_path),
            "x264": environment.x264_banner(out_path),
        }
        sidecar = out_path.with_suffix(".bench.json")
        if sidecar.is_file():
            record["lectern"] = json.loads(sidecar.read_text("utf-8"))
        self.log(
            f"{label}: {measured.wall_s:.1f} s wall, {measured.cpu_s:.1f} s CPU, "
            f"{measured.peak_tree_rss_bytes / 1e6:.0f} MB peak, "
            f"{video.video_duration_s / measured.wall_s:.2f}x real time, "
            f"{video.size_bytes / 1e6:.2f} MB"
        )
        return record

    def timed_rounds(self, lesson: PreparedLesson) -> dict[str, list[dict]]:
        """Every renderer once per round, the order rotated each round so none always goes first."""
        names = self.args.renderer_names
        runs: dict[str, list[dict]] = {name: [] for name in names}
        for round_index in range(self.args.rounds):
            order = names[round_index % len(names) :] + names[: round_index % len(names)]
            for name in order:
                if name == "moviepy" and round_index >= self.args.moviepy_rounds:
                    continue
                runs[name].append(self.run(name, lesson, f"{name}-round{round_index + 1}"))
        return {name: found for name, found in runs.items() if found}

    def quality(
        self,
        lesson: PreparedLesson,
        runs: dict[str, list[dict]],
        excerpts: dict[str, PreparedLesson],
    ) -> dict[str, dict]:
        """SSIM of each renderer's encoded video against the same pipeline made lossless.

        A renderer listed in excerpts (moviepy: a lossless render of the whole lesson would
        take as long as a round) is scored on that shorter lesson, encoded and lossless.
        """
        found = {}
        for name, renderer_runs in runs.items():
            scored = excerpts.get(name, lesson)
            if name in excerpts:
                encoded_run = self.run(name, scored, f"{name}-excerpt")
            else:
                encoded_run = renderer_runs[-1]
            reference = self.run(name, scored, f"{name}-lossless", lossless=True)
            started = time.perf_counter()
            score = measure.ssim(Path(encoded_run["path"]), Path(reference["path"]))
            self.log(f"{name}: SSIM {score:.4f} ({time.perf_counter() - started:.0f} s to compute)")
            found[name] = {
                "ssim": round(score, 5),
                "scored_on": f"first {len(scored.storyboard.scenes)} scenes"
                if name in excerpts
                else "the whole lesson",
                "reference_frames": reference["video"]["frame_count"],
                "encoded_frames": encoded_run["video"]["frame_count"],
                "reference_size_bytes": reference["video"]["size_bytes"],
                "lossless_render_wall_s": round(reference["wall_s"], 2),
            }
        return found

    def rerender(
        self, lesson: PreparedLesson, edits: dict[str, PreparedLesson], full_wall_s: float
    ) -> dict:
        """Lectern after one-scene edits, its segment cache warm from a render of the original.

        Every run (nothing changed, a slide edited, an image scene edited) starts from a copy
        of the same warm cache; each is repeated --rounds times, interleaved, and the medians
        are reported, as for the full renders they are compared with.
        """
        cache_dir = self.fresh_cache("lectern-rerender")
        warmup = self.run("lectern", lesson, "lectern-rerender-warmup", cache_dir=cache_dir)
        variants = {"unchanged": lesson, **edits}
        runs: dict[str, list[dict]] = {kind: [] for kind in variants}
        for round_index in range(self.args.rounds):
            for kind, edited in variants.items():
                label = f"lectern-rerender-{kind}-round{round_index + 1}"
                edit_cache = self.work_dir / "caches" / label
                shutil.rmtree(edit_cache, ignore_errors=True)
                shutil.copytree(cache_dir, edit_cache, symlinks=True)
                runs[kind].append(self.run("lectern", edited, label, cache_dir=edit_cache))
                shutil.rmtree(edit_cache, ignore_errors=True)
        found: dict[str, object] = {
            "full_wall_s": full_wall_s,
            "warmup_wall_s": round(warmup["wall_s"], 2),
            "unchanged_wall_s": _median(runs["unchanged"], "wall_s"),
            "rounds": self.args.rounds,
            "edits": {},
        }
        for kind, edited in edits.items():
            statistics = runs[kind][-1].get("lectern", {}).get("statistics", {})
            position = edited_scene_index(edited.storyboard, kind)
            wall_s = _median(runs[kind], "wall_s")
            found["edits"][kind] = {
                "scene": position + 1,
                "scene_id": edited.storyboard.scenes[position].id,
                "wall_s": wall_s,
                "wall_s_runs": [round(run["wall_s"], 2) for run in runs[kind]],
                "cpu_s": _median(runs[kind], "cpu_s"),
                "fraction_of_full": round(wall_s / full_wall_s, 4),
                "cache": statistics.get("cache", {}),
                "stage_s": statistics.get("stage_s"),
            }
        # The target is judged on the costlier edit, so it holds whichever scene a teacher edits.
        found["edit_fraction_of_full"] = max(e["fraction_of_full"] for e in found["edits"].values())
        return found

    def variants(self, lesson: PreparedLesson, full_runs: list[dict]) -> dict:
        """Personalized variants (bench/variants_runner.py) over the segment cache of the last
        full Lectern render, against the median full render's wall and CPU time and that
        render's segment storage."""
        full = full_runs[-1]
        cache_dir = self.work_dir / "caches" / full["label"]
        width, height = self.args.size_px
        out = self.work_dir / "variants" / "variants.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            self.python, "-m", "bench.variants_runner", str(lesson.storyboard_path), str(out),
            f"--cache-dir={cache_dir}", f"--speech-cache-dir={self.speech_cache_dir}",
            f"--width={width}", f"--height={height}", f"--fps={self.args.fps}",
            f"--device={self.args.device}", f"--count={self.args.variants}",
        ]  # fmt: skip
        runs_dir = self.work_dir / "runs"
        runs_dir.mkdir(exist_ok=True)
        process = measure.run_measured(argv, log_path=runs_dir / "variants.log", cwd=REPO_ROOT)
        found = json.loads(out.read_text("utf-8"))
        full_wall_s = _median(full_runs, "wall_s")
        full_cpu_s = _median(full_runs, "cpu_s")
        full_bytes = found["segment_store_bytes_full"]
        walls = [variant["wall_s"] for variant in found["variants"]]
        cached_walls = [variant["cached_wall_s"] for variant in found["variants"]]
        variants_cpu_s = found["bank"]["cpu_s"] + sum(v["cpu_s"] for v in found["variants"])
        added_bytes = found["segment_store_bytes_after"] - full_bytes + found["playlist_bytes"]
        found.update(
            {
                "full_wall_s": full_wall_s,
                "full_cpu_s": full_cpu_s,
                "full_video_bytes": full["video"]["size_bytes"],
                "process_wall_s": round(process.wall_s, 2),
                "process_cpu_s": round(process.cpu_s, 2),
                "variant_wall_s_median": round(statistics.median(walls), 3),
                "variant_wall_s_max": round(max(walls), 3),
                "first_fraction_of_full": round(found["first_wall_s"] / full_wall_s, 4),
                "max_fraction_of_full": round(max(walls) / full_wall_s, 4),
                "median_fraction_of_full": round(statistics.median(walls) / full_wall_s, 4),
                "crossfaded_max_fraction": round(found["crossfaded_wall_s_max"] / full_wall_s, 4),
                "cached_max_fraction_of_full": round(max(cached_walls) / full_wall_s, 4),
                "cached_median_fraction_of_full": round(
                    statistics.median(cached_walls) / full_wall_s, 4
                ),
                # CPU shares too: on a loaded machine a short job waits longer for a core.
                "max_cpu_fraction_of_full": round(
                    max(v["cpu_s"] for v in found["variants"]) / full_cpu_s, 4
                ),
                "median_cpu_fraction_of_full": round(
                    statistics.median(v["cpu_s"] for v in found["variants"]) / full_cpu_s, 4
                ),
                "load_average": round(os.getloadavg()[0], 2),
                "variants_cpu_s": round(variants_cpu_s, 2),
                "cpu_ratio": round(variants_cpu_s / full_cpu_s, 4),
                "added_bytes": added_bytes,
                "storage_ratio": round(added_bytes / full_bytes, 4),
            }
        )
        self.log(
            f"variants: first ready in {found['first_wall_s']:.2f} s "
            f"({found['first_fraction_of_full']:.1%} of a full render); {found['count']} cost "
            f"{found['cpu_ratio']:.2f}x its CPU and {found['storage_ratio']:.2f}x its storage"
        )
        return found

    def first_frame(self) -> dict:
        """bench/first_frame.py in its own process: it sets up (and removes) a throwaway
        site with its own environment, renders the reference lesson there and opens new and
        cached variants in Chromium."""
        out = self.work_dir / "first-frame.json"
        argv = [self.python, "-m", "bench.first_frame", f"--out={out}"]
        if self.args.quick:
            argv += ["--size=small", "--new=2", "--cached=1"]
        runs_dir = self.work_dir / "runs"
        runs_dir.mkdir(exist_ok=True)
        with open(runs_dir / "first-frame.log", "wb") as log:
            subprocess.run(argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, check=True)
        found = json.loads(out.read_text("utf-8"))
        self.log("\n".join(first_frame.summary_lines(found)))
        return found

    def memory(self, lessons: dict[int, PreparedLesson]) -> dict:
        """Lectern's peak memory for a short and a long lesson, each from a cold segment cache."""
        found = {}
        for count, lesson in lessons.items():
            record = self.run("lectern", lesson, f"lectern-memory-{count}-scenes")
            found[str(count)] = {
                "peak_rss_mb": round(record["peak_tree_rss_bytes"] / report.MB),
                "wall_s": round(record["wall_s"], 2),
                "video_duration_s": record["video"]["video_duration_s"],
            }
        small, large = (found[str(count)]["peak_rss_mb"] for count in lessons)
        return {"lessons": found, "ratio": round(large / small, 3)}


def _median(runs: list[dict], field: str) -> float:
    return round(statistics.median(run[field] for run in runs), 2)


def device_info(runs: dict[str, list[dict]], device: str) -> dict[str, object]:
    """Which compositor and device Lectern used, from its own render statistics."""
    for name in ("lectern", "lectern-motion"):
        for run in runs.get(name, []):
            stats = run.get("lectern", {}).get("statistics", {})
            if stats:
                compositor = stats.get("compositor", {})
                return {
                    "requested": device,
                    "compositor": compositor.get("backend", "?"),
                    "encoder": stats.get("encoder", {}),
                    "workers": stats.get("workers"),
                }
    return {"requested": device, "compositor": "lectern not run"}


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the table, write the results JSON; return the results."""
    args = parse_args(argv)
    started = time.perf_counter()
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="lectern-bench-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args, work_dir)
    bench.log(f"work folder {work_dir}")
    names = args.renderer_names
    lectern_runs = "lectern" in names
    try:
        lesson = bench.prepare("main", args.scenes)
        runs = bench.timed_rounds(lesson)
        results: dict = {
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "command": "python bench/run.py "
            + " ".join(argv if argv is not None else sys.argv[1:]),
            "machine": environment.machine(),
            "versions": environment.versions(),
            "device": device_info(runs, args.device),
            "lesson": {
                "scenes": args.scenes,
                "size": f"{args.size_px[0]}x{args.size_px[1]}",
                "fps": args.fps,
                "narration_s": round(lesson.narration_s, 2),
                "video_duration_s": round(lesson.job.duration_s, 2),
                "speech_engines": list(lesson.engines),
                "narration_cache": "warm for every renderer (spoken once before the rounds)",
                "lectern_motion": "Ken Burns on image scenes only; slides held still "
                "(tune stillimage). 'lectern-motion' moves every scene, like the peers.",
                "peer_motion": "Ken Burns zoom on every scene, alternating in and out",
            },
            "rounds": {name: len(found) for name, found in runs.items()},
            "summary": {name: report.summarize(found) for name, found in runs.items()},
            "runs": runs,
        }
        if not args.no_ssim:
            excerpts = {}
            if "moviepy" in runs and args.moviepy_ssim_scenes < args.scenes:
                count = args.moviepy_ssim_scenes
                excerpts["moviepy"] = bench.prepare(f"excerpt-{count}", count)
            results["quality"] = bench.quality(lesson, runs, excerpts)
        if lectern_runs and not args.no_rerender:
            edits = {
                kind: bench.prepare(f"edited-{kind}", args.scenes, edited=kind)
                for kind in ("slide", "image")
            }
            full_wall_s = results["summary"]["lectern"]["wall_s"]
            results["rerender"] = bench.rerender(lesson, edits, full_wall_s)
        # A variant skips 3 scenes and keeps at least 2: --quick's 3 scenes are too few.
        if "lectern" in runs and not args.no_variants and args.scenes >= 5:
            results["variants"] = bench.variants(lesson, runs["lectern"])
        if lectern_runs and not args.no_memory:
            lessons = {
                count: bench.prepare(f"memory-{count}", count) for count in args.memory_counts
            }
            results["memory"] = bench.memory(lessons)
        if lectern_runs and not args.no_cold_speech:
            results["cold_speech"] = measure_cold_speech(
                work_dir / "cold-speech",
                rounds=args.rounds,
                size_px=args.size_px,
                fps=args.fps,
                device=args.device,
                scene_count=min(args.scenes, 12),
                log=bench.log,
            )
        if lectern_runs and not args.no_intelligibility:
            results["intelligibility"] = intelligibility.measure_corpus(
                max_s=args.intelligibility_speech_s,
                work_dir=work_dir / "intelligibility",
                log=bench.log,
            )
        if not args.no_knowledge_tracing:
            bench.log("knowledge tracing: simulated classes (bench/knowledge_tracing.py)")
            results["knowledge_tracing"] = measure_knowledge_tracing(quick=args.quick)
        if lectern_runs and not args.no_first_frame:
            bench.log("first frame in Chromium: a throwaway site (bench/first_frame.py)")
            results["first_frame"] = bench.first_frame()
        results["targets"] = [target.as_dict() for target in report.targets(results)]
        results["targets"].append(first_frame.target(results.get("first_frame")).as_dict())
        results["bench_wall_s"] = round(time.perf_counter() - started, 1)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work_dir, ignore_errors=True)
    for found in results["runs"].values():
        for run in found:
            run.pop("path", None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    print()
    print(report.table(results))
    if "cold_speech" in results:
        print("\n".join(summary_lines(results["cold_speech"])))
    if "intelligibility" in results:
        print()
        print(intelligibility.table(results["intelligibility"]))
    if "knowledge_tracing" in results:
        print("\n".join(knowledge_tracing_lines(results["knowledge_tracing"])))
    if "first_frame" in results:
        print("\n".join(first_frame.summary_lines(results["first_frame"])))
    print(f"\nresults: {args.out} (benchmark took {results['bench_wall_s'] / 60:.1f} min)")
    return results


if __name__ == "__main__":
    main()
