"""Draft checkpoint questions generated from the lesson itself, for the teacher to review.

Every draft asks about a key term of its scene (an emphasised term, a concept tag, or a
term the scene repeats): a sentence of the narration with that term blanked, and key
terms of other scenes as the wrong answers. A term is only blanked where it stands whole
(not "version" out of "version control", nor "commit" out of "commits"), in a short
statement (no question, no run-on). Nothing here saves anything:
`checkpoint_drafts_generate` stores the drafts as generated and not yet accepted.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _

from synthesis.frames.latex_text import replace_inline_math
from synthesis.sentences import split_sentences

BLANK = "_____"
_EMPHASIS = re.compile(r"\*\*(.+?)\*\*|__(.+?)__|(?<![\w*])\*([^*\n]+?)\*(?!\w)|`([^`\n]+)`")
_WORD = re.compile(r"[A-Za-z][A-Za-z-]*[A-Za-z]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
# Words too common to be worth a question.
_STOPWORDS = frozenset(
    {
    "able", "about", "above", "actually", "after", "again", "against", "ago", "almost",
    "along", "already", "also", "although", "always", "among", "another", "anyone",
    "anything", "around", "back", "base", "because", "become", "becomes", "been", "before",
    "being", "below", "best", "better", "between", "both", "called", "cannot", "case",
    "come", "comes", "could", "different", "does", "doing", "done", "down", "during",
    "each", "else", "enough", "even", "ever", "every", "example", "examples", "excellent",
    "fact", "find", "first", "following", "from", "further", "give", "given", "going",
    "good", "great", "hard", "have", "having", "help", "here", "however", "idea",
    "important", "instead", "into", "itself", "just", "keep", "keeps", "kind", "know",
    "known", "last", "later", "less", "let", "lets", "like", "likely", "little", "long",
    "look", "looks", "lot", "made", "make", "makes", "making", "many", "maybe", "mean",
    "means", "might", "modern", "more", "most", "much", "must", "need", "needs", "never",
    "next", "often", "once", "only", "other", "over", "part", "people", "perhaps", "place",
    "point", "possible", "probably", "put", "quite", "rather", "really", "right", "said",
    "same", "says", "second", "seem", "seems", "sets", "several", "should", "show", "shows",
    "simple", "since", "small", "some", "something", "sometimes", "still", "such", "sure",
    "take", "takes", "tell", "than", "that", "their", "them", "then", "there", "these",
    "they", "thing", "things", "think", "this", "those", "through", "time", "times",
    "together", "took", "track", "under", "understand", "until", "use", "used", "uses",
    "using", "usually", "various", "very", "want", "ways", "well", "were", "what", "when",
    "where", "whether", "which", "while", "will", "with", "without", "word", "words",
    "work", "works", "would", "write", "written", "year", "years", "yet", "your",
    }
)  # fmt: skip
# Characters that make a Chinese n-gram a poor term (particles, pronouns, numbers).
_ZH_STOP_CHARS = frozenset(
    "的了是在和与或也就都而及我你他她它们这那个一二三四五六七八九十有为以对从中上下不"
)
# Grammar characters that never sit inside a term.
_ZH_FUNCTION_CHARS = frozenset("的了是在和与或也就都而及我你他她它们这那吗呢吧把被")
# A term glossed in English right after it: 独热编码（one-hot encoding）.
_GLOSSED = re.compile(r"([\u4e00-\u9fff]{2,12})[（(][A-Za-z][A-Za-z \-]{1,40}[）)]")
_ZH_LEADING_GRAMMAR = re.compile(r"[的了是为和与或将把被：，、]")
_MIN_DISTRACTORS = 2
_DISTRACTOR_TERMS_PER_SCENE = 2
_MIN_STATEMENT_WORDS = 6
_MIN_STATEMENT_CHARS_ZH = 8
# Longer sentences are run-ons the splitter could not cut (narration spanning a colon and a
# code block); a blank in them tests reading stamina, not the term.
_MAX_STATEMENT_WORDS = 30
_MAX_STATEMENT_CHARS_ZH = 60
# Words the importer itself says in place of a formula or reference: never a key term.
_IMPORTER_WORDS = frozenset({"该公式", "另一节", "这个式子", "请看这段代码", "请看这个公式"})


@dataclass(frozen=True)
class DraftCheckpoint:
    """A generated question: prompt, answers with correctness, explanation, concepts tested."""

    prompt: str
    choices: tuple[tuple[str, bool], ...]
    explanation: str
    concepts: tuple[str, ...] = ()


def draft_checkpoints(scenes: Sequence) -> dict[int, DraftCheckpoint]:
    """A draft for every scene where one can be made, keyed by scene id.

    `scenes` are `courses.models.Scene` rows (concepts prefetched) of one version, in order.
    """
    terms = lesson_key_terms(scenes)
    lesson_terms = {term.lower() for scene_terms in terms.values() for term in scene_terms}
    drafts: dict[int, DraftCheckpoint] = {}
    for number, scene in enumerate(scenes, start=1):
        rng = random.Random(scene.pk)
        with translation.override("zh-hans" if scene.language == "zh" else "en"):
            draft = _cloze_question(scene, number, terms, lesson_terms, rng)
        if draft is not None:
            drafts[scene.pk] = draft
    return drafts


def lesson_key_terms(scenes: Sequence) -> dict[int, list[str]]:
    """Each scene's key terms (by scene id), found with the whole lesson's vocabulary."""
    vocabulary = _ChineseVocabulary(scenes)
    return {scene.pk: key_terms(scene, vocabulary=vocabulary) for scene in scenes}


def key_terms(scene, *, vocabulary: _ChineseVocabulary | None = None) -> list[str]:
    """Terms worth asking about, best first: emphasised, concept tags, then likely key terms."""
    text = f"{_slide_body(scene)}\n{scene.narration}"
    found: list[str] = []
    for match in _EMPHASIS.finditer(text):
        found.append(next(group for group in match.groups() if group))
    found += [concept.name for concept in scene.concepts.all()]
    if scene.language == "zh":
        found += (vocabulary or _ChineseVocabulary([scene])).terms_of(scene)
    else:
        found += _english_terms(scene, (vocabulary or _ChineseVocabulary([scene])).phrases)
    unique: dict[str, str] = {}
    for term in found:
        term = term.strip(" .,:;!?。，：；'\"")
        if 1 < len(term) <= 60 and term.lower() not in unique and term not in _IMPORTER_WORDS:
            unique[term.lower()] = term
    return list(unique.values())


def _slide_body(scene) -> str:
    """The scene's slide text as it reads: inline math ($...$) as Unicode, never LaTeX."""
    return replace_inline_math(scene.body)


