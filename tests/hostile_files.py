"""Hostile files for the upload tests, written at test time into a folder (nothing binary is
committed): bombs, format lies, polyglots, SVGs that reach out, zips that escape, truncations.

Each builder takes the folder, writes one file named as a teacher would upload it, and
returns its path. Bombs are real in shape (a small file declaring a huge decoded size); the
tests pair them with small limits where Lectern has a setting, so nothing huge is written.
`SECRET_RGB` and `SECRET_TEXT` stand for another teacher's file on the server: a builder
that tries to read one writes it next to itself, and the tests look for it in what came out.
"""

from __future__ import annotations

import base64
import gzip
import io
import random
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image

from tests.courses.documents import (
    png_bytes,
    png_header_only,
    write_blank_pdf,
    write_pptx,
    write_pptx_with_picture,
    write_text_pdf,
)

SECRET_RGB = (1, 254, 3)  # a colour no drawing here uses
SECRET_TEXT = "alice-private-grades-7f3a"
BOMB_SIZE_PX = (8000, 6000)  # 48 megapixels: over Lectern's 40, under Pillow's own bomb check
GIANT_SIDE_PX = 40_000  # 1.6 gigapixels: over Pillow's bomb check too
ZIP_BOMB_MEMBER_BYTES = 20 * 1024 * 1024  # deflates to about 20 KB
MANY_MEMBERS = 2_500  # Lectern unpacks at most 2000
HUGE_MARKDOWN_BYTES = 5_000_000  # Lectern reads at most 4 MB of lesson.md
LONG_LINE_CHARS = 2_000_000
NESTING_DEPTH = 1_000


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, *, bit_depth: int, colour_type: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def _noise_image(size_px: tuple[int, int] = (200, 150)) -> Image.Image:
    """Random pixels, so a truncated file really misses pixel data (flat colour compresses
    into its first few bytes)."""
    noise = random.Random(7).randbytes(size_px[0] * size_px[1] * 3)
    return Image.frombytes("RGB", size_px, noise)


