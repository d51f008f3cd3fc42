"""Open user images safely: PNG, JPEG, GIF, WebP and SVG, with size limits and clear errors.

Raster files are opened with an explicit format list (Pillow 11.3's FITS decoder has a
decompression bug, fixed in 12.2, and a renamed file must not reach it), their size is
checked before any pixel is decoded, and EXIF orientation is applied. SVGs are rasterised
by resvg after every external reference is removed and their pixel size is bounded first:
resvg aborts the whole process when an allocation fails, so nothing too big may reach it.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import resvg_py
from PIL import Image, ImageOps, UnidentifiedImageError

from synthesis.errors import SynthesisError

RASTER_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
DEFAULT_MAX_PIXELS = 40_000_000
MAX_SVG_BYTES = 5_000_000
DEFAULT_SVG_WIDTH_PX = 1920


class ImageLoadError(SynthesisError):
    """An image cannot be used; the message names the file and says why."""


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:g} megapixels"


def _too_big(name: str, width: int, height: int, max_pixels: int) -> ImageLoadError:
    return ImageLoadError(
        f"image '{name}' is {width}x{height} pixels; the limit is {_megapixels(max_pixels)}"
    )


def load_image(
    path: Path | str,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    svg_width_px: int = DEFAULT_SVG_WIDTH_PX,
) -> Image.Image:
    """An RGB or RGBA image from a PNG/JPEG/GIF/WebP/SVG file; raises ImageLoadError.

    SVGs are rasterised svg_width_px wide (pass the width they will be shown at) on white.
    """
    path = Path(path)
    name = path.name
    try:
        head = path.read_bytes()[:512] if path.is_file() else None
    except OSError as error:
        raise ImageLoadError(f"image '{name}' cannot be read: {error.strerror}") from error
    if head is None:
        raise ImageLoadError(f"image '{name}' was not found")
    if _looks_like_svg(path, head):
        return _load_svg(path, max_pixels=max_pixels, width_px=svg_width_px)
    return _load_raster(path, max_pixels=max_pixels)


def is_svg(path: Path) -> bool:
    """Whether the file is (or claims by name to be) an SVG, which load_image rasterises."""
    try:
        with Path(path).open("rb") as file:
            head = file.read(512)
    except OSError:
        head = b""
    return _looks_like_svg(Path(path), head)


def _looks_like_svg(path: Path, head: bytes) -> bool:
    if path.suffix.lower() in (".svg", ".svgz"):
        return True
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith((b"<svg", b"<?xml")) and b"<svg" in head


def _declared_size(path: Path) -> tuple[int, int] | None:
    """The width and height a raster file declares, read without Pillow's bomb check."""
    Image.init()
    with path.open("rb") as file:
        prefix = file.read(16)
        for format_name in RASTER_FORMATS:
            factory, accept = Image.OPEN[format_name]
            if accept is not None and not accept(prefix):
                continue
            file.seek(0)
            try:
                return factory(file, path.name).size
            except (OSError, SyntaxError, ValueError):
                return None
    return None


def _load_raster(path: Path, *, max_pixels: int) -> Image.Image:
    name = path.name
    kinds = "a PNG, JPEG, GIF, WebP or SVG image"
    try:
        with Image.open(path, formats=list(RASTER_FORMATS)) as opened:
            width, height = opened.size
            if width * height > max_pixels:
                raise _too_big(name, width, height, max_pixels)
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except Image.DecompressionBombError as error:
        # Over twice Pillow's own limit Image.open refuses before we see the size.
        size = _declared_size(path)
        if size is None:
            raise ImageLoadError(
                f"image '{name}' is too large; the limit is {_megapixels(max_pixels)}"
            ) from error
        raise _too_big(name, *size, max_pixels) from error
    except UnidentifiedImageError as error:
        raise ImageLoadError(f"image '{name}' is not {kinds}") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageLoadError(f"image '{name}' is damaged or truncated ({error})") from error
    return _as_rgb_or_rgba(image)


