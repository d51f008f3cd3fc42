"""PDF import: one scene per page, the page rendered as its image, its text as draft narration."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
from django.utils.translation import gettext as _

from courses.imports.result import (
    ImportedScene,
    ImportResult,
    guess_language,
    narration_from_paragraphs,
    normalise_text,
)
from synthesis.errors import LessonImportError

MAX_PAGES = 200
# Pages are rendered this wide; enough for a 1080p video without upscaling.
PAGE_WIDTH_PX = 1920
_TITLE_MAX_CHARS = 90
_HYPHENATED_BREAK = re.compile(r"(?<=[a-z])-\n(?=[a-z])")
_BULLET = re.compile(r"^(?:[•▪◦‣·*–-]|\d{1,2}[.)])\s+")
_SENTENCE_ENDS = (".", "!", "?", ":", "。", "！", "？", "：")


def import_pdf(
    path: Path, *, workdir: Path, source_name: str, language: str | None = None
) -> ImportResult:
    """Render every page into workdir/pages/ and offer its text as narration."""
    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as error:
        raise LessonImportError(
            _(
                "'%(name)s' could not be read as a PDF (%(error)s). "
                "Check that it opens in a PDF viewer and has no password."
            )
            % {"name": source_name, "error": error}
        ) from error
    try:
        return _import_document(
            document, workdir=workdir, source_name=source_name, language=language
        )
    finally:
        document.close()


def _import_document(
    document: pdfium.PdfDocument, *, workdir: Path, source_name: str, language: str | None
) -> ImportResult:
    page_count = len(document)
    if page_count == 0:
        raise LessonImportError(_("'%(name)s' has no pages.") % {"name": source_name})
    if page_count > MAX_PAGES:
        raise LessonImportError(
            _(
                "'%(name)s' has %(count)s pages; Lectern imports at most %(limit)s. "
                "Split it into several lessons."
            )
            % {"name": source_name, "count": page_count, "limit": MAX_PAGES}
        )
    pages_dir = workdir / "pages"
    pages_dir.mkdir(parents=True, exist_ok=True)
    texts = [_page_text(document, index, source_name) for index in range(page_count)]
    lesson_language = language or guess_language("\n".join(texts))
    scenes, warnings = [], []
    for index, text in enumerate(texts):
        number = index + 1
        image_name = f"pages/page-{number:03d}.png"
        _render_page(document, index, workdir / image_name, source_name)
        paragraphs = _paragraphs(text)
        narration, sources = narration_from_paragraphs(
            paragraphs, lesson_language, file=source_name, page=number
        )
        if not narration:
            warnings.append(
                _(
                    "Page %(number)s of '%(name)s' has no text (a scanned page?); "
                    "its narration is empty, type it in the editor."
                )
                % {"number": number, "name": source_name}
            )
        title = _page_title(paragraphs)
        scenes.append(
            ImportedScene(
                kind="image",
                title=title,
                image_path=image_name,
                image_alt=title
                or _("Page %(number)s of %(name)s") % {"number": number, "name": source_name},
                narration=narration,
                sources=sources,
                language=lesson_language,
            )
        )
    metadata = document.get_metadata_dict(skip_empty=True)
    title = normalise_text(metadata.get("Title", "")) or scenes[0].title or Path(source_name).stem
    author = normalise_text(metadata.get("Author", ""))
    summary = (
        _("%(pages)s pages became %(scenes)s image scenes with their text as draft narration.")
        % {"pages": page_count, "scenes": len(scenes)},
    )
    return ImportResult(
        title=title[:200],
        language=lesson_language,
        scenes=tuple(scenes),
        warnings=tuple(warnings),
        attribution=f"{source_name} by {author}" if author else "",
        summary=summary,
    )


def _page_text(document: pdfium.PdfDocument, index: int, source_name: str) -> str:
    try:
        page = document[index]
        textpage = page.get_textpage()
        text = textpage.get_text_range()
    except pdfium.PdfiumError as error:
        raise LessonImportError(
            _("Page %(number)s of '%(name)s' cannot be read (%(error)s).")
            % {"number": index + 1, "name": source_name, "error": error}
        ) from error
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _render_page(document: pdfium.PdfDocument, index: int, target: Path, source_name: str) -> None:
    try:
        page = document[index]
        width_pt = page.get_width() or 1
        bitmap = page.render(scale=PAGE_WIDTH_PX / width_pt)
        bitmap.to_pil().convert("RGB").save(target, format="PNG")
    except pdfium.PdfiumError as error:
        raise LessonImportError(
            _("Page %(number)s of '%(name)s' cannot be drawn (%(error)s).")
            % {"number": index + 1, "name": source_name, "error": error}
        ) from error


def _paragraphs(text: str) -> list[str]:
    """Paragraphs of a page's text, guessed from its lines.

    PDF text has no paragraph marks, only lines. A paragraph ends at a blank line, or
    after a line that is clearly shorter than the page's full lines and ends a sentence
    (or is the first line: a heading); a bullet starts a new one. Hyphenation is undone.
    """
    text = _HYPHENATED_BREAK.sub("", text)
    lines = [line.strip() for line in text.split("\n")]
    longest = max((len(line) for line in lines), default=0)
    paragraphs: list[list[str]] = [[]]
    for index, line in enumerate(lines):
        if not line:
            paragraphs.append([])
            continue
        if _BULLET.match(line) and paragraphs[-1]:
            paragraphs.append([])
        paragraphs[-1].append(_BULLET.sub("", line))
        short = len(line) < 0.7 * longest
        first = index == 0 or not any(lines[:index])
        if short and (line.endswith(_SENTENCE_ENDS) or first):
            paragraphs.append([])
    joined = [normalise_text(" ".join(lines_)) for lines_ in paragraphs]
    return [paragraph for paragraph in joined if paragraph]


def _page_title(paragraphs: list[str]) -> str:
    """The page's first paragraph when it is short enough to be a heading."""
    if not paragraphs or len(paragraphs[0]) > _TITLE_MAX_CHARS:
        return ""
    return paragraphs[0].rstrip(".:：。")
