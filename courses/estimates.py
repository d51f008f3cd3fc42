"""Estimated video length from narration text, before anything is synthesised.

The same constants drive the editor's live estimate in the browser (passed to
static/js/scene_edit.js through data attributes), so both always agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from synthesis.sentences import split_sentences

# Characters spoken per second, measured with this project's default voices
# (Piper en_US about 20 chars/s trimmed, Kokoro jm_kumo about 4.4 on corpus sentences);
# rounded toward slower speech because pauses between sentences add up.
CHARS_PER_SECOND = {"en": 16.0, "zh": 4.0}
# Pause the renderer leaves between sentences, and the lead-in/out of a scene.
SENTENCE_GAP_S = 0.35
SCENE_PADDING_S = 1.0
# A scene with no narration still holds its slide this long.
MIN_SCENE_S = 3.0


def narration_estimate_s(narration: str, language: str) -> float:
    """Seconds one scene is expected to last with this narration."""
    text = narration.strip()
    if not text:
        return MIN_SCENE_S
    rate = CHARS_PER_SECOND.get(language, CHARS_PER_SECOND["en"])
    sentences = split_sentences(text, language)
    spoken_s = len(text) / rate + SENTENCE_GAP_S * max(len(sentences) - 1, 0)
    return max(spoken_s + SCENE_PADDING_S, MIN_SCENE_S)


def lesson_estimate_s(scenes: Iterable[tuple[str, str]]) -> float:
    """Seconds a lesson is expected to last, from (narration, language) per scene."""
    return sum(narration_estimate_s(narration, language) for narration, language in scenes)


def format_duration(seconds: float) -> str:
    """'1:05' for 65 seconds; used in pages and kept in step with the JavaScript."""
    total = round(seconds)
    return f"{total // 60}:{total % 60:02d}"
