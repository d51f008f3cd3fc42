"""Chinese narration to Kokoro phonemes: Mandarin by misaki, Latin words as English.

misaki's Chinese G2P passes Latin letters through as if they were phonemes ("GPT" loses
letters) and cn2an reads the "-2" of "GPT-2" as 负二. So the text is cut into runs first:
Latin words (with any digits glued to them split off) are phonemised as American English
by espeak-ng (the copy inside Piper, no binary needed) and mapped onto Kokoro's symbols;
everything else, numbers included, is read in Mandarin.
"""

from __future__ import annotations

import functools
import re
import threading

# A Latin word, optionally joined to more by - . ' + _ ("GPT-2", "scikit-learn", "C++").
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'._+]+[A-Za-z0-9]+)*\+*")
# Digits glued to a Latin word ("ResNet50", "GPT-2", "Python3.11") are read in Chinese.
_TRAILING_NUMBER = re.compile(r"^(?P<word>.*?[A-Za-z+])[-_]?(?P<number>\d+(?:\.\d+)*)$")
_JOINERS = re.compile(r"[-_.]+")
# espeak's IPA -> Kokoro's English symbols (as misaki's own espeak fallback maps them).
_ESPEAK_TO_KOKORO = sorted(
    {
        "aɪ": "I",
        "aʊ": "W",
        "dʒ": "ʤ",
        "eɪ": "A",
        "tʃ": "ʧ",
        "ɔɪ": "Y",
        "oʊ": "O",
        "əl": "ᵊl",
        "ɚ": "əɹ",
        "ɜː": "ɜɹ",
        "r": "ɹ",
        "x": "k",
        "ç": "k",
        "ɐ": "ə",
        "ɬ": "l",
        "ː": "",
        "ɾ": "T",
        "ʔ": "t",
    }.items(),
    key=lambda pair: -len(pair[0]),
)
_ESPEAK_VOICE = "en-us"
_CLAUSE_END = re.compile(r"(?<=[.!?;:,])\s+")

_g2p_lock = threading.Lock()


def mandarin_phonemes(text: str, *, max_symbols: int) -> list[str]:
    """Kokoro phoneme strings for one sentence, each at most max_symbols long.

    Raises ValueError when nothing in the text can be pronounced.
    """
    pieces = []
    for kind, run in text_runs(text):
        phonemes = _english(run) if kind == "en" else _chinese(run)
        if phonemes.strip():
            pieces.append(phonemes.strip())
    joined = " ".join(pieces)
    if not any(symbol.isalpha() for symbol in joined):
        raise ValueError("the text has no words to read")
    return _chunks(joined, max_symbols)


def text_runs(text: str) -> list[tuple[str, str]]:
    """The text as ("en", word) and ("zh", other text) runs, in order.

    Digits glued to a Latin word become a Chinese run of their own, without the joiner.
    """
    runs: list[tuple[str, str]] = []
    position = 0
    for match in _LATIN_WORD.finditer(text):
        if match.start() > position:
            runs.append(("zh", text[position : match.start()]))
        word, number = match.group(0), ""
        glued = _TRAILING_NUMBER.match(word)
        if glued:
            word, number = glued.group("word"), glued.group("number")
        runs.append(("en", word))
        if number:
            runs.append(("zh", number))
        position = match.end()
    if position < len(text):
        runs.append(("zh", text[position:]))
    return _merge_neighbours(runs)


def _merge_neighbours(runs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    merged: list[tuple[str, str]] = []
    for kind, run in runs:
        if merged and merged[-1][0] == kind == "zh":
            merged[-1] = (kind, merged[-1][1] + run)
        elif merged and merged[-1][0] == kind == "en" and not run.strip():
            continue
        else:
            merged.append((kind, run))
    return merged


def _chinese(run: str) -> str:
    g2p = _chinese_g2p()
    with _g2p_lock:  # jieba's dictionary and pypinyin's caches are shared
        return g2p(run)[0]


@functools.cache
def _chinese_g2p():
    from misaki.zh import ZHG2P

    return ZHG2P()


def _english(word: str) -> str:
    from .piper_engine import load_voice

    spoken = _JOINERS.sub(" ", word).replace("+", " plus ")
    # Piper's voice phonemises with its own espeak-ng under its own lock.
    sentences = load_voice().phonemize(spoken)
    phonemes = "".join("".join(sentence) for sentence in sentences)
    for espeak, kokoro in _ESPEAK_TO_KOKORO:
        phonemes = phonemes.replace(espeak, kokoro)
    return phonemes.strip(" .")


def _chunks(phonemes: str, max_symbols: int) -> list[str]:
    """Split at clause ends (then spaces) so each piece fits the model's input."""
    if len(phonemes) <= max_symbols:
        return [phonemes]
    chunks: list[str] = []
    current = ""
    for clause in _CLAUSE_END.split(phonemes):
        for piece in _fit(clause, max_symbols):
            if current and len(current) + 1 + len(piece) > max_symbols:
                chunks.append(current)
                current = piece
            else:
                current = f"{current} {piece}".strip()
    if current:
        chunks.append(current)
    return chunks


def _fit(clause: str, max_symbols: int) -> list[str]:
    if len(clause) <= max_symbols:
        return [clause]
    words, pieces, current = clause.split(" "), [], ""
    for word in words:
        word = word[:max_symbols]
        if current and len(current) + 1 + len(word) > max_symbols:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*pieces, current] if current else pieces
