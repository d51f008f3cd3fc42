"""Measure, wrap and draw text in Chinese, English and math with per-character font fallback.

Lines break between words (synthesis.word_breaks: jieba words for Chinese, spaces for Latin
text), never before closing punctuation such as ，。）」 nor after opening punctuation such as
（「 (kinsoku); only a word wider than the whole line is cut where it must. A line may also
hold inline formulas (InlineFormula, typeset pictures on the text's baseline): each is one
unbreakable unit, glued to the Latin letters or punctuation that touch it.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from synthesis.fonts import FontFace, FontStyle, font_chain, has_glyph, load_font, primary_face
from synthesis.word_breaks import NO_LINE_END, NO_LINE_START, break_units

ELLIPSIS = "…"


def is_cjk(char: str) -> bool:
    """Whether char is a CJK ideograph, kana, hangul or full-width/CJK punctuation."""
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF  # radicals, CJK punctuation, kana, ideographs
        or 0xAC00 <= code <= 0xD7AF  # hangul syllables
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFE30 <= code <= 0xFE4F  # CJK compatibility forms
        or 0xFF00 <= code <= 0xFFEF  # full-width and half-width forms
        or 0x20000 <= code <= 0x3FFFF  # ideograph extensions
    )


def contains_cjk(text: str) -> bool:
    """Whether any character of text is CJK."""
    return any(is_cjk(char) for char in text)


@dataclass(frozen=True)
class TextStyle:
    """A font style at a pixel size; line metrics come from the style's primary face."""

    style: FontStyle
    size_px: int

    @property
    def primary_font(self) -> ImageFont.FreeTypeFont:
        return load_font(primary_face(self.style), self.size_px)

    @property
    def ascent_px(self) -> int:
        return self.primary_font.getmetrics()[0]

    @property
    def descent_px(self) -> int:
        return self.primary_font.getmetrics()[1]

    def line_height_px(self, spacing: float = 1.3) -> int:
        """Baseline-to-baseline distance."""
        return max(1, round(self.size_px * spacing))

    def resized(self, size_px: int) -> TextStyle:
        return TextStyle(self.style, size_px)


@functools.cache
def _face_for_cluster(style: FontStyle, cluster: str) -> FontFace:
    chain = font_chain(style)
    for face in chain:
        if all(has_glyph(face, char) for char in cluster):
            return face
    return chain[0]


def _clusters(text: str) -> list[str]:
    """Characters with their combining marks attached, so a mark stays with its base."""
    clusters: list[str] = []
    for char in text:
        if clusters and unicodedata.combining(char):
            clusters[-1] += char
        else:
            clusters.append(char)
    return clusters


def text_runs(text: str, style: TextStyle) -> list[tuple[str, ImageFont.FreeTypeFont]]:
    """Split text into runs that one font each can draw."""
    runs: list[tuple[str, FontFace]] = []
    for cluster in _clusters(text):
        face = _face_for_cluster(style.style, cluster)
        if runs and runs[-1][1] == face:
            runs[-1] = (runs[-1][0] + cluster, face)
        else:
            runs.append((cluster, face))
    return [(run, load_font(face, style.size_px)) for run, face in runs]


@functools.lru_cache(maxsize=8192)
def text_width(text: str, style: TextStyle) -> float:
    """Advance width of text in pixels."""
    return sum(font.getlength(run) for run, font in text_runs(text, style))


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    style: TextStyle,
    fill: tuple[int, ...] | str,
) -> float:
    """Draw text with its left end at x and its baseline at y; returns the width drawn."""
    x, baseline_y = xy
    start_x = x
    for run, font in text_runs(text, style):
        draw.text((x, baseline_y), run, font=font, fill=fill, anchor="ls")
        x += font.getlength(run)
    return x - start_x


def _tokens(paragraph: str) -> list[str]:
    """Break opportunities: spaces, Latin words, Chinese words (jieba); kinsoku applied."""
    return break_units(paragraph)


