"""WebVTT captions, descriptions and chapters, and the transcript, built from a timed lesson."""

from __future__ import annotations

import pytest

from synthesis.captions import (
    caption_track,
    chapter_track,
    describe_visual,
    description_track,
    parse_webvtt,
    transcript,
    vtt_timestamp,
    webvtt,
)
from synthesis.storyboard import Scene, Visual
from synthesis.timeline import (
    OPENING_LABEL_S,
    Cue,
    SceneTiming,
    TimedSentence,
    caption_cues,
    lesson_timeline,
)


def timed_scene(index, visual, texts, *, language="en", fps=10):
    sentences, clock = [], 0.4
    for text in texts:
        sentences.append(TimedSentence(text, clock, clock + 1.0, None, "espeak", "en-us"))
        clock += 1.25
    scene = Scene(id=f"s{index}", visual=visual, narration=" ".join(texts), language=language)
    return SceneTiming(
        index=index,
        scene=scene,
        sentences=tuple(sentences),
        cues=caption_cues(sentences, language),
        frame_count=round((clock + 0.6) * fps),
        fps=fps,
    )


@pytest.fixture
def timeline():
    scenes = [
        timed_scene(0, Visual(kind="title", title="Git basics", subtitle="Week 1"), ["Welcome."]),
        timed_scene(
            1,
            Visual(kind="text", title="Commits", bullets=("Snapshots", "Messages <why>")),
            ["A commit is a snapshot.", "It has a message & an author."],
        ),
        timed_scene(
            2, Visual(kind="image", image_path="/x.png", alt="A branch diagram"), ["Look."]
        ),
    ]
    return lesson_timeline(scenes, 10)


def test_timestamps_are_webvtt_format():
    assert vtt_timestamp(0) == "00:00:00.000"
    assert vtt_timestamp(3723.4567) == "01:02:03.457"


def test_captions_parse_and_start_with_the_ai_notice(timeline):
    document = webvtt(caption_track(timeline, "en"))

    cues = parse_webvtt(document)
    assert document.startswith("WEBVTT\n\n")
    assert cues[0].text == "This video was generated with AI."
    assert (cues[0].start_s, cues[0].end_s) == (0.0, OPENING_LABEL_S)
    assert [c.text for c in cues[1:]] == [
        "Welcome.",
        "A commit is a snapshot.",
        "It has a message & an author.",
        "Look.",
    ]
    # Narration cues sit on the lesson clock: scene 2 starts after scene 1 and a transition.
    assert cues[2].start_s == pytest.approx(timeline.scene_start_s(1) + 0.4, abs=0.001)
    assert "&amp;" in document


def test_chinese_captions_open_with_the_chinese_notice():
    scenes = [timed_scene(0, Visual(kind="title", title="线性回归"), ["你好。"], language="zh")]
    cues = parse_webvtt(webvtt(caption_track(lesson_timeline(scenes, 10), "zh")))
    assert cues[0].text == "本视频由AI生成。"


def test_cue_text_cannot_break_the_format():
    document = webvtt([Cue(0, 1, "a --> b\n\nc <b>"), Cue(1, 2, "next")])

    assert document.count("-->") == 2  # only the two timing lines
    assert [c.text for c in parse_webvtt(document)] == ["a --> b\nc <b>", "next"]


def test_parse_rejects_other_text():
    with pytest.raises(ValueError, match="WEBVTT"):
        parse_webvtt("1\n00:00:00,000 --> 00:00:01,000\nSRT\n")


def test_descriptions_say_what_each_scene_shows(timeline):
    cues = parse_webvtt(webvtt(description_track(timeline, "en")))

    assert [c.text for c in cues] == [
        "Git basics. Week 1.",
        "Commits. Snapshots. Messages <why>.",
        "A branch diagram.",
    ]
    assert cues[1].start_s == pytest.approx(timeline.scene_start_s(1), abs=0.001)


def test_code_slides_are_described_with_their_language():
    visual = Visual(kind="code", title="Status", code="git status\ngit add .", code_language="bash")
    assert describe_visual(visual, "en") == "Status. Code slide (bash). git status."


