"""Narration a listener understands: a few sentences per language, spoken, transcribed, scored.

The recogniser is Whisper base run offline (bench/intelligibility.py). A voice passes when
Whisper's transcript is within the issue's target of the script: English word error rate,
Chinese toneless pinyin syllable error rate, both at most 0.10. espeak-ng's Mandarin voice,
which reads tone digits as English ("men five"), shows that the same check fails.
"""

from __future__ import annotations

import pytest

from bench.intelligibility import (
    BROKEN_MANDARIN,
    TARGET_ERROR_RATE,
    Recognizer,
    Voice,
    measure_lesson,
    score,
    toneless_syllables,
)

ENGLISH = (
    "Version control keeps a record of every change you make to your files.",
    "When you commit, Git stores a snapshot of the project with a short message.",
    "If two people edit the same line, Git reports a conflict and asks you to resolve it.",
    "You can always go back to an earlier version of any file in the repository.",
)
# A Latin word, a year, a count and a percentage, as the Chinese corpus lessons have them.
CHINESE = (
    "我们用Python写一个简单的线性回归模型。",
    "这个数据集是2024年收集的，一共有1000个样本。",
    "训练结束以后，模型在测试集上的准确率达到了百分之九十五。",
    "梯度下降是机器学习中最常用的优化方法。",
)


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    # Loading Whisper base takes a second or two: once for this file.
    return Recognizer()


@pytest.mark.parametrize(
    ("voice", "title", "sentences"),
    [
        (Voice("en", "piper", "joe"), "Version control with Git", ENGLISH),
        (Voice("zh", "kokoro", "jm_kumo"), "线性回归", CHINESE),
    ],
    ids=["english-piper", "chinese-kokoro"],
)
def test_narration_voice_is_intelligible(recognizer, tmp_path, voice, title, sentences):
    # The lesson's title is Whisper's context, as the viewer's (bench/intelligibility.py).
    found = measure_lesson(recognizer, "test", voice, sentences, tmp_path, context=title)

    assert found.sentences == len(sentences)
    assert found.error_rate <= TARGET_ERROR_RATE, found.transcript


def test_espeak_mandarin_voice_scores_as_unintelligible(recognizer, tmp_path):
    # The check can fail: espeak-ng's own cmn voice (run directly, `espeak-ng -v cmn -w`)
    # is what Chinese narration sounded like before Kokoro.
    found = measure_lesson(
        recognizer, "test", BROKEN_MANDARIN, CHINESE[:2], tmp_path, context="线性回归"
    )

    assert found.error_rate > 0.5, found.transcript


def test_syllables_read_digits_as_chinese_and_ignore_characters():
    # Whisper writes numbers either way and may pick another character for the same sound.
    script = "这个数据集是2024年收集的，准确率95.5%。"
    transcript = "這個數據及是二零二四年收集的 準確率百分之九十五點五"

    assert score(script, transcript, "zh") == 0.0


def test_syllables_keep_latin_words_and_count_misheard_ones():
    assert toneless_syllables("我们用Python和GPT-2。") == [
        "wo", "men", "yong", "python", "he", "gpt", "er",
    ]  # fmt: skip
    # "Python" heard as 拜登 (bai deng): one substitution and one insertion in 4 syllables.
    assert score("学习Python", "學習拜登", "zh") == pytest.approx(2 / 3)


def test_word_error_rate_ignores_case_and_punctuation_but_not_words():
    script = "When you commit, Git stores a snapshot."

    assert score(script, "when you commit git stores a snapshot", "en") == 0.0
    assert score(script, "When you commit, get stores the snapshot.", "en") == pytest.approx(2 / 7)
