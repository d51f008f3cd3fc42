"""Narration a teacher hears before rendering: the voices to choose from, and previews.

`language_voices` lists the voices that speak a language here, in the site's order.
A preview speaks text sentence by sentence through `synthesis.speech.speak` (which caches
per sentence) into one WAV, itself cached by text, language, engine order, voice and rate,
so pressing Play twice or on an unchanged scene costs nothing. Every preview typed is a
new file, so the folder is pruned whenever one is written: least recently played first,
to a count and a size.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from courses.voices import voice_settings
from synthesis.sentences import split_sentences
from synthesis.storyboard import VoiceSettings

if TYPE_CHECKING:
    from synthesis.speech import VoiceChoice

# The same pause the renderer leaves between sentences (courses.estimates.SENTENCE_GAP_S).
GAP_S = 0.35
SAMPLE_RATE_HZ = 48_000
PREVIEW_MAX_CHARS = 5000
# A 5000-character preview is about 5 minutes, 30 MB of WAV; most are a few seconds.
PREVIEWS_MAX_FILES = 200
PREVIEWS_MAX_BYTES = 200 * 1024 * 1024
# A temporary file this old belongs to a write that died.
ABANDONED_WRITE_S = 3600
# What a voice preview says when the lesson has no narration in its language yet.
SAMPLE_SENTENCES = {
    "en": "This is how the narration of your lesson will sound.",
    "zh": "这是你的课程旁白听起来的样子。",
}


def language_voices(language: str) -> list[VoiceChoice]:
    """The voices a teacher may choose for `language`: engines that work here, site order."""
    # Imported here: synthesis.speech loads numpy and PyAV (a quarter second), which the
    # studio's other pages and every management command would otherwise pay at start.
    from synthesis.speech import voice_choices

    return voice_choices(language, voice_settings(language=language).engines_for(language))


# Product names, the same in every language.
ENGINE_LABELS = {"piper": "Piper", "kokoro": "Kokoro", "espeak": "eSpeak NG", "gtts": "gTTS"}


def voice_label(engine: str, voice: str) -> str:
    """How a voice is named on the page: "Piper – en_US-joe-medium"."""
    return f"{ENGINE_LABELS.get(engine, engine)} – {voice}"


def render_voices(manifest: dict) -> dict | None:
    """Who spoke a finished render, from its manifest: voice labels in order of use, and rate.

    None for a render without narration or from before manifests named the voice.
    """
    spoken = []
    for scene in manifest.get("scenes", ()):
        for sentence in scene.get("sentences", ()):
            if sentence.get("engine") and sentence.get("voice"):
                label = voice_label(sentence["engine"], sentence["voice"])
                if label not in spoken:
                    spoken.append(label)
    rate = manifest.get("settings", {}).get("voice", {}).get("rate")
    if not spoken:
        return None
    return {"voices": spoken, "rate": rate if rate is not None else 1.0}


def voice_sample_sentence(version) -> str:
    """The first sentence of the version's first scene narrated in its language, else a sample."""
    for scene in version.scenes.filter(language=version.language).order_by("position", "id"):
        sentences = split_sentences(scene.narration, scene.language)
        if sentences:
            return sentences[0]
    return SAMPLE_SENTENCES.get(version.language, SAMPLE_SENTENCES["en"])


def narration_preview_wav(
    *, narration: str, language: str, voice: VoiceSettings | None = None
) -> Path:
    """Path of a WAV speaking the narration in `voice` (the site's default voice when None).

    Raises SpeechError when no engine can.
    """
    from synthesis.speech import speak

    voice = voice or voice_settings(language=language)
    cache_dir = Path(settings.LECTERN_CACHE_DIR)
    key_fields = {
        "language": language,
        "engines": voice.engines_for(language),
        "voice": voice.voice,
        "rate": round(voice.rate, 3),
        "text": narration,
    }
    key = hashlib.sha256(json.dumps(key_fields, ensure_ascii=False).encode()).hexdigest()
    target = cache_dir / "previews" / f"{key}.wav"
    if target.is_file():
        with contextlib.suppress(FileNotFoundError):
            os.utime(target)  # recently played: pruned last
        return target
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
