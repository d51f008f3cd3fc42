"""Loading user images: formats, EXIF orientation, SVG, and clear errors for bad files."""

from __future__ import annotations

import base64
import io
import struct
import time
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


# SVG links out of the document ---------------------------------------------------------------

SECRET_RGB = (1, 254, 3)  # a colour no test drawing uses


@pytest.fixture
def secret(tmp_path) -> Path:
    """A PNG of one distinctive colour, standing for another teacher's file on the server."""
    return _save(tmp_path / "secret.png", Image.new("RGB", (40, 40), SECRET_RGB))


@pytest.fixture
def resvg_input(monkeypatch) -> list[str]:
    """The SVG text each load_image hands to resvg, recorded."""
    import synthesis.frames.images as images

    seen: list[str] = []
    real = images.run_limited

    def recording(func, text, *args, **kwargs):
        seen.append(text)
        return real(func, text, *args, **kwargs)

    monkeypatch.setattr(images, "run_limited", recording)
    return seen


def _draw_svg(tmp_path: Path, body: str, *, extra_namespaces: str = "") -> Image.Image:
    svg = tmp_path / "peek.svg"
    svg.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" {extra_namespaces} width="40" height="40">'
        f"{body}</svg>",
        "utf-8",
    )
    return load_image(svg, svg_width_px=40)


def _shows_secret(image: Image.Image) -> bool:
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    return bool((np.abs(pixels.astype(int) - SECRET_RGB).sum(axis=1) < 30).any())


def test_secret_fixture_is_drawn_when_embedded_so_the_checks_below_can_fail(tmp_path, secret):
    data = base64.b64encode(secret.read_bytes()).decode()

    image = _draw_svg(
        tmp_path, f'<image href="data:image/png;base64,{data}" width="40" height="40"/>'
    )

    assert _shows_secret(image)


@pytest.mark.parametrize(
    ("namespaces", "attribute"),
    [
        ('xmlns:z="http://www.w3.org/1999/xlink"', "z:href"),
        ('xmlns:xlink="http://www.w3.org/1999/xlink"', "xlink:href"),
        ("", "href"),
        ('xmlns:q="urn:lectern:other"', "q:href"),
    ],
)
def test_svg_image_href_under_any_prefix_does_not_read_server_files(
    tmp_path, secret, resvg_input, namespaces, attribute
):
    image = _draw_svg(
        tmp_path,
        f'<image {attribute}="{secret}" width="40" height="40"/>',
        extra_namespaces=namespaces,
    )

    assert not _shows_secret(image)
    assert "secret.png" not in resvg_input[0]


@pytest.mark.parametrize(
    "reference",
    [
        "file://{path}",
        "FILE:{path}",
        "{relative}",  # the child runs in /, so this names the same file
        "  {path}",
    ],
)
def test_svg_file_urls_and_relative_paths_are_not_read(tmp_path, secret, resvg_input, reference):
    href = reference.format(path=secret, relative=str(secret).lstrip("/"))

    image = _draw_svg(tmp_path, f'<image href="{href}" width="40" height="40"/>')

    assert not _shows_secret(image)
    assert "secret.png" not in resvg_input[0]


def test_svg_fe_image_cannot_pull_in_a_server_file(tmp_path, secret, resvg_input):
    body = (
        f'<filter id="f" x="0" y="0" width="1" height="1"><feImage href="{secret}"/></filter>'
        '<rect width="40" height="40" filter="url(#f)"/>'
    )

    image = _draw_svg(tmp_path, body)

    assert not _shows_secret(image)
    assert "secret.png" not in resvg_input[0]


def test_svg_use_cannot_reference_another_file(tmp_path, resvg_input):
    other = tmp_path / "other.svg"
    other.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><rect id="r" width="40" height="40" '
        'fill="rgb(1,254,3)"/></svg>',
        "utf-8",
    )

    image = _draw_svg(tmp_path, f'<use href="{other}#r"/><use href="file://{other}#r"/>')

    assert not _shows_secret(image)
    assert "other.svg" not in resvg_input[0]


def test_svg_css_urls_leaving_the_document_are_removed(tmp_path, secret, resvg_input):
    body = (
        f"<style>@import url({secret}); rect.a {{ fill: url('file://{secret}#p') }}</style>"
        f'<rect class="a" width="40" height="20" style="fill: url({secret}#p)"/>'
        f'<rect y="20" width="40" height="20" fill="url(&quot;{secret}#p&quot;)"/>'
        f'<rect width="1" height="1" style="fill: u\\72l({secret})"/>'
    )

    image = _draw_svg(tmp_path, body)

    assert not _shows_secret(image)
    assert "secret.png" not in resvg_input[0]


