"""Narration preview: one scene's narration spoken sentence by sentence into one WAV.

Each sentence goes through `synthesis.speech.speak` (which caches per sentence), and the
joined file is cached too, keyed by text, language and engines, so pressing Play twice
or on an unchanged scene costs nothing.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
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


def narration_preview_wav(*, narration: str, language: str) -> Path:
    """Path of a WAV speaking the narration. Raises SpeechError when no engine can."""
    engines = tuple(settings.LECTERN_TTS_ENGINES)
    cache_dir = Path(settings.LECTERN_CACHE_DIR)
    key = hashlib.sha256(f"{language}\n{','.join(engines)}\n{narration}".encode()).hexdigest()
    target = cache_dir / "previews" / f"{key}.wav"
    if target.is_file():
        return target
    voice = VoiceSettings(engines=engines)
    clips = [
        speak(sentence, language=language, voice=voice, cache_dir=cache_dir).wav_path
        for sentence in split_sentences(narration[:PREVIEW_MAX_CHARS], language)
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    _join_wavs(clips, target)
    return target


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
