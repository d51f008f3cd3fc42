"""Pace planned scenes: no scene speaks a mere fragment, scenes aim for 20-60 s of narration.

The automatic planner (markdown_scenes) cuts at every visual and heading, which leaves
scenes such as "But." or "Let's start by pulling:" over one command. This pass merges a
scene that says fewer than MIN_WORDS English words (MIN_CJK_CHARS Chinese characters) into
a neighbour, then joins neighbours of the same section while both stay short, and words the
title card as an introduction instead of reading its heading aloud.
"""

from __future__ import annotations

import re

from synthesis.code_output import code_lines
from synthesis.markdown_math import join_words
from synthesis.markdown_scenes import (
    CONTINUED,
    MAX_BULLETS,
    MAX_CODE_LINES,
    MAX_FORMULAS_PER_SLIDE,
    MAX_SCENE_SPEECH_S,
    SPEECH_PER_BULLET_S,
    SceneDraft,
    Spoken,
    bullet_text,
    speech_seconds,
)
from synthesis.sentences import split_sentences

MIN_WORDS = 6
MIN_CJK_CHARS = 12
TARGET_MIN_SPEECH_S = 20.0
TITLE_INTRO = {"en": "In this lesson, we look at {title}.", "zh": "这一课我们来学习{title}。"}

_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*")


def spoken_text(draft: SceneDraft) -> str:
    """What the scene will say: its narration, else its fallback."""
    text = join_words([part.text for part in draft.narration if part.text.strip()])
    if not text and draft.fallback is not None:
        text = draft.fallback.text
    return text


def is_fragment(text: str, language: str) -> bool:
    """Whether narration is too short to stand as a scene (under ~6 words / 12 characters)."""
    chinese = len(_CJK_CHAR.findall(text))
    latin = len(_LATIN_WORD.findall(text))
    if language == "zh":
        # A Latin word ("softmax") takes about as long to say as two characters.
        return chinese + 2 * latin < MIN_CJK_CHARS
    return latin + chinese / 2 < MIN_WORDS


def base_title(title: str) -> str:
    """A slide title without its "(continued)" mark."""
    for suffix in CONTINUED.values():
        title = title.removesuffix(suffix)
    return title


def pace(drafts: list[SceneDraft], language: str) -> list[SceneDraft]:
    """The drafts with the title card introduced, fragments merged and short scenes joined."""
    drafts = [
        _introduce_title(draft, language) if draft.kind == "title" else draft for draft in drafts
    ]
    drafts = _merge_fragments(drafts, language)
    drafts = _join_short(drafts)
    for draft in drafts:
        _keep_up_bullets(draft, language)
    return drafts


