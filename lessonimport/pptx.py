"""PowerPoint import: speaker notes become narration, slide text a text slide, pictures images.

A slide with a picture becomes an image scene showing its largest picture; a slide with
only text becomes a text slide (title and bullets); the opening title slide becomes a
title card. Charts, tables, media and SmartArt cannot be drawn and are reported.
"""

from __future__ import annotations

from pathlib import Path

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER
from pptx.exc import PackageNotFoundError

from lessonimport import safezip
from lessonimport.draft import (
    ImportedScene,
    ImportProgress,
    ImportResult,
    guess_language,
    narration_from_paragraphs,
    no_progress,
    normalise_text,
)
from synthesis.errors import LessonImportError
from synthesis.frames.images import DEFAULT_MAX_PIXELS, raster_header
from synthesis.messages import Message, gettext_noop

MAX_SLIDES = 300
MAX_PICTURE_PIXELS = DEFAULT_MAX_PIXELS  # what the renderer will open
_EXTENSIONS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}
_IMAGE_EXTENSIONS = {"png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff"}
_TITLE_TYPES = (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE)


def import_pptx(
    path: Path,
    *,
    workdir: Path,
    source_name: str,
    language: str | None = None,
    limits: safezip.ZipLimits = safezip.DEFAULT_LIMITS,
    progress: ImportProgress = no_progress,
) -> ImportResult:
    """Read every slide, reporting progress("reading", slide, count); pictures are written
    to workdir/slides/."""
    progress("reading", 0, 0)
    # A .pptx is a zip: refuse bombs and traversal before python-pptx unpacks anything.
    safezip.verify(path, name=source_name, limits=limits)
    try:
        deck = Presentation(str(path))
        slides = list(deck.slides)
    except PackageNotFoundError as error:
        raise LessonImportError(
            Message(
                gettext_noop("'%(name)s' is not a PowerPoint .pptx file (%(error)s)."),
                name=source_name,
                error=error,
            )
        ) from error
    except Exception as error:  # noqa: BLE001 - python-pptx raises an open set of types on bad XML
        raise LessonImportError(
            Message(
                gettext_noop(
                    "'%(name)s' could not be read as a PowerPoint presentation (%(error)s). "
                    "Open it in PowerPoint or LibreOffice and save it again as .pptx."
                ),
                name=source_name,
                error=error,
            )
        ) from error
    if not slides:
        raise LessonImportError(
            Message(gettext_noop("'%(name)s' has no slides."), name=source_name)
        )
    if len(slides) > MAX_SLIDES:
        raise LessonImportError(
            Message(
                gettext_noop("'%(name)s' has %(count)s slides; Lectern imports at most %(limit)s."),
                name=source_name,
                count=len(slides),
                limit=MAX_SLIDES,
            )
        )
    reader = _DeckReader(workdir=workdir, source_name=source_name)
    all_text = "\n".join(reader.slide_text(slide) for slide in slides)
    lesson_language = language or guess_language(all_text)
    scenes = []
    for number, slide in enumerate(slides, 1):
        progress("reading", number, len(slides))
        scenes.append(reader.scene(slide, number, lesson_language))
    scenes = tuple(scenes)
    title = normalise_text(deck.core_properties.title or "") or scenes[0].title
    author = normalise_text(deck.core_properties.author or "")
    pictures = sum(1 for scene in scenes if scene.kind == "image")
    summary = (
        Message(
            gettext_noop(
                "%(slides)s slides became %(scenes)s scenes: %(pictures)s with a picture, "
                "%(texts)s text or title slides."
            ),
            slides=len(slides),
            scenes=len(scenes),
            pictures=pictures,
            texts=len(scenes) - pictures,
        ),
        Message(
            gettext_noop("%(count)s slides had speaker notes, used as narration."),
            count=reader.notes_count,
        ),
    )
    return ImportResult(
        title=(title or Path(source_name).stem)[:200],
        language=lesson_language,
        scenes=scenes,
        warnings=tuple(reader.warnings),
        attribution=f"{source_name} by {author}" if author else "",
        summary=summary,
    )


