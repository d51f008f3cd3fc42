"""Where the benchmark ran: machine, versions of everything that encodes, and git commit."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path

import imageio_ffmpeg

REPO_ROOT = Path(__file__).resolve().parents[1]
_X264_BANNER = re.compile(rb"x264 - core \d+( r\d+ [0-9a-f]+)?")


def _first_line(argv: list[str]) -> str:
    try:
        output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"unavailable ({exc})"
    return output.splitlines()[0] if output else ""


def machine() -> dict[str, object]:
    """CPU count and model, memory, OS."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gib": round(memory_bytes / 2**30, 1),
        "platform": platform.platform(),
    }


def versions() -> dict[str, str]:
    """Versions of Python, the libraries each renderer uses, and both ffmpeg builds."""
    found = {"python": platform.python_version()}
    for package in ("av", "moviepy", "Pillow", "numpy", "torch", "imageio-ffmpeg", "piper-tts"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    found["ffmpeg (imageio-ffmpeg, used by both peers)"] = _first_line(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-version"]
    )
    found["ffmpeg (system, used for ffprobe)"] = _first_line(["ffmpeg", "-version"])
    found["lectern commit"] = _first_line(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"])
    return found


def x264_banner(video: Path) -> str:
    """The libx264 version string the encoder wrote into the stream, or "" if none is found."""
    with open(video, "rb") as stream:
        head = stream.read(8 * 2**20)
    match = _X264_BANNER.search(head)
    return match.group(0).decode() if match else ""
