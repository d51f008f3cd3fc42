"""Chinese narration to Kokoro phonemes: Latin words read as English, numbers in Chinese."""

import pytest

from synthesis.speech.kokoro_engine import MAX_TOKENS
from synthesis.speech.mandarin import mandarin_phonemes, text_runs


def phonemes(text: str) -> str:
    return " ".join(mandarin_phonemes(text, max_symbols=MAX_TOKENS))


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        (
            "我们用Python和PyTorch训练模型。",
            [
                ("zh", "我们用"),
                ("en", "Python"),
                ("zh", "和"),
                ("en", "PyTorch"),
                ("zh", "训练模型。"),
            ],
        ),
        ("ResNet50很深。", [("en", "ResNet"), ("zh", "50很深。")]),
        ("GPT-2的参数", [("en", "GPT"), ("zh", "2的参数")]),
        ("用scikit-learn画图", [("zh", "用"), ("en", "scikit-learn"), ("zh", "画图")]),
        ("纯中文句子。", [("zh", "纯中文句子。")]),
    ],
)
def test_text_is_cut_into_latin_and_chinese_runs(text, runs):
    assert text_runs(text) == runs


@pytest.mark.parametrize(
    ("digits", "words"),
    [
        ("学习率是0.001。", "学习率是零点零零一。"),
        ("准确率为95.5%。", "准确率为百分之九十五点五。"),
        ("2024年发布。", "二零二四年发布。"),
        ("共有3个层。", "共有三个层。"),
    ],
)
def test_numbers_are_read_in_chinese(digits, words):
    assert phonemes(digits) == phonemes(words)


def test_the_number_of_gpt_2_is_not_read_as_negative():
    spoken = phonemes("GPT-2模型")
    assert spoken == phonemes("GPT 二模型")
    assert phonemes("负") not in spoken


def test_latin_words_are_spoken_as_english():
    spoken = phonemes("我们用PyTorch。")
    english = phonemes("PyTorch")
    assert english in spoken
    # English stress marks, no Mandarin tone contours, and nothing of the Latin letters left.
    assert "ˈ" in english
    assert not set("→↗↓↘") & set(english)
    assert "y" not in english and "P" not in english


def test_long_sentences_are_cut_into_pieces_the_model_accepts():
    long_text = "线性回归模型使用梯度下降来更新参数，" * 40 + "最后得到结果。"
    pieces = mandarin_phonemes(long_text, max_symbols=MAX_TOKENS)
    assert len(pieces) > 1
    assert all(len(piece) <= MAX_TOKENS for piece in pieces)
    assert "".join(pieces).replace(" ", "") == phonemes(long_text).replace(" ", "")


def test_text_without_words_is_refused():
    with pytest.raises(ValueError):
        mandarin_phonemes("……！？", max_symbols=MAX_TOKENS)
