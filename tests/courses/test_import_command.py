"""python manage.py import_lesson: folder, zip, pdf and pptx sources from the command line."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from courses.models import Course, Lesson, PendingImport
from tests.corpus import copy_corpus_lesson
from tests.courses.documents import write_pptx, write_text_pdf, zip_folder


@pytest.fixture(autouse=True)
def private_folders(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"


def run(*args) -> list[str]:
    out = StringIO()
    call_command("import_lesson", *map(str, args), stdout=out)
    return out.getvalue().splitlines()


def test_folder_import_creates_the_course_and_prints_warnings_then_the_lesson_id(alice, tmp_path):
    folder = copy_corpus_lesson("en-git-basics", tmp_path, max_blocks=12)
    lines = run(folder, "--course", "git", "--owner", "alice")
    lesson = Lesson.objects.get()
    assert lines[-1] == str(lesson.pk)
    assert any(line.startswith("warning: ") and "phd101212s.png" in line for line in lines)
    course = Course.objects.get(slug="git")
    assert course.owner == alice and lesson.course == course
    assert lesson.latest_version.scenes.filter(image__gt="").exists()
    assert not PendingImport.objects.exists()


def test_zip_pdf_and_pptx_sources_import_into_an_existing_course(alice, tmp_path):
    folder = copy_corpus_lesson("zh-softmax-regression", tmp_path, max_blocks=6)
    sources = [
        zip_folder(folder, tmp_path / "softmax.zip"),
        write_text_pdf(tmp_path / "cells.pdf", [["Cells", "Cells need energy."]]),
        write_pptx(tmp_path / "photo.pptx"),
    ]
    ids = [run(source, "--course", "mixed", "--owner", "alice")[-1] for source in sources]
    lessons = [Lesson.objects.get(pk=int(lesson_id)) for lesson_id in ids]
    assert [lesson.latest_version.language for lesson in lessons] == ["zh", "en", "en"]
    assert Course.objects.count() == 1


def test_unknown_owner_and_bad_files_are_command_errors(alice, tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run(tmp_path / "notes.txt", "--course", "c", "--owner", "nobody")
    with pytest.raises(CommandError, match="not a folder, .zip, .pdf or .pptx"):
        run(tmp_path / "notes.txt", "--course", "c", "--owner", "alice")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    with pytest.raises(CommandError, match="could not be read as a PDF"):
        run(tmp_path / "broken.pdf", "--course", "c", "--owner", "alice")
    assert not Lesson.objects.exists()


def test_another_teachers_course_is_refused(alice, bob, tmp_path):
    from courses.services import course_create

    course_create(owner=bob, title="Bob's", slug="bobs")
    pdf = write_text_pdf(tmp_path / "cells.pdf", [["Cells"]])
    with pytest.raises(CommandError, match="belongs to someone else"):
        run(pdf, "--course", "bobs", "--owner", "alice")