def test_chapters_have_one_cue_per_scene_titled_by_scene(timeline):
    cues = parse_webvtt(webvtt(chapter_track(timeline, "en")))

    assert [c.text for c in cues] == ["Git basics", "Commits", "Scene 3"]
    assert cues[0].start_s == 0
    assert cues[1].start_s == cues[0].end_s
    assert cues[-1].end_s == pytest.approx(timeline.duration_s, abs=0.001)


def test_transcript_lists_scenes_narration_and_attribution(timeline):
    credit = "Adapted from Pro Git, CC BY-NC-SA."
    text = transcript("Git basics", timeline, "en", attribution=credit)

    assert text.startswith("Git basics\n")
    assert "generated with AI" in text
    assert "A commit is a snapshot. It has a message & an author." in text
    assert "Commits" in text
    assert text.rstrip().endswith(credit)


def test_descriptions_keep_questions_and_ellipses():
    visual = Visual(kind="text", title="Questions", bullets=("Why use it?", "It seems…", "Keep"))
    assert describe_visual(visual, "en") == "Questions. Why use it? It seems… Keep."
    chinese = Visual(kind="text", title="问题", bullets=("为什么？", "保存历史"))
    assert describe_visual(chinese, "zh") == "问题。为什么？保存历史。"


CAPTION_SENTENCES_ZH = (
    "线性回归模型假设输出是输入特征的加权和再加上一个偏置项，我们通过最小化平方误差来估计这些权重。",
    "在机器学习领域中的大多数任务通常都与预测（prediction）有关，例如分类和回归两类任务。",
    "当我们想预测一个数值时，就会涉及到回归问题。",
    "这种模式识别方法在自然语言处理中非常常见，也被广泛用于计算机视觉任务的特征提取。",
)
CAPTION_SENTENCES_EN = (
    "A commit records a snapshot of every tracked file, together with its author, a "
    "timestamp and a message that explains why the change was made at all.",
    "Version control is better than mailing files back and forth.",
    "Git keeps every version of your project safe in a repository.",
)


def _jieba_cut_positions(text):
    import jieba

    positions, at = {0, len(text)}, 0
    for word in jieba.cut(text):
        at += len(word)
        positions.add(at)
    return positions


def _cues_for(text, language):
    return caption_cues([TimedSentence(text, 0.0, 8.0, None, "kokoro", "v")], language)


@pytest.mark.parametrize("sentence", CAPTION_SENTENCES_ZH)
def test_chinese_caption_lines_break_between_jieba_words(sentence):
    cues = _cues_for(sentence, "zh")

    lines = [line for cue in cues for line in cue.text.split("\n")]
    assert "".join(lines) == sentence
    assert all(len(cue.text.split("\n")) <= 2 for cue in cues)
    assert all(len(line) <= 16 for line in lines)
    allowed = _jieba_cut_positions(sentence)
    at = 0
    for line in lines[:-1]:
        at += len(line)
        assert at in allowed, f"line break inside a word: {line!r} | {sentence[at : at + 4]!r}"


def test_chinese_caption_keeps_pattern_word_whole():
    # The example: 模式 must never be cut into 模 / 式.
    sentence = "这种模式识别方法在自然语言处理中非常常见，也被广泛用于计算机视觉任务。"
    for cue in _cues_for(sentence, "zh"):
        for line in cue.text.split("\n"):
            assert not line.endswith("模") and not line.startswith("式")


@pytest.mark.parametrize("sentence", CAPTION_SENTENCES_EN)
def test_english_caption_lines_break_at_spaces_within_42_characters(sentence):
    cues = _cues_for(sentence, "en")

    lines = [line for cue in cues for line in cue.text.split("\n")]
    assert " ".join(lines) == sentence
    assert all(len(cue.text.split("\n")) <= 2 for cue in cues)
    assert all(len(line) <= 42 for line in lines)
    words = set(sentence.split())
    assert all(set(line.split()) <= words for line in lines)
    assert cues[0].start_s == 0.0 and cues[-1].end_s == pytest.approx(8.0)
