"""Typeset every corpus formula with matplotlib's mathtext and with ziamath + resvg; compare.

    .venv/bin/python bench/formulas.py [--out DIR] [--size-px 40] [--rounds 3]

Both candidates get the same input: `synthesis.frames.math_typeset` splits `aligned` lines
and `&` columns and cuts Chinese `\\text{}` out (neither typesetter has CJK glyphs); each
candidate typesets the math pieces. Per candidate it prints how many formulas typeset,
how many only after a rewrite of the source (degraded), how many fail (the slide falls
back to Unicode text), and the median and max time per formula (the best of --rounds
after one untimed pass; mathtext's parse cache is cleared before each). Contact sheets
(one PNG per candidate, formulas on the slide colours) go to --out.
matplotlib is not a dependency of Lectern: install it into the venv to run this
(`pip install matplotlib==3.11.2`).
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

from synthesis.frames import math_typeset  # noqa: E402
from synthesis.frames.text_layout import TextStyle, draw_text  # noqa: E402
from synthesis.markdown import import_lesson_folder  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "corpus"
BACKGROUND, PANEL, INK = (17, 33, 56), (27, 48, 79), (182, 224, 255)


def corpus_formulas(corpus: Path = CORPUS) -> list[tuple[str, str]]:
    """(lesson, LaTeX) of every display formula in the corpus lessons, in order."""
    formulas = []
    for folder in sorted(path for path in corpus.iterdir() if (path / "lesson.md").is_file()):
        storyboard = import_lesson_folder(folder)
        formulas += [(folder.name, m) for scene in storyboard.scenes for m in scene.visual.math]
    return formulas


class _GlyphWarnings(logging.Handler):
    """mathtext logs "substituting with a dummy symbol" for a missing glyph (a box)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_MPL_REWRITES = (
    # mathtext wants braces after font commands: \mathbf X -> \mathbf{X}
    (re.compile(r"\\(mathbf|mathrm|mathit|mathcal|mathsf|mathtt|mathbb)\s+(\w)"), r"\\\1{\2}"),
    # no \operatorname*: the limits go beside the name instead of under it
    (re.compile(r"\\operatorname\*"), r"\\operatorname"),
)


def mathtext_piece_factory() -> tuple[math_typeset.PieceTypesetter, dict[str, int]]:
    """A matplotlib mathtext piece typesetter (Agg, STIX fonts) and its rewrite counter."""
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    parser = mathtext.MathTextParser("agg")
    warnings = _GlyphWarnings()
    logging.getLogger("matplotlib.mathtext").addHandler(warnings)
    rewritten = {"count": 0}

    def piece(latex: str, size_px: int) -> math_typeset.Piece:
        # mathtext caches parses: without this a repeat round would time a dict look-up.
        parser._parse_cached.cache_clear()
        prepared = latex
        for pattern, replacement in _MPL_REWRITES:
            prepared = pattern.sub(replacement, prepared)
        rewritten["count"] += prepared != latex
        warnings.messages.clear()
        # dpi 72: a size in points is a size in pixels.
        font = FontProperties(size=size_px, math_fontfamily="stix")
        result = parser.parse(f"${prepared}$", dpi=72, prop=font)
        if warnings.messages:
            raise math_typeset.FormulaTypesetError(warnings.messages[0])
        coverage = Image.fromarray(result.image).convert("L")
        return coverage, coverage.height - round(result.depth)

    return piece, rewritten


def measure(name: str, piece, rewritten, formulas, size_px: int, rounds: int) -> dict:
    results, images = [], []
    for _lesson, latex in formulas:
        before = rewritten["count"]
        try:
            coverage = math_typeset.compose(
                math_typeset.formula_lines(latex), size_px=size_px, piece=piece
            )
            status = "degraded" if rewritten["count"] > before else "typeset"
        except Exception as error:  # noqa: BLE001 - counting failures is the point
            coverage, status = None, f"failed: {type(error).__name__}: {error}"[:160]
        times = []
        for _ in range(rounds if coverage is not None else 0):
            start = time.perf_counter()
            math_typeset.compose(math_typeset.formula_lines(latex), size_px=size_px, piece=piece)
            times.append(time.perf_counter() - start)
        results.append((status, min(times, default=0.0)))
        images.append((latex, coverage, status))
    statuses = [status for status, _ in results]
    timings = [seconds for _, seconds in results]
    return {
        "name": name,
        "typeset": statuses.count("typeset"),
        "degraded": statuses.count("degraded"),
        "failed": [s for s in statuses if s.startswith("failed")],
        "median_ms": statistics.median(timings) * 1000,
        "max_ms": max(timings) * 1000,
        "images": images,
    }


def contact_sheet(result: dict, path: Path, width: int = 1500) -> None:
    """Every formula on the slide's panel colour, its number and status on the left."""
    label = TextStyle("regular", 16)
    rows = []
    for number, (latex, coverage, status) in enumerate(result["images"], 1):
        if coverage is None:
            image = math_typeset.unicode_formula(latex, size_px=32, color=(255, 120, 120))
        else:
            image = Image.new("RGBA", coverage.size, (*INK, 255))
            image.putalpha(coverage)
        if image.width > width - 140:
            scale = (width - 140) / image.width
            image = image.resize((width - 140, max(1, round(image.height * scale))))
        rows.append((f"{number} {status[:8]}", image))
    height = sum(image.height + 24 for _, image in rows) + 20
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    y = 10
    for text, image in rows:
        draw.rectangle((120, y, width - 10, y + image.height + 14), fill=PANEL)
        sheet.paste(image, (130, y + 7), image)
        draw_text(draw, (10, y + 24), text, label, (163, 181, 205))
        y += image.height + 24
    sheet.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="contact sheets folder")
    parser.add_argument("--size-px", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="lectern-formulas-"))
    out.mkdir(parents=True, exist_ok=True)
    formulas = corpus_formulas()
    print(f"{len(formulas)} display formulas in {CORPUS.relative_to(ROOT)}, {args.size_px} px")
    candidates = [("ziamath+resvg", math_typeset.ziamath_piece, {"count": 0})]
    try:
        candidates.append(("matplotlib-mathtext", *mathtext_piece_factory()))
    except ImportError:
        print("matplotlib is not installed: only ziamath measured")
    header = ("candidate", "typeset", "degraded", "failed", "median", "max")
    print("{:22s} {:>7s} {:>8s} {:>6s} {:>9s} {:>9s}".format(*header))
    for name, piece, rewritten in candidates:
        result = measure(name, piece, rewritten, formulas, args.size_px, args.rounds)
        print(
            f"{name:22s} {result['typeset']:7d} {result['degraded']:8d} {len(result['failed']):6d}"
            f" {result['median_ms']:7.1f}ms {result['max_ms']:7.1f}ms"
        )
        for failure in result["failed"]:
            print(f"    {failure}")
        contact_sheet(result, out / f"{name}.png")
    print(f"contact sheets: {out}")


if __name__ == "__main__":
    main()
