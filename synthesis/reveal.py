"""When each bullet of a text slide appears: as the narration reaches it.

A slide's bullets are mostly its narrated sentences (the first sentence of each paragraph)
or list items read aloud, so bullet i is matched to the first sentence, not before the one
that revealed bullet i - 1, that says most of the bullet's tokens (nearly as many as the
best sentence): Latin words (a plural's "s" dropped, small words ignored) and, for Chinese,
pairs of neighbouring Han characters, which need no word segmentation. A bullet that no
sentence narrates appears with the one before it (the first: from the scene's start). Pure
functions: the plan keeps the steps (RevealStep) in the segment key, the encoder draws one
picture per step.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from synthesis.frames.latex_text import replace_inline_math

# A sentence narrates a bullet when it holds at least this share of the bullet's tokens,
# and nearly as many as the sentence that holds most: "Understand the benefits of version
# control" also holds most of the next bullet, "Understand the basics of version control".
MATCH_SHARE = 0.6
NEAR_BEST = 0.15

_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[^\W_]+")
_SMALL_WORDS = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by can do for from has have in into is it its of on or our "
        "so that the their then this to was we were what when which will with you your",
    )
)


@dataclass(frozen=True)
class RevealStep:
    """From start_frame (scene frames) on, the first bullet_count bullets are drawn."""

    start_frame: int
    bullet_count: int


def overlap_tokens(text: str) -> frozenset[str]:
    """What a bullet and a sentence are compared by: words, and Han character pairs."""
    tokens: set[str] = set()
    for run in _HAN_RUN.findall(text):
        tokens.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    for word in _WORD.findall(_HAN_RUN.sub(" ", text).casefold()):
        if word in _SMALL_WORDS:
            continue
        tokens.add(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return frozenset(tokens)


def narrated_share(bullet: str, sentence: str) -> float:
    """The share of the bullet's tokens that the sentence says (0 for an empty bullet)."""
    wanted = overlap_tokens(bullet)
    if not wanted:
        return 0.0
    return len(wanted & overlap_tokens(sentence)) / len(wanted)


def reveal_times(bullets: Sequence[str], sentences: Sequence[object]) -> tuple[float, ...]:
    """Seconds from the scene's start at which each bullet appears, never decreasing.

    sentences need text and start_s (TimedSentence). A bullet narrated by the scene's first
    sentence shows from 0 s, so the slide does not open bare for the lead-in.
    """
    times: list[float] = []
    earliest = 0  # the sentence that revealed the bullet before
    for bullet in bullets:
        # A bullet's inline math ($\\hat{y}$) is compared as it reads (ŷ), not as LaTeX.
        readable = replace_inline_math(bullet)
        shares = [narrated_share(readable, s.text) for s in sentences[earliest:]]
        best = max(shares, default=0.0)
        match = next(
            (
                earliest + offset
                for offset, share in enumerate(shares)
                if share >= max(MATCH_SHARE, best - NEAR_BEST)
            ),
            None,
        )
        if best < MATCH_SHARE:
            match = None
        if match is None:
            times.append(times[-1] if times else 0.0)
            continue
        earliest = match
        start_s = float(sentences[match].start_s) if match else 0.0
        times.append(max(start_s, times[-1] if times else 0.0))
    return tuple(times)


def reveal_steps(
    times_s: Sequence[float], *, fps: int, frame_count: int, start_empty: bool = True
) -> tuple[RevealStep, ...]:
    """The times as whole-frame steps (the first frame at or after each time), at most one
    per frame, the first at frame 0 (with no bullet yet, or with the first when start_empty
    is false); the last frame always shows every bullet. () when all show from the start."""
    steps = [RevealStep(0, 0)] if start_empty else []
    for count, time_s in enumerate(times_s, start=1):
        frame = min(frame_count - 1, max(0, math.ceil(time_s * fps - 1e-6)))
        if not steps:
            frame = 0
        if steps and steps[-1].start_frame == frame:
            steps[-1] = RevealStep(frame, count)
        else:
            steps.append(RevealStep(frame, count))
    if len(steps) < 2:
        return ()
    return tuple(steps)


def scene_reveal(
    bullets: Sequence[str],
    sentences: Sequence[object],
    *,
    fps: int,
    frame_count: int,
    start_empty: bool = True,
) -> tuple[RevealStep, ...]:
    """A text slide's reveal steps from its narration timing; () to show every bullet at once.

    start_empty: the slide may open before its first bullet is said (it has a title to
    show); without, the first bullet shows from the start rather than a blank slide.
    """
    if len(bullets) < 2 or not sentences:
        return ()
    times = reveal_times(bullets, sentences)
    return reveal_steps(times, fps=fps, frame_count=frame_count, start_empty=start_empty)