def _strip_emphasis(text: str) -> str:
    return _EMPHASIS.sub(lambda m: next(group for group in m.groups() if group), text)


def _english_terms(scene, lesson_phrases: Counter[str]) -> list[str]:
    """Words and phrases of up to three words the scene repeats, shows on its slide, or
    names (capitals).

    Score: narration occurrences, +2 when the slide shows it, +2 for a name written with a
    capital mid-sentence, +1 for a phrase; three points make a key term. A phrase must come
    back in the lesson (`lesson_phrases`), so a sentence's chance word pairs are no terms, and
    a term always said as part of a longer one ("automated version" of "automated version
    control") is left out for the longer one.
    """
    narration = _strip_emphasis(scene.narration)
    spoken = narration.lower()
    slide = _strip_emphasis(f"{scene.title}\n{_slide_body(scene)}").lower()
    words = _WORD.findall(narration)
    candidates: Counter[str] = Counter()
    names: set[str] = set()
    for index, word in enumerate(words):
        lowered = word.lower()
        if not _is_content_word(lowered):
            continue
        candidates[lowered] += 1
        if word[0].isupper() and index > 0 and not _starts_sentence(narration, word):
            names.add(lowered)
        for size in (2, 3):
            following = [w.lower() for w in words[index + 1 : index + size]]
            phrase = " ".join([lowered, *following])
            if (
                len(following) == size - 1
                and _is_content_word(following[-1])
                and phrase in spoken
                and lesson_phrases[phrase] >= 2
            ):
                candidates[phrase] += 1
    scored = []
    for term, count in candidates.items():
        if any(term != other and term in other and count <= n for other, n in candidates.items()):
            continue
        score = count + 2 * (term in slide) + 2 * (term in names) + (" " in term)
        if score >= 3:
            scored.append((score, term))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [term for _score, term in scored[:6]]


