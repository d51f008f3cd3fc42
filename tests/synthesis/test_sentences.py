"""Sentence splitting: abbreviations, decimals, Chinese punctuation, long sentences."""

import pytest

from synthesis.sentences import MAX_CHARS, split_sentences


def test_english_splits_on_terminators():
    text = "Git tracks changes. Does it forget? Never! It keeps history."
    assert split_sentences(text, "en") == [
        "Git tracks changes.",
        "Does it forget?",
        "Never!",
        "It keeps history.",
    ]


def test_english_keeps_abbreviations_inside_the_sentence():
    text = "Dr. Smith uses tools, e.g. Git, i.e. a VCS. Mr. Jones agrees."
    assert split_sentences(text, "en") == [
        "Dr. Smith uses tools, e.g. Git, i.e. a VCS.",
        "Mr. Jones agrees.",
    ]


def test_english_keeps_decimals_versions_and_initials():
    text = "Pi is about 3.14 here. Install Python 3.11.7 first. J. K. Rowling wrote it."
    assert split_sentences(text, "en") == [
        "Pi is about 3.14 here.",
        "Install Python 3.11.7 first.",
        "J. K. Rowling wrote it.",
    ]


def test_english_number_abbreviations_only_bind_before_numbers():
    text = "See Fig. 3 and No. 5 for details. The answer is no. Then we stop."
    assert split_sentences(text, "en") == [
        "See Fig. 3 and No. 5 for details.",
        "The answer is no.",
        "Then we stop.",
    ]


def test_english_ellipsis_ends_only_before_a_new_sentence():
    text = "Wait... and then commit. Wait... Then push."
    assert split_sentences(text, "en") == ["Wait... and then commit.", "Wait...", "Then push."]


def test_english_keeps_closing_quotes_with_their_sentence():
    text = 'He said "Stop." Then he left. (It was late.) Nobody cared.'
    assert split_sentences(text, "en") == [
        'He said "Stop."',
        "Then he left.",
        "(It was late.)",
        "Nobody cared.",
    ]


def test_chinese_splits_on_full_width_terminators():
    text = "线性回归很简单。它有用吗？当然有用！"
    assert split_sentences(text, "zh") == ["线性回归很简单。", "它有用吗？", "当然有用！"]


def test_chinese_line_breaks_do_not_insert_spaces():
    text = "线性回归\n是一种模型。"
    assert split_sentences(text, "zh") == ["线性回归是一种模型。"]


def test_chinese_keeps_latin_words_and_numbers_intact():
    text = 'Git 由 Linus Torvalds 于 2005 年创建。运行 git commit -m "msg" 命令，版本 3.11 即可。'
    assert split_sentences(text, "zh") == [
        "Git 由 Linus Torvalds 于 2005 年创建。",
        '运行 git commit -m "msg" 命令，版本 3.11 即可。',
    ]


def test_long_english_sentence_is_split_at_commas():
    clauses = [f"this is clause number {i} of a long sentence" for i in range(12)]
    text = ", ".join(clauses) + "."
    pieces = split_sentences(text, "en")
    assert len(pieces) > 1
    assert all(len(p) <= MAX_CHARS["en"] for p in pieces)
    assert all(p.endswith((",", ".")) for p in pieces)
    assert " ".join(pieces) == text


def test_long_chinese_sentence_is_split_at_semicolons_and_commas():
    clauses = [f"这是一个很长的句子的第{i}个分句，还有更多内容" for i in range(8)]
    text = "；".join(clauses) + "。"
    pieces = split_sentences(text, "zh")
    assert len(pieces) > 1
    assert all(len(p) <= MAX_CHARS["zh"] for p in pieces)
    assert "".join(pieces) == text
    assert pieces[0].endswith("；")


def test_sentence_without_commas_is_cut_at_spaces():
    text = "word " * 100
    pieces = split_sentences(text, "en")
    assert all(len(p) <= MAX_CHARS["en"] for p in pieces)
    assert " ".join(pieces) == text.strip()


def test_chinese_hard_cut_does_not_break_latin_words():
    text = "中" * 75 + " commit " + "文" * 20
    pieces = split_sentences(text, "zh")
    assert all(len(p) <= MAX_CHARS["zh"] for p in pieces)
    assert any("commit" in p for p in pieces)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_blank_text_has_no_sentences(language):
    assert split_sentences(" \n\t ", language) == []


def test_punctuation_only_piece_joins_the_sentence_before():
    assert split_sentences("Really?! …", "en") == ["Really?!…"]


def test_inline_code_and_math_are_never_cut():
    text = (
        'Run `git commit -m "Fix. Then push."` now. The loss is $a. B$ here. It costs $5. Then $6.'
    )
    assert split_sentences(text, "en") == [
        'Run `git commit -m "Fix. Then push."` now.',
        "The loss is $a. B$ here.",
        "It costs $5.",
        "Then $6.",
    ]


def test_long_chinese_sentence_keeps_math_commas():
    math = r"$\{\text{婴儿},\text{儿童},\text{青少年}\}$"
    text = (
        "如果类别间有一些自然顺序，比如说我们试图预测"
        + math
        + "，"
        + "那么将这个问题转变为回归问题，" * 4
    )
    pieces = split_sentences(text, "zh")
    assert len(pieces) > 1
    assert any(math in piece for piece in pieces)
    assert "".join(pieces) == text


def test_list_number_inside_chinese_text_is_not_a_sentence_end():
    text = "有两个问题： 1. 我们只对类别感兴趣； 2. 我们希望得到概率。"
    assert split_sentences(text, "zh") == [text]
