"""Open user images safely: PNG, JPEG, GIF, WebP and SVG, with size limits and clear errors.

Raster files are opened with an explicit format list (Pillow 11.3's FITS decoder has a
decompression bug, fixed in 12.2, and a renamed file must not reach it), their size is
checked before any pixel is decoded, and EXIF orientation is applied. SVGs are parsed as
XML (entity declarations refused), stripped of everything that reaches outside the document
(resvg reads any file an href names), bounded in pixel size, and rasterised by resvg in a
child process with a time and a memory limit (`synthesis.sandbox`): a hostile drawing can
take minutes, and resvg aborts the whole process when an allocation fails.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import BinaryIO

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException
from PIL import Image, ImageOps, UnidentifiedImageError

from synthesis.errors import SynthesisError
from synthesis.frames.svg_raster import rasterise_svg
from synthesis.sandbox import (
    SandboxError,
    SandboxMemoryError,
    SandboxTimeout,
    SandboxWorkError,
    run_limited,
)

RASTER_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
DEFAULT_MAX_PIXELS = 40_000_000
MAX_SVG_BYTES = 5_000_000
DEFAULT_SVG_WIDTH_PX = 1920
# resvg runs in a child process with these limits: a 24 KB SVG of stacked blurs kept a
# web request busy for 12 minutes before. Real drawings take well under a second.
SVG_TIME_LIMIT_S = 20.0
SVG_MEMORY_BYTES = 2 * 2**30


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
    svg_time_limit_s: float | None = None,
) -> Image.Image:
    """An RGB or RGBA image from a PNG/JPEG/GIF/WebP/SVG file; raises ImageLoadError.

    SVGs are rasterised svg_width_px wide (pass the width they will be shown at) on white,
    in a child process that is stopped after svg_time_limit_s (default SVG_TIME_LIMIT_S).
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
        return _load_svg(
            path,
            max_pixels=max_pixels,
            width_px=svg_width_px,
            time_limit_s=SVG_TIME_LIMIT_S if svg_time_limit_s is None else svg_time_limit_s,
        )
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


def raster_header(data: bytes) -> tuple[str, int, int] | None:
    """The format (one of RASTER_FORMATS) and pixel size a raster file's header declares.

    Read without decoding a pixel and without Pillow's bomb check, so a picture that
    claims 40000 x 40000 pixels can be measured and refused; None for any other file.
    """
    return _declared_header(io.BytesIO(data), "image")


def _declared_header(file: BinaryIO, name: str) -> tuple[str, int, int] | None:
    Image.init()
    prefix = file.read(16)
    for format_name in RASTER_FORMATS:
        factory, accept = Image.OPEN[format_name]
        if accept is not None and not accept(prefix):
            continue
        file.seek(0)
        try:
            return (format_name, *factory(file, name).size)
        except (OSError, SyntaxError, ValueError, EOFError):
            return None
    return None


def _declared_size(path: Path) -> tuple[int, int] | None:
    """The width and height a raster file declares, read without Pillow's bomb check."""
    with path.open("rb") as file:
        header = _declared_header(file, path.name)
    return None if header is None else header[1:]


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


XLINK_NS = "http://www.w3.org/1999/xlink"
SVG_NS = "http://www.w3.org/2000/svg"
# Serialised SVG reads as editors write it (<svg xmlns=...>, xlink:href), not <ns0:svg>.
ElementTree.register_namespace("", SVG_NS)
ElementTree.register_namespace("xlink", XLINK_NS)
# Elements resvg must never see: it runs no script, but a later renderer might, and a
# foreignObject carries HTML.
_DROPPED_ELEMENTS = {"script", "foreignObject"}
_DATA_IMAGE = re.compile(r"^\s*data:image/(png|jpeg|jpg|gif|webp);base64,(.*)$", re.DOTALL)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(.*?)\1\s*\)""", re.IGNORECASE | re.DOTALL)
_CSS_IMPORT = re.compile(r"@import\b[^;]*;?", re.IGNORECASE)


def _local_name(name: str) -> str:
    return name.rpartition("}")[2]


def _namespace(name: str) -> str:
    return name[1:].partition("}")[0] if name.startswith("{") else ""


def _parse_svg(name: str, text: str) -> ElementTree.Element:
    """The SVG's element tree, parsed with every entity declaration and external entity refused.

    A plain DOCTYPE (Illustrator writes one) is allowed: expat never fetches it, and the
    tree is serialised again without it.
    """
    try:
        root = SafeElementTree.fromstring(
            text, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as error:
        raise ImageLoadError(
            f"image '{name}' declares XML entities or external references, which Lectern "
            "refuses (they can make a small file huge or read other files)"
        ) from error
    except ElementTree.ParseError as error:
        raise ImageLoadError(f"image '{name}' is not a valid SVG file ({error})") from error
    if _local_name(root.tag) != "svg":
        raise ImageLoadError(f"image '{name}' is not an SVG file (no <svg> element)")
    return root


def _sanitise_svg(root: ElementTree.Element, name: str, max_pixels: int) -> None:
    """Remove everything that could make resvg read a file or reach outside the document.

    resvg reads local files named in an href (we checked: an absolute path, and a relative
    one against the working folder, in <image> and <feImage>, under any prefix bound to the
    XLink namespace), so the only links kept are same-document `#fragment`s and embedded
    raster images; CSS url()s that leave the document go too.
    """
    for parent in list(root.iter()):
        for child in list(parent):
            if _local_name(child.tag) in _DROPPED_ELEMENTS:
                parent.remove(child)
    for element in root.iter():
        if _local_name(element.tag) == "style":
            for child in list(element):
                element.remove(child)
            element.text = _safe_css(element.text or "") or ""
        for key, value in list(element.attrib.items()):
            safe = _safe_attribute(name, key, value, max_pixels)
            if safe is None:
                del element.attrib[key]
            else:
                element.set(key, safe)


def _safe_attribute(name: str, key: str, value: str, max_pixels: int) -> str | None:
    """The attribute's value when it is harmless, else None (the attribute is dropped)."""
    local = _local_name(key)
    if local == "href":  # plain, xlink:, or any other prefix
        return _safe_href(name, value, max_pixels)
    if _namespace(key) == XLINK_NS:
        return None  # xlink:title, xlink:show...: nothing resvg needs
    if local.lower().startswith("on"):
        return None  # onload, onclick...: event handlers (every SVG attribute named on*)
    if local == "style" or "url(" in value.lower() or "\\" in value:
        return _safe_css(value)
    return value