def _break_word(word: str, style: TextStyle, max_width_px: float) -> list[str]:
    """Cut a word wider than the line into pieces that fit (at least one character each).

    A piece never starts with closing punctuation: the character before it moves along.
    """
    pieces: list[str] = []
    current: list[str] = []
    for cluster in _clusters(word):
        if current and text_width("".join(current) + cluster, style) > max_width_px:
            carried: list[str] = []
            while len(current) > 1 and (carried or [cluster])[0][0] in NO_LINE_START:
                carried.insert(0, current.pop())
            pieces.append("".join(current))
            current = carried
        current.append(cluster)
    if current:
        pieces.append("".join(current))
    return pieces


def wrap_text(text: str, style: TextStyle, max_width_px: float) -> list[str]:
    """Lines of text no wider than max_width_px (newlines in text start new lines)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for token in _tokens(paragraph):
            if token.isspace():
                if current:
                    current += token
                continue
            candidate = current + token
            if text_width(candidate, style) <= max_width_px:
                current = candidate
                continue
            if current.strip():
                lines.append(current.rstrip())
            current = ""
            if text_width(token, style) <= max_width_px:
                current = token
                continue
            *full, current = _break_word(token, style, max_width_px)
            lines.extend(full)
        lines.append(current.rstrip())
    return lines


def ellipsize(text: str, style: TextStyle, max_width_px: float) -> str:
    """text, cut and ended with … if it is wider than max_width_px."""
    if text_width(text, style) <= max_width_px:
        return text
    clusters = _clusters(text)
    while clusters:
        clusters.pop()
        candidate = "".join(clusters).rstrip() + ELLIPSIS
        if text_width(candidate, style) <= max_width_px:
            return candidate
    return ELLIPSIS


def truncate_lines(
    lines: list[str], max_lines: int, style: TextStyle, max_width_px: float
) -> list[str]:
    """At most max_lines lines; when some are dropped, the last kept line ends with …"""
    if len(lines) <= max_lines:
        return lines
    if max_lines <= 0:
        return []
    kept = lines[:max_lines]
    kept[-1] = ellipsize(kept[-1].rstrip() + ELLIPSIS, style, max_width_px)
    return kept


def fit_text(
    text: str,
    style: TextStyle,
    *,
    max_width_px: float,
    max_lines: int,
    min_size_px: int,
) -> tuple[list[str], TextStyle]:
    """Wrap text, shrinking the font towards min_size_px until it fits in max_lines lines.

    At the smallest size the text is cut with an ellipsis rather than overflowing.
    """
    size_px = style.size_px
    while True:
        current = style.resized(size_px)
        lines = wrap_text(text, current, max_width_px)
        if len(lines) <= max_lines or size_px <= min_size_px:
            return truncate_lines(lines, max_lines, current, max_width_px), current
        size_px = max(min_size_px, int(size_px * 0.92))


@dataclass(frozen=True, eq=False)
class InlineFormula:
    """A typeset formula set in a line of text: coverage (mode "L") drawn in the text colour,
    its baseline ascent_px below its top."""

    coverage: Image.Image
    ascent_px: int

    @property
    def width_px(self) -> int:
        return self.coverage.width

    @property
    def descent_px(self) -> int:
        return self.coverage.height - self.ascent_px

    def fitted(self, max_width_px: float) -> InlineFormula:
        """The formula scaled down to max_width_px when it is wider (never enlarged)."""
        if self.width_px <= max_width_px:
            return self
        scale = max(1.0, max_width_px) / self.width_px
        size = (max(1, int(max_width_px)), max(1, round(self.coverage.height * scale)))
        coverage = self.coverage.resize(size, Image.Resampling.LANCZOS)
        return InlineFormula(coverage, round(self.ascent_px * scale))


# A piece of a line: text, or a formula set in it.
Piece = str | InlineFormula
PieceLine = tuple[Piece, ...]


def pieces_width(line: PieceLine, style: TextStyle) -> float:
    """Advance width of a line of pieces in pixels."""
    return sum(
        piece.width_px if isinstance(piece, InlineFormula) else text_width(piece, style)
        for piece in _merged_pieces(line)
    )


def formula_extent(line: PieceLine) -> tuple[int, int]:
    """How far the line's formulas reach above and below its baseline; (0, 0) for none."""
    formulas = [piece for piece in line if isinstance(piece, InlineFormula)]
    ascent = max((formula.ascent_px for formula in formulas), default=0)
    descent = max((formula.descent_px for formula in formulas), default=0)
    return ascent, descent


