"""Typeset LaTeX display math into an RGBA image: ziamath (LaTeX -> SVG) rasterised by resvg.

Chosen over matplotlib's mathtext on the corpus formulas (bench/formulas.py, bench/README.md):
it takes the LaTeX as written (`\\mathbf X`, `\\operatorname*`, `aligned`), draws limits
under argmin/argmax, and its STIX Two Math font ships in the package, so nothing is
downloaded. Neither typesetter has Chinese glyphs, so Chinese inside a formula
(`\\text{其中}`) is cut out and drawn with the slides' own CJK font. `aligned`-style
environments are split into lines and their `&` columns lined up here.

A formula the typesetter cannot draw falls back to the Unicode text of `latex_text`, drawn
with the slide fonts: a render never fails on a formula.
"""

from __future__ import annotations

import functools
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version

from PIL import Image, ImageDraw

from synthesis.frames.latex_text import latex_to_unicode
from synthesis.frames.text_layout import TextStyle, draw_text, is_cjk, text_width

Color = tuple[int, int, int]
# A typeset piece: its coverage (mode "L") and the distance from its top to its baseline.
Piece = tuple[Image.Image, int]
PieceTypesetter = Callable[[str, int], Piece]

# Part of every segment key of a scene with display or inline math (synthesis.plan.visual_fields):
# bump the suffix when this module draws formulas differently.
TYPESETTER_VERSION = f"ziamath-{version('ziamath')}+resvg-{version('resvg-py')}/1"

_ALIGNED = re.compile(
    r"^\\begin\{(aligned|split|gathered|align\*?|gather\*?|eqnarray\*?)\}(.*)\\end\{\1\}$",
    re.DOTALL,
)
_DROPPED = re.compile(r"\\(?:nonumber|notag)\b|\\(?:label|tag)\{[^{}]*\}")
# \operatorname*{argmax}_j with its limits: ziamath sets no space before the operand.
_LIMIT_OPERATOR = re.compile(
    r"(\\operatorname\*\{[^{}]*\}(?:\s*_\s*(?:\{(?:[^{}]|\{[^{}]*\})*\}|\\[A-Za-z]+|\S))?)"
)
# \text{...} with Chinese in it, or bare Chinese characters (checked with is_cjk after).
_CHINESE_RUN = re.compile(
    r"\\(?:text|textrm|mbox|mathrm|textnormal)\s*\{([^{}]*)\}|([\u2e80-\u9fff\uff00-\uffef]+)"
)
# Far beyond any slide's formula: a bound on the typesetter's time for pasted junk.
_MAX_SOURCE_CHARS = 4000
_LINE_GAP_EM = 0.45
_TEXT_GAP_EM = 0.25
# Height of the math axis (the fraction bar) above the baseline, in em.
_MATH_AXIS_EM = 0.25

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TypesetFormula:
    """A formula drawn for a slide: coverage-coloured RGBA, and whether it was typeset."""

    image: Image.Image
    typeset: bool  # False: drawn as Unicode text (latex_text) because typesetting failed
    problem: str = ""  # why it fell back, for lesson_report


@dataclass(frozen=True)
class _Run:
    kind: str  # "math" | "text" (Chinese, drawn with the slide fonts)
    source: str


class FormulaTypesetError(Exception):
    """The typesetter cannot draw this formula (or would draw boxes for some characters)."""


