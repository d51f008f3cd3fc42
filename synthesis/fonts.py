"""Fonts that render Chinese, English and math: found once, loaded once per size.

Pillow draws a string with a single font and has no glyph fallback, so each style is a
*chain* of faces: the first face that has a character draws it. The chains put Noto Sans
CJK SC (Debian's fonts-noto-cjk) first because it covers Chinese and Latin, then DejaVu,
which has the math symbols Noto CJK lacks (ℝ, ᵀ, ŷ, subscripts), then WenQuanYi Micro Hei.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from synthesis.errors import SynthesisError

FontStyle = Literal["regular", "bold", "mono"]

_NOTO = Path("/usr/share/fonts/opentype/noto")
_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_WQY = Path("/usr/share/fonts/truetype/wqy")


class FontNotFoundError(SynthesisError):
    """No usable font is installed."""


@dataclass(frozen=True)
class FontFace:
    """One face of a font file (a .ttc holds several, chosen by index)."""

    family: str
    path: str
    index: int = 0


# (family as fontconfig names it, known path, index in the collection)
_CANDIDATES: dict[str, tuple[tuple[str, Path, int], ...]] = {
    "regular": (
        ("Noto Sans CJK SC", _NOTO / "NotoSansCJK-Regular.ttc", 2),
        ("DejaVu Sans", _DEJAVU / "DejaVuSans.ttf", 0),
        ("WenQuanYi Micro Hei", _WQY / "wqy-microhei.ttc", 0),
    ),
    "bold": (
        ("Noto Sans CJK SC:style=Bold", _NOTO / "NotoSansCJK-Bold.ttc", 2),
        ("DejaVu Sans:style=Bold", _DEJAVU / "DejaVuSans-Bold.ttf", 0),
        # Regular faces last: a bold title in a regular face beats boxes.
        ("Noto Sans CJK SC", _NOTO / "NotoSansCJK-Regular.ttc", 2),
        ("WenQuanYi Micro Hei", _WQY / "wqy-microhei.ttc", 0),
        ("DejaVu Sans", _DEJAVU / "DejaVuSans.ttf", 0),
    ),
    "mono": (
        ("DejaVu Sans Mono", _DEJAVU / "DejaVuSansMono.ttf", 0),
        ("Noto Sans Mono CJK SC", _NOTO / "NotoSansCJK-Regular.ttc", 7),
        ("WenQuanYi Micro Hei Mono", _WQY / "wqy-microhei.ttc", 1),
        ("DejaVu Sans", _DEJAVU / "DejaVuSans.ttf", 0),
    ),
}


def _fc_match(pattern: str) -> FontFace | None:
    """Ask fontconfig for a face; None unless it returns the family asked for."""
    if shutil.which("fc-match") is None:
        return None
    try:
        result = subprocess.run(
            ["fc-match", "--format=%{family}|%{file}|%{index}", pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    families, _, rest = result.stdout.partition("|")
    file, _, index = rest.partition("|")
    wanted = pattern.split(":")[0]
    # fc-match always answers with *something*; only accept the family we asked for.
    if wanted not in families.split(",") or not Path(file).is_file():
        return None
    return FontFace(wanted, file, int(index or 0))


def _find_face(pattern: str, known_path: Path, index: int) -> FontFace | None:
    family = pattern.split(":")[0]
    if known_path.is_file():
        return FontFace(family, str(known_path), index)
    return _fc_match(pattern)


@functools.cache
def font_chain(style: FontStyle) -> tuple[FontFace, ...]:
    """The installed faces for a style, best first; raises FontNotFoundError if none."""
    faces: list[FontFace] = []
    for pattern, known_path, index in _CANDIDATES[style]:
        face = _find_face(pattern, known_path, index)
        if face is not None and face not in faces:
            faces.append(face)
    if not faces:
        raise FontNotFoundError(
            f"no font for {style} text is installed; install the Debian packages "
            "fonts-noto-cjk and fonts-dejavu-core (or fonts-wqy-microhei)"
        )
    return tuple(faces)


@functools.cache
def load_font(face: FontFace, size_px: int) -> ImageFont.FreeTypeFont:
    """A loaded face at a pixel size (cached: loading a .ttc costs milliseconds)."""
    try:
        return ImageFont.truetype(face.path, size=max(1, int(size_px)), index=face.index)
    except OSError as error:
        raise FontNotFoundError(f"font file '{face.path}' cannot be loaded: {error}") from error


def _render_probe(face: FontFace, char: str) -> bytes:
    font = load_font(face, _PROBE_SIZE_PX)
    canvas = Image.new("L", (_PROBE_SIZE_PX * 3, _PROBE_SIZE_PX * 3))
    ImageDraw.Draw(canvas).text((_PROBE_SIZE_PX, _PROBE_SIZE_PX), char, font=font, fill=255)
    return np.asarray(canvas).tobytes()


_PROBE_SIZE_PX = 24
# U+FFFF is a noncharacter: every font draws its .notdef glyph (a box) for it.
_NOTDEF_PROBE = "\uffff"


@functools.cache
def has_glyph(face: FontFace, char: str) -> bool:
    """Whether the face draws char with a real glyph rather than its .notdef box."""
    if char.isspace():
        return True
    return _render_probe(face, char) != _render_probe(face, _NOTDEF_PROBE)


@functools.cache
def face_for_char(style: FontStyle, char: str) -> FontFace:
    """The first face in the style's chain that has char (the primary face if none has)."""
    chain = font_chain(style)
    for face in chain:
        if has_glyph(face, char):
            return face
    return chain[0]


def primary_face(style: FontStyle) -> FontFace:
    """The face that draws most text of a style and sets its line metrics."""
    return font_chain(style)[0]
