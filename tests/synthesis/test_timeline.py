"""Scene timing: lead-in, gaps and tail in whole frames, caption cues from the narration text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from synthesis.storyboard import Scene, Visual
from synthesis.timeline import (
    FIRST_SCENE_MIN_S,
    LEAD_IN_S,
    OPENING_LABEL_S,
    SENTENCE_GAP_S,
    SILENT_HOLD_S,
    TAIL_S,
    TimedSentence,
    caption_cues,
    frames_for,
    lesson_timeline,
    scene_timing,
    split_caption_text,
    unwrap_caption,
    wrap_caption,
)


@dataclass(frozen=True)
class Said:
    """What speech hands back for a sentence (the fields timing reads)."""

    text: str
    duration_s: float
    wav_path: Path = Path("/nonexistent.wav")
    engine: str = "espeak"
    voice: str = "en-us"


SCENE = Scene(id="s1", visual=Visual(kind="text", title="T"), narration="unused")


def test_frames_round_up_but_ignore_float_dust():
    assert frames_for(1.0, 30) == 30
    assert frames_for(1.01, 30) == 31
    assert frames_for(0.1 + 0.2, 10) == 3  # 0.30000000000000004 s is still 3 frames
    assert frames_for(0.0, 30) == 1


def test_sentences_get_lead_in_gaps_and_tail_rounded_to_frames():
    timing = scene_timing(0, SCENE, [Said("One.", 1.0), Said("Two.", 2.0)], fps=30)

    first, second = timing.sentences
    assert first.start_s == pytest.approx(LEAD_IN_S)
    assert first.end_s == pytest.approx(LEAD_IN_S + 1.0)
    assert second.start_s == pytest.approx(LEAD_IN_S + 1.0 + SENTENCE_GAP_S)
    assert second.end_s == pytest.approx(LEAD_IN_S + 3.0 + SENTENCE_GAP_S)
    spoken_s = LEAD_IN_S + 3.0 + SENTENCE_GAP_S + TAIL_S
    assert timing.frame_count == frames_for(spoken_s, 30)
    assert timing.duration_s >= spoken_s
    assert timing.duration_s - spoken_s < 1 / 30


def test_scene_without_narration_holds_silently():
    timing = scene_timing(0, SCENE, [], fps=12)
    assert timing.silent
    assert timing.sentences == ()
    assert timing.cues == ()
    assert timing.duration_s == pytest.approx(SILENT_HOLD_S)


def test_cues_use_the_narration_text_and_bridge_short_pauses():
    sentences = [
        TimedSentence("First one.", 0.4, 1.4, None, "espeak", "en"),
        TimedSentence("Second one.", 1.65, 2.5, None, "espeak", "en"),
    ]

    cues = caption_cues(sentences, "en")

    assert [c.text for c in cues] == ["First one.", "Second one."]
    assert cues[0].start_s == 0.4
    assert cues[0].end_s == pytest.approx(1.65)  # held through the pause
    assert cues[1].end_s == 2.5


def test_long_sentence_splits_into_two_line_cues_by_character_share():
    text = (
        "A commit records a snapshot of every tracked file, together with its author, "
        "a timestamp and a message that explains why the change was made at all."
    )
    sentence = TimedSentence(text, 1.0, 11.0, None, "piper", "joe")

    cues = caption_cues([sentence], "en")

    assert len(cues) == 2
    assert " ".join(c.text.replace("\n", " ") for c in cues) == text
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2
        assert all(len(line) <= 50 for line in lines)
    assert cues[0].start_s == 1.0
    assert cues[-1].end_s == pytest.approx(11.0)
    # Time is shared by character counts.
    first_share = (cues[0].end_s - 1.0) / 10.0
    first_chars = len(cues[0].text)
    assert first_share == pytest.approx(first_chars / (first_chars + len(cues[1].text)), abs=0.02)


def test_chinese_caption_pieces_stay_under_forty_characters():
    text = (
        "线性回归模型假设输出是输入特征的加权和再加上一个偏置项，"
        "我们通过最小化平方误差来估计这些权重，并用梯度下降法一步一步地更新参数直到收敛为止。"
    )

    pieces = split_caption_text(text, "zh")

    assert "".join(pieces) == text
    assert len(pieces) >= 2
    assert all(len(piece) <= 40 for piece in pieces)
    assert pieces[0].endswith("，")  # broken at punctuation, not mid-phrase


def test_wrap_caption_balances_two_lines():
    wrapped = wrap_caption("Git keeps every version of your project safe in a repository.", "en")
    top, bottom = wrapped.split("\n")
    assert abs(len(top) - len(bottom)) <= 12
    assert wrap_caption("Short line.", "en") == "Short line."


def test_lesson_timeline_puts_transitions_between_scenes():
    timings = [scene_timing(i, SCENE, [Said("Hi.", 1.0)], fps=10) for i in range(3)]

    timeline = lesson_timeline(timings, 10)

    kinds = [(e.kind, e.scene_index) for e in timeline.entries]
    assert kinds == [
        ("scene", 0),
        ("transition", 0),
        ("scene", 1),
        ("transition", 1),
        ("scene", 2),
    ]
    assert timeline.transition_frames == 5
    scene_frames = timings[0].frame_count
    assert timeline.scene_start_s(1) == pytest.approx((scene_frames + 5) / 10)
    assert timeline.frame_count == 3 * scene_frames + 2 * 5


def test_unwrap_caption_restores_spaces_only_between_latin_words():
    assert unwrap_caption("Git keeps every\nversion safe.") == "Git keeps every version safe."
    assert unwrap_caption("线性回归模型\n假设输出是加权和。") == "线性回归模型假设输出是加权和。"
    sentence = "梯度下降法一步一步地更新参数直到收敛为止，然后停止。"
    assert unwrap_caption(wrap_caption(sentence, "zh")) == sentence


def test_chinese_cues_never_start_a_line_with_punctuation_or_cut_a_latin_word():
    sentences = [
        "回归（regression）是能为一个或多个自变量与因变量之间关系建模的一类方法。",
        "当我们想预测一个数值时，就会涉及到回归问题，比如预测房屋的价格或者股票的走势等等。",
        "在机器学习领域中的大多数任务通常都与预测（prediction）有关，例如分类和回归两类任务。",
    ]
    for sentence in sentences:
        pieces = split_caption_text(sentence, "zh")
        assert "".join(pieces) == sentence
        for piece in pieces:
            lines = wrap_caption(piece, "zh").split("\n")
            assert len(lines) <= 2
            for line in lines:
                assert line[0] not in "，。、；：！？）"
            for word in ("regression", "prediction"):
                if word[:3] in piece:
                    assert word in piece.replace("\n", "")


def test_a_minimum_duration_lengthens_a_short_scene():
    short = scene_timing(0, SCENE, [Said("Hi.", 0.5)], fps=10, min_duration_s=FIRST_SCENE_MIN_S)
    long = scene_timing(0, SCENE, [Said("Hi.", 5.0)], fps=10, min_duration_s=FIRST_SCENE_MIN_S)
    assert short.duration_s == pytest.approx(FIRST_SCENE_MIN_S)
    assert short.duration_s > OPENING_LABEL_S
    assert long.duration_s == pytest.approx(LEAD_IN_S + 5.0 + TAIL_S)