def test_svg_keeps_in_document_links_and_styles(tmp_path):
    body = (
        "<style>rect.left { fill: url(#g) } rect.right { fill: #f00 }</style>"
        '<defs><linearGradient id="g"><stop offset="0" stop-color="#00f"/>'
        '<stop offset="1" stop-color="#00f"/></linearGradient>'
        '<rect id="box" class="left" width="20" height="40"/></defs>'
        '<use href="#box"/><rect class="right" x="20" width="20" height="40"/>'
    )

    image = _draw_svg(tmp_path, body)

    assert image.getpixel((10, 20)) == (0, 0, 255)
    assert image.getpixel((30, 20)) == (255, 0, 0)


def test_svg_embedding_another_svg_as_data_is_dropped(tmp_path, secret, resvg_input):
    inner = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
        f'<image href="{secret}" width="40" height="40"/></svg>'
    )
    data = base64.b64encode(inner.encode()).decode()

    image = _draw_svg(
        tmp_path, f'<image href="data:image/svg+xml;base64,{data}" width="40" height="40"/>'
    )

    assert not _shows_secret(image)
    assert "svg+xml" not in resvg_input[0]


def test_svg_script_and_foreign_object_are_removed(tmp_path, resvg_input):
    body = (
        "<script>alert(1)</script>"
        '<foreignObject width="40" height="40"><p xmlns="http://www.w3.org/1999/xhtml">'
        "hi</p></foreignObject>"
        '<rect width="10" height="10" onload="alert(2)" fill="#000"/>'
    )

    _draw_svg(tmp_path, body)

    assert "script" not in resvg_input[0]
    assert "foreignObject" not in resvg_input[0]


def test_svg_with_an_external_entity_is_refused(tmp_path, secret):
    svg = tmp_path / "entity.svg"
    svg.write_text(
        f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&x;</text></svg>',
        "utf-8",
    )

    with pytest.raises(ImageLoadError, match="'entity.svg' declares XML entities"):
        load_image(svg)


def test_svg_billion_laughs_is_refused_at_once(tmp_path):
    entities = '<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    svg = tmp_path / "laughs.svg"
    svg.write_text(
        f"<!DOCTYPE svg [{entities}]>"
        '<svg xmlns="http://www.w3.org/2000/svg"><text>&a9;</text></svg>',
        "utf-8",
    )

    with pytest.raises(ImageLoadError, match="'laughs.svg' declares XML entities"):
        load_image(svg)


def test_svg_attribute_defaults_declared_in_its_doctype_are_sanitised_too(
    tmp_path, secret, resvg_input
):
    svg = tmp_path / "defaults.svg"
    svg.write_text(
        f'<!DOCTYPE svg [<!ATTLIST image href CDATA "{secret}">]>'
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
        '<image width="40" height="40"/></svg>',
        "utf-8",
    )

    image = load_image(svg, svg_width_px=40)

    assert not _shows_secret(image)
    assert "secret.png" not in resvg_input[0]


def test_svg_with_a_plain_doctype_still_loads(tmp_path):
    svg = tmp_path / "illustrator.svg"
    svg.write_text(
        '<?xml version="1.0" encoding="utf-8"?>'
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<rect width="10" height="10" fill="#f00"/></svg>',
        "utf-8",
    )

    assert load_image(svg, svg_width_px=10).getpixel((5, 5)) == (255, 0, 0)


# SVGs that take too long ---------------------------------------------------------------------


def stacked_blurs_svg(path: Path) -> Path:
    """A 3 KB SVG that keeps resvg busy for minutes: 40 huge blurs over 20 big rectangles."""
    blurs = "".join(f'<feGaussianBlur stdDeviation="{400 + i}"/>' for i in range(40))
    rects = "".join(
        f'<rect x="{i * 10}" y="{i * 10}" width="3000" height="3000" fill="#0a0" filter="url(#f)"/>'
        for i in range(20)
    )
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="4000" height="4000">'
        f'<filter id="f" x="-50%" y="-50%" width="200%" height="200%">{blurs}</filter>'
        f"{rects}</svg>",
        "utf-8",
    )
    return path


def test_svg_too_complex_to_draw_is_stopped_at_its_time_limit(tmp_path):
    svg = stacked_blurs_svg(tmp_path / "blurs.svg")
    started = time.monotonic()

    with pytest.raises(ImageLoadError, match=r"'blurs.svg' is too complex to draw .*2 s"):
        load_image(svg, svg_width_px=4000, svg_time_limit_s=2)

    assert time.monotonic() - started < 10
