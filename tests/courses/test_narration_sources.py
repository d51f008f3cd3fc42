"""Imported scenes keep, for each narrated sentence, the file and paragraph, page or slide."""

from __future__ import annotations

import pytest

from courses import services
from courses.models import ImportKind, Scene
from lessonimport.draft import ImportedScene
from synthesis.sentences import split_sentences
from synthesis.storyboard import SourceRef
from tests.corpus import copy_corpus_lesson
from tests.courses.documents import write_pptx, write_text_pdf


@pytest.fixture(autouse=True)
def private_folders(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"


def import_scenes(*, course, owner, source, kind) -> list[Scene]:
    pending = services.pending_import_create(owner=owner, course=course, source=source, kind=kind)
    lesson = services.pending_import_confirm(pending=pending, user=owner)
    return list(lesson.latest_version.scenes.order_by("position"))


def assert_one_source_per_sentence(scenes: list[Scene]) -> None:
    for scene in scenes:
        sentences = split_sentences(scene.narration, scene.language)
        assert [source["sentence"] for source in scene.narration_sources] == sentences, scene.title


def test_markdown_import_stores_each_sentence_with_its_lesson_paragraph(alice, course, tmp_path):
    folder = copy_corpus_lesson("en-git-basics", tmp_path, max_blocks=12)

    scenes = import_scenes(course=course, owner=alice, source=folder, kind=ImportKind.FOLDER)

    assert_one_source_per_sentence(scenes)
    sources = [source for scene in scenes for source in scene.narration_sources]
    start = next(s for s in sources if s["sentence"].startswith("We'll start by exploring"))
    paragraph = start["paragraph"]
    said_there = [s["sentence"] for s in sources if s.get("paragraph") == paragraph]
    assert start == {"sentence": start["sentence"], "file": "lesson.md", "paragraph": paragraph}
    # lesson.md's paragraph that starts "We'll start by exploring..." holds the start of each
    # of its sentences (a lead-in ending in a colon runs on into the next paragraph).
    written = (folder / "lesson.md").read_text("utf-8").split("\n\n")
    holding = " ".join(next(p for p in written if p.startswith("We'll start by exploring")).split())
    assert len(said_there) >= 2 and all(sentence[:40] in holding for sentence in said_there)


def test_markdown_import_stores_importer_sentences_without_a_file(alice, course, tmp_path):
    folder = tmp_path / "loops"
    folder.mkdir()
    (folder / "lesson.md").write_text(
        "# Loops\n\nA loop repeats. It stops at the end.\n\n## Code\n\n"
        "```python\nfor i in range(3):\n    print(i)\n```\n",
        "utf-8",
    )

    title, text, code = import_scenes(
        course=course, owner=alice, source=folder, kind=ImportKind.FOLDER
    )

    # The title card introduces the lesson in the importer's words, from no file.
    assert title.narration_sources == [{"sentence": "In this lesson, we look at Loops."}]
    assert text.narration_sources == [
        {"sentence": "A loop repeats.", "file": "lesson.md", "paragraph": 1},
        {"sentence": "It stops at the end.", "file": "lesson.md", "paragraph": 1},
    ]
    # "Here is the code." is the importer's sentence: like a typed one, it names no file.
    assert code.narration_sources == [{"sentence": "Here is the code."}]


def test_pdf_import_stores_each_sentence_with_its_page_and_paragraph(alice, course, tmp_path):
    pdf = write_text_pdf(
        tmp_path / "cells.pdf",
        [["Cells and energy", "", "Every cell needs energy. Plants get it from light."],
         ["Mitochondria", "", "Mitochondria make ATP."]],
    )  # fmt: skip

    scenes = import_scenes(course=course, owner=alice, source=pdf, kind=ImportKind.PDF)

    assert_one_source_per_sentence(scenes)
    assert scenes[0].narration_sources == [
        {"sentence": "Cells and energy.", "file": "cells.pdf", "page": 1, "paragraph": 1},
        {"sentence": "Every cell needs energy.", "file": "cells.pdf", "page": 1, "paragraph": 2},
        {"sentence": "Plants get it from light.", "file": "cells.pdf", "page": 1, "paragraph": 2},
    ]
    assert scenes[1].narration_sources[-1] == {
        "sentence": "Mitochondria make ATP.", "file": "cells.pdf", "page": 2, "paragraph": 2,
    }  # fmt: skip


def test_pptx_import_stores_each_sentence_with_its_slide_and_notes_line(alice, course, tmp_path):
    deck = write_pptx(tmp_path / "photo.pptx")

    scenes = import_scenes(course=course, owner=alice, source=deck, kind=ImportKind.PPTX)

    assert_one_source_per_sentence(scenes)
    assert scenes[1].narration_sources == [
        {"sentence": "A leaf needs three things.", "file": "photo.pptx", "slide": 2,
         "paragraph": 1},
        {"sentence": "First, it needs light.", "file": "photo.pptx", "slide": 2, "paragraph": 1},
        {"sentence": "It also needs water and carbon dioxide.", "file": "photo.pptx", "slide": 2,
         "paragraph": 2},
    ]  # fmt: skip


def test_a_sentence_without_a_file_survives_the_review_page_round_trip():
    scene = ImportedScene(
        kind="code",
        narration="Here is the code.",
        sources=(SourceRef("", sentence="Here is the code."),),
    )

    restored = ImportedScene.from_json(scene.as_json())

    assert restored == scene
    assert restored.as_json()["sources"] == [{"sentence": "Here is the code."}]
