"""Inline math in bullets: kept as $LaTeX$ on import, typeset on the text's baseline as an
unbreakable unit, drawn as Unicode text when the typesetter fails; dollar amounts stay text,
reveal and narration read the formula, never its LaTeX."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from synthesis.frames.latex_text import (
    cut_inline_math,
    has_inline_math,
    inline_math_markup,
    inline_math_runs,
    latex_to_unicode,
    replace_inline_math,
)
from synthesis.frames.math_typeset import TYPESETTER_VERSION, typeset_inline
from synthesis.frames.slides import render_visual
from synthesis.frames.text_layout import InlineFormula, TextStyle, formula_extent, wrap_pieces
from synthesis.markdown import import_lesson_folder
from synthesis.markdown_blocks import Text, parse_blocks
from synthesis.markdown_scenes import bullet_text
from synthesis.plan import visual_fields
from synthesis.reveal import narrated_share, reveal_times
from synthesis.storyboard import Visual
from tests.corpus import CHINESE_LESSONS, corpus_lesson

SIZE = (320, 180)


def _slide(*bullets: str, language: str = "en") -> np.ndarray:
    visual = Visual(kind="text", title="", bullets=bullets)
    return np.asarray(render_visual(visual, size_px=SIZE, language=language), dtype=np.int16)


def _ink_rows(pixels: np.ndarray) -> np.ndarray:
    """Rows holding text (much brighter than the dark background)."""
    return np.flatnonzero((pixels.sum(axis=2) > 400).any(axis=1))


def _formula(source: str, size_px: int = 16) -> InlineFormula:
    typeset = typeset_inline(source, size_px=size_px)
    assert typeset.typeset
    return InlineFormula(typeset.coverage, typeset.ascent_px)


def test_inline_formula_is_typeset_not_drawn_as_its_unicode_text():
    typeset = _slide(r"the area $x^2$ grows")
    as_text = _slide("the area " + latex_to_unicode("x^2") + " grows")

    assert (np.abs(typeset - as_text).sum(axis=2) > 60).sum() > 30


def test_a_fraction_makes_its_line_taller_and_pushes_the_next_bullet_down():
    fraction = (_formula(r"\frac{a + 1}{b}"),)
    symbol = (_formula("x"),)

    assert formula_extent(("text only",)) == (0, 0)
    assert formula_extent(fraction)[0] > formula_extent(symbol)[0] + 4
    assert formula_extent(fraction)[1] > formula_extent(symbol)[1] + 4
    with_fraction = _ink_rows(_slide(r"ratio $\frac{a + 1}{b}$", "next"))
    with_symbol = _ink_rows(_slide(r"ratio $x$", "next"))
    assert with_fraction.max() > with_symbol.max() + 3


def test_wrapping_never_splits_a_formula_and_fits_a_too_wide_one():
    style = TextStyle("regular", 16)
    formula = _formula(r"\mathbf{w}^\top \mathbf{x} + b")
    pieces = ["a few words before ", formula, ", and after it more words follow"]

    for width in (formula.width_px + 30, 120, 200, 400):
        lines = wrap_pieces(pieces, style, width)
        holding = [line for line in lines if formula in line]
        assert len(holding) == 1
        # The comma after the formula stays on its line (no line starts with it).
        assert not any(isinstance(line[0], str) and line[0].startswith(",") for line in lines)
        text = "".join(p for line in lines for p in line if isinstance(p, str))
        assert text.replace(" ", "") == "afewwordsbefore,andafteritmorewordsfollow"
    (narrow,) = [line for line in wrap_pieces([formula], style, 40) if line]
    assert narrow[0].width_px <= 40


def test_dollar_amounts_stay_text_on_the_slide_and_in_the_editor():
    typed = "it costs $5 and $6, or $ 7 $"

    assert inline_math_runs(typed) == [("text", typed)]
    assert not has_inline_math(typed)
    assert "math_typesetter" not in visual_fields(Visual(kind="text", bullets=(typed,)))
    # Markup for text that is only dollar amounts is the text as typed (no escapes).
    assert inline_math_markup([("text", typed)]) == typed


def test_a_literal_dollar_that_would_read_as_math_is_escaped_on_import():
    (block,) = [b for b in parse_blocks("Run `$x$` and then $y^2$ now.", language="en")]

    assert isinstance(block, Text)
    assert block.display == r"Run \$x\$ and then $y^2$ now."
    assert inline_math_runs(block.display) == [
        ("text", "Run $x$ and then "),
        ("math", "y^2"),
        ("text", " now."),
    ]
    assert "$" not in block.speech.replace("$x$", "")


def test_a_bullet_is_cut_by_what_it_shows_and_never_inside_a_formula():
    bullet = "w" * 40 + r" $\mathbf{w}^\top \mathbf{x} + \hat{b}$ " + "more words " * 12

    cut = bullet_text(bullet, "en")
    assert cut.endswith("…")
    assert inline_math_runs(cut)[1] == ("math", r"\mathbf{w}^\top \mathbf{x} + \hat{b}")
    assert cut_inline_math(r"ab $\frac{1}{2}$ cd", 3) == "ab "


def test_a_chinese_bullet_with_a_formula_draws_real_glyphs():
    # Missing glyphs are identical boxes: swapping characters would not change the picture.
    forward = _slide(r"向量$\mathbf{x}$中的特征", language="zh")
    swapped = _slide(r"中量$\mathbf{x}$向的特征", language="zh")

    assert np.abs(forward - swapped).sum() > 0
    assert len(_ink_rows(forward)) > 5


def test_broken_inline_latex_is_drawn_as_its_unicode_text():
    assert not typeset_inline(r"\frac{", size_px=16).typeset

    broken = _slide(r"before $\frac{$ after")
    as_text = _slide("before " + latex_to_unicode(r"\frac{") + " after")
    assert np.array_equal(broken, as_text)


@dataclass(frozen=True)
class _Sentence:
    text: str
    start_s: float


def test_reveal_matches_a_bullet_with_math_by_what_it_reads():
    bullets = ["先看别的内容", r"梯度$\frac{\partial \mathcal{L}}{\partial \mathbf{w}}$"]
    sentences = [_Sentence("先看别的内容。", 0.0), _Sentence("梯度是偏w分之偏L。", 3.0)]

    # Compared as LaTeX, the formula's command names would drown the bullet's words.
    assert narrated_share(bullets[1], sentences[1].text) < 0.6
    assert reveal_times(bullets, sentences) == (0.0, 3.0)


def test_a_scene_with_inline_math_keys_on_the_typesetter():
    fields = visual_fields(Visual(kind="text", bullets=(r"the weight $\mathbf{w}$",)))

    assert fields["math_typesetter"] == TYPESETTER_VERSION


def test_chinese_corpus_bullets_keep_latex_and_narration_speaks_it():
    for name in CHINESE_LESSONS:
        storyboard = import_lesson_folder(corpus_lesson(name))
        bullets = [b for scene in storyboard.scenes for b in scene.visual.bullets]

        assert sum(has_inline_math(bullet) for bullet in bullets) >= 10, name
        for scene in storyboard.scenes:
            assert "$" not in scene.narration
            assert not re.search(r"\\[A-Za-z]", scene.narration)
        for bullet in bullets:
            # Every formula is whole: what the bullet reads holds no LaTeX left over.
            assert "\\" not in replace_inline_math(bullet), bullet
    linear = import_lesson_folder(corpus_lesson("zh-linear-regression"))
    assert any(r"$\mathbf{x}$" in b for s in linear.scenes for b in s.visual.bullets)
