"""Checks on real media files with ffprobe and PyAV, shared by the encode and render tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import av
import numpy as np


def ffprobe(path: Path) -> dict:
    """ffprobe's JSON for the file's streams and format (tags included)."""
    result = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def stream(info: dict, kind: str) -> dict:
    return next(s for s in info["streams"] if s["codec_type"] == kind)


def decoded_audio(path: Path) -> np.ndarray:
    """The whole audio track decoded to mono float samples (edit lists applied)."""
    with av.open(str(path)) as container:
        chunks = [frame.to_ndarray().mean(axis=0) for frame in container.decode(audio=0)]
    return np.concatenate(chunks).astype(np.float32)


def decoded_frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def top_level_boxes(path: Path) -> list[str]:
    """MP4 top-level box names in file order (moov before mdat means fast start)."""
    names = []
    with open(path, "rb") as handle:
        while header := handle.read(8):
            if len(header) < 8:
                break
            size = int.from_bytes(header[:4], "big")
            names.append(header[4:8].decode("latin-1"))
            if size == 1:
                size = int.from_bytes(handle.read(8), "big")
                handle.seek(size - 16, 1)
            elif size == 0:
                break
            else:
                handle.seek(size - 8, 1)
    return names