def _is_content_word(lowered: str) -> bool:
    return lowered not in _STOPWORDS and len(lowered) >= 4


def _starts_sentence(text: str, word: str) -> bool:
    return bool(re.search(rf"(?:^|[.!?:]\s+){re.escape(word)}\b", text))


class _ChineseVocabulary:
    """The lesson's vocabulary: English phrases it repeats, and Chinese words found without
    a dictionary: character runs the lesson repeats in
    varied company (a real word is preceded and followed by different characters; a
    fragment such as 择具 of 选择具体 always sits beside the same ones), plus terms the
    text defines with an English gloss, as in 独热编码（one-hot encoding）."""

    def __init__(self, scenes: Sequence) -> None:
        self.counts: Counter[str] = Counter()
        self.left: dict[str, set[str]] = {}
        self.right: dict[str, set[str]] = {}
        self.glossed: set[str] = set()
        # English phrases of two and three words, counted over the whole lesson.
        self.phrases: Counter[str] = Counter()
        boundary = 0
        for scene in scenes:
            if scene.language != "zh":
                words = [w.lower() for w in _WORD.findall(_strip_emphasis(scene.narration))]
                for size in (2, 3):
                    self.phrases.update(
                        " ".join(words[start : start + size])
                        for start in range(len(words) - size + 1)
                    )
                continue
            text = _strip_emphasis(f"{scene.title}\n{_slide_body(scene)}\n{scene.narration}")
            for match in _GLOSSED.finditer(text):
                term = _ZH_LEADING_GRAMMAR.split(match.group(1))[-1]
                if 2 <= len(term) <= 6:
                    self.glossed.add(term)
            for run in _CJK_RUN.findall(text):
                for size in range(2, 6):
                    for start in range(len(run) - size + 1):
                        gram = run[start : start + size]
                        self.counts[gram] += 1
                        boundary += 1
                        before = run[start - 1] if start else f"^{boundary}"
                        after = run[start + size] if start + size < len(run) else f"${boundary}"
                        self.left.setdefault(gram, set()).add(before)
                        self.right.setdefault(gram, set()).add(after)

    def is_word(self, gram: str) -> bool:
        if gram in self.glossed:
            return True
        if self.counts[gram] < 2 or _ZH_FUNCTION_CHARS.intersection(gram):
            return False
        if gram[0] in _ZH_STOP_CHARS or gram[-1] in _ZH_STOP_CHARS:
            return False
        return len(self.left.get(gram, ())) >= 2 and len(self.right.get(gram, ())) >= 2

    def terms_of(self, scene) -> list[str]:
        narration = _strip_emphasis(scene.narration)
        slide = f"{scene.title}\n{_slide_body(scene)}"
        found = Counter()
        for run in _CJK_RUN.findall(narration):
            for size in range(2, 6):
                for start in range(len(run) - size + 1):
                    gram = run[start : start + size]
                    if self.is_word(gram):
                        found[gram] += 1
        # A longer word that is always there when its piece is wins over the piece.
        words = [
            gram
            for gram in found
            if not any(gram != other and gram in other and self.counts[gram] == self.counts[other]
                       for other in found)
        ]  # fmt: skip
        scored = [
            (found[gram] * len(gram) + 5 * (gram in self.glossed) + 3 * (gram in slide), gram)
            for gram in words
        ]
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [gram for _score, gram in scored[:6]]


