"""Burned-in captions and the AI-content labels, pre-rendered once as RGBA patches.

A frame gets, in this order: the caption of the moment (bottom, white on a semi-opaque
box), the big opening label during the first OPENING_LABEL_S seconds, and the small
corner mark, which every frame carries. The compositors alpha-blend these patches;
they never draw text per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from synthesis.frames.text_layout import (
    TextStyle,
    contains_cjk,
    draw_text,
    is_cjk,
    text_width,
    truncate_lines,
    wrap_text,
)

OPENING_LABEL_S = 2.5
CAPTION_MAX_LINES = 2
WHITE = (255, 255, 255, 255)


@dataclass(frozen=True)
class LabelText:
    """The words of the AI-content labels in one language."""

    opening: str
    detail: str
    corner: str


LABEL_TEXTS = {
    "en": LabelText(
        opening="AI-generated video",
        detail="Narration and visuals were generated automatically",
        corner="AI-generated",
    ),
    "zh": LabelText(opening="AI生成视频", detail="本视频的配音和画面由AI自动生成", corner="AI生成"),
}


def label_text(language: str) -> LabelText:
    """The label words for a language (English for any language without its own)."""
    return LABEL_TEXTS.get(language, LABEL_TEXTS["en"])


@dataclass(frozen=True, eq=False)
class Overlay:
    """A pre-rendered RGBA patch and the frame position of its top-left corner."""

    image: Image.Image  # RGBA, not premultiplied
    x: int
    y: int

    @property
    def rgba(self) -> np.ndarray:
        return np.asarray(self.image)  # (h, w, 4) uint8


def _placed(image: Image.Image, x: int, y: int, size_px: tuple[int, int]) -> Overlay:
    """An overlay cut to the frame, so compositors never index outside it."""
    left, top = max(0, -x), max(0, -y)
    right = min(image.width, size_px[0] - x)
    bottom = min(image.height, size_px[1] - y)
    if (left, top, right, bottom) != (0, 0, image.width, image.height):
        image = image.crop((left, top, max(left + 1, right), max(top + 1, bottom)))
    return Overlay(image, x + left, y + top)


def _unit(size_px: tuple[int, int]) -> int:
    return min(size_px)


def _caption_style(size_px: tuple[int, int]) -> TextStyle:
    return TextStyle("regular", max(8, round(_unit(size_px) * 0.045)))


def _caption_geometry(size_px: tuple[int, int]) -> tuple[int, int, int, int]:
    """(max text width, padding x, padding y, bottom margin) for captions."""
    width, height = size_px
    style = _caption_style(size_px)
    max_text_width = round(width * (0.86 if width >= height else 0.88))
    padding_x = round(style.size_px * 0.6)
    padding_y = round(style.size_px * 0.3)
    # Portrait players put their controls over the bottom of the picture: stay higher.
    bottom_margin = round(height * (0.045 if width >= height else 0.07))
    return max_text_width, padding_x, padding_y, bottom_margin


def caption_band_height_px(size_px: tuple[int, int]) -> int:
    """Height of the bottom band a two-line caption can cover; slides keep it clear."""
    style = _caption_style(size_px)
    _, _, padding_y, bottom_margin = _caption_geometry(size_px)
    gap = round(style.size_px * 0.5)
    return bottom_margin + 2 * padding_y + CAPTION_MAX_LINES * style.line_height_px() + gap


def _balanced_wrap(text: str, style: TextStyle, max_width_px: float) -> list[str]:
    """Wrap text so two caption lines are about equally long, not one long and one word."""
    lines = wrap_text(text, style, max_width_px)
    if len(lines) != 2:
        return lines
    low, high = max_width_px / 2, max_width_px
    for _ in range(8):
        middle = (low + high) / 2
        if len(wrap_text(text, style, middle)) <= 2:
            high = middle
        else:
            low = middle
    return wrap_text(text, style, high)


def _join_lines(lines: list[str]) -> str:
    """Rejoin wrapped lines: a space between Latin words, nothing between CJK characters."""
    text = ""
    for line in lines:
        if text and not is_cjk(text[-1]) and not is_cjk(line[0]):
            text += " "
        text += line
    return text


def caption_chunks(text: str, *, size_px: tuple[int, int]) -> list[str]:
    """Split a caption into pieces that each fit the caption box (two lines at most).

    The caller shows them one after another, dividing the sentence's time between them.
    """
    max_width, _, _, _ = _caption_geometry(size_px)
    lines = [
        line for line in wrap_text(_one_line(text), _caption_style(size_px), max_width) if line
    ]
    return [
        _join_lines(lines[start : start + CAPTION_MAX_LINES])
        for start in range(0, len(lines), CAPTION_MAX_LINES)
    ]


def _text_box(
    lines: list[str],
    style: TextStyle,
    *,
    padding: tuple[int, int],
    box_alpha: int,
    radius: int,
    spacing: float = 1.3,
    extra: tuple[list[str], TextStyle] | None = None,
) -> Image.Image:
    """White centred lines (and optional smaller lines below) on a rounded dark box."""
    blocks = [(lines, style)] + ([extra] if extra else [])
    widths = [
        text_width(line, block_style) for block_lines, block_style in blocks for line in block_lines
    ]
    inner_width = max(widths, default=0)
    heights = [
        block_style.line_height_px(spacing) * len(block_lines)
        for block_lines, block_style in blocks
    ]
    padding_x, padding_y = padding
    box = Image.new(
        "RGBA",
        (round(inner_width) + 2 * padding_x, sum(heights) + 2 * padding_y),
        (0, 0, 0, 0),
    )
    draw = ImageDraw.Draw(box)
    draw.rounded_rectangle(
        (0, 0, box.width - 1, box.height - 1), radius=radius, fill=(0, 0, 0, box_alpha)
    )
    top = padding_y
    for block_lines, block_style in blocks:
        line_height = block_style.line_height_px(spacing)
        # Centre the glyphs in each line box: half the leading above the ascent.
        baseline = top + (line_height - block_style.ascent_px - block_style.descent_px) // 2
        baseline += block_style.ascent_px
        for line in block_lines:
            x = (box.width - text_width(line, block_style)) / 2
            draw_text(draw, (x, baseline), line, block_style, WHITE)
            baseline += line_height
        top += line_height * len(block_lines)
    return box


def _one_line(text: str) -> str:
    """Caption text on one line: cue texts may arrive pre-wrapped, and we wrap by pixels."""
    return _join_lines([" ".join(line.split()) for line in text.split("\n") if line.strip()])


def caption_lines(text: str, *, size_px: tuple[int, int]) -> list[str]:
    """How a caption wraps in its box at the standard size (before any shrink or cut)."""
    max_width, _, _, _ = _caption_geometry(size_px)
    return _balanced_wrap(_one_line(text), _caption_style(size_px), max_width)


def caption_overlay(text: str, *, size_px: tuple[int, int]) -> Overlay | None:
    """The caption box for text at the bottom of the frame; None for empty text.

    Text longer than two lines is set up to a fifth smaller, then cut with an ellipsis
    (split long sentences with caption_chunks to avoid both).
    """
    text = _one_line(text)
    if not text:
        return None
    standard = _caption_style(size_px)
    max_width, padding_x, padding_y, bottom_margin = _caption_geometry(size_px)
    style = standard
    lines = _balanced_wrap(text, style, max_width)
    while len(lines) > CAPTION_MAX_LINES and style.size_px > standard.size_px * 0.8:
        style = style.resized(style.size_px - 1)
        lines = _balanced_wrap(text, style, max_width)
    lines = truncate_lines(lines, CAPTION_MAX_LINES, style, max_width)
    box = _text_box(
        lines,
        style,
        padding=(padding_x, padding_y),
        box_alpha=170,
        radius=round(style.size_px * 0.35),
    )
    width, height = size_px
    return _placed(box, (width - box.width) // 2, height - bottom_margin - box.height, size_px)


def opening_label_overlay(*, size_px: tuple[int, int], language: str) -> Overlay:
    """The big "AI-generated video" label shown over the first seconds.

    It sits just above the caption band, clear of the title a title card centres.
    """
    words = label_text(language)
    unit = _unit(size_px)
    width, height = size_px
    # Glyphs of a 7%-of-the-short-side font stand about 6% tall: above the 5% we promise.
    title_style = TextStyle("bold", max(10, round(unit * 0.07)))
    detail_style = TextStyle("regular", max(8, round(unit * 0.032)))
    max_text_width = width * 0.8
    title_lines = wrap_text(words.opening, title_style, max_text_width)
    detail_lines = wrap_text(words.detail, detail_style, max_text_width)
    box = _text_box(
        title_lines,
        title_style,
        padding=(round(unit * 0.045), round(unit * 0.03)),
        box_alpha=215,
        radius=round(unit * 0.02),
        spacing=1.35,
        extra=(detail_lines, detail_style),
    )
    top = height - caption_band_height_px(size_px) - box.height
    return _placed(box, (width - box.width) // 2, max(0, top), size_px)


def corner_mark_overlay(*, size_px: tuple[int, int], language: str) -> Overlay:
    """The small "AI-generated" mark in the top-right corner of every frame."""
    unit = _unit(size_px)
    style = TextStyle("bold" if contains_cjk(label_text(language).corner) else "regular",
                      max(8, round(unit * 0.026)))  # fmt: skip
    box = _text_box(
        [label_text(language).corner],
        style,
        padding=(round(style.size_px * 0.55), round(style.size_px * 0.12)),
        box_alpha=140,
        radius=round(style.size_px * 0.5),
        spacing=1.35,
    )
    inset = round(unit * 0.022)
    return _placed(box, size_px[0] - inset - box.width, inset, size_px)