def draw_pieces(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    line: PieceLine,
    style: TextStyle,
    fill: tuple[int, ...],
) -> float:
    """Draw a line of text and formulas with its left end at x and its baseline at y."""
    x, baseline_y = xy
    start_x = x
    for piece in _merged_pieces(line):
        if isinstance(piece, InlineFormula):
            draw.bitmap((round(x), round(baseline_y) - piece.ascent_px), piece.coverage, fill)
            x += piece.width_px
        else:
            x += draw_text(draw, (x, baseline_y), piece, style, fill)
    return x - start_x


def _merged_pieces(line: PieceLine) -> list[Piece]:
    merged: list[Piece] = []
    for piece in line:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        elif piece != "":
            merged.append(piece)
    return merged


def _glues_after_formula(token: str) -> bool:
    """Text that stays on the line of the formula before it: Latin letters ("$n$-th") and
    closing punctuation, not a space or a Chinese word (Chinese breaks between words)."""
    return not token.isspace() and (not is_cjk(token[0]) or token[0] in NO_LINE_START)


def _glues_before_formula(text: str) -> bool:
    last = text[-1]
    return not last.isspace() and (not is_cjk(last) or last in NO_LINE_END)


def _piece_units(pieces: list[Piece]) -> list[list[Piece]]:
    """Unbreakable units of a paragraph of pieces; whitespace units are single strings."""
    units: list[list[Piece]] = []
    for piece in pieces:
        if isinstance(piece, InlineFormula):
            last = units[-1][-1] if units else None
            if isinstance(last, str) and not last.isspace() and _glues_before_formula(last):
                units[-1].append(piece)
            else:
                units.append([piece])
            continue
        for token in _tokens(piece):
            last = units[-1][-1] if units else None
            if isinstance(last, InlineFormula) and _glues_after_formula(token):
                units[-1].append(token)
            else:
                units.append([token])
    return units


def wrap_pieces(pieces: list[Piece], style: TextStyle, max_width_px: float) -> list[PieceLine]:
    """Lines of text and formulas no wider than max_width_px; a formula is never split, and
    one wider than a whole line is scaled down to it. Text alone wraps as wrap_text."""
    if not any(isinstance(piece, InlineFormula) for piece in pieces):
        return [(line,) for line in wrap_text("".join(pieces), style, max_width_px)]
    lines: list[PieceLine] = []
    current: list[Piece] = []
    units = _piece_units(pieces)
    while units:
        unit = units.pop(0)
        if len(unit) == 1 and isinstance(unit[0], str) and unit[0].isspace():
            if current:
                current.append(unit[0])
            continue
        if pieces_width(tuple(current + unit), style) <= max_width_px:
            current += unit
            continue
        if any(not (isinstance(p, str) and p.isspace()) for p in current):
            lines.append(_rstrip(current))
        current = []
        if pieces_width(tuple(unit), style) <= max_width_px:
            current = list(unit)
        elif len(unit) > 1:
            units[:0] = [[piece] for piece in unit]  # too wide glued: break at its pieces
        elif isinstance(unit[0], InlineFormula):
            current = [unit[0].fitted(max_width_px)]
        else:
            *full, last = _break_word(unit[0], style, max_width_px)
            lines.extend((piece,) for piece in full)
            current = [last]
    lines.append(_rstrip(current))
    return lines


def _rstrip(line: list[Piece]) -> PieceLine:
    pieces = list(line)
    while pieces and isinstance(pieces[-1], str) and not pieces[-1].rstrip():
        pieces.pop()
    if pieces and isinstance(pieces[-1], str):
        pieces[-1] = pieces[-1].rstrip()
    return tuple(pieces)


def ellipsize_pieces(line: PieceLine, style: TextStyle, max_width_px: float) -> PieceLine:
    """The line ended with …, cut (text by characters, formulas whole) to max_width_px."""
    pieces = list(_merged_pieces(line))
    while pieces:
        last = pieces.pop()
        room = max_width_px - pieces_width(tuple(pieces), style)
        if isinstance(last, str):
            return (*pieces, ellipsize(last.rstrip() + ELLIPSIS, style, room))
        if last.width_px + text_width(ELLIPSIS, style) <= room:
            return (*pieces, last, ELLIPSIS)
    return (ELLIPSIS,)
