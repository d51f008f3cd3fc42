"""Measure one renderer run, and the video it made.

Each renderer runs in its own subprocess so that its CPU time (children included, e.g. the
ffmpeg a peer starts) comes from getrusage(RUSAGE_CHILDREN), and its memory from sampling
the whole process tree with psutil every 50 ms. SSIM comes from ffmpeg's ssim filter.
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import psutil

SAMPLE_INTERVAL_S = 0.05


class RendererFailed(RuntimeError):
    """A renderer subprocess exited non-zero; the message holds the tail of its log."""


@dataclass(frozen=True)
class RunMeasurement:
    """What one renderer run cost.

    peak_tree_rss_bytes: the largest sum of RSS over the process and all its descendants seen
    in any sample (shared pages counted once per process, so it errs high).
    max_process_rss_bytes: the largest single process (ru_maxrss), which needs no sampling.
    """

    wall_s: float
    cpu_s: float
    peak_tree_rss_bytes: int
    max_process_rss_bytes: int


@dataclass(frozen=True)
class VideoFacts:
    """What ffprobe says about an output file."""

    size_bytes: int
    video_duration_s: float
    audio_duration_s: float
    frame_count: int
    width_px: int
    height_px: int
    video_codec: str
    audio_codec: str


def _tree_rss_bytes(process: psutil.Process) -> int:
    """RSS of a process and its descendants; processes that vanish mid-count are skipped."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def run_measured(argv: list[str], *, log_path: Path, cwd: Path | None = None) -> RunMeasurement:
    """Run argv to completion and measure wall time, CPU time and peak memory of its tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = psutil.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss_bytes(process))
            time.sleep(SAMPLE_INTERVAL_S)
        wall_s = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        tail = log_path.read_text("utf-8", errors="replace")[-3000:]
        raise RendererFailed(f"{' '.join(argv[:4])} ... exited {process.returncode}:\n{tail}")
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss is in KiB on Linux, and is the largest child ever waited for, not a delta.
    return RunMeasurement(
        wall_s=wall_s,
        cpu_s=cpu_s,
        peak_tree_rss_bytes=peak,
        max_process_rss_bytes=after.ru_maxrss * 1024,
    )


def probe_video(path: Path) -> VideoFacts:
    """Sizes, durations and codecs of an MP4, from ffprobe."""
    output = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_packets",
            "-show_entries",
            "stream=codec_type,codec_name,duration,nb_read_packets,width,height",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    streams = json.loads(output)["streams"]
    video = next(stream for stream in streams if stream["codec_type"] == "video")
    audio = next((stream for stream in streams if stream["codec_type"] == "audio"), {})
    return VideoFacts(
        size_bytes=path.stat().st_size,
        video_duration_s=float(video.get("duration", 0.0)),
        audio_duration_s=float(audio.get("duration", 0.0)),
        frame_count=int(video.get("nb_read_packets", 0)),
        width_px=int(video["width"]),
        height_px=int(video["height"]),
        video_codec=video["codec_name"],
        audio_codec=audio.get("codec_name", ""),
    )


_SSIM_ALL = re.compile(r"SSIM .*All:([0-9.]+)")


def ssim(encoded: Path, reference: Path) -> float:
    """Mean SSIM (Y, U and V weighted as ffmpeg does) of encoded against its lossless reference."""
    result = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-nostats",
            "-i",
            str(encoded),
            "-i",
            str(reference),
            "-lavfi",
            "[0:v][1:v]ssim",
            "-f",
            "null",
            "-",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    match = _SSIM_ALL.search(result.stderr)
    if match is None:
        raise RuntimeError(f"ffmpeg printed no SSIM for {encoded} vs {reference}")
    return float(match.group(1))
