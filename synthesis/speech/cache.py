"""Content-addressed store of finished narration clips: `<cache_dir>/audio/<sha256>.wav`."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .audio import write_wav

# Bump when trimming, resampling or loudness processing changes, so old clips are redone.
PIPELINE_VERSION = 1


def cached_wav_path(
    cache_dir: Path, *, engine: str, voice: str, rate: float, text: str, language: str
) -> Path:
    """Where the clip for exactly this engine, voice, rate, text and language lives."""
    key = json.dumps(
        {
            "engine": engine,
            "voice": voice,
            "rate": round(rate, 3),
            "text": text,
            "language": language,
            "pipeline": PIPELINE_VERSION,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return Path(cache_dir) / "audio" / f"{digest}.wav"


def store_wav(path: Path, samples: np.ndarray) -> None:
    """Write the clip next to its final name, then rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".wav.tmp")
    os.close(fd)
    tmp_path = Path(tmp_name)
    try:
        write_wav(tmp_path, samples)
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)
