"""Loading user images: formats, EXIF orientation, SVG, and clear errors for bad files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthesis.errors import SynthesisError
from synthesis.frames.images import ImageLoadError, load_image
from tests.corpus import corpus_lesson


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims width x height but holds almost no data (nothing large is allocated)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
    return path


def _save(path: Path, image: Image.Image, **options) -> Path:
    image.save(path, **options)
    return path


def test_load_image_reads_png_jpeg_gif_and_webp_as_rgb(tmp_path):
    picture = Image.new("RGB", (24, 16), (200, 40, 40))
    for name in ("a.png", "a.jpg", "a.gif", "a.webp"):
        loaded = load_image(_save(tmp_path / name, picture))
        assert loaded.size == (24, 16)
        assert loaded.mode == "RGB"


def test_load_image_keeps_transparency_as_rgba(tmp_path):
    path = _save(tmp_path / "clear.png", Image.new("RGBA", (8, 8), (0, 0, 0, 0)))

    assert load_image(path).mode == "RGBA"


def test_load_image_rejects_text_file_named_png(tmp_path):
    path = tmp_path / "diagram.png"
    path.write_text("this is not a picture", "utf-8")

    with pytest.raises(ImageLoadError, match="'diagram.png' is not a PNG, JPEG, GIF, WebP or SVG"):
        load_image(path)


def test_image_load_error_is_a_synthesis_error():
    assert issubclass(ImageLoadError, SynthesisError)


def test_load_image_rejects_truncated_png(tmp_path):
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])

    with pytest.raises(ImageLoadError, match="'cut.png' is damaged or truncated"):
        load_image(path)


def test_load_image_rejects_truncated_jpeg(tmp_path):
    buffer = io.BytesIO()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[:400])

    with pytest.raises(ImageLoadError, match="'cut.jpg'"):
        load_image(path)


def test_load_image_refuses_huge_dimensions_before_decoding(tmp_path):
    path = _png_header_only(tmp_path / "x.png", 50_000, 50_000)

    with pytest.raises(ImageLoadError) as error:
        load_image(path)

    assert str(error.value) == "image 'x.png' is 50000x50000 pixels; the limit is 40 megapixels"


def test_load_image_refuses_images_just_over_the_limit(tmp_path):
    # 48 MP: under Pillow's own bomb limit, so our check is what refuses it.
    path = _png_header_only(tmp_path / "wide.png", 8000, 6000)

    with pytest.raises(ImageLoadError, match="'wide.png' is 8000x6000 pixels; the limit is 40"):
        load_image(path)


def test_load_image_reports_missing_file(tmp_path):
    with pytest.raises(ImageLoadError, match="'gone.png' was not found"):
        load_image(tmp_path / "gone.png")


def test_load_image_applies_exif_orientation(tmp_path):
    # Stored 40x20, red on the left and blue on the right; orientation 6 means "rotate 90°
    # clockwise to display", which brings the left (red) side to the top.
    stored = Image.new("RGB", (40, 20), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(tmp_path / "phone.jpg", stored, exif=exif.tobytes(), quality=95)

    shown = load_image(path)

    assert shown.size == (20, 40)
    top, bottom = shown.getpixel((10, 5)), shown.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_load_image_rasterises_a_corpus_svg_at_the_width_asked():
    # neuron.svg: d2l-ai/d2l-zh (Apache-2.0), see the lesson's SOURCE.json.
    path = corpus_lesson("zh-linear-regression") / "images" / "neuron.svg"

    image = load_image(path, svg_width_px=640)

    assert image.mode == "RGB"
    assert image.width == 640
    pixels = np.asarray(image)
    assert (pixels > 250).all(axis=2).mean() > 0.5  # white paper behind the drawing
    assert (pixels < 60).all(axis=2).sum() > 500  # dark outlines and the labels' text


def test_load_image_rasterises_svg_sized_in_points():
    # softmaxreg.svg (d2l-ai/d2l-zh, Apache-2.0) says width="252pt", which resvg refuses raw.
    path = corpus_lesson("zh-softmax-regression") / "images" / "softmaxreg.svg"

    image = load_image(path, svg_width_px=504)

    assert image.size == (504, 176)


def test_svg_does_not_read_files_it_points_to(tmp_path):
    _save(tmp_path / "secret.png", Image.new("RGB", (50, 50), (255, 0, 0)))
    svg = tmp_path / "peek.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        ' width="50" height="50">'
        f'<image href="{tmp_path / "secret.png"}" width="50" height="50"/>'
        f'<image xlink:href="file://{tmp_path / "secret.png"}" width="50" height="50"/>'
        '<image href="http://example.invalid/x.png" width="50" height="50"/>'
        "</svg>",
        "utf-8",
    )

    image = load_image(svg, svg_width_px=50)

    assert np.asarray(image).min() == 255  # all white: nothing was fetched


def test_svg_keeps_embedded_pictures(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10), (255, 0, 0)).save(buffer, "PNG")
    import base64

    data = base64.b64encode(buffer.getvalue()).decode()
    svg = tmp_path / "inline.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        f'<image href="data:image/png;base64,{data}" width="10" height="10"/></svg>',
        "utf-8",
    )

    red, green, blue = load_image(svg, svg_width_px=10).getpixel((5, 5))

    assert red > 200 and green < 50 and blue < 50


def test_svg_over_the_file_size_limit_is_refused(tmp_path):
    svg = tmp_path / "big.svg"
    padding = "<!--" + "x" * 5_100_000 + "-->"
    svg.write_text(f'<svg xmlns="http://www.w3.org/2000/svg">{padding}</svg>', "utf-8")

    with pytest.raises(ImageLoadError, match="'big.svg' is 5.1 MB"):
        load_image(svg)


def test_very_tall_svg_is_rasterised_within_the_pixel_limit(tmp_path):
    svg = tmp_path / "tower.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="100000">'
        '<rect width="10" height="100000" fill="#336"/></svg>',
        "utf-8",
    )

    image = load_image(svg, svg_width_px=2000, max_pixels=1_000_000)

    assert image.width * image.height <= 1_000_000
    assert image.height > 50 * image.width


def test_text_file_named_svg_is_refused(tmp_path):
    svg = tmp_path / "notes.svg"
    svg.write_text("just some notes", "utf-8")

    with pytest.raises(ImageLoadError, match="'notes.svg' is not an SVG file"):
        load_image(svg)


def test_broken_svg_is_refused(tmp_path):
    svg = tmp_path / "broken.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>', "utf-8")

    with pytest.raises(ImageLoadError, match="'broken.svg' is not a valid SVG"):
        load_image(svg)