def _encoded(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


# Images --------------------------------------------------------------------------------------


def bomb_png(folder: Path) -> Path:
    """A complete, valid 1-bit PNG of 8000 x 6000 pixels in about 6 KB."""
    width, height = BOMB_SIZE_PX
    row = b"\x00" + bytes((width + 7) // 8)  # filter byte, then the row's packed bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return _write(folder, "bomb.png", _png(width, height, bit_depth=1, colour_type=0, idat=idat))


def giant_png(folder: Path) -> Path:
    """A PNG claiming 40000 x 40000 RGB pixels (4.8 GB decoded) with next to no data."""
    return _write(folder, "giant.png", png_header_only(GIANT_SIDE_PX, GIANT_SIDE_PX))


def giant_gif(folder: Path) -> Path:
    """A GIF whose screen and only frame claim 40000 x 40000 pixels."""
    side = struct.pack("<HH", GIANT_SIDE_PX, GIANT_SIDE_PX)
    data = (
        b"GIF89a" + side + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"  # 2-colour table
        + b"\x2c\x00\x00\x00\x00" + side + b"\x00"  # image descriptor
        + b"\x02\x02\x44\x01\x00" + b"\x3b"  # a few LZW codes, then the trailer
    )  # fmt: skip
    return _write(folder, "giant.gif", data)


def giant_jpeg(folder: Path) -> Path:
    """A real small JPEG whose frame header is changed to claim 40000 x 40000 pixels."""
    data = bytearray(_encoded(Image.new("RGB", (16, 16), (90, 90, 90)), "JPEG"))
    frame = data.index(b"\xff\xc0")  # SOF0: length(2) precision(1) height(2) width(2)
    data[frame + 5 : frame + 9] = struct.pack(">HH", GIANT_SIDE_PX, GIANT_SIDE_PX)
    return _write(folder, "giant.jpg", bytes(data))


def html_named_png(folder: Path) -> Path:
    return _write(folder, "page.png", b"<!doctype html><html><script>alert(1)</script></html>")


def html_page(folder: Path) -> Path:
    return _write(folder, "page.html", b"<!doctype html><html><script>alert(1)</script></html>")


def pdf_named_png(folder: Path) -> Path:
    pdf = write_text_pdf(folder / "inner.pdf", [["Not a picture"]])
    return _write(folder, "scan.png", pdf.read_bytes())


def zip_named_jpeg(folder: Path) -> Path:
    return _write(folder, "photo.jpg", _zip_bytes({"lesson.md": b"# Hi\n\nWords.\n"}))


def png_html_polyglot(folder: Path) -> Path:
    """A valid PNG with an HTML page after its IEND chunk."""
    page = b"<html><body><script>alert(document.cookie)</script></body></html>"
    return _write(folder, "polyglot.png", png_bytes() + page)


def empty_png(folder: Path) -> Path:
    return _write(folder, "empty.png", b"")


def truncated_png(folder: Path) -> Path:
    data = _encoded(_noise_image(), "PNG")
    return _write(folder, "cut.png", data[: len(data) // 2])


def truncated_jpeg(folder: Path) -> Path:
    data = _encoded(_noise_image(), "JPEG")
    return _write(folder, "cut.jpg", data[: len(data) // 2])


# SVG -----------------------------------------------------------------------------------------

_SVG_OPEN = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"'


def secret_png(folder: Path) -> Path:
    """Another teacher's picture on the server: 40 x 40 pixels of SECRET_RGB."""
    path = folder / "secret.png"
    Image.new("RGB", (40, 40), SECRET_RGB).save(path)
    return path


def svg_with_script(folder: Path) -> Path:
    body = (
        '<script>fetch("/accounts/")</script>'
        '<rect width="40" height="40" fill="#00f" onload="alert(1)"/>'
        '<foreignObject width="40" height="40">'
        '<p xmlns="http://www.w3.org/1999/xhtml">hi</p></foreignObject>'
    )
    return _write(folder, "script.svg", f"{_SVG_OPEN}>{body}</svg>".encode())


def svg_external_entity(folder: Path) -> Path:
    secret = folder / "secret.txt"
    secret.write_text(SECRET_TEXT, "utf-8")
    svg = (
        f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file://{secret}">]>'
        f"{_SVG_OPEN}><text y='20'>&x;</text></svg>"
    )
    return _write(folder, "entity.svg", svg.encode())


def _billion_laughs_doctype(root: str) -> str:
    entities = '<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    return f"<!DOCTYPE {root} [{entities}]>"


def svg_billion_laughs(folder: Path) -> Path:
    svg = f"{_billion_laughs_doctype('svg')}{_SVG_OPEN}><text>&a9;</text></svg>"
    return _write(folder, "laughs.svg", svg.encode())


def svg_gzip_bomb(folder: Path) -> Path:
    """An .svg that is gzip (as .svgz are): 20 MB of SVG in about 20 KB."""
    inner = f"{_SVG_OPEN}>".encode() + b" " * ZIP_BOMB_MEMBER_BYTES + b"</svg>"
    return _write(folder, "packed.svg", gzip.compress(inner, compresslevel=9))


def svg_image_xlink_href(folder: Path) -> Path:
    secret = secret_png(folder)
    svg = (
        f'{_SVG_OPEN} xmlns:xlink="http://www.w3.org/1999/xlink">'
        f'<image xlink:href="{secret}" width="40" height="40"/></svg>'
    )
    return _write(folder, "xlink.svg", svg.encode())


def svg_image_file_url(folder: Path) -> Path:
    secret = secret_png(folder)
    svg = f'{_SVG_OPEN}><image href="file://{secret}" width="40" height="40"/></svg>'
    return _write(folder, "file-url.svg", svg.encode())


def svg_use_other_file(folder: Path) -> Path:
    other = folder / "other.svg"
    other.write_text(
        f'{_SVG_OPEN}><rect id="r" width="40" height="40" fill="rgb{SECRET_RGB}"/></svg>', "utf-8"
    )
    svg = f'{_SVG_OPEN}><use href="{other}#r"/><use href="file://{other}#r"/></svg>'
    return _write(folder, "use.svg", svg.encode())


def svg_fe_image(folder: Path) -> Path:
    secret = secret_png(folder)
    svg = (
        f'{_SVG_OPEN}><filter id="f" x="0" y="0" width="1" height="1">'
        f'<feImage href="{secret}"/></filter>'
        '<rect width="40" height="40" filter="url(#f)"/></svg>'
    )
    return _write(folder, "fe-image.svg", svg.encode())


def svg_css_url(folder: Path) -> Path:
    secret = secret_png(folder)
    svg = (
        f"{_SVG_OPEN}><style>@import url({secret}); rect.a {{ fill: url('file://{secret}') }}"
        f'</style><rect class="a" width="40" height="20" style="fill: url({secret})"/>'
        f'<rect y="20" width="40" height="20" style="fill: u\\72l({secret})"/></svg>'
    )
    return _write(folder, "css-url.svg", svg.encode())


def svg_embedding_secret(folder: Path) -> Path:
    """Not hostile: the secret embedded as data, which must show, so the checks can fail."""
    data = base64.b64encode(secret_png(folder).read_bytes()).decode()
    svg = f'{_SVG_OPEN}><image href="data:image/png;base64,{data}" width="40" height="40"/></svg>'
    return _write(folder, "embedded.svg", svg.encode())


# Archives ------------------------------------------------------------------------------------

LESSON_MD = b"---\ntitle: Leaves\n---\n\n# Leaves\n\nLeaves make food from light.\n"


def _zip_bytes(members: dict[str, bytes], *, symlinks: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.external_attr = 0o120777 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def good_lesson_zip(folder: Path) -> Path:
    """A plain lesson, for checking that imports still work after a hostile one."""
    return _write(folder, "good.zip", _zip_bytes({"lesson.md": LESSON_MD}))


def _zip_bomb_bytes() -> bytes:
    return _zip_bytes({"lesson.md": LESSON_MD, "padding.bin": bytes(ZIP_BOMB_MEMBER_BYTES)})


def zip_bomb(folder: Path) -> Path:
    """One member of 20 MB of zeros in about 20 KB (the tests set a smaller unpacked limit)."""
    return _write(folder, "bomb.zip", _zip_bomb_bytes())


def zip_bomb_lying_sizes(folder: Path) -> Path:
    """The bomb's member declares 1000 bytes in both headers while it inflates to 20 MB."""
    data = bytearray(_zip_bomb_bytes())
    true_size = struct.pack("<I", ZIP_BOMB_MEMBER_BYTES)
    lie = struct.pack("<I", 1000)
    # Local header: uncompressed size at offset 22; central directory entry: at offset 24.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            if data[start + offset : start + offset + 4] == true_size:
                data[start + offset : start + offset + 4] = lie
            start += 4
    return _write(folder, "liar.zip", bytes(data))


def zip_many_members(folder: Path) -> Path:
    members = {"lesson.md": LESSON_MD} | {f"f/{i}.txt": b"" for i in range(MANY_MEMBERS)}
    return _write(folder, "many.zip", _zip_bytes(members))


def zip_dot_dot(folder: Path) -> Path:
    return _write(folder, "dotdot.zip", _zip_bytes({"lesson.md": LESSON_MD, "../../x.md": b"x"}))


def zip_absolute(folder: Path) -> Path:
    return _write(folder, "absolute.zip", _zip_bytes({"lesson.md": LESSON_MD, "/etc/x.md": b"x"}))


def zip_backslash_dot_dot(folder: Path) -> Path:
    members = {"lesson.md": LESSON_MD, "..\\..\\x.md": b"x"}
    return _write(folder, "backslash.zip", _zip_bytes(members))


def zip_drive_letter(folder: Path) -> Path:
    return _write(folder, "drive.zip", _zip_bytes({"lesson.md": LESSON_MD, "C:/x.md": b"x"}))


def zip_symlink(folder: Path) -> Path:
    members = {
        "lesson.md": LESSON_MD + b"\n![Passwords](leak.png)\n\nMore words.\n",
        "leak.png": b"/etc/passwd",
    }
    return _write(folder, "symlink.zip", _zip_bytes(members, symlinks=("leak.png",)))


def truncated_zip(folder: Path) -> Path:
    data = _zip_bytes({"lesson.md": LESSON_MD * 200})
    return _write(folder, "cut.zip", data[: len(data) // 2])


def _lesson_zip(folder: Path, name: str, markdown: bytes, **images: bytes) -> Path:
    return _write(folder, name, _zip_bytes({"lesson.md": markdown, **images}))


def huge_markdown_zip(folder: Path) -> Path:
    paragraph = b"Leaves make food from light. " * 30 + b"\n\n"
    text = b"# Leaves\n\n" + paragraph * (HUGE_MARKDOWN_BYTES // len(paragraph) + 1)
    return _lesson_zip(folder, "huge.zip", text)


def long_line_markdown_zip(folder: Path) -> Path:
    line = b"leaf " * (LONG_LINE_CHARS // 5)
    return _lesson_zip(folder, "long-line.zip", b"# Leaves\n\n" + line + b"\n")


def deep_nesting_markdown_zip(folder: Path) -> Path:
    quotes = b"> " * NESTING_DEPTH + b"Deep words.\n\n"
    lists = b"".join(b"  " * depth + b"- item\n" for depth in range(NESTING_DEPTH)) + b"\n"
    brackets = b"[" * NESTING_DEPTH + b"x" + b"](y)" * NESTING_DEPTH + b"\n\n"
    emphasis = b"*" * NESTING_DEPTH + b"x" + b"*" * NESTING_DEPTH + b"\n\n"
    text = b"# Deep\n\nSome words first.\n\n" + quotes + lists + brackets + emphasis
    return _lesson_zip(folder, "deep.zip", text)


def markdown_linking_outside_zip(folder: Path) -> Path:
    """A lesson whose images name files outside its folder, the server's and a secret's."""
    secret = secret_png(folder)
    text = (
        LESSON_MD
        + b"\n![Up](../../../../../../etc/passwd)\n\nWords one.\n"
        + b"\n![Root](/etc/passwd)\n\nWords two.\n"
        + f"\n![Secret]({secret})\n\nWords three.\n".encode()
        + f"\n![Url](file://{secret})\n\nWords four.\n".encode()
        + b"\n![Escape](img/../../../secret.png)\n\nWords five.\n"
    )
    return _lesson_zip(folder, "outside.zip", text)


def markdown_with_hostile_images_zip(folder: Path) -> Path:
    """A lesson showing a bomb, a polyglot, a truncated PNG and an SVG with an entity."""
    scratch = folder / "parts"
    scratch.mkdir(exist_ok=True)
    parts = {
        "bomb.png": bomb_png(scratch),
        "polyglot.png": png_html_polyglot(scratch),
        "cut.png": truncated_png(scratch),
        "entity.svg": svg_external_entity(scratch),
    }
    text = LESSON_MD + b"".join(
        f"\n## {name}\n\n![{name}]({name})\n\nWords about {name}.\n".encode() for name in parts
    )
    return _lesson_zip(
        folder, "images.zip", text, **{name: path.read_bytes() for name, path in parts.items()}
    )


# Documents -----------------------------------------------------------------------------------


def pdf_that_is_zip(folder: Path) -> Path:
    return _write(folder, "slides.pdf", _zip_bytes({"lesson.md": LESSON_MD}))


def pdf_that_is_html(folder: Path) -> Path:
    return _write(folder, "notes.pdf", b"<!doctype html><title>x</title><script>1</script>")


def zip_that_is_pdf(folder: Path) -> Path:
    pdf = write_text_pdf(folder / "inner.pdf", [["Leaves make food."]])
    return _write(folder, "lesson.zip", pdf.read_bytes())


def pptx_that_is_not_zip(folder: Path) -> Path:
    return _write(folder, "deck.pptx", b"<html>not a presentation</html>")


def pptx_that_is_docx(folder: Path) -> Path:
    """A Word-like package named .pptx: a zip, but with no presentation in it."""
    members = {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',  # noqa: E501
        "word/document.xml": b"<document>Leaves</document>",
    }
    return _write(folder, "report.pptx", _zip_bytes(members))


def _pptx_with_slide_xml_changed(folder: Path, name: str, change) -> Path:
    """A real three-slide deck whose first slide's XML is change(xml)."""
    staged = write_pptx(folder / f"staged-{name}")
    with zipfile.ZipFile(staged) as source:
        members = {info.filename: source.read(info.filename) for info in source.infolist()}
    members["ppt/slides/slide1.xml"] = change(members["ppt/slides/slide1.xml"])
    return _write(folder, name, _zip_bytes(members))


def _with_doctype(xml: bytes, doctype: str, text_entity: str) -> bytes:
    """The slide XML with a DOCTYPE before its root and the entity in its title text."""
    declaration, _sep, rest = xml.partition(b"?>")
    rest = rest.replace(b"Photosynthesis</a:t>", f"Photosynthesis {text_entity}</a:t>".encode(), 1)
    return declaration + b"?>" + doctype.encode() + rest


def pptx_billion_laughs(folder: Path) -> Path:
    doctype = _billion_laughs_doctype("p:sld")
    return _pptx_with_slide_xml_changed(
        folder, "laughs.pptx", lambda xml: _with_doctype(xml, doctype, "&a9;")
    )


def pptx_external_entity(folder: Path) -> Path:
    secret = folder / "secret.txt"
    secret.write_text(SECRET_TEXT, "utf-8")
    doctype = f'<!DOCTYPE p:sld [<!ENTITY x SYSTEM "file://{secret}">]>'
    return _pptx_with_slide_xml_changed(
        folder, "entity.pptx", lambda xml: _with_doctype(xml, doctype, "&x;")
    )


def pptx_dot_dot(folder: Path) -> Path:
    staged = write_pptx(folder / "staged-dotdot.pptx")
    with zipfile.ZipFile(staged) as source:
        members = {info.filename: source.read(info.filename) for info in source.infolist()}
    members["../../evil.xml"] = b"<x/>"
    return _write(folder, "dotdot.pptx", _zip_bytes(members))


def pptx_with_giant_picture(folder: Path) -> Path:
    return write_pptx_with_picture(
        folder / "bomb.pptx", png_header_only(GIANT_SIDE_PX, GIANT_SIDE_PX)
    )


def pptx_with_truncated_picture(folder: Path) -> Path:
    scratch = folder / "parts"
    scratch.mkdir(exist_ok=True)
    return write_pptx_with_picture(folder / "cut-picture.pptx", truncated_png(scratch).read_bytes())


def truncated_pptx(folder: Path) -> Path:
    data = write_pptx(folder / "staged-cut.pptx").read_bytes()
    return _write(folder, "cut.pptx", data[: len(data) // 2])


def truncated_pdf(folder: Path) -> Path:
    data = write_text_pdf(folder / "staged-cut.pdf", [["Leaves make food."]] * 3).read_bytes()
    return _write(folder, "cut.pdf", data[: len(data) // 2])


def pdf_too_many_pages(folder: Path) -> Path:
    return write_blank_pdf(folder / "long.pdf", [(200, 200)] * 201)


def huge_markdown_file(folder: Path) -> Path:
    """A lesson.md uploaded as it is (the importer takes folders only as .zip)."""
    return _write(folder, "lesson.md", b"# Leaves\n\n" + b"Leaves make food. " * 300_000)