def _safe_css(text: str) -> str | None:
    """CSS with every url() that leaves the document (and every @import) removed.

    None when the text holds a backslash escape, which could spell a url() no pattern sees.
    """
    if "\\" in text:
        return None
    text = _CSS_IMPORT.sub("", text)
    text = _CSS_URL.sub(
        lambda match: match.group(0) if match.group(2).strip().startswith("#") else "none", text
    )
    leftover = _CSS_URL.sub("", text)
    return None if "url(" in leftover.lower() else text


def _safe_href(name: str, value: str, max_pixels: int) -> str | None:
    """In-document links and embedded raster images within the size limit; None otherwise."""
    if value.strip().startswith("#"):
        return value
    match = _DATA_IMAGE.match(value)
    if not match:
        return None
    try:
        data = base64.b64decode(match.group(2), validate=False)
        with Image.open(io.BytesIO(data), formats=list(RASTER_FORMATS)) as embedded:
            width, height = embedded.size
    except (binascii.Error, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    if width * height > max_pixels:
        raise ImageLoadError(
            f"image '{name}' embeds a {width}x{height} pixel picture; "
            f"the limit is {_megapixels(max_pixels)}"
        )
    return value


def _set_pixel_size(root: ElementTree.Element, size: tuple[float, float]) -> None:
    """Give the root width/height in plain pixels (resvg 0.5 refuses "252pt")."""
    width, height = size
    if "viewBox" not in root.attrib:
        # Without a viewBox one user unit is one CSS pixel; keep that scale explicitly.
        root.set("viewBox", f"0 0 {width:g} {height:g}")
    root.set("width", f"{width:g}")
    root.set("height", f"{height:g}")


def _serialise_svg(root: ElementTree.Element) -> str:
    return ElementTree.tostring(root, encoding="unicode")


def sanitised_svg(path: Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> bytes:
    """The SVG file as Lectern keeps it: parsed safely and without scripts, foreign objects
    or links leaving the document (the same cleaning as before it is drawn), as UTF-8.
    ImageLoadError as load_image."""
    root = _svg_root(path)
    _sanitise_svg(root, path.name, max_pixels)
    return _serialise_svg(root).encode("utf-8")


def _svg_root(path: Path) -> ElementTree.Element:
    """The SVG file's element tree (.svgz unpacked), within the size limits."""
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
    return _parse_svg(name, text)


def _load_svg(path: Path, *, max_pixels: int, width_px: int, time_limit_s: float) -> Image.Image:
    name = path.name
    root = _svg_root(path)
    intrinsic_width, intrinsic_height = _svg_intrinsic_size(dict(root.attrib))
    _sanitise_svg(root, name, max_pixels)
    _set_pixel_size(root, (intrinsic_width, intrinsic_height))
    # Bound the canvas before resvg allocates it: width as asked, height by aspect ratio,
    # both shrunk together when the area would pass the limit.
    width = float(max(1, width_px))
    height = width * intrinsic_height / intrinsic_width
    if width * height > max_pixels:
        shrink = (max_pixels / (width * height)) ** 0.5
        width, height = width * shrink, height * shrink
    try:
        png = run_limited(
            rasterise_svg,
            _serialise_svg(root),
            max(1, round(width)),
            max(1, round(height)),
            timeout_s=time_limit_s,
            memory_bytes=SVG_MEMORY_BYTES,
        )
    except SandboxTimeout as error:
        raise ImageLoadError(
            f"image '{name}' is too complex to draw (it took more than {time_limit_s:g} s); "
            "simplify it or export it as a PNG"
        ) from error
    except SandboxMemoryError as error:
        raise ImageLoadError(
            f"image '{name}' needs too much memory to draw (more than "
            f"{SVG_MEMORY_BYTES // 2**20} MB); simplify it or export it as a PNG"
        ) from error
    except SandboxWorkError as error:
        raise ImageLoadError(f"image '{name}' is not a valid SVG file ({error})") from error
    except SandboxError as error:
        raise ImageLoadError(f"image '{name}' could not be drawn ({error})") from error
    with Image.open(io.BytesIO(png), formats=["PNG"]) as rendered:
        return rendered.convert("RGB")
