"""Where a line of text may break: between words, never inside one.

Latin text breaks at spaces. Chinese has no spaces, so each run of Han characters is cut into
words with jieba (MIT; its dictionary ships inside the package, nothing is downloaded; it comes
with misaki[zh]), and a line never splits 模式 into 模 / 式. Kinsoku applies on top: closing
punctuation sticks to the word before it, opening punctuation to the word after it.
"""

from __future__ import annotations

import functools
import logging
import re

# Characters that may not start a line (closing punctuation, small kana, iteration marks).
NO_LINE_START = frozenset(
    "，。、；：？！）」』】》〉〕〗〙〛｝］”’…‥·・ー々〻ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮ"
    "%,.;:?!)]}'\"｡､｣ﾞﾟ"
)
# Characters that may not end a line (opening punctuation).
NO_LINE_END = frozenset("（「『【《〈〔〖〘〚｛［“‘([{｢")

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
# A space, a run of Han characters, one other CJK character (punctuation, kana), or a run of
# anything else (a Latin word, digits, a formula).
_PIECE = re.compile(
    rf"(\s+)|([{_HAN}]+)|([\u2e80-\u33ff\uac00-\ud7af\ufe30-\ufe4f\uff00-\uffef])|([^\s{_HAN}"
    r"\u2e80-\u33ff\uac00-\ud7af\ufe30-\ufe4f\uff00-\uffef]+)"
)


@functools.cache
def _jieba():
    import jieba

    # jieba logs its dictionary loading at INFO on every first use; that is not news.
    jieba.setLogLevel(logging.WARNING)
    return jieba


@functools.lru_cache(maxsize=8192)
def han_words(run: str) -> tuple[str, ...]:
    """A run of Han characters cut into words (a single character is its own word)."""
    if len(run) <= 1:
        return (run,)
    return tuple(word for word in _jieba().cut(run, HMM=True) if word)


def break_units(paragraph: str) -> list[str]:
    """The paragraph as unbreakable units and whitespace tokens, in order.

    Joining the result gives the paragraph back. A line may break before or after a
    whitespace token and between two units, never inside a unit.
    """
    raw: list[str] = []
    for match in _PIECE.finditer(paragraph):
        space, han, cjk_other, other = match.groups()
        if han:
            raw.extend(han_words(han))
        else:
            raw.append(space or cjk_other or other)
    units: list[str] = []
    glue_next = False
    for token in raw:
        if token.isspace():
            units.append(token)
            glue_next = False
            continue
        if units and not units[-1].isspace() and (glue_next or token[0] in NO_LINE_START):
            units[-1] += token
        else:
            units.append(token)
        glue_next = token[-1] in NO_LINE_END
    return units
