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
from synthesis.word_breaks import break_units

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
# A caption cue holds at most two lines of about 42 Latin or 16 Chinese characters (the
# Netflix/BBC subtitle guides: 42 for English, 16 for Simplified Chinese).
LINE_MAX_CHARS = {"latin": 42, "cjk": 16}
CUE_MAX_LINES = 2
CUE_MAX_CHARS = {script: CUE_MAX_LINES * chars for script, chars in LINE_MAX_CHARS.items()}

_CJK_CHAR = re.compile(
    r"[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]"
)
# A new cue reads best when the one before ended a clause.
_CLAUSE_ENDS = tuple("，、；：。！？,;:.!?)）」』》…")


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
    """Caption cues from the narration text: one per sentence, long ones in several cues.

    Each cue has at most two lines broken between words (caption_blocks); a sentence's time
    is shared among its cues in proportion to their character counts.
    """
    cues: list[Cue] = []
    for sentence in sentences:
        blocks = caption_blocks(sentence.text, language)
        weights = [max(1, sum(len(line) for line in block)) for block in blocks]
        total = sum(weights)
        span_s = sentence.end_s - sentence.start_s
        clock_s = sentence.start_s
        for block, weight in zip(blocks, weights, strict=True):
            end_s = clock_s + span_s * weight / total
            cues.append(Cue(clock_s, end_s, "\n".join(block)))
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


@dataclass(frozen=True)
class _Word:
    text: str
    space_before: bool


def _caption_words(text: str, line_max: int) -> list[_Word]:
    """The text's unbreakable units; only a unit longer than a whole line is cut."""
    words: list[_Word] = []
    space = False
    for unit in break_units(" ".join(text.split())):
        if unit.isspace():
            space = True
            continue
        for start in range(0, len(unit), line_max):
            words.append(_Word(unit[start : start + line_max], space and start == 0))
        space = False
    return words


def _line_text(words: Sequence[_Word]) -> str:
    return "".join((" " if w.space_before and i else "") + w.text for i, w in enumerate(words))


def _greedy_line_count(words: Sequence[_Word], line_max: int) -> int:
    """The fewest lines of at most line_max characters that hold the words in order."""
    lines, width = 1, 0
    for word in words:
        extra = len(word.text) + (1 if word.space_before and width else 0)
        if width and width + extra > line_max:
            lines, width = lines + 1, len(word.text)
        else:
            width += extra
    return lines


def _partition(words: Sequence[_Word], line_count: int, line_max: int) -> list[int] | None:
    """Line starts for exactly line_count lines, each at most line_max characters.

    Minimises the sum of squared line widths (balanced lines), plus a penalty where a new
    cue (every second line) starts after a word that does not end a clause.
    """
    count = len(words)
    if line_count > count:
        return None
    infinity = float("inf")
    # best[k][j]: cost of the first j words in k lines; back[k][j]: where the k-th line starts.
    best = [[infinity] * (count + 1) for _ in range(line_count + 1)]
    back = [[0] * (count + 1) for _ in range(line_count + 1)]
    best[0][0] = 0.0
    cue_penalty = (line_max / 2) ** 2
    for k in range(1, line_count + 1):
        for end in range(1, count + 1):
            chars = gaps = 0
            for start in range(end - 1, -1, -1):
                chars += len(words[start].text)
                if start + 1 < end and words[start + 1].space_before:
                    gaps += 1
                line_width = chars + gaps
                if line_width > line_max:
                    break
                if best[k - 1][start] == infinity:
                    continue
                cost = best[k - 1][start] + line_width**2
                new_cue = k > 1 and (k - 1) % CUE_MAX_LINES == 0
                if new_cue and not words[start - 1].text.endswith(_CLAUSE_ENDS):
                    cost += cue_penalty
                if cost < best[k][end]:
                    best[k][end] = cost
                    back[k][end] = start
    if best[line_count][count] == infinity:
        return None
    starts, end = [], count
    for k in range(line_count, 0, -1):
        end = back[k][end]
        starts.append(end)
    return starts[::-1]


def caption_blocks(text: str, language: str) -> list[tuple[str, ...]]:
    """A sentence as caption cues of at most two lines each, broken only between words.

    Lines stay within LINE_MAX_CHARS (42 Latin, 16 Chinese characters); a Chinese line
    never splits a jieba word, a Latin one never splits at anything but a space. Lines and
    cues are balanced (two even lines read better than a full one and a stub).
    """
    script = _script(text, language)
    line_max = LINE_MAX_CHARS[script]
    words = _caption_words(text, line_max)
    if not words:
        return []
    needed = _greedy_line_count(words, line_max)
    cue_count = math.ceil(needed / CUE_MAX_LINES)
    line_count = needed if needed == 1 else cue_count * CUE_MAX_LINES
    starts = _partition(words, line_count, line_max) or _partition(words, needed, line_max)
    if starts is None:  # cannot happen: the greedy count is always feasible
        starts = [0]
    bounds = [*starts, len(words)]
    lines = [_line_text(words[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    return [
        tuple(lines[start : start + CUE_MAX_LINES]) for start in range(0, len(lines), CUE_MAX_LINES)
    ]


def split_caption_text(text: str, language: str) -> list[str]:
    """A sentence cut into caption-sized pieces (one per cue), each on one line."""
    return [unwrap_caption("\n".join(block)) for block in caption_blocks(text, language)]


def wrap_caption(text: str, language: str) -> str:
    """A cue's text broken into balanced lines between words ("\n" between them)."""
    return "\n".join(line for block in caption_blocks(text, language) for line in block)


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
    segment (opening_frames long; 0: none) and a crossfade from it into the first scene.

    cuts names the scene positions entered by a hard cut instead: no transition frames
    there, the scene starts where the part before it ends.
    """

    scenes: tuple[SceneTiming, ...]
    fps: int
    transition_frames: int
    opening_frames: int = 0
    cuts: frozenset[int] = frozenset()

    def crossfades_into(self, position: int) -> bool:
        """Whether a transition segment leads into scene `position`."""
        return bool(position or self.opening_frames) and position not in self.cuts

    @property
    def entries(self) -> tuple[TimelineEntry, ...]:
        entries: list[TimelineEntry] = []
        clock = 0
        if self.opening_frames:
            entries.append(TimelineEntry("opening", OPENING_INDEX, 0, self.opening_frames))
            clock = self.opening_frames
        for position, timing in enumerate(self.scenes):
            if self.crossfades_into(position):
                entries.append(
                    TimelineEntry("transition", position - 1, clock, self.transition_frames)
                )
                clock += self.transition_frames
            entries.append(TimelineEntry("scene", position, clock, timing.frame_count))
            clock += timing.frame_count
        return tuple(entries)

    @property
    def frame_count(self) -> int:
        transitions = sum(1 for p in range(len(self.scenes)) if self.crossfades_into(p))
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
    scenes: Sequence[SceneTiming],
    fps: int,
    *,
    opening: bool = False,
    cuts: frozenset[int] = frozenset(),
) -> LessonTimeline:
    """Place timed scenes with TRANSITION_S crossfades between them (after the opening label
    segment when opening is true, as every render has it), and hard cuts into the scene
    positions in cuts."""
    return LessonTimeline(
        tuple(scenes),
        fps,
        max(1, round(TRANSITION_S * fps)),
        opening_frames(fps) if opening else 0,
        frozenset(cuts),
    )