class _DeckReader:
    """Turns slides into scenes, collecting warnings and picture files on the way."""

    def __init__(self, *, workdir: Path, source_name: str) -> None:
        self.workdir = workdir
        self.source_name = source_name
        self.warnings: list[Message] = []
        self.notes_count = 0

    def slide_text(self, slide) -> str:
        parts = [_notes_text(slide)]
        parts += [shape.text_frame.text for shape in _shapes(slide.shapes) if shape.has_text_frame]
        return "\n".join(parts)

    def scene(self, slide, number: int, language: str) -> ImportedScene:
        title, subtitle, bullets, pictures = "", "", [], []
        for shape in _shapes(slide.shapes):
            kind = _placeholder_type(shape)
            if kind in _TITLE_TYPES and shape.has_text_frame:
                title = title or normalise_text(shape.text_frame.text)
            elif kind == PP_PLACEHOLDER.SUBTITLE and shape.has_text_frame:
                subtitle = normalise_text(shape.text_frame.text)
            elif shape.shape_type == MSO_SHAPE_TYPE.PICTURE or _has_image(shape):
                pictures.append(shape)
            elif getattr(shape, "has_table", False) and shape.has_table:
                bullets += _table_rows(shape)
                self._warn(
                    number,
                    gettext_noop(
                        "Slide %(number)s of '%(name)s': a table was turned into slide "
                        "text, one row per line."
                    ),
                )
            elif getattr(shape, "has_chart", False) and shape.has_chart:
                self._warn(
                    number,
                    gettext_noop(
                        "Slide %(number)s of '%(name)s': a chart was skipped; add it as a picture."
                    ),
                )
            elif shape.shape_type == MSO_SHAPE_TYPE.MEDIA:
                self._warn(
                    number,
                    gettext_noop("Slide %(number)s of '%(name)s': a video or sound was skipped."),
                )
            elif shape.has_text_frame:
                bullets += _paragraph_lines(shape)
            elif shape.shape_type == MSO_SHAPE_TYPE.GRAPHIC_FRAME:
                self._warn(
                    number,
                    gettext_noop(
                        "Slide %(number)s of '%(name)s': a diagram (SmartArt or similar) "
                        "was skipped."
                    ),
                )
        notes = _notes_text(slide)
        if notes:
            self.notes_count += 1
            paragraphs = [line for line in notes.splitlines() if line.strip()]
        else:
            paragraphs = [part for part in (title, subtitle, *bullets) if part]
            if paragraphs:
                self._warn(
                    number,
                    gettext_noop(
                        "Slide %(number)s of '%(name)s' has no speaker notes; its text is used as "
                        "draft narration."
                    ),
                )
            else:
                self._warn(
                    number,
                    gettext_noop(
                        "Slide %(number)s of '%(name)s' is empty: no text, notes or picture."
                    ),
                )
        narration, sources = narration_from_paragraphs(
            paragraphs, language, file=self.source_name, slide=number
        )
        common = {"title": title, "narration": narration, "sources": sources, "language": language}
        image_path = self._save_largest_picture(pictures, number)
        if image_path:
            return ImportedScene(
                kind="image",
                bullets=tuple(bullets),  # not drawn over the picture; kept for the editor
                image_path=image_path,
                image_alt=_picture_alt(pictures, title),
                **common,
            )
        if subtitle and not bullets:
            return ImportedScene(kind="title", subtitle=subtitle, **common)
        return ImportedScene(kind="text", bullets=tuple(bullets), **common)

    def _save_largest_picture(self, pictures: list, number: int) -> str | None:
        usable = []
        for shape in pictures:
            # Measured from the header, not by python-pptx: it opens the picture with
            # Pillow, whose bomb check raised an uncaught error for a 40000 x 40000 PNG.
            header = raster_header(shape.image.blob)
            if header is not None:
                usable.append((shape, *header))
            else:
                self._warn(
                    number,
                    gettext_noop(
                        "Slide %(number)s of '%(name)s': a picture that is not PNG, JPEG, GIF "
                        "or WebP was skipped."
                    ),
                )
        if not usable:
            return None
        largest, image_format, width_px, height_px = max(
            usable, key=lambda picture: (picture[0].width or 0) * (picture[0].height or 0)
        )
        if len(usable) > 1:
            self._warn(
                number,
                gettext_noop(
                    "Slide %(number)s of '%(name)s' has %(count)s pictures; only the largest is "
                    "shown, the others were skipped."
                ),
                count=len(usable),
            )
        if width_px * height_px > MAX_PICTURE_PIXELS:
            raise LessonImportError(
                Message(
                    gettext_noop(
                        "Slide %(number)s of '%(name)s' shows a picture of %(width)s x %(height)s "
                        "pixels; Lectern takes pictures of up to %(limit)s megapixels. Make it "
                        "smaller in PowerPoint and import again."
                    ),
                    number=number,
                    name=self.source_name,
                    width=width_px,
                    height=height_px,
                    limit=f"{MAX_PICTURE_PIXELS / 1_000_000:g}",
                )
            )
        relative = f"slides/slide-{number:03d}.{_EXTENSIONS[image_format]}"
        target = self.workdir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(largest.image.blob)
        return relative

    def _warn(self, number: int, template: str, **values: object) -> None:
        self.warnings.append(Message(template, number=number, name=self.source_name, **values))


def _shapes(shapes):
    """Every shape, looking inside groups."""
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _placeholder_type(shape):
    if not shape.is_placeholder:
        return None
    return shape.placeholder_format.type


def _has_image(shape) -> bool:
    # A picture placeholder filled with an image is not MSO_SHAPE_TYPE.PICTURE.
    return _placeholder_type(shape) == PP_PLACEHOLDER.PICTURE and hasattr(shape, "image")


def _paragraph_lines(shape) -> list[str]:
    lines = (normalise_text(paragraph.text) for paragraph in shape.text_frame.paragraphs)
    return [line for line in lines if line]


def _table_rows(shape) -> list[str]:
    rows = []
    for row in shape.table.rows:
        cells = [normalise_text(cell.text) for cell in row.cells]
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _notes_text(slide) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    return frame.text.strip() if frame is not None else ""


def _picture_alt(pictures: list, title: str) -> str:
    for shape in pictures:
        description = shape._element.xpath("./*[1]/p:cNvPr/@descr")  # the alt text field
        text = normalise_text(description[0]) if description else ""
        # PowerPoint and python-pptx put the picture's file name there when no alt was written.
        if text and text.rsplit(".", 1)[-1].lower() not in _IMAGE_EXTENSIONS:
            return text
    return title
