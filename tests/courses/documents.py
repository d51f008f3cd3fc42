"""Write small real PDF, PPTX and zip files for import tests."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from PIL import Image


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_text_pdf(path: Path, pages: list[list[str]], *, title: str = "") -> Path:
    """A valid PDF, written by hand: one page per list, each string one line of Helvetica text."""
    objects: list[bytes] = []
    page_count = len(pages)
    # 1: catalog, 2: pages, 3: font, then per page: page object and content stream.
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(page_count))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {page_count} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for index, lines in enumerate(pages):
        content_id = 5 + 2 * index
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>".encode()
        )
        commands = ["BT", "/F1 18 Tf", "72 720 Td", "22 TL"]
        for line in lines:
            commands.append(f"({_pdf_escape(line)}) '")
        commands.append("ET")
        stream = "\n".join(commands).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    info_id = len(objects) + 1
    objects.append(f"<< /Title ({_pdf_escape(title)}) >>".encode("latin-1"))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref_at = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info_id} 0 R >>\n"
        f"startxref\n{xref_at}\n%%EOF\n".encode()
    )
    path.write_bytes(out.getvalue())
    return path


def write_image_pdf(path: Path, *, pages: int = 2) -> Path:
    """An image-only PDF (no text at all), as a scanner makes, saved by Pillow."""
    images = [Image.new("RGB", (320, 180), (40 * i, 120, 200)) for i in range(pages)]
    images[0].save(path, format="PDF", save_all=True, append_images=images[1:])
    return path


def png_bytes(size_px: tuple[int, int] = (160, 90), color=(200, 60, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size_px, color).save(buffer, format="PNG")
    return buffer.getvalue()


def write_pptx(path: Path) -> Path:
    """Three slides: a title slide, a bullet slide with notes, a picture slide with notes."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    deck.core_properties.title = "Photosynthesis"
    title_slide = deck.slides.add_slide(deck.slide_layouts[0])
    title_slide.shapes.title.text = "Photosynthesis"
    title_slide.placeholders[1].text = "How plants make food"
    title_slide.notes_slide.notes_text_frame.text = "Today we learn how plants make food."

    bullets = deck.slides.add_slide(deck.slide_layouts[1])
    bullets.shapes.title.text = "What a leaf needs"
    body = bullets.placeholders[1].text_frame
    body.text = "Light"
    for line in ("Water", "Carbon dioxide"):
        body.add_paragraph().text = line
    bullets.notes_slide.notes_text_frame.text = (
        "A leaf needs three things. First, it needs light.\nIt also needs water and carbon dioxide."
    )

    picture = deck.slides.add_slide(deck.slide_layouts[5])
    picture.shapes.title.text = "Inside a chloroplast"
    picture.shapes.add_picture(io.BytesIO(png_bytes()), Inches(1), Inches(2), Inches(4))
    picture.notes_slide.notes_text_frame.text = "Chloroplasts are where the work happens."
    deck.save(path)
    return path


def write_zip(path: Path, members: dict[str, bytes], *, symlinks: tuple[str, ...] = ()) -> Path:
    """A zip with the given members; names in symlinks are stored as symbolic links."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            if name in symlinks:
                info.external_attr = 0o120777 << 16
            archive.writestr(info, data)
    return path


def zip_folder(folder: Path, path: Path) -> Path:
    """Zip a lesson folder with its files at the top of the archive."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(folder).as_posix())
    return path


def write_blank_pdf(path: Path, sizes_pt: list[tuple[float, float]]) -> Path:
    """A PDF of blank pages of the given sizes in points, made by PDFium itself."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument.new()
    for width_pt, height_pt in sizes_pt:
        document.new_page(width_pt, height_pt)
    document.save(path)
    document.close()
    return path


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height but holds almost no data (a decompression bomb's shape)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def write_pptx_with_picture(path: Path, picture: bytes) -> Path:
    """One slide showing one picture whose bytes are exactly `picture` (even a hostile one).

    python-pptx measures a picture when it is added, so a small PNG goes in first and its
    bytes are swapped in the saved package.
    """
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "A big picture"
    slide.shapes.add_picture(io.BytesIO(png_bytes()), Inches(1), Inches(2), Inches(4))
    staged = io.BytesIO()
    deck.save(staged)
    with zipfile.ZipFile(staged) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.startswith("ppt/media/"):
                data = picture
            target.writestr(info, data)
    return path
