"""Draw a scene's visual as one still slide: title card, text (with math), code or image.

Every slide is exactly size_px, for landscape, portrait and square frames alike; sizes are
fractions of the frame's shorter side so a layout reads the same at 720p and 1080p. The
bottom band stays empty for burned-in captions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw
from pygments.lexers import get_lexer_by_name
from pygments.lexers.special import TextLexer
from pygments.styles import get_style_by_name
from pygments.util import ClassNotFound

from synthesis.code_output import code_lines
from synthesis.errors import SynthesisError
from synthesis.frames.images import is_svg, load_image
from synthesis.frames.latex_text import inline_math_runs, latex_to_unicode, replace_inline_math
from synthesis.frames.math_typeset import typeset_formula, typeset_inline
from synthesis.frames.overlays import caption_band_height_px
from synthesis.frames.text_layout import (
    InlineFormula,
    Piece,
    PieceLine,
    TextStyle,
    draw_pieces,
    draw_text,
    ellipsize,
    ellipsize_pieces,
    fit_text,
    formula_extent,
    text_width,
    wrap_pieces,
)
from synthesis.storyboard import Visual

Color = tuple[int, int, int]
# STIX Two's letters are smaller than Noto Sans CJK's at one size: 1.15 matches them.
_MATH_SIZE_SCALE = 1.15
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_FORMULA_GAP_EM = 0.15
# Where a bullet line's text ink ends above and below its baseline, in em (Noto Sans CJK:
# ideographs reach about 0.88 em up, descenders 0.22 em down); a formula reaching further
# makes the line taller by the difference, so it never touches the lines around it.
_TEXT_INK_ABOVE_EM = 0.95
_TEXT_INK_BELOW_EM = 0.25


@dataclass(frozen=True)
class Theme:
    """Colours of the default look: calm dark blue, strong contrast, one warm accent."""

    background: Color = (17, 33, 56)
    panel: Color = (27, 48, 79)
    code_background: Color = (11, 21, 37)
    text: Color = (245, 247, 250)
    muted: Color = (163, 181, 205)
    accent: Color = (255, 186, 73)
    math: Color = (182, 224, 255)
    code_style: str = "github-dark"
    output_background: Color = (30, 38, 48)
    output_text: Color = (206, 214, 224)
    code_line_numbers: bool = True


DEFAULT_THEME = Theme()


@dataclass(frozen=True)
class _Frame:
    """Where things go on a frame of a given size."""

    width: int
    height: int

    @property
    def unit(self) -> int:
        return min(self.width, self.height)

    @property
    def margin_x(self) -> int:
        return round(self.width * (0.07 if self.width >= self.height else 0.075))

    @property
    def top(self) -> int:
        return round(self.height * (0.1 if self.width >= self.height else 0.08))

    @property
    def bottom(self) -> int:
        """Lowest y content may reach: above the caption band."""
        return self.height - caption_band_height_px((self.width, self.height))

    @property
    def content_width(self) -> int:
        return self.width - 2 * self.margin_x

    def px(self, fraction_of_unit: float) -> int:
        return max(1, round(self.unit * fraction_of_unit))


def render_visual(
    visual: Visual,
    *,
    size_px: tuple[int, int],
    language: str,
    theme: Theme = DEFAULT_THEME,
    bullets_shown: int | None = None,
) -> Image.Image:
    """The visual drawn as an RGB slide of exactly size_px; ImageLoadError if its image fails.

    bullets_shown: draw only a text slide's first bullets, laid out as with all of them (the
    reveal as the narration reaches each one, synthesis.reveal); None draws every bullet.
    """
    frame = _Frame(*size_px)
    canvas = Image.new("RGB", size_px, theme.background)
    draw = ImageDraw.Draw(canvas)
    if visual.kind == "title":
        _draw_title_card(draw, frame, visual, theme)
    elif visual.kind == "text":
        _draw_text_slide(draw, frame, visual, theme, bullets_shown)
    elif visual.kind == "code":
        _draw_code_slide(draw, frame, visual, theme, language)
    elif visual.kind == "image":
        _draw_image_slide(canvas, draw, frame, visual, theme)
    else:
        raise SynthesisError(f"unknown visual kind {visual.kind!r}")
    return canvas


def _draw_lines(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    style: TextStyle,
    *,
    x: int,
    top: int,
    fill: Color,
    spacing: float = 1.25,
) -> int:
    """Draw lines from top down; returns the y just below the last line."""
    baseline = top + style.ascent_px
    for line in lines:
        draw_text(draw, (x, baseline), line, style, fill)
        baseline += style.line_height_px(spacing)
    return baseline - style.line_height_px(spacing) + style.descent_px


@dataclass(frozen=True)
class _Heading:
    lines: tuple[str, ...]
    style: TextStyle
    bar_top: int
    body_top: int


def _layout_heading(frame: _Frame, title: str) -> _Heading:
    """Where a slide title, its accent bar and the body below go."""
    lines, style = fit_text(
        replace_inline_math(title),
        TextStyle("bold", frame.px(0.068)),
        max_width_px=frame.content_width,
        max_lines=2 if frame.width >= frame.height else 3,
        min_size_px=frame.px(0.045),
    )
    spacing = 1.25
    bottom = frame.top + style.line_height_px(spacing) * (len(lines) - 1)
    bottom += style.ascent_px + style.descent_px
    bar_top = bottom + frame.px(0.022)
    body_top = bar_top + frame.px(0.009) + frame.px(0.045)
    return _Heading(tuple(lines), style, bar_top, body_top)


def _body_top(frame: _Frame, title: str) -> int:
    return _layout_heading(frame, title).body_top if title else frame.top


def _draw_heading(draw: ImageDraw.ImageDraw, frame: _Frame, title: str, theme: Theme) -> int:
    """Slide title with the accent bar under it; returns the y where the body may start."""
    heading = _layout_heading(frame, title)
    _draw_lines(
        draw, list(heading.lines), heading.style, x=frame.margin_x, top=frame.top, fill=theme.text
    )
    draw.rectangle(
        (
            frame.margin_x,
            heading.bar_top,
            frame.margin_x + frame.px(0.12),
            heading.bar_top + frame.px(0.009),
        ),
        fill=theme.accent,
    )
    return heading.body_top


def _draw_title_card(
    draw: ImageDraw.ImageDraw, frame: _Frame, visual: Visual, theme: Theme
) -> None:
    title_lines, title_style = fit_text(
        replace_inline_math(visual.title),
        TextStyle("bold", frame.px(0.095)),
        max_width_px=frame.content_width,
        max_lines=3,
        min_size_px=frame.px(0.055),
    )
    subtitle_lines, subtitle_style = fit_text(
        replace_inline_math(visual.subtitle),
        TextStyle("regular", frame.px(0.048)),
        max_width_px=frame.content_width,
        max_lines=2,
        min_size_px=frame.px(0.036),
    )
    subtitle_lines = [line for line in subtitle_lines if line]
    bar_height = frame.px(0.012)
    gap = frame.px(0.04)
    title_height = title_style.line_height_px(1.2) * len(title_lines)
    subtitle_height = subtitle_style.line_height_px(1.3) * len(subtitle_lines)
    block_height = (
        bar_height + gap + title_height + (gap + subtitle_height if subtitle_lines else 0)
    )
    top = max(frame.top, (frame.top + frame.bottom - block_height) // 2)
    draw.rectangle(
        (frame.margin_x, top, frame.margin_x + frame.px(0.16), top + bar_height), fill=theme.accent
    )
    y = top + bar_height + gap
    y = _draw_lines(
        draw, title_lines, title_style, x=frame.margin_x, top=y, fill=theme.text, spacing=1.2
    )
    if subtitle_lines:
        _draw_lines(
            draw,
            subtitle_lines,
            subtitle_style,
            x=frame.margin_x,
            top=y + gap,
            fill=theme.muted,
            spacing=1.3,
        )


@dataclass(frozen=True)
class _Block:
    """A laid-out bullet or math display: its lines at one size."""

    kind: str  # "bullet" | "math"
    # A bullet: its lines of text and inline formulas; a math block: its LaTeX source.
    lines: tuple[PieceLine, ...] | tuple[str, ...]
    room_px: int = 0  # a math block: the width its formula may take (0: its natural width)


def _bullet_pieces(bullet: str, style: TextStyle) -> list[Piece]:
    """A bullet as text and typeset inline formulas ($...$), each at the text's size; a
    formula the typesetter cannot draw is its Unicode text (latex_text) in the line."""
    pieces: list[Piece] = []
    runs = inline_math_runs(bullet)
    for index, (kind, value) in enumerate(runs):
        if kind == "text":
            pieces.append(value)
            continue
        formula = typeset_inline(value, size_px=round(style.size_px * _MATH_SIZE_SCALE))
        if not formula.typeset:
            pieces.append(" ".join(latex_to_unicode(value).split()))
            continue
        # Chinese sets a formula off from the characters beside it by a small space.
        before = runs[index - 1][1][-1:] if index else ""
        after = runs[index + 1][1][:1] if index + 1 < len(runs) else ""
        gap = round(style.size_px * _HAN_FORMULA_GAP_EM)
        left, right = (gap if _HAN.match(char) else 0 for char in (before, after))
        coverage = formula.coverage
        if left or right:
            coverage = Image.new("L", (coverage.width + left + right, coverage.height), 0)
            coverage.paste(formula.coverage, (left, 0))
        pieces.append(InlineFormula(coverage, formula.ascent_px))
    return pieces


def _layout_body(visual: Visual, frame: _Frame, style: TextStyle) -> tuple[list[_Block], int]:
    """Blocks wrapped for the style and the total height they need."""
    blocks: list[_Block] = []
    for bullet in visual.bullets:
        width = _line_width(frame, style, "bullet")
        lines = wrap_pieces(_bullet_pieces(bullet, style), style, width)
        blocks.append(_Block("bullet", tuple(lines)))
    for source in visual.math:
        blocks.append(_Block("math", (source,), _line_width(frame, style, "math")))
    height = sum(_block_height(block, style) for block in blocks)
    height += _block_gap(style) * max(0, len(blocks) - 1)
    return blocks, height


def _line_width(frame: _Frame, style: TextStyle, kind: str) -> int:
    """Room for text on a line: bullets are indented, math sits inside a padded panel."""
    if kind == "bullet":
        return frame.content_width - round(style.size_px * 1.1)
    return frame.content_width - 2 * round(style.size_px * 0.6)


def _block_gap(style: TextStyle) -> int:
    return round(style.size_px * 0.55)


def _block_height(block: _Block, style: TextStyle) -> int:
    if block.kind == "math":
        formulas = [_math_image(source, style, block.room_px) for source in block.lines]
        return sum(image.height for image in formulas) + 2 * _math_padding(style)
    return sum(_line_advance(line, style) for line in block.lines)


def _line_extra(line: PieceLine, style: TextStyle) -> tuple[int, int]:
    """How far a line's formulas reach above and below the room its text's ink leaves
    (0, 0 for text alone). The font's ascent metric is no guide: Noto Sans CJK's is far
    above its glyphs, and a hat or fraction that tall would touch the line before."""
    ascent, descent = formula_extent(line)
    above = round(style.size_px * _TEXT_INK_ABOVE_EM)
    below = round(style.size_px * _TEXT_INK_BELOW_EM)
    return max(0, ascent - above), max(0, descent - below)


def _line_advance(line: PieceLine, style: TextStyle) -> int:
    """Top of this bullet line to the top of the next: taller for a tall formula."""
    above, below = _line_extra(line, style)
    return style.line_height_px() + above + below


def _draw_text_slide(
    draw: ImageDraw.ImageDraw,
    frame: _Frame,
    visual: Visual,
    theme: Theme,
    bullets_shown: int | None = None,
) -> None:
    body_top = _draw_heading(draw, frame, visual.title, theme) if visual.title else frame.top
    available = frame.bottom - body_top
    # Shrink the body up to about a third before cutting it with an ellipsis.
    size_px = frame.px(0.048)
    min_size_px = frame.px(0.032)
    while True:
        style = TextStyle("regular", size_px)
        blocks, height = _layout_body(visual, frame, style)
        if height <= available or size_px <= min_size_px:
            break
        size_px = max(min_size_px, int(size_px * 0.93))
    blocks = _fit_blocks(blocks, style, frame, available)
    y = body_top
    bullets_left = len(blocks) if bullets_shown is None else bullets_shown
    for index, block in enumerate(blocks):
        if index:
            y += _block_gap(style)
        if block.kind == "bullet" and bullets_left <= 0:
            y += _block_height(block, style)  # not said yet: its place stays empty
        elif block.kind == "bullet":
            bullets_left -= 1
            y = _draw_bullet(draw, frame, list(block.lines), style, y, theme)
        else:
            y = _draw_math(draw, frame, list(block.lines), style, y, theme)


def _fit_blocks(
    blocks: list[_Block], style: TextStyle, frame: _Frame, available: int
) -> list[_Block]:
    """The blocks that fit in the available height; if any are cut, the last line ends in …"""
    kept: list[_Block] = []
    used = 0
    for block in blocks:
        gap = _block_gap(style) if kept else 0
        if used + gap + _block_height(block, style) <= available:
            kept.append(block)
            used += gap + _block_height(block, style)
            continue
        # Keep as many of this block's lines as fit, then stop.
        lines = list(block.lines)
        while (
            lines
            and used + gap + _block_height(_Block(block.kind, tuple(lines)), style) > available
        ):
            lines.pop()
        if lines:
            kept.append(_Block(block.kind, tuple(lines)))
        break
    else:
        return kept
    if kept:
        last = kept[-1]
        width = _line_width(frame, style, last.kind)
        ending = ellipsize_pieces(last.lines[-1], style, width)
        kept[-1] = _Block(last.kind, (*last.lines[:-1], ending))
    return kept


def _draw_bullet(
    draw: ImageDraw.ImageDraw,
    frame: _Frame,
    lines: list[PieceLine],
    style: TextStyle,
    top: int,
    theme: Theme,
) -> int:
    dot = max(3, round(style.size_px * 0.26))
    first_above = _line_extra(lines[0], style)[0] if lines else 0
    dot_center_y = top + first_above + style.ascent_px - round(style.size_px * 0.33)
    draw.ellipse(
        (
            frame.margin_x,
            dot_center_y - dot // 2,
            frame.margin_x + dot,
            dot_center_y + dot - dot // 2,
        ),
        fill=theme.accent,
    )
    x = frame.margin_x + round(style.size_px * 1.1)
    line_top = top
    for line in lines:
        baseline = line_top + _line_extra(line, style)[0] + style.ascent_px
        draw_pieces(draw, (x, baseline), line, style, theme.text)
        line_top += _line_advance(line, style)
    return line_top


def _math_padding(style: TextStyle) -> int:
    return round(style.size_px * 0.6)


def _math_image(source: str, style: TextStyle, room_px: int) -> Image.Image:
    """The formula typeset at the body text size, smaller when wider than room_px."""
    full_size_px = round(style.size_px * _MATH_SIZE_SCALE)
    image = typeset_formula(source, size_px=full_size_px, color=(255, 255, 255)).image
    if room_px and image.width > room_px:
        # Typeset again at the size that fits (crisper than scaling the pixels), then
        # trim the last pixels a rounded size may leave over.
        size_px = max(1, int(full_size_px * room_px / image.width))
        image = typeset_formula(source, size_px=size_px, color=(255, 255, 255)).image
        if image.width > room_px:
            height = max(1, round(image.height * room_px / image.width))
            image = image.resize((room_px, height), Image.Resampling.LANCZOS)
    return image


def _draw_math(
    draw: ImageDraw.ImageDraw,
    frame: _Frame,
    lines: list[str],
    style: TextStyle,
    top: int,
    theme: Theme,
) -> int:
    """A panel with the formula(s) of `lines` (LaTeX sources) typeset, centred, stacked."""
    padding = _math_padding(style)
    room_px = _line_width(frame, style, "math")
    formulas = [_math_image(source, style, room_px) for source in lines]
    height = sum(image.height for image in formulas) + 2 * padding
    draw.rounded_rectangle(
        (frame.margin_x, top, frame.width - frame.margin_x - 1, top + height - 1),
        radius=frame.px(0.014),
        fill=theme.panel,
    )
    y = top + padding
    for image in formulas:
        # The formula's coverage drawn in the math colour, anti-aliased onto the panel.
        draw.bitmap(((frame.width - image.width) // 2, y), image.getchannel("A"), theme.math)
        y += image.height
    return top + height


def _more_lines_note(hidden: int, language: str) -> str:
    if language == "zh":
        return f"…… 还有 {hidden} 行"
    return f"… {hidden} more line{'s' if hidden != 1 else ''}"


def _code_colors(style_name: str) -> dict:
    style = get_style_by_name(style_name)
    return {token: f"#{spec['color']}" if spec["color"] else None for token, spec in style}


@dataclass(frozen=True)
class CodeLayout:
    """How a code slide shows its code: the lines that fit and how many were left out."""

    panel: tuple[int, int, int, int]
    padding_px: int
    style: TextStyle
    line_height_px: int
    lines: tuple[str, ...]
    hidden_lines: int
    gutter_digits: int  # -1 without line numbers, so the gutter ("0" * (digits + 1)) is empty
    # Which of `lines` are printed output (no number, no highlighting, own style).
    output_lines: tuple[bool, ...] = ()


def layout_code(
    visual: Visual, *, size_px: tuple[int, int], line_numbers: bool = True
) -> CodeLayout:
    """Fit a code visual's lines in its panel: font sized to the longest line, long code cut."""
    frame = _Frame(*size_px)
    top = _body_top(frame, visual.title)
    # Pillow's rectangles include their last row and column, hence the - 1.
    panel = (frame.margin_x, top, frame.width - frame.margin_x - 1, max(top, frame.bottom - 1))
    padding = frame.px(0.03)
    marked = code_lines(visual.code.expandtabs(4))
    code_lines_ = [line for _, line in marked] or [""]
    outputs = [is_output for is_output, _ in marked] or [False]
    numbered = sum(1 for is_output in outputs if not is_output)
    gutter_digits = len(str(max(1, numbered))) if line_numbers else -1
    longest = max(len(line) for line in code_lines_) + gutter_digits + 2
    inner_width = panel[2] - panel[0] - 2 * padding
    inner_height = panel[3] - panel[1] - 2 * padding
    # Monospace advance is 0.6 em (DejaVu Sans Mono): size the font so the longest line
    # and all the lines fit, between readable and large; lines past 80 columns are cut and
    # code too long even at the smallest size is cut with a note, rather than shrunk more.
    columns = min(max(longest, 36), 80 + gutter_digits + 2)
    by_width = inner_width / (columns * 0.6)
    by_height = inner_height / (len(code_lines_) * 1.35)
    size_px = int(max(frame.px(0.022), min(frame.px(0.042), by_width, by_height)))
    style = TextStyle("mono", size_px)
    line_height = style.line_height_px(1.35)
    rows = max(1, inner_height // line_height)
    hidden = 0
    if len(code_lines_) > rows:
        hidden = len(code_lines_) - (rows - 1)
        code_lines_, outputs = code_lines_[: rows - 1], outputs[: rows - 1]
    # Short code gets a panel just tall enough, not one stretched to the caption band.
    shown_rows = len(code_lines_) + (1 if hidden else 0)
    panel_bottom = panel[1] + 2 * padding + shown_rows * line_height + style.descent_px
    panel = (*panel[:3], max(panel[1], min(panel[3], panel_bottom)))
    return CodeLayout(
        panel,
        padding,
        style,
        line_height,
        tuple(code_lines_),
        hidden,
        gutter_digits,
        tuple(outputs),
    )


def _draw_code_slide(
    draw: ImageDraw.ImageDraw, frame: _Frame, visual: Visual, theme: Theme, language: str
) -> None:
    if visual.title:
        _draw_heading(draw, frame, visual.title, theme)
    layout = layout_code(
        visual, size_px=(frame.width, frame.height), line_numbers=theme.code_line_numbers
    )
    panel, padding, style = layout.panel, layout.padding_px, layout.style
    draw.rounded_rectangle(panel, radius=frame.px(0.014), fill=theme.code_background)
    colors = _code_colors(theme.code_style)
    try:
        lexer = get_lexer_by_name(visual.code_language or "text", stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    gutter = text_width("0" * (layout.gutter_digits + 1), style)
    code_x = panel[0] + padding + gutter
    max_x = panel[2] - padding
    baseline = panel[1] + padding + style.ascent_px
    number = 0
    for row, line in enumerate(layout.lines):
        is_output = row < len(layout.output_lines) and layout.output_lines[row]
        if is_output:
            # Output is what the computer printed: no number, no colours, on its own band
            # with a bar at the left, so it never reads as code to type.
            top = baseline - style.ascent_px - (layout.line_height_px - style.ascent_px) // 3
            band = (
                panel[0] + padding // 2,
                top,
                panel[2] - padding // 2,
                top + layout.line_height_px,
            )
            draw.rectangle(band, fill=theme.output_background)
            draw.rectangle(
                (band[0], band[1], band[0] + max(2, padding // 4), band[3]), fill=theme.muted
            )
            if text_width(line, style) > max_x - code_x:
                line = ellipsize(line, style, max_x - code_x)
            draw_text(draw, (code_x, baseline), line, style, theme.output_text)
        else:
            number += 1
            if theme.code_line_numbers:
                label = str(number).rjust(layout.gutter_digits)
                draw_text(draw, (panel[0] + padding, baseline), label, style, theme.muted)
            _draw_code_line(
                draw, lexer, line, style, colors, x=code_x, max_x=max_x, baseline=baseline
            )
        baseline += layout.line_height_px
    if layout.hidden_lines:
        note = _more_lines_note(layout.hidden_lines, language)
        draw_text(draw, (code_x, baseline), note, style, theme.muted)


def _draw_code_line(
    draw: ImageDraw.ImageDraw,
    lexer,
    line: str,
    style: TextStyle,
    colors: dict,
    *,
    x: float,
    max_x: float,
    baseline: int,
) -> None:
    """One highlighted line; a line too long for the panel ends with … at the edge."""
    if x + text_width(line, style) > max_x:
        line = ellipsize(line, style, max_x - x)
    for token_type, value in lexer.get_tokens(line):
        value = value.rstrip("\n")
        if not value:
            continue
        color = None
        while color is None and token_type is not None:
            color = colors.get(token_type)
            token_type = token_type.parent
        x += draw_text(draw, (x, baseline), value, style, color or "#e6edf3")


def _draw_image_slide(
    canvas: Image.Image, draw: ImageDraw.ImageDraw, frame: _Frame, visual: Visual, theme: Theme
) -> None:
    if not visual.image_path:
        raise SynthesisError("an image scene has no image file")
    top = _draw_heading(draw, frame, visual.title, theme) if visual.title else frame.top
    box_width = frame.content_width
    box_height = max(1, frame.bottom - top)
    image = load_image(Path(visual.image_path), svg_width_px=box_width)
    if image.mode == "RGBA":
        # Transparent pictures are drawn for paper: dark lines must not vanish on dark blue.
        flattened = Image.new("RGB", image.size, (255, 255, 255))
        flattened.paste(image, mask=image.getchannel("A"))
        image = flattened
    # Small rasters are enlarged at most 3x: further only shows blur.
    scale = min(box_width / image.width, box_height / image.height)
    if not is_svg(Path(visual.image_path)):
        scale = min(scale, 3.0)
    fitted = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
        Image.Resampling.LANCZOS,
    )
    caption_style = TextStyle("regular", frame.px(0.03))
    caption_room = caption_style.line_height_px(1.6)
    image_x = frame.margin_x + (box_width - fitted.width) // 2
    show_caption = bool(visual.alt) and box_height - fitted.height >= caption_room
    used_height = fitted.height + (caption_room if show_caption else 0)
    image_y = top + (box_height - used_height) // 2
    canvas.paste(fitted, (image_x, image_y))
    if show_caption:
        caption = ellipsize(replace_inline_math(visual.alt), caption_style, box_width)
        caption_x = (frame.width - text_width(caption, caption_style)) / 2
        baseline = image_y + fitted.height + round(caption_style.size_px * 0.45)
        draw_text(
            draw,
            (caption_x, baseline + caption_style.ascent_px),
            caption,
            caption_style,
            theme.muted,
        )
