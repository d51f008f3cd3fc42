"""gTTS: Google Translate's online voices; needs the internet, so reachability is probed first.

A probe (a TCP connect to translate.google.com:443 with a 2 s timeout) decides within
seconds whether gTTS can work, and its verdict is kept for a minute so a 50-sentence
lesson does not wait 50 times.
"""

from __future__ import annotations

import importlib.util
import io
import re
import socket
import threading
import time

from .audio import decode_audio
from .base import EngineFailed, RawAudio, SpeechEngine

PROBE_ADDRESS = ("translate.google.com", 443)
PROBE_TIMEOUT_S = 2.0
PROBE_TTL_S = 60.0
# (connect, read) seconds for the synthesis request itself; a failure is remembered like
# a failed probe, so a network that accepts connections but never answers costs one wait.
REQUEST_TIMEOUT_S = (PROBE_TIMEOUT_S, 10.0)
SLOW_BELOW_RATE = 0.8
_GTTS_LANG = {"en": "en", "zh": "zh-CN"}
# A voice is a gTTS language, optionally with the Google domain that picks an accent: "en:co.uk".
_VOICE = re.compile(r"^(?P<lang>en|zh-CN|zh-TW|zh)(?::(?P<tld>[a-z.]{2,10}))?$")

_probe_lock = threading.Lock()
_probe_verdict: tuple[float, str | None] | None = None  # (monotonic time, problem or None)


def reachability_problem() -> str | None:
    """None if Google Translate answered a TCP connect recently, else why it did not."""
    global _probe_verdict
    with _probe_lock:
        now = time.monotonic()
        if _probe_verdict is not None and now - _probe_verdict[0] < PROBE_TTL_S:
            return _probe_verdict[1]
        try:
            with socket.create_connection(PROBE_ADDRESS, timeout=PROBE_TIMEOUT_S):
                problem = None
        except OSError as exc:
            host, port = PROBE_ADDRESS
            problem = f"offline: cannot reach {host}:{port} ({exc})"
        _probe_verdict = (time.monotonic(), problem)
        return problem


def _remember_unreachable(problem: str) -> None:
    global _probe_verdict
    with _probe_lock:
        _probe_verdict = (time.monotonic(), problem)


def forget_reachability() -> None:
    """Drop the cached probe verdict (tests, or after the network comes back)."""
    global _probe_verdict
    with _probe_lock:
        _probe_verdict = None


class GttsEngine(SpeechEngine):
    """English and Mandarin through Google Translate; slow mode when rate < 0.8."""

    name = "gtts"
    languages = frozenset(_GTTS_LANG)

    def default_voice(self, language: str) -> str:
        return _GTTS_LANG[language]

    def accepts_voice(self, voice: str, language: str) -> bool:
        match = _VOICE.match(voice)
        return bool(match) and match.group("lang").startswith(language)

    def unavailable_reason(self) -> str | None:
        if importlib.util.find_spec("gtts") is None:
            return "gTTS is not installed"
        return reachability_problem()

    def synthesize(self, text: str, *, language: str, voice: str, rate: float) -> RawAudio:
        from gtts import gTTS, gTTSError

        problem = reachability_problem()
        if problem:
            raise EngineFailed(problem)
        match = _VOICE.match(voice)
        if match is None:
            raise EngineFailed(f"unknown gTTS voice {voice!r}")
        lang = "zh-CN" if match.group("lang") == "zh" else match.group("lang")
        mp3 = io.BytesIO()
        try:
            gTTS(
                text,
                lang=lang,
                tld=match.group("tld") or "com",
                slow=rate < SLOW_BELOW_RATE,
                timeout=REQUEST_TIMEOUT_S,
            ).write_to_fp(mp3)
        except (gTTSError, OSError) as exc:
            # Most failures here are the network; don't make every later sentence wait too.
            _remember_unreachable(f"gTTS request failed: {exc}")
            raise EngineFailed(f"gTTS request failed: {exc}") from exc
        except (AssertionError, ValueError) as exc:
            raise EngineFailed(f"gTTS cannot speak this text: {exc}") from exc
        try:
            return decode_audio(mp3.getvalue())
        except ValueError as exc:
            raise EngineFailed(f"gTTS returned audio that does not decode: {exc}") from exc