def _keep_up_bullets(draft: SceneDraft, language: str) -> None:
    """A long prose slide shows a bullet for each ~20 s of narration, not one line for 45 s."""
    if draft.kind != "text" or draft.math or not draft.bullets or draft.fallback is not None:
        return
    text = spoken_text(draft)
    seconds = speech_seconds(text)
    wanted = min(MAX_BULLETS, int(seconds // SPEECH_PER_BULLET_S))
    if len(draft.bullets) >= max(2, wanted) or seconds <= 2 * SPEECH_PER_BULLET_S:
        return
    clock_s = 0.0
    for sentence in split_sentences(text, language):
        if clock_s >= SPEECH_PER_BULLET_S and len(draft.bullets) < wanted:
            bullet = bullet_text(sentence, language)
            if bullet not in draft.bullets:
                draft.bullets.append(bullet)
            clock_s = 0.0
        clock_s += speech_seconds(sentence)


def _introduce_title(draft: SceneDraft, language: str) -> SceneDraft:
    """A title card says what the lesson is about rather than reading its heading alone."""
    said = spoken_text(draft).rstrip(".。!！ ")
    if said.strip() != draft.title.strip() or not is_fragment(said, language):
        return draft
    sentence = TITLE_INTRO["zh" if language == "zh" else "en"].format(title=draft.title)
    draft.narration = [Spoken(sentence, from_lesson=False)]
    return draft


def _merge_fragments(drafts: list[SceneDraft], language: str) -> list[SceneDraft]:
    changed = True
    while changed:
        changed = False
        for index, draft in enumerate(drafts):
            if draft.kind == "title" or not is_fragment(spoken_text(draft), language):
                continue
            # A neighbour of the same section first: merging across a heading shows one
            # section's title over the other's words, so it is the fallback. Never across
            # roles or concepts.
            neighbours = [n for n in (index - 1, index + 1) if 0 <= n < len(drafts)]
            same = [n for n in neighbours if base_title(drafts[n].title) == base_title(draft.title)]
            for other in same + [n for n in neighbours if n not in same]:
                neighbour = drafts[other]
                if (neighbour.role, neighbour.concepts) != (draft.role, draft.concepts):
                    continue
                # Across a heading only a command joins the commands after it.
                if other not in same and not draft.kind == neighbour.kind == "code":
                    continue
                first, second = sorted((index, other))
                merged = merge_drafts(drafts[first], drafts[second])
                if merged is not None:
                    drafts[first : second + 1] = [merged]
                    changed = True
                    break
            if changed:
                break
            # Nothing to join: a table or formula under only its label says what it shows.
            unsaid = draft.fallback is not None and draft.fallback.text not in spoken_text(draft)
            if unsaid and not draft.from_text:
                draft.narration.append(draft.fallback)
    return drafts


def _join_short(drafts: list[SceneDraft]) -> list[SceneDraft]:
    """Join neighbours of one section while one is under 20 s and together they stay under 60."""
    joined: list[SceneDraft] = []
    for draft in drafts:
        last = joined[-1] if joined else None
        if last is not None and base_title(last.title) == base_title(draft.title):
            last_s = speech_seconds(spoken_text(last))
            draft_s = speech_seconds(spoken_text(draft))
            short = min(last_s, draft_s) < TARGET_MIN_SPEECH_S
            same_kind = (last.role, last.concepts) == (draft.role, draft.concepts)
            if short and last_s + draft_s <= MAX_SCENE_SPEECH_S and same_kind:
                merged = merge_drafts(last, draft)
                if merged is not None:
                    joined[-1] = merged
                    continue
        joined.append(draft)
    return joined


def _keeps_own_content(draft: SceneDraft) -> bool:
    """A text slide whose bullets are not just the narration's summary (a table, formulas)."""
    return draft.kind == "text" and (bool(draft.math) or draft.fallback is not None)


def merge_drafts(first: SceneDraft, second: SceneDraft) -> SceneDraft | None:
    """One scene saying both drafts' narration in order, or None when the visuals cannot share.

    Code joins code (while it fits a slide), a text slide joins a text slide, and an image or
    code slide absorbs the narration of a prose slide (whose bullets only summarised it).
    """
    if "title" in (first.kind, second.kind):
        return None
    if first.kind == second.kind == "code":
        if len(code_lines(first.code)) + len(code_lines(second.code)) > MAX_CODE_LINES:
            return None
        base = _copy(first)
        base.code = f"{first.code}\n{second.code}"
        if base.code_language == "text":
            base.code_language = second.code_language
    elif first.kind == second.kind == "text":
        if len(first.math) + len(second.math) > MAX_FORMULAS_PER_SLIDE:
            return None
        if _keeps_own_content(first) and _keeps_own_content(second):
            return None
        if len(first.bullets) + len(second.bullets) > MAX_BULLETS + 1:
            return None
        base = _copy(first)
        base.bullets = [*first.bullets, *second.bullets][:MAX_BULLETS]
        base.math = [*first.math, *second.math]
        base.fallback = first.fallback or second.fallback
    else:
        shown = [d for d in (first, second) if d.kind in ("image", "code") or _keeps_own_content(d)]
        if len(shown) != 1:
            return None
        base = _copy(shown[0])
    if base_title(first.title) == base_title(second.title):
        # "X" and "X (continued)" become "X"; two continued parts stay continued.
        base.title = first.title
    base.narration = [*first.narration, *second.narration]
    base.from_text = first.from_text or second.from_text
    base.notes = [*first.notes, *second.notes]
    base.concepts = tuple(dict.fromkeys([*first.concepts, *second.concepts]))
    if not base.narration:
        source = first if first.fallback is not None else second
        base.fallback = source.fallback
        base.fallback_note = source.fallback_note
        base.fallback_is_text = source.fallback_is_text
    return base


def _copy(draft: SceneDraft) -> SceneDraft:
    return SceneDraft(
        kind=draft.kind,
        title=draft.title,
        subtitle=draft.subtitle,
        narration=list(draft.narration),
        bullets=list(draft.bullets),
        code=draft.code,
        code_language=draft.code_language,
        math=list(draft.math),
        image=draft.image,
        concepts=draft.concepts,
        role=draft.role,
        notes=list(draft.notes),
        from_text=draft.from_text,
        fallback=draft.fallback,
        fallback_note=draft.fallback_note,
        fallback_is_text=draft.fallback_is_text,
    )
