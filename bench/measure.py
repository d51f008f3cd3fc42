"""Measure one renderer run, and the video it made.

Each renderer runs in its own subprocess so that its CPU time (children included, e.g. the
ffmpeg a peer starts) comes from getrusage(RUSAGE_CHILDREN), and its memory from sampling
the whole process tree with psutil every 50 ms. SSIM comes from ffmpeg's ssim filter.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import psutil

SAMPLE_INTERVAL_S = 0.05
TREE_REFRESH_SAMPLES = 5
_PR_SET_CHILD_SUBREAPER = 36


class RendererFailed(RuntimeError):
    """A renderer subprocess exited non-zero; the message holds the tail of its log."""


@dataclass(frozen=True)
class RunMeasurement:
    """What one renderer run cost.

    peak_tree_rss_bytes: the largest sum of RSS over the process and all its descendants seen
    in any sample (shared pages counted once per process, so it errs high).
    """

    wall_s: float
    cpu_s: float
    peak_tree_rss_bytes: int
    # 1-minute load average before and after: other work on the machine inflates wall time.
    load_before: float
    load_after: float


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


def _tree_members(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _rss_bytes(members: list[psutil.Process]) -> int:
    """Summed RSS; processes that vanished since the tree was listed are skipped."""
    total = 0
    for member in members:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def _become_subreaper() -> None:
    """Adopt orphaned descendants (PR_SET_CHILD_SUBREAPER), so their CPU time is counted too.

    A renderer that exits without waiting for its own children (moviepy leaves its audio
    readers as zombies) would otherwise hand them to init, and getrusage would miss them.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _reap_orphans() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_measured(argv: list[str], *, log_path: Path, cwd: Path | None = None) -> RunMeasurement:
    """Run argv to completion and measure wall time, CPU time and peak memory of its tree."""
    _become_subreaper()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = psutil.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
        peak = 0
        members: list[psutil.Process] = []
        samples = 0
        while process.poll() is None:
            # Listing the tree scans /proc; memory is read every sample, the tree less often.
            if samples % TREE_REFRESH_SAMPLES == 0:
                members = _tree_members(process)
            peak = max(peak, _rss_bytes(members))
            samples += 1
            time.sleep(SAMPLE_INTERVAL_S)
        wall_s = time.perf_counter() - started
    _reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        tail = log_path.read_text("utf-8", errors="replace")[-3000:]
        raise RendererFailed(f"{' '.join(argv[:4])} ... exited {process.returncode}:\n{tail}")
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return RunMeasurement(
        wall_s=wall_s,
        cpu_s=cpu_s,
        peak_tree_rss_bytes=peak,
        load_before=load_before,
        load_after=os.getloadavg()[0],
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
