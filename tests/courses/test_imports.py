"""Importers: Markdown zips (with every unsafe archive refused), PDFs and PowerPoint files."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.util import Inches

from lessonimport import safezip
from lessonimport.markdown import import_markdown_zip
from lessonimport.pdf import import_pdf
from lessonimport.pptx import import_pptx
from lessonimport.upload import check_signature, parse_upload
from synthesis.errors import LessonImportError
from tests.corpus import copy_corpus_lesson
from tests.courses.documents import (
    png_bytes,
    png_header_only,
    write_blank_pdf,
    write_image_pdf,
    write_pptx,
    write_pptx_with_picture,
    write_text_pdf,
    write_zip,
    zip_folder,
)

LESSON_MD = b"---\ntitle: Tiny\n---\n\n# Tiny lesson\n\nPlants need light. They also need water.\n"


def test_corpus_lesson_zip_imports_with_images_and_attribution(tmp_path):
    folder = copy_corpus_lesson("en-git-basics", tmp_path, max_blocks=12)
    archive = zip_folder(folder, tmp_path / "git.zip")
    result = import_markdown_zip(archive, workdir=tmp_path / "work", source_name="git.zip")
    assert result.title == "Automated Version Control"
    assert result.language == "en"
    assert "Carpentries" in result.attribution
    images = [scene.image_path for scene in result.scenes if scene.image_path]
    assert images and all((tmp_path / "work" / path).is_file() for path in images)
    # The comic the lesson links to is not in the corpus: the importer says so.
    assert any("phd101212s.png" in warning for warning in result.warnings)


def test_zip_whose_lesson_sits_in_one_folder_imports(tmp_path):
    archive = write_zip(tmp_path / "l.zip", {"tiny/lesson.md": LESSON_MD})
    result = import_markdown_zip(archive, workdir=tmp_path / "work", source_name="l.zip")
    assert result.title == "Tiny"


def test_imported_sentences_keep_their_source(tmp_path):
    archive = write_zip(tmp_path / "l.zip", {"lesson.md": LESSON_MD})
    result = import_markdown_zip(archive, workdir=tmp_path / "work", source_name="l.zip")
    sources = [source for scene in result.scenes for source in scene.sources]
    # Sentences come from lesson.md, except the title card's introduction (the importer's).
    assert {source.file for source in sources} == {"lesson.md", ""}
    assert {source.file for source in result.scenes[0].sources} == {""}
    assert "Plants need light." in {source.sentence for source in sources}


@pytest.mark.parametrize(
    "member", ["../evil.md", "/etc/evil.md", "a/../../evil.md", "C:/evil.md", "a\\..\\evil.md"]
)
def test_zip_with_paths_outside_the_archive_is_refused(tmp_path, member):
    archive = write_zip(tmp_path / "l.zip", {"lesson.md": LESSON_MD, member: b"x"})
    with pytest.raises(LessonImportError, match="outside the archive"):
        import_markdown_zip(archive, workdir=tmp_path / "work", source_name="l.zip")
    assert not (tmp_path / "evil.md").exists()


def test_zip_with_a_symbolic_link_is_refused(tmp_path):
    archive = write_zip(
        tmp_path / "l.zip", {"lesson.md": LESSON_MD, "images/x.png": b"/etc/passwd"},
        symlinks=("images/x.png",),
    )  # fmt: skip
    with pytest.raises(LessonImportError, match="symbolic link"):
        import_markdown_zip(archive, workdir=tmp_path / "work", source_name="l.zip")


def test_zip_bomb_is_refused_by_its_unpacked_size(tmp_path):
    archive = write_zip(tmp_path / "l.zip", {"lesson.md": LESSON_MD, "big.bin": bytes(3_000_000)})
    limits = safezip.ZipLimits(max_total_bytes=1_000_000)
    with pytest.raises(LessonImportError, match="unpacks to"):
        import_markdown_zip(archive, workdir=tmp_path / "work", source_name="l.zip", limits=limits)
    assert not (tmp_path / "work" / "lesson" / "big.bin").exists()


def test_zip_with_too_many_files_is_refused(tmp_path):
    members = {f"f{i}.txt": b"x" for i in range(12)}
    archive = write_zip(tmp_path / "l.zip", {"lesson.md": LESSON_MD, **members})
    limits = safezip.ZipLimits(max_files=10)
    with pytest.raises(LessonImportError, match="at most 10"):
        import_markdown_zip(archive, workdir=tmp_path / "work", source_name="l.zip", limits=limits)


def test_zip_whose_header_understates_the_size_is_stopped(tmp_path):
    archive = write_zip(tmp_path / "l.zip", {"lesson.md": LESSON_MD, "big.bin": bytes(100_000)})
    # Rewrite the central directory to claim the member is tiny.
    with zipfile.ZipFile(archive) as source:
        infos = source.infolist()
        data = {info.filename: source.read(info) for info in infos}
    lying = tmp_path / "lying.zip"
    with zipfile.ZipFile(lying, "w", zipfile.ZIP_DEFLATED) as out:
        for name, payload in data.items():
            out.writestr(name, payload)
    raw = bytearray(lying.read_bytes())
    entry = raw.rfind(b"big.bin") - 46  # the central directory entry of big.bin
    assert raw[entry : entry + 4] == b"PK\x01\x02"
    raw[entry + 24 : entry + 28] = (10).to_bytes(4, "little")  # its uncompressed size
    lying.write_bytes(bytes(raw))
    with pytest.raises(LessonImportError, match="corrupt"):
        import_markdown_zip(lying, workdir=tmp_path / "work", source_name="lying.zip")


def test_corrupt_zip_is_refused(tmp_path):
    archive = write_zip(tmp_path / "l.zip", {"lesson.md": LESSON_MD})
    (tmp_path / "bad.zip").write_bytes(archive.read_bytes()[:40])
    with pytest.raises(LessonImportError, match="not a readable zip"):
        import_markdown_zip(tmp_path / "bad.zip", workdir=tmp_path / "work", source_name="bad.zip")


def test_zip_without_lesson_md_says_what_is_missing(tmp_path):
    archive = write_zip(tmp_path / "l.zip", {"notes.txt": b"hello"})
    with pytest.raises(LessonImportError, match="no lesson.md"):
        import_markdown_zip(archive, workdir=tmp_path / "work", source_name="l.zip")


def test_pdf_becomes_one_image_scene_per_page_with_its_text(tmp_path):
    pdf = write_text_pdf(
        tmp_path / "cells.pdf",
        [["Cells and energy", "Every living cell needs energy.", "Plants get it from light."],
         ["Mitochondria", "Mitochondria make ATP."]],
        title="Biology",
    )  # fmt: skip
    result = import_pdf(pdf, workdir=tmp_path / "work", source_name="cells.pdf")
    assert result.title == "Biology"
    assert [scene.kind for scene in result.scenes] == ["image", "image"]
    assert [scene.title for scene in result.scenes] == ["Cells and energy", "Mitochondria"]
    assert "Plants get it from light." in result.scenes[0].narration
    assert all((tmp_path / "work" / scene.image_path).is_file() for scene in result.scenes)
    pages = {(source.sentence, source.page) for scene in result.scenes for source in scene.sources}
    assert ("Mitochondria make ATP.", 2) in pages


def test_scanned_pdf_imports_with_a_warning_per_page(tmp_path):
    pdf = write_image_pdf(tmp_path / "scan.pdf", pages=2)
    result = import_pdf(pdf, workdir=tmp_path / "work", source_name="scan.pdf")
    assert len(result.scenes) == 2
    assert len(result.warnings) == 2 and "Page 1" in result.warnings[0]


def test_broken_pdf_is_refused_with_its_name(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a PDF\n")
    with pytest.raises(LessonImportError, match="'broken.pdf' could not be read as a PDF"):
        import_pdf(broken, workdir=tmp_path / "work", source_name="broken.pdf")


def test_pptx_notes_become_narration_and_slides_become_visuals(tmp_path):
    deck = write_pptx(tmp_path / "photo.pptx")
    result = import_pptx(deck, workdir=tmp_path / "work", source_name="photo.pptx")
    title, bullets, picture = result.scenes
    assert (title.kind, title.title, title.body) == (
        "title",
        "Photosynthesis",
        "How plants make food",
    )
    assert (bullets.kind, bullets.body) == ("text", "Light\nWater\nCarbon dioxide")
    assert bullets.narration.startswith("A leaf needs three things.")
    assert {source.slide for source in bullets.sources} == {2}
    assert picture.kind == "image" and (tmp_path / "work" / picture.image_path).is_file()
    assert picture.image_alt == "Inside a chloroplast"
    assert result.warnings == ()


def test_pptx_reports_skipped_charts_and_missing_notes(tmp_path):
    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Sales"
    data = CategoryChartData()
    data.categories = ["a", "b"]
    data.add_series("s", (1, 2))
    slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, 0, 0, Inches(4), Inches(3), data)
    slide.shapes.add_picture(io.BytesIO(png_bytes()), 0, 0, Inches(1))
    slide.shapes.add_picture(io.BytesIO(png_bytes((300, 200))), 0, 0, Inches(3))
    deck.save(tmp_path / "chart.pptx")
    result = import_pptx(
        tmp_path / "chart.pptx", workdir=tmp_path / "work", source_name="chart.pptx"
    )
    text = " ".join(result.warnings)
    assert "a chart was skipped" in text
    assert "has no speaker notes" in text
    assert "has 2 pictures" in text
    assert result.scenes[0].narration == "Sales."


def test_broken_pptx_is_refused(tmp_path):
    archive = write_zip(tmp_path / "fake.pptx", {"hello.txt": b"not a presentation"})
    with pytest.raises(LessonImportError, match="could not be read as a PowerPoint"):
        import_pptx(archive, workdir=tmp_path / "work", source_name="fake.pptx")


def test_file_whose_content_does_not_match_its_name_is_refused(tmp_path):
    fake = tmp_path / "slides.pdf"
    fake.write_bytes(b"PK\x03\x04 this is a zip, not a pdf")
    with pytest.raises(LessonImportError, match="named like a PDF but is not one"):
        check_signature(fake, kind="pdf", source_name="slides.pdf")


def test_parse_upload_dispatches_by_kind(tmp_path):
    deck = write_pptx(tmp_path / "photo.pptx")
    result = parse_upload(deck, kind="pptx", workdir=tmp_path / "work", source_name="photo.pptx")
    assert len(result.scenes) == 3


def test_chinese_pdf_text_is_detected_as_chinese(tmp_path):
    from lessonimport.draft import guess_language

    assert guess_language("我们从一个图像分类问题开始。") == "zh"
    assert guess_language("We start with images.") == "en"


def test_markdown_folder_import_needs_lesson_md(tmp_path):
    from lessonimport.markdown import import_markdown_folder

    (tmp_path / "empty").mkdir()
    with pytest.raises(LessonImportError, match="no lesson.md"):
        import_markdown_folder(tmp_path / "empty", workdir=tmp_path / "work")


def test_document_helpers_write_real_files(tmp_path):
    assert Path(write_text_pdf(tmp_path / "a.pdf", [["x"]])).read_bytes().startswith(b"%PDF-")


# Hostile page and picture sizes ---------------------------------------------------------------


@pytest.mark.parametrize(
    "size_pt",
    [(72, 14400), (3, 792), (14400, 72)],
    ids=["tall-strip", "three-points-wide", "wide-strip"],
)
def test_pdf_page_of_absurd_shape_is_drawn_within_the_video_box_quickly(tmp_path, size_pt):
    # Before, 72 x 14400 pt took 83 s and 8 GB (1920 x 384000 px); 3 pt wide was a MemoryError.
    pdf = write_blank_pdf(tmp_path / "strip.pdf", [size_pt])
    started = time.monotonic()

    result = import_pdf(pdf, workdir=tmp_path / "work", source_name="strip.pdf")

    assert time.monotonic() - started < 20
    with Image.open(tmp_path / "work" / result.scenes[0].image_path) as page:
        assert page.width <= 1920 and page.height <= 1080
    assert any(
        "Page 1 of 'strip.pdf'" in warning and "thin" in warning for warning in result.warnings
    )


def test_pdf_pages_fit_the_video_box_keeping_their_shape(tmp_path):
    pdf = write_blank_pdf(tmp_path / "deck.pdf", [(960, 540), (612, 792)])

    result = import_pdf(pdf, workdir=tmp_path / "work", source_name="deck.pdf")

    sizes = []
    for scene in result.scenes:
        with Image.open(tmp_path / "work" / scene.image_path) as page:
            sizes.append(page.size)
    assert sizes[0] == (1920, 1080)
    assert sizes[1][1] == 1080 and abs(sizes[1][0] - 1080 * 612 / 792) <= 1
    assert not any("thin" in warning for warning in result.warnings)


def test_pdf_that_takes_too_long_to_draw_is_stopped_and_leaves_no_pages(tmp_path, monkeypatch):
    from lessonimport import pdf as pdf_import

    pdf = write_text_pdf(tmp_path / "slow.pdf", [["One"], ["Two"]])
    monkeypatch.setattr(pdf_import, "DRAW_TIME_LIMIT_S", 0.0)
    monkeypatch.setattr(pdf_import, "DRAW_TIME_PER_PAGE_S", 0.0)

    with pytest.raises(LessonImportError, match="'slow.pdf' is too complex to read or draw"):
        import_pdf(pdf, workdir=tmp_path / "work", source_name="slow.pdf")

    assert not (tmp_path / "work" / "pages").exists()


@pytest.mark.parametrize("side_px", [40_000, 12_000])
def test_pptx_picture_over_the_pixel_limit_is_refused_with_its_slide(tmp_path, side_px):
    # 40000 x 40000 was an uncaught DecompressionBombError (HTTP 500); 12000 x 12000 passed
    # Pillow's check and failed only at render time.
    deck = write_pptx_with_picture(tmp_path / "big.pptx", png_header_only(side_px, side_px))

    with pytest.raises(
        LessonImportError,
        match=f"Slide 1 of 'big.pptx' shows a picture of {side_px} x {side_px} pixels",
    ):
        import_pptx(deck, workdir=tmp_path / "work", source_name="big.pptx")


def test_pptx_picture_that_is_not_an_image_is_skipped_with_a_warning(tmp_path):
    deck = write_pptx_with_picture(tmp_path / "odd.pptx", b"BM not really a bitmap")

    result = import_pptx(deck, workdir=tmp_path / "work", source_name="odd.pptx")

    assert result.scenes[0].kind != "image"
    assert any("not PNG, JPEG, GIF or WebP" in warning for warning in result.warnings)
