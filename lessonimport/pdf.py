"""PDF import: one scene per page, the page rendered as its image, its text as draft narration."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

from lessonimport.draft import (
    ImportedScene,
    ImportProgress,
    ImportResult,
    guess_language,
    narration_from_paragraphs,
    no_progress,
    normalise_text,
)
from lessonimport.pdf_pages import draw_pdf_pages, read_pdf_outline
from synthesis.errors import LessonImportError
from synthesis.messages import Message, gettext_noop
from synthesis.sandbox import (
    SandboxError,
    SandboxMemoryError,
    SandboxTimeout,
    SandboxWorkError,
    run_limited,
)

MAX_PAGES = 200
# Pages are drawn to fit this box: enough for a 1080p video without upscaling. A page's
# size is whatever the file says (one of 72 x 14400 pt was drawn 1920 x 384000 px, 8 GB),
# so the scale comes from the box, never from the width alone.
PAGE_BOX_PX = (1920, 1080)
# A page this many times longer one way than the other fits the video as a thin strip.
_THIN_PAGE_RATIO = 6
# pdfium parses and draws in a child process with these limits (synthesis.sandbox).
READ_TIME_LIMIT_S = 60.0
DRAW_TIME_LIMIT_S = 20.0
DRAW_TIME_PER_PAGE_S = 2.0
# Pages drawn per child process: progress is reported between batches, and a child costs
# about 0.1 s to start, so 200 pages take 20 starts (2 s) more than one child would.
DRAW_BATCH_PAGES = 10
PDF_MEMORY_BYTES = 2 * 2**30
_TITLE_MAX_CHARS = 90
_HYPHENATED_BREAK = re.compile(r"(?<=[a-z])-\n(?=[a-z])")
_BULLET = re.compile(r"^(?:[•▪◦‣·*–-]|\d{1,2}[.)])\s+")
_PAGE_ALT = {"en": "Page %(number)s of %(name)s", "zh": "%(name)s 第 %(number)s 页"}
_SENTENCE_ENDS = (".", "!", "?", ":", "。", "！", "？", "：")


def import_pdf(
    path: Path,
    *,
    workdir: Path,
    source_name: str,
    language: str | None = None,
    progress: ImportProgress = no_progress,
) -> ImportResult:
    """Render every page into workdir/pages/ and offer its text as narration.

    PDFium runs in child processes with a time and a memory limit, so a hostile file
    gives a LessonImportError instead of a blocked or killed server. Pages are drawn in
    batches, reporting progress("drawing", pages done, page count) after each.
    """
    progress("reading", 0, 0)
    outline = _sandboxed(
        read_pdf_outline, str(path), MAX_PAGES, timeout_s=READ_TIME_LIMIT_S, source_name=source_name
    )
    page_count = outline["page_count"]
    if page_count == 0:
        raise LessonImportError(Message(gettext_noop("'%(name)s' has no pages."), name=source_name))
    if page_count > MAX_PAGES:
        raise LessonImportError(
            Message(
                gettext_noop(
                    "'%(name)s' has %(count)s pages; Lectern imports at most %(limit)s. "
                    "Split it into several lessons."
                ),
                name=source_name,
                count=page_count,
                limit=MAX_PAGES,
            )
        )
    texts = [text.replace("\r\n", "\n").replace("\r", "\n") for text in outline["texts"]]
    lesson_language = language or guess_language("\n".join(texts))
    scales, warnings = _page_scales(outline["sizes_pt"], source_name)
    pages_dir = workdir / "pages"
    pages_dir.mkdir(parents=True, exist_ok=True)
    image_names = [f"pages/page-{number:03d}.png" for number in range(1, page_count + 1)]
    pages = [(scale, str(workdir / name)) for scale, name in zip(scales, image_names, strict=True)]
    try:
        for start in range(0, page_count, DRAW_BATCH_PAGES):
            progress("drawing", start, page_count)
            batch = pages[start : start + DRAW_BATCH_PAGES]
            _sandboxed(
                draw_pdf_pages,
                str(path),
                batch,
                start,
                timeout_s=DRAW_TIME_LIMIT_S + DRAW_TIME_PER_PAGE_S * len(batch),
                source_name=source_name,
            )
        progress("drawing", page_count, page_count)
    except LessonImportError:
        shutil.rmtree(pages_dir, ignore_errors=True)  # pages of a stopped child
        raise
    scenes = []
    for index, (text, image_name) in enumerate(zip(texts, image_names, strict=True)):
        number = index + 1
        paragraphs = _paragraphs(text)
        narration, sources = narration_from_paragraphs(
            paragraphs, lesson_language, file=source_name, page=number
        )
        if not narration:
            warnings.append(
                Message(
                    gettext_noop(
                        "Page %(number)s of '%(name)s' has no text (a scanned page?); "
                        "its narration is empty, type it in the editor."
                    ),
                    number=number,
                    name=source_name,
                )
            )
        title = _page_title(paragraphs)
        scenes.append(
            ImportedScene(
                kind="image",
                title=title,
                image_path=image_name,
                image_alt=title or _page_alt(number, source_name, lesson_language),
                narration=narration,
                sources=sources,
                language=lesson_language,
            )
        )
    metadata = outline["metadata"]
    title = normalise_text(metadata.get("Title", "")) or scenes[0].title or Path(source_name).stem
    author = normalise_text(metadata.get("Author", ""))
    summary = (
        Message(
            gettext_noop(
                "%(pages)s pages became %(scenes)s image scenes with their text as draft narration."
            ),
            pages=page_count,
            scenes=len(scenes),
        ),
    )
    return ImportResult(
        title=title[:200],
        language=lesson_language,
        scenes=tuple(scenes),
        warnings=tuple(warnings),
        attribution=f"{source_name} by {author}" if author else "",
        summary=summary,
    )


def _sandboxed(func, *args, timeout_s: float, source_name: str):
    """func(*args) in a limited child process; its failures as LessonImportError."""
    values = {"name": source_name}
    try:
        return run_limited(func, *args, timeout_s=timeout_s, memory_bytes=PDF_MEMORY_BYTES)
    except SandboxTimeout as error:
        raise LessonImportError(
            Message(
                gettext_noop(
                    "'%(name)s' is too complex to read or draw (it took more than %(seconds)s s). "
                    "Split it, or print it to a new PDF and try again."
                ),
                **values,
                seconds=f"{error.timeout_s:g}",
            )
        ) from error
    except SandboxMemoryError as error:
        raise LessonImportError(
            Message(
                gettext_noop(
                    "'%(name)s' needs too much memory to read or draw (more than %(mb)s MB). "
                    "Its pictures may be very large: print it to a new PDF and try again."
                ),
                **values,
                mb=error.memory_bytes // 2**20,
            )
        ) from error
    except SandboxWorkError as error:
        raise LessonImportError(
            Message(
                gettext_noop(
                    "'%(name)s' could not be read as a PDF (%(error)s). "
                    "Check that it opens in a PDF viewer and has no password."
                ),
                **values,
                error=error.message,
            )
        ) from error
    except SandboxError as error:
        raise LessonImportError(
            Message(
                gettext_noop("'%(name)s' could not be read (%(error)s)."), **values, error=error
            )
        ) from error


def _page_scales(sizes_pt: list, source_name: str) -> tuple[list[float], list[Message]]:
    """The scale each page is drawn at to fit PAGE_BOX_PX, and a warning per thin page."""
    box_width, box_height = PAGE_BOX_PX
    scales, warnings = [], []
    for number, (width_pt, height_pt) in enumerate(sizes_pt, 1):
        if not (width_pt > 0 and height_pt > 0):
            raise LessonImportError(
                Message(
                    gettext_noop(
                        "Page %(number)s of '%(name)s' has no size (%(width)s x %(height)s points)."
                    ),
                    number=number,
                    name=source_name,
                    width=width_pt,
                    height=height_pt,
                )
            )
        scale = min(box_width / width_pt, box_height / height_pt)
        scales.append(scale)
        if max(width_pt / height_pt, height_pt / width_pt) > _THIN_PAGE_RATIO:
            warnings.append(
                Message(
                    gettext_noop(
                        "Page %(number)s of '%(name)s' is %(width)s x %(height)s points, a very "
                        "long and thin shape; it was drawn %(width_px)s x %(height_px)s pixels to "
                        "fit the video and will look small."
                    ),
                    number=number,
                    name=source_name,
                    width=f"{width_pt:g}",
                    height=f"{height_pt:g}",
                    width_px=max(1, math.ceil(width_pt * scale)),
                    height_px=max(1, math.ceil(height_pt * scale)),
                )
            )
    return scales, warnings


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


def _page_alt(number: int, source_name: str, language: str) -> str:
    """A page's description when it has no title, in the lesson's language (it is spoken
    in the descriptions track, so it follows the lesson, not the teacher's pages)."""
    template = _PAGE_ALT.get(language, _PAGE_ALT["en"])
    return template % {"number": number, "name": source_name}


def _page_title(paragraphs: list[str]) -> str:
    """The page's first paragraph when it is short enough to be a heading."""
    if not paragraphs or len(paragraphs[0]) > _TITLE_MAX_CHARS:
        return ""
    return paragraphs[0].rstrip(".:：。")
