"""How far a render is, in estimated CPU seconds of work, and how long it has left.

Speech and encoding overlap, so progress is the work done over the work there is: for
speech, the characters of each sentence not in the cache times its engine's cost; for
encoding, the frames of each missing segment times a cost per frame that grows with the
picture. The time left is the time spent so far scaled by what remains, smoothed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from synthesis.speech_pool import Sentence
from synthesis.timeline import LEAD_IN_S, SENTENCE_GAP_S, TAIL_S, frames_for

# CPU seconds per encoded frame per megapixel: the reference lesson took 53 CPU-s for 5937
# frames at 1280x720 (slides held, images moving), about 9 ms a frame (bench/README.md).
ENCODE_CPU_S_PER_MEGAPIXEL_FRAME = 0.01
# How fast narration is spoken, to guess a scene's frames before it is spoken (Piper's
# English about 15 characters a second, Kokoro's Mandarin about 4.5).
SPOKEN_CHARS_PER_S = {"en": 15.0, "zh": 4.5}

JobId = tuple[str, int, int]  # ("scene" or "transition", 0-based scene index, part number)


class RenderWork:
    """The speaking and encoding a render does, estimated, and how much of it is done.

    A scene not yet spoken counts the frames its narration is expected to last (none when
    its speech is cached: it is planned at once); once planned, its real frame count if
    its segment is missing, else none. Transitions likewise.
    """

    def __init__(
        self,
        sentences: Sequence[Sequence[Sentence]],
        *,
        fps: int,
        size_px: tuple[int, int],
        transition_frames: int,
    ) -> None:
        self.frame_cost_s = ENCODE_CPU_S_PER_MEGAPIXEL_FRAME * size_px[0] * size_px[1] / 1e6
        self.speech_total_s = sum(s.cost_s for scene in sentences for s in scene)
        self.speech_done_s = 0.0
        self._transition_frames = transition_frames
        self.scene_frames = [
            _expected_frames(scene, fps) if any(s.engine for s in scene) else 0
            for scene in sentences
        ]
        self.transition_frames = [
            transition_frames if self.scene_frames[t] or self.scene_frames[t + 1] else 0
            for t in range(len(sentences) - 1)
        ]
        self._decided: set[int] = set()
        self._job_frames: dict[JobId, int] = {}

    def spoke(self, sentence: Sentence) -> None:
        self.speech_done_s += sentence.cost_s

    def scene_planned(self, position: int, missing_frames: int) -> None:
        """A scene's real frames to encode (0: cached); its undecided transitions follow it."""
        self.scene_frames[position] = missing_frames
        if missing_frames:
            for t in (position - 1, position):
                if 0 <= t < len(self.transition_frames) and t not in self._decided:
                    self.transition_frames[t] = self._transition_frames

    def transition_decided(self, index: int, missing: bool) -> None:
        self._decided.add(index)
        self.transition_frames[index] = self._transition_frames if missing else 0

    def encoded(self, job_id: JobId, frames_done: int) -> None:
        self._job_frames[job_id] = frames_done

    @property
    def frames_to_encode(self) -> int:
        return sum(self.scene_frames) + sum(self.transition_frames)

    @property
    def frames_encoded(self) -> int:
        return sum(self._job_frames.values())

    def fraction(self) -> float:
        """The share of the work done, 0 to 1."""
        frames = self.frames_to_encode
        total_s = self.speech_total_s + self.frame_cost_s * frames
        if total_s <= 0:
            return 1.0
        done_s = self.speech_done_s + self.frame_cost_s * min(self.frames_encoded, frames)
        return min(1.0, done_s / total_s)


def _expected_frames(sentences: Sequence[Sentence], fps: int) -> int:
    if not sentences:
        return 0
    rate = SPOKEN_CHARS_PER_S.get(sentences[0].language, SPOKEN_CHARS_PER_S["en"])
    spoken_s = sum(len(s.text) for s in sentences) / rate
    return frames_for(LEAD_IN_S + spoken_s + SENTENCE_GAP_S * (len(sentences) - 1) + TAIL_S, fps)


class TimeLeft:
    """Seconds left from the time spent and the fraction done, smoothed over a few seconds.

    Each report moves the estimate towards elapsed * (1 - f) / f by a weight that depends
    on the time since the last one, not on how often reports come, and the old estimate
    counts down meanwhile; so one fast or slow batch does not make it jump.
    """

    MIN_FRACTION = 0.02
    MIN_ELAPSED_S = 1.0
    SMOOTHING_S = 4.0

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._started = clock()
        self._value: float | None = None
        self._at = self._started

    def update(self, fraction: float) -> float | None:
        """The estimate after this much of the work is done; None until there is a basis."""
        now = self._clock()
        elapsed_s = now - self._started
        if fraction < self.MIN_FRACTION or elapsed_s < self.MIN_ELAPSED_S:
            return None if self._value is None else self._counted_down(now)
        raw_s = elapsed_s * (1.0 - min(fraction, 1.0)) / fraction
        if self._value is None:
            self._value = raw_s
        else:
            counted_down = self._counted_down(now)
            weight = 1.0 - math.exp(-(now - self._at) / self.SMOOTHING_S)
            self._value = counted_down + weight * (raw_s - counted_down)
        self._at = now
        return round(self._value, 1)

    def _counted_down(self, now: float) -> float:
        return round(max(0.0, self._value - (now - self._at)), 1)
