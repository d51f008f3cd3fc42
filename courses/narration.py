"""Narration preview: one scene's narration spoken sentence by sentence into one WAV.

Each sentence goes through `synthesis.speech.speak` (which caches per sentence), and the
joined file is cached too, keyed by text, language and engines, so pressing Play twice
or on an unchanged scene costs nothing. Every preview typed is a new file, so the folder
is pruned whenever one is written: least recently played first, to a count and a size.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
import wave
from pathlib import Path

from django.conf import settings

from synthesis.sentences import split_sentences
from synthesis.speech import speak
from synthesis.storyboard import VoiceSettings

# The same pause the renderer leaves between sentences (courses.estimates.SENTENCE_GAP_S).
GAP_S = 0.35
SAMPLE_RATE_HZ = 48_000
PREVIEW_MAX_CHARS = 5000
# A 5000-character preview is about 5 minutes, 30 MB of WAV; most are a few seconds.
PREVIEWS_MAX_FILES = 200
PREVIEWS_MAX_BYTES = 200 * 1024 * 1024
# A temporary file this old belongs to a write that died.
ABANDONED_WRITE_S = 3600


def narration_preview_wav(*, narration: str, language: str) -> Path:
    """Path of a WAV speaking the narration. Raises SpeechError when no engine can."""
    engines = tuple(settings.LECTERN_TTS_ENGINES)
    cache_dir = Path(settings.LECTERN_CACHE_DIR)
    key = hashlib.sha256(f"{language}\n{','.join(engines)}\n{narration}".encode()).hexdigest()
    target = cache_dir / "previews" / f"{key}.wav"
    if target.is_file():
        with contextlib.suppress(FileNotFoundError):
            os.utime(target)  # recently played: pruned last
        return target
    voice = VoiceSettings(engines=engines)
    clips = [
        speak(sentence, language=language, voice=voice, cache_dir=cache_dir).wav_path
        for sentence in split_sentences(narration[:PREVIEW_MAX_CHARS], language)
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    _join_wavs(clips, target)
    previews_prune(target.parent, keep=target)
    return target


def previews_prune(
    folder: Path,
    *,
    keep: Path | None = None,
    max_files: int = PREVIEWS_MAX_FILES,
    max_bytes: int = PREVIEWS_MAX_BYTES,
) -> list[Path]:
    """Remove the least recently used previews beyond max_files or max_bytes; returns them.

    `keep` (the preview just written) is never removed, even when it alone is too large.
    """
    now = time.time()
    entries = []
    for path in folder.iterdir():
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # pruned by a request beside this one
        if path.suffix == ".tmp":
            if now - stat.st_mtime > ABANDONED_WRITE_S:
                path.unlink(missing_ok=True)
            continue
        if path.suffix == ".wav":
            entries.append((stat.st_mtime, stat.st_size, path))
    entries.sort(reverse=True)  # newest first
    removed, count, total = [], 0, 0
    for _mtime, size, path in entries:
        if path == keep or (count < max_files and total + size <= max_bytes):
            count, total = count + 1, total + size
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _join_wavs(clips: list[Path], target: Path) -> None:
    gap = b"\x00\x00" * int(GAP_S * SAMPLE_RATE_HZ)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".wav.tmp")
    os.close(handle)
    with wave.open(temporary, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE_HZ)
        for index, clip in enumerate(clips):
            with wave.open(str(clip), "rb") as source:
                out.writeframes(source.readframes(source.getnframes()))
            if index < len(clips) - 1:
                out.writeframes(gap)
    os.replace(temporary, target)