def _cloze_question(
    scene, number: int, terms: dict, lesson_terms: set[str], rng: random.Random
) -> DraftCheckpoint | None:
    if scene.kind == "title":
        return None  # blanking a word of a title card asks nothing
    narration = _strip_emphasis(scene.narration)
    sentences = [s for s in split_sentences(narration, scene.language) if _is_statement(s, scene)]
    own = {term.lower() for term in terms[scene.pk]}
    # Each other scene's best terms only: lower-ranked ones are more often fragments.
    # A term this scene has too could fill the blank as well: never a wrong answer.
    others = [
        term
        for pk, scene_terms in terms.items()
        if pk != scene.pk
        for term in scene_terms[:_DISTRACTOR_TERMS_PER_SCENE]
        if term.lower() not in own
    ]
    for term in terms[scene.pk]:
        found = next(
            (
                (sentence, match)
                for sentence in sentences
                if (match := _whole_term(term, sentence, scene.language, lesson_terms))
            ),
            None,
        )
        if found is None:
            continue
        sentence, match = found
        distractors = _pick_distractors(others, exclude=sentence.lower(), term=term, rng=rng)
        if len(distractors) < _MIN_DISTRACTORS:
            continue
        choices = [(term, True)] + [(text, False) for text in distractors]
        rng.shuffle(choices)
        blanked = sentence[: match.start()] + BLANK + sentence[match.end() :]
        return DraftCheckpoint(
            prompt=_("Fill in the blank: %(sentence)s") % {"sentence": blanked},
            choices=tuple(choices),
            explanation=_("Scene %(number)s says: “%(sentence)s”")
            % {"number": number, "sentence": sentence},
            concepts=_tested_concepts(scene, term),
        )
    return None


def _whole_term(term: str, sentence: str, language: str, lesson_terms: set[str]):
    """Where the sentence says `term`, once and whole: not inside a longer word, nor inside
    a longer key term of the lesson (the blank would give half the answer away)."""
    lowered = sentence.lower()
    longer = [other for other in lesson_terms if other != term.lower() and term.lower() in other]
    covered = [
        (hit.start(), hit.end())
        for other in longer
        for hit in re.finditer(re.escape(other), lowered)
    ]
    edge = "" if language == "zh" else r"(?<![\w-])"
    end = "" if language == "zh" else r"(?![\w-])"
    if lowered.count(term.lower()) != 1:
        return None  # said twice, the sentence would show the answer beside its blank
    for match in re.finditer(edge + re.escape(term) + end, sentence, re.IGNORECASE):
        if not any(start <= match.start() and match.end() <= stop for start, stop in covered):
            return match
    return None


def _is_statement(sentence: str, scene) -> bool:
    """A statement long enough to test understanding (not a heading read aloud, "Solution:
    Paper Writing.") and short enough to read at a glance; a question is no statement."""
    if sentence.rstrip().endswith(("?", "？")) or scene.title and scene.title in sentence:
        return False  # a question, or the slide title read aloud ("Challenge: …")
    if scene.language == "zh":
        return _MIN_STATEMENT_CHARS_ZH <= len(sentence) <= _MAX_STATEMENT_CHARS_ZH
    return _MIN_STATEMENT_WORDS <= len(sentence.split()) <= _MAX_STATEMENT_WORDS


def _pick_distractors(
    candidates: list[str], *, exclude: str, term: str, rng: random.Random
) -> list[str]:
    """Up to three wrong answers: terms of other scenes, not in the sentence, not overlapping
    the right answer, and about as long as it (so length gives nothing away)."""
    lowered_term = term.lower()
    term_words = set(lowered_term.split())
    unique: list[str] = []
    for candidate in candidates:
        lowered = candidate.lower()
        overlapping = (
            lowered in lowered_term
            or lowered_term in lowered
            or len(term_words | set(lowered.split())) > 1
            and term_words & set(lowered.split())
        )
        if overlapping or lowered in exclude or candidate in unique:
            continue
        unique.append(candidate)
    rng.shuffle(unique)
    unique.sort(key=lambda candidate: abs(len(candidate) - len(term)))
    return unique[:3]


def _tested_concepts(scene, term: str) -> tuple[str, ...]:
    names = [concept.name for concept in scene.concepts.all()]
    matching = [name for name in names if name.lower() == term.lower()]
    return tuple(matching or names)
