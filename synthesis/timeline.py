"""Turn spoken sentences into a timed plan: scene lengths in whole frames, sentence times, cues.

All times inside a SceneTiming are seconds from the start of that scene; LessonTimeline
places scenes and the transitions between them on the lesson's clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from synthesis.storyboard import Scene

LEAD_IN_S = 0.4
SENTENCE_GAP_S = 0.25
TAIL_S = 0.6
SILENT_HOLD_S = 3.0
TRANSITION_S = 0.5
OPENING_LABEL_S = 2.5
# The opening AI label is a segment of its own (OPENING_LABEL_S long, before a crossfade into
# whatever scene plays first), so no scene is special for being first. Kept for callers that
# still ask a scene to outlast the label.
FIRST_SCENE_MIN_S = OPENING_LABEL_S + 0.5
# A caption cue holds at most two lines of about 42 Latin characters or 20 CJK characters.
CUE_MAX_CHARS = {"latin": 84, "cjk": 40}
LINE_MAX_CHARS = {"latin": 42, "cjk": 20}

_CJK_CHAR = re.compile(
    r"[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]"
)
# Where a CJK caption may break: after punctuation, else between any two characters...
_CJK_BREAK_AFTER = "，、；：。！？,;:)）」』》"
# ...except before punctuation that may not start a line.
_NO_LINE_START = "，、；：。！？,.;:!?)）」』》”’…"


@dataclass(frozen=True)
class TimedSentence:
    """A narrated sentence placed in its scene (seconds from the scene's start)."""

    text: str
    start_s: float
    end_s: float
    wav_path: Path | None
    engine: str
    voice: str


@dataclass(frozen=True)
class Cue:
    """A timed piece of text for a WebVTT track or burned-in captions."""

    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class SceneTiming:
    """One scene's sentences, caption cues and length in whole frames."""

    index: int
    scene: Scene
    sentences: tuple[TimedSentence, ...]
    cues: tuple[Cue, ...]
    frame_count: int
    fps: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps

    @property
    def silent(self) -> bool:
        return not self.sentences


def frames_for(duration_s: float, fps: int) -> int:
    """Whole frames that cover duration_s (rounded up, ignoring float dust)."""
    return max(1, math.ceil(duration_s * fps - 1e-6))


def place_sentences(spoken: Sequence[object], *, fps: int) -> tuple[tuple[TimedSentence, ...], int]:
    """Lay spoken sentences out with lead-in, gaps and tail; return them and the frame count.

    spoken items need text, wav_path, duration_s, engine and voice (a SpokenSentence). With
    no sentences the scene holds silently for SILENT_HOLD_S.
    """
    if not spoken:
        return (), frames_for(SILENT_HOLD_S, fps)
    placed: list[TimedSentence] = []
    clock_s = LEAD_IN_S
    for index, sentence in enumerate(spoken):
        if index:
            clock_s += SENTENCE_GAP_S
        start_s = clock_s
        clock_s += float(sentence.duration_s)
        placed.append(
            TimedSentence(
                text=sentence.text,
                start_s=start_s,
                end_s=clock_s,
                wav_path=sentence.wav_path,
                engine=sentence.engine,
                voice=sentence.voice,
            )
        )
    return tuple(placed), frames_for(clock_s + TAIL_S, fps)


def scene_timing(
    index: int, scene: Scene, spoken: Sequence[object], *, fps: int, min_duration_s: float = 0.0
) -> SceneTiming:
    """Time one scene from its spoken sentences, lasting at least min_duration_s."""
    sentences, frame_count = place_sentences(spoken, fps=fps)
    frame_count = max(frame_count, frames_for(min_duration_s, fps))
    return SceneTiming(
        index=index,
        scene=scene,
        sentences=sentences,
        cues=caption_cues(sentences, scene.language),
        frame_count=frame_count,
        fps=fps,
    )


def caption_cues(sentences: Sequence[TimedSentence], language: str) -> tuple[Cue, ...]:
    """Caption cues from the narration text: one per sentence, long ones split by characters.

    A sentence too long for two caption lines is split into pieces, and its time is shared
    among them in proportion to their character counts.
    """
    cues: list[Cue] = []
    for sentence in sentences:
        pieces = split_caption_text(sentence.text, language)
        weights = [max(1, len(piece)) for piece in pieces]
        total = sum(weights)
        span_s = sentence.end_s - sentence.start_s
        clock_s = sentence.start_s
        for piece, weight in zip(pieces, weights, strict=True):
            end_s = clock_s + span_s * weight / total
            cues.append(Cue(clock_s, end_s, wrap_caption(piece, language)))
            clock_s = end_s
    # Bridge the short pauses between sentences so burned captions do not flicker off and on.
    for position in range(len(cues) - 1):
        gap_s = cues[position + 1].start_s - cues[position].end_s
        if 0 < gap_s <= SENTENCE_GAP_S + 1e-6:
            cue = cues[position]
            cues[position] = Cue(cue.start_s, cues[position + 1].start_s, cue.text)
    return tuple(cues)


def _script(text: str, language: str) -> Literal["latin", "cjk"]:
    cjk = len(_CJK_CHAR.findall(text))
    return "cjk" if language.startswith("zh") or cjk * 2 > len(text) else "latin"


def split_caption_text(text: str, language: str) -> list[str]:
    """Cut a sentence into caption-sized pieces (two lines each), at words or CJK punctuation."""
    text = " ".join(text.split())
    script = _script(text, language)
    limit = CUE_MAX_CHARS[script]
    if len(text) <= limit:
        return [text] if text else []
    count = math.ceil(len(text) / limit)
    target = len(text) / count  # even pieces read better than full ones and a stub
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _cut_position(rest, round(target), limit, script)
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _cut_position(text: str, target: int, limit: int, script: str) -> int:
    """Where to cut text so the first part is about target long and at most limit.

    Latin text is cut at a space. CJK text is cut between characters, never inside a run
    of Latin letters or digits and never before closing punctuation; a cut just after
    punctuation within a third of the target wins over an exact length.
    """
    if script == "latin":
        spaces = [i for i, char in enumerate(text[: limit + 1]) if char == " "]
        return min(spaces, key=lambda i: abs(i - target)) if spaces else limit
    allowed = [i for i in range(1, min(limit, len(text) - 1) + 1) if _cjk_cut_allowed(text, i)]
    if not allowed:
        return min(limit, len(text))
    window = max(2, target // 3)
    after_punctuation = [
        i for i in allowed if text[i - 1] in _CJK_BREAK_AFTER and abs(i - target) <= window
    ]
    return min(after_punctuation or allowed, key=lambda i: abs(i - target))


def _cjk_cut_allowed(text: str, index: int) -> bool:
    before, after = text[index - 1], text[index]
    if after in _NO_LINE_START:
        return False
    return not (before.isascii() and before.isalnum() and after.isascii() and after.isalnum())


def wrap_caption(text: str, language: str) -> str:
    """Break a cue's text into at most two balanced lines ("\n" between them)."""
    script = _script(text, language)
    if len(text) <= LINE_MAX_CHARS[script]:
        return text
    cut = _cut_position(text, len(text) // 2, len(text) - 1, script)
    if script == "latin":
        if text[cut : cut + 1] != " ":
            return text
        return text[:cut] + "\n" + text[cut + 1 :]
    return text[:cut].rstrip() + "\n" + text[cut:].lstrip()


def unwrap_caption(text: str) -> str:
    """A wrapped cue back on one line: a space between Latin words, nothing between CJK."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    joined = ""
    for line in lines:
        cjk_seam = joined and (_CJK_CHAR.match(joined[-1]) or _CJK_CHAR.match(line[0]))
        joined += line if not joined or cjk_seam else " " + line
    return joined


SegmentKind = Literal["opening", "scene", "transition"]
OPENING_INDEX = -1  # the scene_index of the opening entry, and of the transition leaving it


@dataclass(frozen=True)
class TimelineEntry:
    """An opening, scene or transition segment on the lesson's clock, in frames."""

    kind: SegmentKind
    scene_index: int  # for a transition: the scene it leaves (OPENING_INDEX: the opening)
    start_frame: int
    frame_count: int


@dataclass(frozen=True)
class LessonTimeline:
    """Scenes in order with a crossfade segment between neighbours, after the opening label
    segment (opening_frames long; 0: none) and a crossfade from it into the first scene."""

    scenes: tuple[SceneTiming, ...]
    fps: int
    transition_frames: int
    opening_frames: int = 0

    @property
    def entries(self) -> tuple[TimelineEntry, ...]:
        entries: list[TimelineEntry] = []
        clock = 0
        if self.opening_frames:
            entries.append(TimelineEntry("opening", OPENING_INDEX, 0, self.opening_frames))
            clock = self.opening_frames
        for position, timing in enumerate(self.scenes):
            if position or self.opening_frames:
                entries.append(
                    TimelineEntry("transition", position - 1, clock, self.transition_frames)
                )
                clock += self.transition_frames
            entries.append(TimelineEntry("scene", position, clock, timing.frame_count))
            clock += timing.frame_count
        return tuple(entries)

    @property
    def frame_count(self) -> int:
        transitions = max(0, len(self.scenes) - 1) + (
            1 if self.opening_frames and self.scenes else 0
        )
        return (
            self.opening_frames
            + sum(t.frame_count for t in self.scenes)
            + self.transition_frames * transitions
        )

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps

    def scene_start_s(self, position: int) -> float:
        """When scene `position` starts on the lesson's clock."""
        for entry in self.entries:
            if entry.kind == "scene" and entry.scene_index == position:
                return entry.start_frame / self.fps
        raise IndexError(position)


def opening_frames(fps: int) -> int:
    """Frames of the opening label segment: OPENING_LABEL_S, rounded up to whole frames."""
    return frames_for(OPENING_LABEL_S, fps)


def lesson_timeline(
    scenes: Sequence[SceneTiming], fps: int, *, opening: bool = False
) -> LessonTimeline:
    """Place timed scenes with TRANSITION_S crossfades between them (after the opening label
    segment when opening is true, as every render has it)."""
    return LessonTimeline(
        tuple(scenes),
        fps,
        max(1, round(TRANSITION_S * fps)),
        opening_frames(fps) if opening else 0,
    )
