"""Display math is typeset (ziamath + resvg), lines up aligned columns, draws Chinese in its
own font, and falls back to Unicode text instead of failing a render."""

from __future__ import annotations

import numpy as np
import pytest

from synthesis.frames.math_typeset import (
    TYPESETTER_VERSION,
    formula_lines,
    typeset_formula,
    unicode_formula,
)
from synthesis.frames.slides import render_visual
from synthesis.markdown import import_lesson_folder
from synthesis.plan import visual_fields
from synthesis.storyboard import Visual
from tests.corpus import CHINESE_LESSONS, corpus_lesson

WHITE = (255, 255, 255)


def _typeset(source: str, size_px: int = 20):
    return typeset_formula(source, size_px=size_px, color=WHITE)


def _pixels(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def _coverage(image) -> np.ndarray:
    return np.asarray(image.getchannel("A"), dtype=np.int16)


def test_a_fraction_is_typeset_taller_than_a_plain_symbol():
    symbol, fraction = _typeset("x"), _typeset(r"\frac{a + 1}{b}")

    assert symbol.typeset and fraction.typeset
    assert fraction.image.height > 1.5 * symbol.image.height
    assert fraction.image.mode == "RGBA"


def test_aligned_lines_are_stacked_and_their_columns_split():
    lines = formula_lines(r"\begin{aligned} a &= b + c,\\ d &= e. \end{aligned}")

    assert len(lines) == 2 and all(len(columns) == 2 for columns in lines)
    one_line = _typeset("a = b + c,")
    assert _typeset(r"\begin{aligned} a &= b + c,\\ d &= e. \end{aligned}").image.height > (
        1.8 * one_line.image.height
    )


def test_chinese_inside_a_formula_is_drawn_with_real_glyphs():
    # Missing glyphs come out as identical boxes, so swapping the characters would not
    # change the picture; real glyphs do.
    forward, swapped = (
        _typeset(r"a \quad \text{其中} \quad b"),
        _typeset(r"a \quad \text{中其} \quad b"),
    )

    assert forward.typeset and swapped.typeset
    assert forward.image.size == swapped.image.size
    assert np.abs(_coverage(forward.image) - _coverage(swapped.image)).sum() > 0


def test_a_formula_next_to_chinese_text_renders_on_one_slide():
    def slide(title: str, math: tuple[str, ...]):
        visual = Visual("text", title=title, bullets=("线性回归模型",), math=math)
        return _pixels(render_visual(visual, size_px=(320, 180), language="zh"))

    formula = (r"\hat{y} = \frac{\exp(o_j)}{\sum_k \exp(o_k)}",)
    with_math, without_math = slide("线性模型", formula), slide("线性模型", ())
    swapped_title = slide("模型线性", formula)

    body = slice(60, 150)
    assert np.abs(with_math[body] - without_math[body]).sum() > 0  # the formula is drawn
    assert np.abs(with_math[:50] - swapped_title[:50]).sum() > 0  # the title is not boxes


def test_a_broken_formula_falls_back_to_unicode_text():
    broken = _typeset(r"\frac{1}{2 \left( x")

    assert not broken.typeset
    assert broken.problem
    fallback = unicode_formula(r"\frac{1}{2 \left( x", size_px=20, color=WHITE)
    assert broken.image.tobytes() == fallback.tobytes()
    assert fallback.getchannel("A").getbbox() is not None  # the Unicode text is drawn


def test_a_slide_with_a_broken_formula_still_renders():
    visual = Visual("text", title="Broken", math=(r"\frac{1}{", r"\begin{nothing} x"))

    image = render_visual(visual, size_px=(320, 180), language="en")

    assert image.size == (320, 180)


@pytest.mark.parametrize("lesson", CHINESE_LESSONS)
def test_every_corpus_formula_is_typeset(lesson):
    storyboard = import_lesson_folder(corpus_lesson(lesson))
    formulas = [latex for scene in storyboard.scenes for latex in scene.visual.math]

    failed = [latex for latex in formulas if not _typeset(latex, size_px=12).typeset]

    assert formulas
    assert failed == []


def test_a_scene_key_names_the_typesetter_only_when_it_shows_math():
    assert visual_fields(Visual("text", math=("x",)))["math_typesetter"] == TYPESETTER_VERSION
    assert "math_typesetter" not in visual_fields(Visual("text", bullets=("x",)))
