"""The interface every TTS engine implements, and the raw audio it hands back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class RawAudio:
    """What an engine produced, before trimming, resampling and loudness normalisation."""

    samples: np.ndarray  # float32, shape (n,), mono in [-1, 1]
    sample_rate: int


class EngineFailed(Exception):
    """One engine could not speak one sentence; the message says why, for the fallback log."""


class SpeechEngine(ABC):
    """A text-to-speech engine: which languages it speaks, whether it works here, and speech."""

    name: str
    languages: frozenset[str]

    @abstractmethod
    def default_voice(self, language: str) -> str:
        """The voice used for `language` when the settings name none this engine accepts."""

    def voices(self, language: str) -> tuple[str, ...]:
        """The voices a teacher may choose for `language`, the default first."""
        return (self.default_voice(language),) if language in self.languages else ()

    @abstractmethod
    def accepts_voice(self, voice: str, language: str) -> bool:
        """Whether `voice` is one of this engine's voices for `language`."""

    @abstractmethod
    def unavailable_reason(self) -> str | None:
        """None when the engine can run here, else why not; cheap enough for a health check."""

    @abstractmethod
    def synthesize(self, text: str, *, language: str, voice: str, rate: float) -> RawAudio:
        """Speak one sentence; rate 1.0 is the engine's normal speed. Raises EngineFailed."""


def base_language(language: str) -> str:
    """Reduce a language tag to the code engines know: 'zh-CN' -> 'zh', 'en-US' -> 'en'."""
    return language.strip().lower().replace("_", "-").split("-")[0]
