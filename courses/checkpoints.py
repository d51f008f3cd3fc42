"""Draft checkpoint questions generated from the lesson itself, for the teacher to review.

Two kinds: a cloze question that blanks a key term of a scene (an emphasised term, a
concept tag, or a word the scene repeats) with key terms of other scenes as wrong
answers, and a "which of these" question from a scene's bullet list with bullets of
other scenes as wrong answers. Nothing here saves anything: `checkpoint_drafts_generate`
stores the drafts as generated and not yet accepted.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _

from synthesis.sentences import split_sentences

BLANK = "_____"
_EMPHASIS = re.compile(r"\*\*(.+?)\*\*|__(.+?)__|(?<![\w*])\*([^*\n]+?)\*(?!\w)|`([^`\n]+)`")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
# Words too common to be worth a question.
_STOPWORDS = frozenset(
    {
    "about", "above", "after", "again", "against", "also", "among", "another", "because",
    "been", "before", "being", "below", "between", "both", "could", "does", "doing", "down",
    "during", "each", "even", "every", "first", "from", "further", "have", "having", "here",
    "into", "it's", "itself", "just", "last", "let's", "like", "made", "make", "many",
    "more", "most", "much", "must", "next", "only", "other", "over", "same", "second",
    "should", "some", "such", "than", "that", "that's", "their", "them", "then", "there",
    "there's", "these", "they", "this", "those", "through", "under", "until", "use", "used",
    "uses", "using", "very", "want", "we'll", "well", "were", "what", "when", "where",
    "which", "while", "will", "with", "would", "you'll", "your",
    }
)  # fmt: skip
# Characters that make a Chinese n-gram a poor term (particles, pronouns, numbers).
_ZH_STOP_CHARS = frozenset(
    "的了是在和与或也就都而及我你他她它们这那个一二三四五六七八九十有为以对从中上下不"
)
_MIN_DISTRACTORS = 2


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
    terms = {scene.pk: key_terms(scene) for scene in scenes}
    bullets = {scene.pk: _bullets(scene.body) for scene in scenes if scene.kind == "text"}
    drafts: dict[int, DraftCheckpoint] = {}
    for number, scene in enumerate(scenes, start=1):
        rng = random.Random(scene.pk)
        with translation.override("zh-hans" if scene.language == "zh" else "en"):
            draft = _list_question(scene, number, bullets, rng) or _cloze_question(
                scene, number, terms, rng
            )
        if draft is not None:
            drafts[scene.pk] = draft
    return drafts


def key_terms(scene) -> list[str]:
    """Terms worth asking about, best first: emphasised, then concept tags, then repeated."""
    text = f"{scene.body}\n{scene.narration}"
    found: list[str] = []
    for match in _EMPHASIS.finditer(text):
        found.append(next(group for group in match.groups() if group))
    found += [concept.name for concept in scene.concepts.all()]
    found += _repeated_terms(_strip_emphasis(scene.narration), scene.language)
    unique: dict[str, str] = {}
    for term in found:
        term = term.strip(" .,:;!?。，：；")
        if 1 < len(term) <= 60 and term.lower() not in unique:
            unique[term.lower()] = term
    return list(unique.values())


def _strip_emphasis(text: str) -> str:
    return _EMPHASIS.sub(lambda m: next(group for group in m.groups() if group), text)


def _repeated_terms(narration: str, language: str) -> list[str]:
    if language == "zh":
        counts: Counter[str] = Counter()
        for run in _CJK_RUN.findall(narration):
            for size in (2, 3, 4):
                for start in range(len(run) - size + 1):
                    gram = run[start : start + size]
                    if not _ZH_STOP_CHARS.intersection(gram):
                        counts[gram] += 1
        repeated = [(gram, n) for gram, n in counts.items() if n >= 2]
        # Longer repeated terms first: "独热编码" beats its pieces "独热" and "编码".
        repeated.sort(key=lambda item: (-item[1] * len(item[0]), item[0]))
        return [gram for gram, _n in repeated[:5]]
    words = Counter(word.lower() for word in _WORD.findall(narration))
    repeated = [w for w, n in words.most_common() if n >= 2 and w not in _STOPWORDS]
    return repeated[:5]


def _bullets(body: str) -> list[str]:
    lines = (_strip_emphasis(line).strip(" -*•\t") for line in body.splitlines())
    return [line for line in lines if 2 < len(line) <= 160]


def _cloze_question(scene, number: int, terms: dict, rng: random.Random) -> DraftCheckpoint | None:
    narration = _strip_emphasis(scene.narration)
    sentences = split_sentences(narration, scene.language)
    others = [term for pk, scene_terms in terms.items() if pk != scene.pk for term in scene_terms]
    for term in terms[scene.pk]:
        pattern = re.compile(re.escape(term), re.IGNORECASE)
        sentence = next((s for s in sentences if pattern.search(s)), None)
        if sentence is None:
            continue
        distractors = _pick_distractors(others, exclude=sentence.lower(), term=term, rng=rng)
        if len(distractors) < _MIN_DISTRACTORS:
            continue
        choices = [(term, True)] + [(text, False) for text in distractors]
        rng.shuffle(choices)
        return DraftCheckpoint(
            prompt=_("Fill in the blank: %(sentence)s")
            % {"sentence": pattern.sub(BLANK, sentence, count=1)},
            choices=tuple(choices),
            explanation=_("Scene %(number)s says: “%(sentence)s”")
            % {"number": number, "sentence": sentence},
            concepts=_tested_concepts(scene, term),
        )
    return None


def _pick_distractors(
    candidates: list[str], *, exclude: str, term: str, rng: random.Random
) -> list[str]:
    unique = []
    for candidate in candidates:
        lowered = candidate.lower()
        if lowered == term.lower() or lowered in exclude or candidate in unique:
            continue
        unique.append(candidate)
    rng.shuffle(unique)
    return unique[:3]


def _list_question(scene, number: int, bullets: dict, rng: random.Random) -> DraftCheckpoint | None:
    own = bullets.get(scene.pk, [])
    if len(own) < 3:
        return None
    own_lower = {line.lower() for line in own}
    others = [
        line
        for pk, lines in bullets.items()
        if pk != scene.pk
        for line in lines
        if line.lower() not in own_lower
    ]
    others = list(dict.fromkeys(others))
    if len(others) < _MIN_DISTRACTORS:
        return None
    correct = rng.sample(own, 2)
    wrong = rng.sample(others, min(2, len(others)))
    choices = [(text, True) for text in correct] + [(text, False) for text in wrong]
    rng.shuffle(choices)
    heading = scene.title or _("scene %(number)s") % {"number": number}
    return DraftCheckpoint(
        prompt=_("Which of these are listed in “%(heading)s”? Choose all that apply.")
        % {"heading": heading},
        choices=tuple(choices),
        explanation=_("“%(heading)s” lists: %(items)s")
        % {"heading": heading, "items": "; ".join(own)},
        concepts=tuple(concept.name for concept in scene.concepts.all()),
    )


def _tested_concepts(scene, term: str) -> tuple[str, ...]:
    names = [concept.name for concept in scene.concepts.all()]
    matching = [name for name in names if name.lower() == term.lower()]
    return tuple(matching or names)
