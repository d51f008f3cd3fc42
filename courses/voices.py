"""The narration voice of a render or preview: the site's engine order and a teacher's choice."""

from __future__ import annotations

from django.conf import settings

from synthesis.storyboard import VoiceSettings


def voice_settings(
    *, language: str = "", engine: str = "", voice: str = "", rate: float = 1.0
) -> VoiceSettings:
    """The site's engine order per language, with `engine` (and its `voice`) tried first.

    A chosen engine goes first for `language` only; the other languages keep the site order,
    and the rest of the order stays behind the choice as its fallback.
    """
    language_engines = {
        lang: tuple(engines) for lang, engines in settings.LECTERN_TTS_LANGUAGE_ENGINES.items()
    }
    if engine and language:
        order = language_engines.get(language, tuple(settings.LECTERN_TTS_ENGINES))
        language_engines[language] = (engine, *(name for name in order if name != engine))
    return VoiceSettings(
        engines=tuple(settings.LECTERN_TTS_ENGINES),
        voice=voice or None,
        rate=rate,
        language_engines=tuple(sorted(language_engines.items())),
    )


def version_voice_settings(version) -> VoiceSettings:
    """The voice a teacher chose for a lesson version (the site's defaults where none)."""
    return voice_settings(
        language=version.language,
        engine=version.voice_engine,
        voice=version.voice_name,
        rate=version.voice_rate,
    )
