"""PDFium work for the PDF importer, run in a sandboxed child process (synthesis.sandbox).

Plain data in and out, and nothing imported but PDFium: the child starts in a fraction of
the time the whole importer package would take.
"""

from __future__ import annotations

import pypdfium2 as pdfium


def read_pdf_outline(path: str, max_pages: int) -> dict:
    """{"page_count", "sizes_pt": [(w, h)], "texts": [str], "metadata": {str: str}}.

    Sizes and texts are left empty for a document of more than max_pages pages.
    """
    document = pdfium.PdfDocument(path)
    try:
        sizes, texts = [], []
        if len(document) <= max_pages:
            for index in range(len(document)):
                page = document[index]
                sizes.append(tuple(page.get_size()))
                texts.append(page.get_textpage().get_text_range())
        return {
            "page_count": len(document),
            "sizes_pt": sizes,
            "texts": texts,
            "metadata": dict(document.get_metadata_dict(skip_empty=True)),
        }
    finally:
        document.close()


def draw_pdf_pages(path: str, pages: list[tuple[float, str]], first_index: int = 0) -> None:
    """Draw page first_index + i at pages[i]'s scale into pages[i]'s PNG file."""
    document = pdfium.PdfDocument(path)
    try:
        for index, (scale, target) in enumerate(pages, first_index):
            try:
                bitmap = document[index].render(scale=scale)
            except pdfium.PdfiumError as error:
                raise ValueError(f"page {index + 1} cannot be drawn: {error}") from error
            bitmap.to_pil().convert("RGB").save(target, format="PNG")
    finally:
        document.close()
