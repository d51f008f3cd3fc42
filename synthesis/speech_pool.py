"""Narration spoken on a pool of threads, ahead of the encoder, one sentence per task.

ONNX Runtime (Piper, Kokoro) and espeak-ng's subprocess release the GIL, so one thread per
core speaks that many sentences at once. Sentences whose clips are cached go first (they
return at once), then the others in lesson order, so a render can plan and encode scene k
while scene k+1 is still being spoken. Results and failures go to the caller's queue as
SentenceSpoken events; nothing here reports progress or raises on the caller's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from synthesis.storyboard import VoiceSettings

# CPU seconds to synthesise one character, per engine: for progress weights and the ETA only.
# Piper about 0.05x real time at ~15 characters a second; Kokoro 0.7-1.0 CPU-s per audio
# second at ~4.5 Chinese characters a second (one thread); espeak-ng about 0.02 s a sentence
# plus a process start; gTTS is a network round trip (see ../shared/toolchain.md).
SPEECH_CPU_S_PER_CHAR = {"piper": 0.004, "kokoro": 0.2, "espeak": 0.001, "gtts": 0.01}
_UNKNOWN_ENGINE_CPU_S_PER_CHAR = 0.01


@dataclass(frozen=True)
class Sentence:
    """One sentence to speak, where it belongs, and who is expected to synthesise it."""

    scene_index: int  # 0-based position of its scene in the lesson
    number: int  # 0-based position in its scene
    text: str
    language: str
    engine: str | None  # the engine expected to synthesise it; None when its clip is cached

    @property
    def cost_s(self) -> float:
        """Estimated CPU seconds to speak it (0 when cached)."""
        if self.engine is None:
            return 0.0
        rate = SPEECH_CPU_S_PER_CHAR.get(self.engine, _UNKNOWN_ENGINE_CPU_S_PER_CHAR)
        return rate * len(self.text)


@dataclass(frozen=True)
class SentenceSpoken:
    """A sentence's result as a worker posts it: the spoken clip, or the exception raised."""

    sentence: Sentence
    spoken: object | None  # a synthesis.speech.SpokenSentence
    error: Exception | None = None


def expected_engine(
    text: str, *, language: str, voice: VoiceSettings, cache_dir: Path, available: dict
) -> str | None:
    """The engine speak() would synthesise text with, or None when a clip is already cached.

    Follows speak()'s order (engines for the language, the voice's owner, the cache path,
    availability) without synthesising; an estimate for progress, never a decision: speak()
    decides. available memoises each engine's unavailable_reason() across calls.
    """
    from synthesis.speech import ENGINES
    from synthesis.speech.base import base_language
    from synthesis.speech.cache import cached_wav_path

    lang = base_language(language)
    text = text.strip()
    engines = [
        (name, ENGINES[name])
        for name in voice.engines_for(lang)
        if name in ENGINES and lang in ENGINES[name].languages
    ]
    # The requested voice belongs to the first engine that has it; the others keep theirs.
    owner = next(
        (
            name
            for name, engine in engines
            if voice.voice and engine.accepts_voice(voice.voice, lang)
        ),
        None,
    )
    for name, engine in engines:
        voice_name = voice.voice if name == owner else engine.default_voice(lang)
        path = cached_wav_path(
            cache_dir, engine=name, voice=voice_name, rate=voice.rate, text=text, language=lang
        )
        if path.is_file():
            return None
        if name not in available:
            available[name] = engine.unavailable_reason() is None
        if available[name]:
            return name
    return "none"  # nothing can speak it: speak() will raise, at no cost


def lesson_sentences(
    narrations: Sequence[Sequence[str]],
    languages: Sequence[str],
    *,
    voice: VoiceSettings,
    cache_dir: Path,
) -> list[list[Sentence]]:
    """Every scene's sentences (narrations[i] are scene i's), each with its expected engine."""
    available: dict[str, bool] = {}
    return [
        [
            Sentence(
                position,
                number,
                text,
                language,
                expected_engine(
                    text, language=language, voice=voice, cache_dir=cache_dir, available=available
                ),
            )
            for number, text in enumerate(texts)
        ]
        for position, (texts, language) in enumerate(zip(narrations, languages, strict=True))
    ]


class SpeechPool:
    """Speaks sentences on `workers` threads and posts a SentenceSpoken for each to `events`.

    Use as a context manager: entering starts the work, leaving stops what has not started
    (a sentence being spoken is finished: engines cannot be interrupted) and waits for the
    threads, so none outlives the block.
    """

    def __init__(
        self,
        sentences: Sequence[Sentence],
        *,
        speak: Callable[[Sentence], object],
        workers: int,
        events: queue.Queue,
    ) -> None:
        # Cached clips first: they take no time, and their scenes can be planned at once.
        self.sentences = sorted(
            sentences, key=lambda s: (s.engine is not None, s.scene_index, s.number)
        )
        self.workers = max(1, workers)
        self._speak = speak
        self._events = events
        self._stop = threading.Event()
        self._executor: ThreadPoolExecutor | None = None

    def __enter__(self) -> SpeechPool:
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="speech")
        for sentence in self.sentences:
            self._executor.submit(self._run, sentence)
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Stop speaking new sentences and wait for the threads to end."""
        self._stop.set()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def _run(self, sentence: Sentence) -> None:
        if self._stop.is_set():
            return
        try:
            event = SentenceSpoken(sentence, self._speak(sentence))
        except Exception as exc:  # handed to the render's thread, which raises it
            event = SentenceSpoken(sentence, None, exc)
            self._stop.set()  # one failure ends the render: speak no more
        self._events.put(event)
