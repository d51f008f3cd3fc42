"""Slides: exact sizes in every orientation, Chinese glyphs, wrapping, overflow, math, code."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from synthesis.fonts import face_for_char, font_chain, load_font
from synthesis.frames.images import ImageLoadError
from synthesis.frames.latex_text import latex_to_unicode, replace_inline_math
from synthesis.frames.overlays import caption_band_height_px
from synthesis.frames.slides import DEFAULT_THEME, layout_code, render_visual
from synthesis.frames.text_layout import TextStyle, fit_text, text_width, wrap_text
from synthesis.storyboard import Visual
from tests.corpus import corpus_lesson

SIZES = [(320, 180), (180, 320), (240, 240)]
LONG_ENGLISH = (
    "Version control records changes to a file or set of files over time so that you can "
    "recall specific versions later."
)
LONG_CHINESE = (
    "线性回归基于几个简单的假设：首先，假设自变量和因变量之间的关系是线性的，"
    "即可以表示为元素的加权和，这里通常允许包含观测值的一些噪声（例如测量误差）。"
)


def _visuals() -> dict[str, Visual]:
    image = corpus_lesson("en-git-changes") / "images" / "git-staging-area.svg"
    return {
        "title": Visual("title", title="Git basics", subtitle="Recording changes"),
        "text": Visual(
            "text", title="线性回归", bullets=(LONG_CHINESE, LONG_ENGLISH), math=(r"\hat{y} = b",)
        ),
        "code": Visual(
            "code", title="Example", code="def f(x):\n    return x + 1\n", code_language="python"
        ),
        "image": Visual(
            "image", title="Staging area", image_path=str(image), alt="The staging area"
        ),
    }


@pytest.mark.parametrize("size_px", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("kind", ["title", "text", "code", "image"])
def test_render_visual_makes_rgb_at_exactly_the_size(kind, size_px):
    slide = render_visual(_visuals()[kind], size_px=size_px, language="en")

    assert slide.mode == "RGB"
    assert slide.size == size_px
    assert np.asarray(slide).std() > 5  # something was drawn on the background


def test_render_visual_makes_full_hd():
    slide = render_visual(_visuals()["text"], size_px=(1920, 1080), language="zh")

    assert slide.size == (1920, 1080)


def _glyph(font, text: str) -> np.ndarray:
    canvas = Image.new("L", (200, 80))
    ImageDraw.Draw(canvas).text((10, 10), text, font=font, fill=255)
    return np.asarray(canvas)


def test_chinese_characters_have_real_glyphs_not_boxes():
    notdef = {}
    for char in "线性回归":
        face = face_for_char("regular", char)
        font = load_font(face, 40)
        notdef.setdefault(face, _glyph(font, "\uffff"))
        drawn = _glyph(font, char)
        assert drawn.any()
        assert not np.array_equal(drawn, notdef[face]), f"{char} is drawn as a box"
    # Tofu would draw four identical boxes.
    font = load_font(face_for_char("regular", "线"), 40)
    shapes = {_glyph(font, char).tobytes() for char in "线性回归"}
    assert len(shapes) == 4


def test_chinese_slide_title_differs_from_notdef_boxes():
    size = (320, 180)
    chinese = render_visual(Visual("title", title="线性回归"), size_px=size, language="zh")
    boxes = render_visual(Visual("title", title="\uffff" * 4), size_px=size, language="zh")

    assert np.abs(np.asarray(chinese, int) - np.asarray(boxes, int)).sum() > 10_000


def test_math_symbols_fall_back_to_a_font_that_has_them():
    # Noto Sans CJK lacks ℝ and ŷ; DejaVu has them.
    for char in "ℝŷᵀ":
        face = face_for_char("regular", char)
        assert face != font_chain("regular")[0] or len(font_chain("regular")) == 1
        font = load_font(face, 40)
        assert not np.array_equal(_glyph(font, char), _glyph(font, "\uffff"))


def test_wrap_breaks_chinese_between_characters_but_never_before_closing_punctuation():
    style = TextStyle("regular", 20)
    for width in range(60, 400, 7):
        lines = wrap_text(LONG_CHINESE, style, width)
        assert "".join(lines) == LONG_CHINESE
        for line in lines:
            assert text_width(line, style) <= width
            assert line[0] not in "，。：）」、"
            assert line[-1] not in "（「"


def test_wrap_keeps_english_words_whole_and_cuts_only_overlong_ones():
    style = TextStyle("regular", 20)
    word = "Pneumonoultramicroscopicsilicovolcanoconiosis"

    lines = wrap_text(LONG_ENGLISH, style, 200)
    pieces = wrap_text(word, style, 200)

    assert len(lines) > 2
    assert " ".join(lines) == LONG_ENGLISH
    assert all(text_width(line, style) <= 200 for line in lines + pieces)
    assert len(pieces) > 1 and "".join(pieces) == word


def test_fit_text_shrinks_a_title_before_cutting_it():
    style = TextStyle("bold", 60)

    fitted, shrunk = fit_text(
        "Linear regression", style, max_width_px=300, max_lines=1, min_size_px=20
    )
    assert fitted == ["Linear regression"]
    assert 20 <= shrunk.size_px < 60

    cut, smallest = fit_text(LONG_ENGLISH, style, max_width_px=300, max_lines=2, min_size_px=30)
    assert len(cut) == 2 and cut[-1].endswith("…")
    assert smallest.size_px == 30


def _background_only(pixels: np.ndarray) -> bool:
    return bool((pixels == np.array(DEFAULT_THEME.background, np.uint8)).all())


@pytest.mark.parametrize("size_px", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_overflowing_text_slide_stays_out_of_the_caption_band_and_margins(size_px):
    visual = Visual("text", title=LONG_ENGLISH, bullets=(LONG_CHINESE, LONG_ENGLISH) * 6)

    pixels = np.asarray(render_visual(visual, size_px=size_px, language="en"))

    width, height = size_px
    band = caption_band_height_px(size_px)
    margin = round(width * 0.06)
    assert _background_only(pixels[height - band :])
    assert _background_only(pixels[:, width - margin :])
    assert _background_only(pixels[:, :margin])


def test_code_slide_cuts_long_code_and_says_how_much():
    code = "\n".join(f"print({number})" for number in range(200))
    layout = layout_code(Visual("code", code=code), size_px=(320, 180))

    assert 0 < len(layout.lines) < 200
    assert layout.hidden_lines == 200 - len(layout.lines)
    slide = np.asarray(render_visual(Visual("code", code=code), size_px=(320, 180), language="en"))
    assert _background_only(slide[180 - caption_band_height_px((320, 180)) :])


def test_latex_becomes_readable_unicode():
    assert latex_to_unicode(r"\frac{1}{2}") == "1/2"
    assert latex_to_unicode(r"\frac{\eta}{|\mathcal{B}|}") == "η/|B|"
    assert latex_to_unicode(r"\hat{y} = \mathbf{w}^\top \mathbf{x} + b") == "ŷ = wᵀ x + b"
    assert latex_to_unicode(r"\mathbf{x} \in \mathbb{R}^d") == "x ∈ ℝᵈ"
    assert latex_to_unicode(r"\sum_{i=1}^n x_i") == "∑ᵢ₌₁ⁿ xᵢ"
    assert latex_to_unicode(r"\alpha \cdot \beta") == "α · β"
    assert latex_to_unicode(r"(\mathbf X^\top \mathbf X)^{-1}") == "(Xᵀ X)⁻¹"
    assert latex_to_unicode(r"w_{\mathrm{area}}") == "w_area"
    assert latex_to_unicode(r"\frac{1}{2 \sigma^2}") == "1/(2 σ²)"


def test_inline_math_in_prose_is_converted_and_prices_are_left_alone():
    assert replace_inline_math(r"向量$\mathbf{x} \in \mathbb{R}^d$中") == "向量x ∈ ℝᵈ中"
    assert replace_inline_math("it costs $5 and $6") == "it costs $5 and $6"


def test_image_slide_raises_image_load_error_for_a_broken_image(tmp_path):
    broken = tmp_path / "figure.png"
    broken.write_bytes(b"not a png at all")

    with pytest.raises(ImageLoadError, match="figure.png"):
        render_visual(Visual("image", image_path=str(broken)), size_px=(320, 180), language="en")


def test_image_slide_letterboxes_on_the_theme_background(tmp_path):
    tall = tmp_path / "tall.png"
    Image.new("RGB", (100, 400), (255, 255, 255)).save(tall)

    pixels = np.asarray(
        render_visual(Visual("image", image_path=str(tall)), size_px=(320, 180), language="en")
    )

    assert _background_only(pixels[:, :100])  # left of the centred picture
    assert (pixels[60:80, 150:170] == 255).all()  # the picture itself


def test_missing_fonts_give_an_error_that_names_the_packages(monkeypatch, tmp_path):
    import synthesis.fonts as fonts

    nowhere = tmp_path / "none.ttf"
    monkeypatch.setitem(fonts._CANDIDATES, "mono", (("No Such Font", nowhere, 0),))
    monkeypatch.setattr(fonts, "_fc_match", lambda pattern: None)
    fonts.font_chain.cache_clear()
    try:
        with pytest.raises(fonts.FontNotFoundError, match="fonts-noto-cjk"):
            fonts.font_chain("mono")
    finally:
        fonts.font_chain.cache_clear()
