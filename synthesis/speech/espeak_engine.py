"""espeak-ng: small, fast, offline English.

Its Mandarin voice (`cmn`) is not offered: on Debian 12 (espeak-ng 1.51) it reads pinyin tone
digits as English numbers ("men five"), and Whisper recognises none of it (see
tests/synthesis/test_intelligibility.py, which keeps proving it).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

from .audio import read_wav
from .base import EngineFailed, RawAudio, SpeechEngine

NORMAL_WORDS_PER_MIN = 175
# espeak-ng accepts 80-450 words per minute.
MIN_WORDS_PER_MIN, MAX_WORDS_PER_MIN = 80, 450
_DEFAULT_VOICES = {"en": "en-us"}
_TIMEOUT_S = 60


class EspeakEngine(SpeechEngine):
    """Runs the `espeak-ng` binary once per sentence, writing a WAV with `-w`."""

    name = "espeak"
    languages = frozenset(_DEFAULT_VOICES)

    def default_voice(self, language: str) -> str:
        return _DEFAULT_VOICES[language]

    def accepts_voice(self, voice: str, language: str) -> bool:
        voice = voice.lower()
        return language == "en" and (voice == "en" or voice.startswith("en-"))

    def unavailable_reason(self) -> str | None:
        if shutil.which("espeak-ng") is None:
            return "espeak-ng binary not found on PATH (install the espeak-ng package)"
        return None

    def synthesize(self, text: str, *, language: str, voice: str, rate: float) -> RawAudio:
        binary = shutil.which("espeak-ng")
        if binary is None:
            raise EngineFailed(self.unavailable_reason())
        words_per_min = round(NORMAL_WORDS_PER_MIN * rate)
        words_per_min = min(MAX_WORDS_PER_MIN, max(MIN_WORDS_PER_MIN, words_per_min))
        with tempfile.TemporaryDirectory(prefix="lectern-espeak-") as tmp:
            wav_path = Path(tmp) / "speech.wav"
            command = [binary, "--stdin", "-b", "1", "-v", voice, "-s", str(words_per_min)]
            try:
                # Text goes through stdin so a sentence starting with "-" is not an option.
                result = subprocess.run(
                    [*command, "-w", str(wav_path)],
                    input=text.encode("utf-8"),
                    capture_output=True,
                    timeout=_TIMEOUT_S,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise EngineFailed(f"espeak-ng did not run: {exc}") from exc
            if result.returncode != 0 or not wav_path.exists():
                message = result.stderr.decode("utf-8", "replace").strip()
                raise EngineFailed(f"espeak-ng exited {result.returncode}: {message}")
            try:
                return read_wav(wav_path)
            except (OSError, EOFError, ValueError, wave.Error) as exc:
                raise EngineFailed(f"espeak-ng wrote an unreadable WAV: {exc}") from exc
