"""Speak one sentence with the first configured engine that can, caching the finished clip."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from synthesis.errors import SpeechError, TransientSpeechError
from synthesis.storyboard import VoiceSettings

from .audio import OUTPUT_RATE_HZ, SilentAudio, prepare_narration, wav_duration_s
from .base import EngineFailed, SpeechEngine, base_language
from .cache import cached_wav_path, store_wav
from .espeak_engine import EspeakEngine
from .gtts_engine import GttsEngine
from .kokoro_engine import KokoroEngine
from .piper_engine import PiperEngine

logger = logging.getLogger(__name__)

ENGINES: dict[str, SpeechEngine] = {
    engine.name: engine for engine in (PiperEngine(), KokoroEngine(), EspeakEngine(), GttsEngine())
}
_PREVIEW_CHARS = 60


@dataclass(frozen=True)
class SpokenSentence:
    """One narrated sentence: its clip (mono 16-bit 48 kHz WAV) and who spoke it."""

    text: str
    wav_path: Path
    duration_s: float
    engine: str
    voice: str
    # Why engines earlier in the preference order were passed over, or why the requested
    # voice went unused; empty when the first choice spoke with the requested voice.
    notes: tuple[str, ...] = ()


def speak(text: str, *, language: str, voice: VoiceSettings, cache_dir: Path) -> SpokenSentence:
    """Narrate `text` with the first engine in `voice.engines_for(language)` that can.

    Raises ValueError for empty text or a non-positive rate, and SpeechError naming the
    sentence and every engine's reason when none can speak it (TransientSpeechError when an
    engine failed while speaking, which may pass, rather than being unavailable).
    """
    text = text.strip()
    if not text:
        raise ValueError("cannot speak empty text")
    if voice.rate <= 0:
        raise ValueError(f"speech rate must be positive, got {voice.rate}")
    lang = base_language(language)
    notes: list[str] = []
    failed_while_speaking = False
    engines = voice.engines_for(lang)
    voice_owner = _voice_owner(voice, lang)
    if voice.voice and voice_owner is None:
        notes.append(f"voice {voice.voice!r} is not a {lang} voice of {', '.join(engines)}")
    for name in engines:
        engine = ENGINES.get(name)
        if engine is None:
            notes.append(f"{name}: unknown engine (known: {', '.join(ENGINES)})")
            continue
        if lang not in engine.languages:
            notes.append(f"{name}: does not speak {lang}")
            continue
        voice_name = voice.voice if name == voice_owner else engine.default_voice(lang)
        wav_path = cached_wav_path(
            cache_dir, engine=name, voice=voice_name, rate=voice.rate, text=text, language=lang
        )
        if wav_path.is_file():
            return SpokenSentence(
                text, wav_path, wav_duration_s(wav_path), name, voice_name, tuple(notes)
            )
        problem = engine.unavailable_reason()
        if problem:
            notes.append(f"{name}: {problem}")
            continue
        try:
            raw = engine.synthesize(text, language=lang, voice=voice_name, rate=voice.rate)
            samples = prepare_narration(raw)
        except (EngineFailed, SilentAudio) as exc:
            logger.warning("%s could not speak %r: %s", name, _preview(text), exc)
            notes.append(f"{name}: {exc}")
            failed_while_speaking = failed_while_speaking or isinstance(exc, EngineFailed)
            continue
        store_wav(wav_path, samples)
        duration_s = len(samples) / OUTPUT_RATE_HZ
        return SpokenSentence(text, wav_path, duration_s, name, voice_name, tuple(notes))
    raise (TransientSpeechError if failed_while_speaking else SpeechError)(
        f'No speech engine could speak "{_preview(text)}" ({lang}): ' + "; ".join(notes)
        if notes
        else f'No speech engine is configured to speak "{_preview(text)}"'
    )


@dataclass(frozen=True)
class VoiceChoice:
    """One voice a teacher can pick: an engine that works here and one of its voices."""

    engine: str
    voice: str
    online: bool  # needs the internet (gTTS)


def voice_choices(language: str, engines: tuple[str, ...]) -> list[VoiceChoice]:
    """The voices of `engines` (in that order) that speak `language` and can run here."""
    lang = base_language(language)
    choices = []
    for name in engines:
        engine = ENGINES.get(name)
        if engine is None or lang not in engine.languages or engine.unavailable_reason():
            continue
        for voice_name in engine.voices(lang):
            choices.append(VoiceChoice(name, voice_name, online=name == "gtts"))
    return choices


def engine_status() -> dict[str, str]:
    """Each known engine's state: "ok", or why it cannot run here (for /healthz)."""
    return {name: engine.unavailable_reason() or "ok" for name, engine in ENGINES.items()}


def _voice_owner(voice: VoiceSettings, language: str) -> str | None:
    # The requested voice belongs to the first engine that has it; the others keep theirs.
    if not voice.voice:
        return None
    for name in voice.engines_for(language):
        engine = ENGINES.get(name)
        if engine and language in engine.languages and engine.accepts_voice(voice.voice, language):
            return name
    return None


def _preview(text: str) -> str:
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"
