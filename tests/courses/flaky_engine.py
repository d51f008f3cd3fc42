"""A speech engine that fails its first N calls, then speaks with espeak-ng: a TTS service
that goes down and comes back. A worker loads it with `--include tests.courses.flaky_engine`;
the count of failures left is kept in the file named by LECTERN_TEST_FLAKY_STATE, so pool
processes, retries and the test share it."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from synthesis.speech.base import EngineFailed, RawAudio, SpeechEngine
from synthesis.speech.espeak_engine import EspeakEngine
from synthesis.speech.fallback import ENGINES

NAME = "flaky"


class FlakyEngine(SpeechEngine):
    name = NAME
    languages = frozenset({"en"})

    def __init__(self) -> None:
        self.inner = EspeakEngine()

    def default_voice(self, language: str) -> str:
        return self.inner.default_voice(language)

    def accepts_voice(self, voice: str, language: str) -> bool:
        return self.inner.accepts_voice(voice, language)

    def unavailable_reason(self) -> str | None:
        return self.inner.unavailable_reason()

    def synthesize(self, text: str, *, language: str, voice: str, rate: float) -> RawAudio:
        if take_failure(Path(os.environ["LECTERN_TEST_FLAKY_STATE"])):
            raise EngineFailed("the test engine is out of order for now")
        return self.inner.synthesize(text, language=language, voice=voice, rate=rate)


def take_failure(state: Path) -> bool:
    """True (and one failure fewer left) while failures are left; under a lock, since the
    speech pool speaks several sentences at once."""
    with open(state, "r+") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        left = int(file.read() or 0)
        if left <= 0:
            return False
        file.seek(0)
        file.truncate()
        file.write(str(left - 1))
        return True


ENGINES[NAME] = FlakyEngine()
