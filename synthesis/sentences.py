"""Split narration into sentences short enough to speak and caption one at a time.

English ends sentences at . ! ? unless the period belongs to an abbreviation, a
decimal, a version number or an initial; Chinese ends them at 。！？. Sentences longer
than a caption line or two are cut at commas (and, in Chinese, at ；and ……) so every
piece stays under MAX_CHARS for its language.
"""

from __future__ import annotations

import re

# Longest piece we hand to a TTS engine and show as one caption.
MAX_CHARS = {"en": 200, "zh": 80}

_CJK = (
    r"\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
)
_CJK_CHAR = re.compile(f"[{_CJK}]")
# Whitespace between two CJK characters is a line break in the source, not a word gap.
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
_WHITESPACE = re.compile(r"\s+")

_CLOSERS = "\"'”’」』）)]】》〉"
# A Chinese terminator ends a sentence wherever it stands; closing quotes go with it.
_CJK_END = re.compile(f"[。！？!?]+[{re.escape(_CLOSERS)}]*")
# An ASCII terminator ends a sentence only before whitespace (so 3.14 and v1.2.3 stay whole).
_LATIN_END = re.compile(f"(?:\\.{{3}}|…|[.!?])+[{re.escape(_CLOSERS)}]*(?=\\s|$)")

# Abbreviations that are never the last word of a sentence, lowercase, without the final dot.
_NEVER_FINAL = {
    "mr", "mrs", "ms", "dr", "prof", "st", "mt", "vs", "e.g", "i.e", "cf", "approx",
    "ca", "lt", "col", "gen", "sgt", "capt", "rev", "hon",
}  # fmt: skip
# Abbreviations that cannot end a sentence when a number follows ("see Fig. 3", "No. 5").
_BEFORE_NUMBER = {
    "no", "nos", "fig", "figs", "eq", "eqs", "p", "pp", "vol", "ch", "chap", "sec",
    "ref", "art", "ex", "pt",
}  # fmt: skip

_WORD_BEFORE = re.compile(r"(\S+)$")
_CLOSER_RUN = f"[{re.escape(_CLOSERS)}]*"
# Where an over-long sentence may be cut; the cut goes after the match.
_SOFT_BREAKS = {
    "en": re.compile(r"[,;:]\s+|\s(?:—|–|--)\s"),
    "zh": re.compile(f"(?:[，、；：,;:]|…+|—+){_CLOSER_RUN}\\s*"),
}
# Chinese clause ends tried before commas: 。-like pauses inside a very long sentence.
_ZH_CLAUSE_ENDS = re.compile(f"(?:[；;]|…+){_CLOSER_RUN}\\s*")
# Inline code and math are read as a unit: never cut inside `...` or $...$ (TeX/pandoc
# rule: no space inside either dollar, no digit after the closing one, so "$5. Then $6" isn't math).
_PROTECTED = re.compile(r"`[^`]*`|\$(?=\S)[^$]*?(?<=\S)\$(?!\d)")


def split_sentences(text: str, language: str) -> list[str]:
    """Return the sentences of `text`, each at most MAX_CHARS[language] long where possible."""
    lang = "zh" if language.lower().startswith("zh") else "en"
    text = _normalise_space(text)
    if not text:
        return []
    sentences = _merge_punctuation_only(_split_at_terminators(text))
    limit = MAX_CHARS[lang]
    pieces: list[str] = []
    for sentence in sentences:
        pieces.extend(_split_long(sentence, lang, limit))
    return pieces


def _normalise_space(text: str) -> str:
    text = _SPACE_BETWEEN_CJK.sub("", text.strip())
    return _WHITESPACE.sub(" ", text)


def _split_at_terminators(text: str) -> list[str]:
    ends = {m.end() for m in _CJK_END.finditer(text) if _is_cjk_boundary(text, m)}
    ends |= {m.end() for m in _LATIN_END.finditer(text) if _is_latin_boundary(text, m)}
    return _cut(text, ends)


def _protected(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _PROTECTED.finditer(text)]