def _as_rgb_or_rgba(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "RGBA"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits instead of clipping everything to white.
        image = image.point(lambda value: value / 256).convert("L")
    has_alpha = image.mode in ("LA", "La", "PA", "RGBa") or (
        image.mode == "P" and "transparency" in image.info
    )
    return image.convert("RGBA" if has_alpha else "RGB")


_LENGTH = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(px|pt|pc|mm|cm|in|em|ex)?\s*$")
_UNIT_PX = {None: 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54,
            "in": 96.0, "em": 16.0, "ex": 8.0}  # fmt: skip


def _length_px(value: str | None) -> float | None:
    match = _LENGTH.match(value or "")
    if not match:
        return None  # missing, a percentage, or garbage
    return float(match.group(1)) * _UNIT_PX[match.group(2)]


def _svg_root_attributes(name: str, text: str) -> dict[str, str]:
    parser = ElementTree.XMLPullParser(events=("start",))
    try:
        parser.feed(text)
        for _event, element in parser.read_events():
            if not element.tag.endswith("svg"):
                break
            return dict(element.attrib)
    except ElementTree.ParseError as error:
        raise ImageLoadError(f"image '{name}' is not a valid SVG file ({error})") from error
    raise ImageLoadError(f"image '{name}' is not an SVG file (no <svg> element)")


def _svg_intrinsic_size(attributes: dict[str, str]) -> tuple[float, float]:
    """The SVG's width and height in CSS pixels, from width/height or its viewBox."""
    width = _length_px(attributes.get("width"))
    height = _length_px(attributes.get("height"))
    view_box = [float(part) for part in re.split(r"[\s,]+", attributes.get("viewBox", "").strip())
                if re.fullmatch(r"-?[0-9]*\.?[0-9]+", part)]  # fmt: skip
    if len(view_box) == 4 and view_box[2] > 0 and view_box[3] > 0:
        aspect = view_box[3] / view_box[2]
        if width is None and height is None:
            width, height = view_box[2], view_box[3]
        elif width is None:
            width = height / aspect
        elif height is None:
            height = width * aspect
    if not width or not height:
        return 100.0, 100.0  # what resvg assumes without a size
    return width, height


_ROOT_TAG = re.compile(r"<svg\b[^>]*>")
_ROOT_SIZE_ATTRIBUTE = re.compile(r"""\s(?:width|height)\s*=\s*(["']).*?\1""", re.DOTALL)


def _with_pixel_size(text: str, attributes: dict[str, str], size: tuple[float, float]) -> str:
    """The SVG with its root width/height in plain pixels (resvg 0.5 refuses "252pt")."""
    root = _ROOT_TAG.search(text)
    if root is None:
        return text
    width, height = size
    tag = _ROOT_SIZE_ATTRIBUTE.sub("", root.group(0))
    extra = f' width="{width:g}" height="{height:g}"'
    if "viewBox" not in attributes:
        # Without a viewBox one user unit is one CSS pixel; keep that scale explicitly.
        extra += f' viewBox="0 0 {width:g} {height:g}"'
    tag = tag[:4] + extra + tag[4:]
    return text[: root.start()] + tag + text[root.end() :]


_HREF = re.compile(r"""(\s(?:xlink:)?href\s*=\s*)(["'])(.*?)\2""", re.DOTALL)
_DATA_IMAGE = re.compile(r"^\s*data:image/(png|jpeg|jpg|gif|webp);base64,(.*)$", re.DOTALL)


def _safe_href(name: str, value: str, max_pixels: int) -> str:
    """Keep in-document links and embedded raster images within the size limit; drop the rest.

    resvg reads local files named in href (we checked: an absolute path is embedded), so
    any path or URL is replaced by an empty fragment.
    """
    if value.startswith("#"):
        return value
    match = _DATA_IMAGE.match(value)
    if not match:
        return "#"
    try:
        data = base64.b64decode(match.group(2), validate=False)
        with Image.open(io.BytesIO(data), formats=list(RASTER_FORMATS)) as embedded:
            width, height = embedded.size
    except (binascii.Error, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return "#"
    if width * height > max_pixels:
        raise ImageLoadError(
            f"image '{name}' embeds a {width}x{height} pixel picture; "
            f"the limit is {_megapixels(max_pixels)}"
        )
    return value


def _load_svg(path: Path, *, max_pixels: int, width_px: int) -> Image.Image:
    name = path.name
    if path.stat().st_size > MAX_SVG_BYTES:
        raise ImageLoadError(
            f"image '{name}' is {path.stat().st_size / 1_000_000:.1f} MB; "
            f"SVG files are limited to {MAX_SVG_BYTES // 1_000_000} MB"
        )
    data = path.read_bytes()
    if data.startswith(b"\x1f\x8b"):
        try:
            with gzip.open(io.BytesIO(data)) as unzipped:
                data = unzipped.read(MAX_SVG_BYTES + 1)
        except (OSError, EOFError) as error:
            raise ImageLoadError(f"image '{name}' is a damaged .svgz file") from error
        if len(data) > MAX_SVG_BYTES:
            raise ImageLoadError(f"image '{name}' unpacks to more than 5 MB of SVG")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImageLoadError(f"image '{name}' is not an SVG file (not UTF-8 text)") from error
    if "<svg" not in text:
        raise ImageLoadError(f"image '{name}' is not an SVG file (no <svg> element)")
    attributes = _svg_root_attributes(name, text)
    intrinsic_width, intrinsic_height = _svg_intrinsic_size(attributes)
    text = _with_pixel_size(text, attributes, (intrinsic_width, intrinsic_height))
    text = _HREF.sub(
        lambda match: match.group(1) + match.group(2) + _safe_href(name, match.group(3), max_pixels)
        + match.group(2),
        text,
    )  # fmt: skip
    # Bound the canvas before resvg allocates it: width as asked, height by aspect ratio,
    # both shrunk together when the area would pass the limit.
    width = float(max(1, width_px))
    height = width * intrinsic_height / intrinsic_width
    if width * height > max_pixels:
        shrink = (max_pixels / (width * height)) ** 0.5
        width, height = width * shrink, height * shrink
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=text,
            width=max(1, round(width)),
            height=max(1, round(height)),
            background="#ffffff",
        )
    except ValueError as error:
        raise ImageLoadError(f"image '{name}' is not a valid SVG file ({error})") from error
    with Image.open(io.BytesIO(bytes(png)), formats=["PNG"]) as rendered:
        return rendered.convert("RGB")
