"""Turn measured runs into medians, ratios, target verdicts and a printed table."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

MB = 1_000_000

LABELS = {
    "lectern": "Lectern (default)",
    "lectern-motion": "Lectern, Ken Burns everywhere",
    "ffmpeg": "ffmpeg filtergraph (peer 3)",
    "moviepy": "moviepy naive (peer 2)",
}


@dataclass(frozen=True)
class Target:
    """One target of the issue: what is asked, what was reached, and whether it was met."""

    name: str
    goal: str
    value: float | None
    shown: str
    met: bool | None  # None: not measured in this run

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "goal": self.goal,
            "value": self.value,
            "shown": self.shown,
            "met": self.met,
        }


def summarize(runs: list[dict]) -> dict[str, object]:
    """Medians over rounds for one renderer (runs are the per-round dicts of results JSON)."""
    walls = [run["wall_s"] for run in runs]
    duration_s = runs[-1]["video"]["video_duration_s"]
    wall_s = statistics.median(walls)
    return {
        "rounds": len(runs),
        "wall_s": round(wall_s, 2),
        "wall_s_min": round(min(walls), 2),
        "wall_s_max": round(max(walls), 2),
        "cpu_s": round(statistics.median(run["cpu_s"] for run in runs), 2),
        "peak_rss_mb": round(statistics.median(run["peak_tree_rss_bytes"] for run in runs) / MB),
        "peak_rss_mb_max": round(max(run["peak_tree_rss_bytes"] for run in runs) / MB),
        "realtime_factor": round(duration_s / wall_s, 2),
        "video_duration_s": duration_s,
        "file_size_bytes": runs[-1]["video"]["size_bytes"],
    }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _target(name: str, goal: str, value: float | None, shown: str, ok) -> Target:
    if value is None:
        return Target(name, goal, None, "not measured", None)
    return Target(name, goal, round(value, 4), shown.format(value), bool(ok(value)))


def targets(results: dict) -> list[Target]:
    """The issue's targets, judged on Lectern's default configuration."""
    summary = results["summary"]
    lectern = summary.get("lectern", {})
    wall = lectern.get("wall_s")
    moviepy_wall = summary.get("moviepy", {}).get("wall_s")
    ffmpeg = summary.get("ffmpeg", {})
    quality = results.get("quality", {})
    rerender = results.get("rerender", {})
    memory = results.get("memory", {})
    variants = results.get("variants", {})
    peaks = [lectern.get("peak_rss_mb_max")] + [
        entry.get("peak_rss_mb") for entry in memory.get("lessons", {}).values()
    ]
    peaks = [peak for peak in peaks if peak is not None]
    return [
        _target(
            "speed vs moviepy",
            ">= 10x faster than the naive moviepy renderer",
            _ratio(moviepy_wall, wall),
            "{:.1f}x faster",
            lambda v: v >= 10,
        ),
        _target(
            "speed vs ffmpeg",
            ">= 1.5x faster than the ffmpeg filtergraph",
            _ratio(ffmpeg.get("wall_s"), wall),
            "{:.2f}x faster",
            lambda v: v >= 1.5,
        ),
        _target(
            "file size vs ffmpeg",
            "<= 1.1x the ffmpeg filtergraph's file",
            _ratio(lectern.get("file_size_bytes"), ffmpeg.get("file_size_bytes")),
            "{:.2f}x",
            lambda v: v <= 1.1,
        ),
        _target(
            "SSIM",
            ">= 0.98 against its own lossless frames",
            quality.get("lectern", {}).get("ssim"),
            "{:.4f}",
            lambda v: v >= 0.98,
        ),
        _target(
            "one-scene edit",
            "re-render <= 15% of a full render (costlier of a slide and an image edit)",
            rerender.get("edit_fraction_of_full"),
            "{:.1%} of a full render",
            lambda v: v <= 0.15,
        ),
        _target(
            "cached variant assembled",
            "a cached variant of the 12-scene lesson planned, remuxed to MP4 and its "
            "playlist written in <= 3% of a full render",
            variants.get("cached_max_fraction_of_full"),
            "{:.1%} of a full render (slowest variant)",
            lambda v: v <= 0.03,
        ),
        _target(
            "new variant ready",
            "a new variant (3 scenes skipped, 2 cached remedial inserted; hard cuts where "
            "a crossfade is missing, encoded after) playable in <= 3% of a full render",
            variants.get("max_fraction_of_full"),
            "{:.1%} of a full render (slowest variant)",
            lambda v: v <= 0.03,
        ),
        _target(
            "30 variants CPU",
            "<= 1.3x the CPU time of one full render",
            variants.get("cpu_ratio"),
            "{:.2f}x",
            lambda v: v <= 1.3,
        ),
        _target(
            "30 variants storage",
            "<= 1.1x the storage of one full render",
            variants.get("storage_ratio"),
            "{:.2f}x",
            lambda v: v <= 1.1,
        ),
        _target(
            "peak memory",
            "<= 500 MB (whole process tree)",
            max(peaks) if peaks else None,
            "{:.0f} MB",
            lambda v: v <= 500,
        ),
        _target(
            "memory growth",
            "24-scene peak <= 1.2x the 3-scene peak",
            memory.get("ratio"),
            "{:.2f}x",
            lambda v: v <= 1.2,
        ),
    ]


def _cell(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(results: dict) -> str:
    """The printed report: renderers, ratios, re-render, memory, targets."""
    lesson = results["lesson"]
    lines = [
        f"Lectern render benchmark: {lesson['scenes']} scenes, "
        f"{lesson['video_duration_s']:.1f} s video ({lesson['narration_s']:.1f} s narration), "
        f"{lesson['size']} @ {lesson['fps']} fps, device {results['device']['compositor']} "
        f"on {results['machine']['nproc']} CPUs ({results['machine']['cpu_model']})",
        "medians over rounds; narration cache warm for every renderer; "
        "each Lectern run starts with an empty segment cache",
        "",
        f"{'renderer':32} {'rounds':>6} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} "
        f"{'x real':>7} {'file MB':>8} {'SSIM':>7}",
    ]
    quality = results.get("quality", {})
    for name, summary in results["summary"].items():
        ssim = quality.get(name, {}).get("ssim")
        lines.append(
            f"{LABELS.get(name, name):32} {summary['rounds']:>6} {summary['wall_s']:>8.1f} "
            f"{summary['cpu_s']:>8.1f} {summary['peak_rss_mb']:>8} "
            f"{summary['realtime_factor']:>7.2f} {summary['file_size_bytes'] / MB:>8.2f} "
            f"{_cell(ssim, '.4f'):>7}"
        )
    lines.append("")
    for name in ("lectern", "lectern-motion"):
        mine = results["summary"].get(name)
        if not mine:
            continue
        for peer in ("moviepy", "ffmpeg"):
            theirs = results["summary"].get(peer)
            if not theirs:
                continue
            lines.append(
                f"{LABELS[name]} vs {LABELS[peer]}: "
                f"{theirs['wall_s'] / mine['wall_s']:.2f}x faster (wall), "
                f"{theirs['cpu_s'] / mine['cpu_s']:.2f}x less CPU, "
                f"file {mine['file_size_bytes'] / theirs['file_size_bytes']:.2f}x"
            )
    rerender = results.get("rerender")
    if rerender:
        for kind, edit in rerender["edits"].items():
            cache = edit["cache"]
            lines.append(
                f"re-render after editing {kind} scene {edit['scene']} ({edit['scene_id']}): "
                f"{edit['wall_s']:.1f} s (median of {len(edit['wall_s_runs'])}) = "
                f"{edit['fraction_of_full']:.1%} of a full render "
                f"({cache.get('segments_encoded')} segments encoded, "
                f"{cache.get('scene_hits')} scenes from the cache)"
            )
        lines.append(f"re-render with nothing changed: {rerender['unchanged_wall_s']:.1f} s")
    variants = results.get("variants")
    if variants:
        bank = variants["bank"]
        lines.append(
            f"variants ({variants['skipped']} scenes skipped, {variants['inserted']} remedial "
            f"inserted): first ready in {variants['first_wall_s']:.2f} s, median "
            f"{variants['variant_wall_s_median']:.2f} s, "
            f"slowest {variants['variant_wall_s_max']:.2f} s "
            f"= {variants['max_fraction_of_full']:.1%} of a full render "
            f"({variants['full_wall_s']:.1f} s); in CPU time median "
            f"{variants['median_cpu_fraction_of_full']:.1%}, slowest "
            f"{variants['max_cpu_fraction_of_full']:.1%}"
        )
        if "cached_max_fraction_of_full" in variants:
            lines.append(
                f"the same variants again, cached (plan, MP4 remux, playlist): median "
                f"{variants['cached_median_fraction_of_full']:.1%}, slowest "
                f"{variants['cached_max_fraction_of_full']:.1%} of a full render"
            )
        lines.append(
            f"{variants['count']} variants + remedial bank ({bank['scenes']} scenes, "
            f"{bank['cpu_s']:.1f} s CPU): {variants['variants_cpu_s']:.1f} s CPU = "
            f"{variants['cpu_ratio']:.2f}x a full render's {variants['full_cpu_s']:.1f} s; "
            f"{variants['added_bytes'] / MB:.2f} MB stored = {variants['storage_ratio']:.2f}x "
            f"its {variants['segment_store_bytes_full'] / MB:.2f} MB of segments"
        )
    memory = results.get("memory")
    if memory:
        parts = [
            f"{count} scenes {entry['peak_rss_mb']} MB ({entry['video_duration_s']:.0f} s video)"
            for count, entry in memory["lessons"].items()
        ]
        lines.append(f"memory: {', '.join(parts)}; ratio {memory['ratio']:.2f}x")
    lines.append("")
    lines.append("targets (Lectern default):")
    for target in results["targets"]:
        verdict = {True: "met", False: "MISSED", None: "n/a"}[target["met"]]
        lines.append(
            f"  [{verdict:>6}] {target['name']}: {target['shown']} (goal {target['goal']})"
        )
    return "\n".join(lines)
