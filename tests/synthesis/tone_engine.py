"""A deliberately slow speech engine for render tests: it sleeps, then returns a tone.

A real SpeechEngine, registered into synthesis.speech.fallback.ENGINES by
register_tone_engine(), so renders go through speak(), its cache and its fallback as with
Piper or Kokoro. It counts how many sentences it speaks at once and can fail on some text.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from synthesis.speech import fallback
from synthesis.speech.base import EngineFailed, RawAudio, SpeechEngine

SAMPLE_RATE_HZ = 24_000


class ToneEngine(SpeechEngine):
    """Speaks English and Mandarin as a 440 Hz tone, after delay_s, one tone length a call."""

    name = "tone"
    languages = frozenset({"en", "zh"})

    def __init__(self, *, delay_s: float = 0.3, tone_s: float = 0.6) -> None:
        self.delay_s = delay_s
        self.tone_s = tone_s
        self.fail_on: str | None = None  # text containing this fails
        self.spoken: list[str] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def default_voice(self, language: str) -> str:
        return "a4"

    def accepts_voice(self, voice: str, language: str) -> bool:
        return voice == "a4"

    def unavailable_reason(self) -> str | None:
        return None

    def synthesize(self, text: str, *, language: str, voice: str, rate: float) -> RawAudio:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.spoken.append(text)
        try:
            time.sleep(self.delay_s)
            if self.fail_on and self.fail_on in text:
                raise EngineFailed("the tone generator broke")
        finally:
            with self._lock:
                self.active -= 1
        t = np.arange(int(self.tone_s * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
        return RawAudio((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SAMPLE_RATE_HZ)


def register_tone_engine(monkeypatch: pytest.MonkeyPatch, **settings) -> ToneEngine:
    """A fresh ToneEngine, known to speak() as 'tone' until monkeypatch is undone."""
    engine = ToneEngine(**settings)
    monkeypatch.setitem(fallback.ENGINES, engine.name, engine)
    return engine