def _cut(text: str, ends: set[int]) -> list[str]:
    """Split text after each position in `ends` that is not inside code or math."""
    protected = _protected(text)
    pieces, start = [], 0
    for end in sorted(ends):
        if end > start and not any(a < end < b for a, b in protected):
            pieces.append(text[start:end].strip())
            start = end
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def _is_cjk_boundary(text: str, match: re.Match[str]) -> bool:
    # ASCII ! and ? count only after Chinese text ("这是 Python!" ends; "Hi!there" doesn't).
    first = text[match.start()]
    if first in "!?":
        before = text[match.start() - 1] if match.start() else ""
        return bool(_CJK_CHAR.match(before))
    return True


def _is_latin_boundary(text: str, match: re.Match[str]) -> bool:
    terminator = match.group().rstrip(_CLOSERS)
    following = text[match.end() :].lstrip()
    if not following:
        return True
    next_char = following[0]
    if "!" in terminator or "?" in terminator:
        return True
    if terminator in ("...", "…") or terminator.endswith(("...", "…")):
        # "Wait... then go" trails off mid-sentence; "Wait... Then go" starts a new one.
        return not next_char.islower()
    # A single period.
    if next_char.islower():
        return False
    if _CJK_CHAR.match(next_char) and text[match.start() - 1].isdigit():
        return False  # "1. 我们…": a list number inside Chinese text, not a sentence end
    word_match = _WORD_BEFORE.search(text[: match.start()])
    word = word_match.group(1).lstrip("(\"'“‘[").lower() if word_match else ""
    if word in _NEVER_FINAL or (word in _BEFORE_NUMBER and next_char.isdigit()):
        return False
    # An initial ("J. K. Rowling") or an acronym with dots before a capital ("U.S. Army")
    # is ambiguous; a lone capital letter is almost always an initial.
    if len(word) == 1 and word.isalpha():
        return not text[match.start() - 1].isupper()
    return True


def _merge_punctuation_only(sentences: list[str]) -> list[str]:
    # A piece with nothing to say ("…", "!") belongs to the sentence before it.
    merged: list[str] = []
    for sentence in sentences:
        if merged and not any(ch.isalnum() for ch in sentence):
            merged[-1] = merged[-1] + sentence
        else:
            merged.append(sentence)
    return merged


def _split_long(sentence: str, lang: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    joiner = "" if lang == "zh" else " "
    clauses = [sentence]
    if lang == "zh":
        clauses = _pack(_cut_after(sentence, _ZH_CLAUSE_ENDS), limit, joiner=joiner)
    pieces: list[str] = []
    for clause in clauses:
        if len(clause) <= limit:
            pieces.append(clause)
            continue
        for part in _pack(_cut_after(clause, _SOFT_BREAKS[lang]), limit, joiner=joiner):
            pieces.extend(_hard_split(part, lang, limit))
    return [p for p in pieces if p]


def _cut_after(text: str, pattern: re.Pattern[str]) -> list[str]:
    return _cut(text, {m.end() for m in pattern.finditer(text)})


def _pack(parts: list[str], limit: int, *, joiner: str) -> list[str]:
    """Join consecutive parts greedily while the result stays within the limit."""
    packed: list[str] = []
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if packed and len(packed[-1]) + len(joiner) + len(part) <= limit:
            packed[-1] = packed[-1] + joiner + part
        else:
            packed.append(part)
    return packed


def _hard_split(text: str, lang: str, limit: int) -> list[str]:
    # Last resort for a clause with no commas: cut at the last space (or, in Chinese,
    # anywhere that is not inside a Latin word) before the limit.
    pieces: list[str] = []
    while len(text) > limit:
        cut = _last_cjk_cut(text, limit) if lang == "zh" else text.rfind(" ", 1, limit + 1)
        if cut <= 0:
            cut = limit
        # Never inside code or math: a formula longer than the limit stays whole.
        cut = next((b if a == 0 else a for a, b in _protected(text) if a < cut < b), cut)
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    pieces.append(text)
    return pieces


def _last_cjk_cut(text: str, limit: int) -> int:
    for cut in range(limit, 0, -1):
        before, after = text[cut - 1], text[cut]
        if not (before.isascii() and before.isalnum() and after.isascii() and after.isalnum()):
            return cut
    return limit
