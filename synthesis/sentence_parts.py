"""Which part of a joined text each of its sentences starts in: how sentences keep their sources.

Importers join paragraphs (or notes lines, or narration pieces) into one narration and
split it with `split_sentences`, as the editor and the renderer do; this maps each
sentence back to the part it came from.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from synthesis.sentences import split_sentences


def sentences_with_parts(
    parts: Sequence[str], narration: str, language: str
) -> list[tuple[str, int]]:
    """Each sentence of `narration` (parts joined by spaces or nothing) and the part it starts in.

    split_sentences changes only whitespace, so counting the other characters finds the
    part each sentence starts in, however the parts were joined; a sentence running on
    into the next part (after a colon, say) belongs to the part where it starts.
    """
    starts: list[int] = []  # where each part begins, counted in non-space characters
    offset = 0
    for part in parts:
        starts.append(offset)
        offset += _visible_length(part)
    result: list[tuple[str, int]] = []
    position = 0
    for sentence in split_sentences(narration, language):
        # bisect_right: a part with no visible text never claims a sentence.
        result.append((sentence, max(0, bisect_right(starts, position) - 1)))
        position += _visible_length(sentence)
    return result


def _visible_length(text: str) -> int:
    return sum(1 for char in text if not char.isspace())