def formula_lines(source: str) -> list[list[list[_Run]]]:
    """Lines of a formula, each a list of `&` columns, each a list of math and text runs."""
    # A newline in LaTeX math is a space (mathtext would stop at it).
    source = _DROPPED.sub("", " ".join(source.strip().strip("$").split()))
    source = _LIMIT_OPERATOR.sub(r"\1\\,", source)
    match = _ALIGNED.match(source)
    body = match.group(2) if match else source
    lines = []
    for line in _split_top_level(body, "\\\\"):
        if not line.strip():
            continue
        columns = _split_top_level(line, "&")
        lines.append([_runs(column.strip()) for column in columns])
    if not lines:
        raise FormulaTypesetError("the formula is empty")
    return lines


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split at separator outside braces and \\begin..\\end environments."""
    parts, depth, start, index = [], 0, 0, 0
    while index < len(text):
        if text.startswith("\\begin{", index):
            depth += 1
        elif text.startswith("\\end{", index):
            depth -= 1
        if depth == 0 and text.startswith(separator, index):
            parts.append(text[start:index])
            index += len(separator)
            start = index
            continue
        char = text[index]
        if char == "\\":
            index += 2  # an escaped character (\{, \&, \\) never opens or separates
            continue
        depth += 1 if char == "{" else -1 if char == "}" else 0
        index += 1
    parts.append(text[start:])
    return parts


def _runs(column: str) -> list[_Run]:
    """Math runs and the Chinese text between them (\\text{其中} or bare 其中)."""
    runs: list[_Run] = []
    position = 0
    for match in _CHINESE_RUN.finditer(column):
        text = match.group(1) if match.group(1) is not None else match.group(2)
        if not any(is_cjk(char) for char in text) or _depth(column, match.start()):
            continue
        runs.append(_Run("math", column[position : match.start()]))
        runs.append(_Run("text", text))
        position = match.end()
    runs.append(_Run("math", column[position:]))
    return [run for run in runs if run.source.strip()]


def _depth(text: str, end: int) -> int:
    """Brace depth at text[end]; escaped braces do not count."""
    unescaped = re.sub(r"\\.", "", text[:end])
    return unescaped.count("{") - unescaped.count("}")


def ziamath_piece(latex: str, size_px: int) -> Piece:
    """One line of math as coverage (ziamath SVG rasterised by resvg) and its ascent."""
    import resvg_py
    import ziamath

    math = ziamath.Latex(latex, size=size_px, color="black")
    svg = math.svg()
    _check_glyphs(math)
    # The viewBox is in pixels with y = 0 on the baseline: its top is minus the ascent.
    view_box = [float(value) for value in re.search(r'viewBox="([^"]+)"', svg).group(1).split()]
    png = resvg_py.svg_to_bytes(
        svg_string=svg, skip_system_fonts=True, resources_dir="/dev/null", zoom=1.0
    )
    image = Image.open(io.BytesIO(bytes(png)), formats=["PNG"]).convert("RGBA")
    scale = image.height / view_box[3] if view_box[3] else 1.0
    return image.getchannel("A"), round(-view_box[1] * scale)


def _check_glyphs(math) -> None:
    """Refuse a formula with characters the math font lacks (they would come out as boxes)."""
    font = math.font
    for node in math.mathml.iter():
        for char in node.text or "":
            if not char.isspace() and font.glyphindex(char) == 0:
                raise FormulaTypesetError(f"no glyph for {char!r} in the math font")


def compose(lines: list[list[list[_Run]]], *, size_px: int, piece: PieceTypesetter) -> Image.Image:
    """Coverage (mode "L") of the whole formula: lines stacked, `&` columns lined up."""
    text_style = TextStyle("regular", size_px)
    # cells[line][column] = (coverage, ascent)
    cells = [
        [_cell(runs, size_px, text_style, piece, column) for column, runs in enumerate(line)]
        for line in lines
    ]
    columns = max(len(line) for line in cells)
    widths = [
        max((line[c][0].width for line in cells if c < len(line)), default=0)
        for c in range(columns)
    ]
    total_width = sum(widths)
    line_gap = round(size_px * _LINE_GAP_EM)
    heights = [
        (
            max(ascent for _, ascent in line),
            max(image.height - ascent for image, ascent in line),
        )
        for line in cells
    ]
    total_height = sum(up + down for up, down in heights) + line_gap * (len(cells) - 1)
    canvas = Image.new("L", (max(1, total_width), max(1, total_height)), 0)
    y = 0
    for line, (up, down) in zip(cells, heights, strict=True):
        x = 0
        for column, (image, ascent) in enumerate(line):
            room = widths[column]
            if columns == 1:
                offset = (room - image.width) // 2  # gathered lines are centred
            else:
                # aligned: right-aligned, then left-aligned columns, as LaTeX's "rl" pairs
                offset = room - image.width if column % 2 == 0 else 0
            canvas.paste(255, (x + offset, y + up - ascent), image)
            x += room
        y += up + down + line_gap
    return canvas


def _cell(
    runs: list[_Run], size_px: int, text_style: TextStyle, piece: PieceTypesetter, column: int
) -> Piece:
    """One column of one line: its runs typeset and joined on one baseline."""
    pieces: list[Piece] = []
    gap = round(size_px * _TEXT_GAP_EM)
    for index, run in enumerate(runs):
        if run.kind == "text":
            pieces.append(_text_piece(run.source, text_style))
        else:
            latex = run.source
            # An aligned column after the first starts with a relation ("&= b"): the empty
            # group gives it LaTeX's spacing, as in "{}= b".
            if column > 0 and index == 0:
                latex = "{}" + latex
            pieces.append(piece(latex, size_px))
    if not pieces:
        return Image.new("L", (1, 1), 0), 0
    up = max(ascent for _, ascent in pieces)
    down = max(image.height - ascent for image, ascent in pieces)
    width = sum(image.width for image, _ in pieces) + gap * (len(pieces) - 1)
    canvas = Image.new("L", (max(1, width), max(1, up + down)), 0)
    x = 0
    for image, ascent in pieces:
        canvas.paste(image, (x, up - ascent))
        x += image.width + gap
    return canvas, up


def _text_piece(text: str, style: TextStyle) -> Piece:
    width = max(1, round(text_width(text, style)))
    image = Image.new("L", (width, style.ascent_px + style.descent_px), 0)
    draw_text(ImageDraw.Draw(image), (0, style.ascent_px), text, style, 255)
    return image, style.ascent_px


def _colored(coverage: Image.Image, color: Color) -> Image.Image:
    image = Image.new("RGBA", coverage.size, (*color, 255))
    image.putalpha(coverage)
    return image


def unicode_formula(source: str, *, size_px: int, color: Color) -> Image.Image:
    """The formula as centred lines of Unicode text (latex_text), the fallback drawing."""
    style = TextStyle("regular", size_px)
    lines = latex_to_unicode(source).split("\n") or [""]
    line_height = style.line_height_px()
    width = max(1, max(round(text_width(line, style)) for line in lines))
    height = max(1, line_height * (len(lines) - 1) + style.ascent_px + style.descent_px)
    image = Image.new("RGBA", (width, height), (*color, 0))
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        x = (width - text_width(line, style)) / 2
        draw_text(draw, (x, style.ascent_px + number * line_height), line, style, (*color, 255))
    return image


@functools.lru_cache(maxsize=256)
def typeset_formula(source: str, *, size_px: int, color: Color) -> TypesetFormula:
    """The formula typeset at size_px (the size of its text, in pixels), or drawn as Unicode."""
    try:
        if len(source) > _MAX_SOURCE_CHARS:
            raise FormulaTypesetError(f"longer than {_MAX_SOURCE_CHARS} characters")
        coverage = compose(formula_lines(source), size_px=size_px, piece=ziamath_piece)
    except Exception as error:  # noqa: BLE001 - any typesetter failure falls back to text
        # ziamath raises whatever its parser or layout hits (KeyError, ValueError, ...):
        # a formula it cannot draw must still reach the slide, as Unicode text.
        problem = f"{type(error).__name__}: {error}".strip().rstrip(":")
        _log.debug("formula drawn as Unicode text (%s): %s", problem, source)
        return TypesetFormula(unicode_formula(source, size_px=size_px, color=color), False, problem)
    return TypesetFormula(_colored(coverage, color), True)


@dataclass(frozen=True)
class InlineTypeset:
    """An inline formula: its coverage (mode "L") and the distance from its top to the
    baseline it shares with the text; typeset False with a problem when it cannot be drawn
    (the slide then shows its Unicode text in the line instead)."""

    coverage: Image.Image | None
    ascent_px: int
    typeset: bool
    problem: str = ""


@functools.lru_cache(maxsize=512)
def typeset_inline(source: str, *, size_px: int) -> InlineTypeset:
    """An inline formula ($...$ in a bullet) typeset at size_px, on the text's baseline."""
    try:
        if len(source) > _MAX_SOURCE_CHARS:
            raise FormulaTypesetError(f"longer than {_MAX_SOURCE_CHARS} characters")
        lines = formula_lines(source)
        if len(lines) == 1 and len(lines[0]) == 1:
            coverage, ascent = _cell(
                lines[0][0], size_px, TextStyle("regular", size_px), ziamath_piece, 0
            )
        else:
            # An environment inside $...$: its lines stacked, centred on the math axis.
            coverage = compose(lines, size_px=size_px, piece=ziamath_piece)
            ascent = coverage.height // 2 + round(size_px * _MATH_AXIS_EM)
    except Exception as error:  # noqa: BLE001 - any typesetter failure falls back to text
        problem = f"{type(error).__name__}: {error}".strip().rstrip(":")
        _log.debug("inline formula drawn as Unicode text (%s): %s", problem, source)
        return InlineTypeset(None, 0, False, problem)
    return InlineTypeset(coverage, ascent, True)
