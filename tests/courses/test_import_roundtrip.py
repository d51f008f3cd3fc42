"""One import path: a lesson read from its files, stored as rows and rebuilt is the same lesson.

Each corpus lesson goes through the importer package into a pending import, becomes rows
(`pending_import_confirm`) and a storyboard again (`storyboard_from_version`); that
storyboard must equal the one `synthesis.markdown` reads straight from the folder. Images
are compared by content: stored images are the teacher's, re-encoded.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from courses import services
from courses.messages import message_text
from courses.models import ImportKind
from courses.storyboards import storyboard_from_version
from lessonimport.draft import ImportedScene
from synthesis import storyboard as sb
from synthesis.markdown import import_lesson_folder
from synthesis.messages import Message
from tests.corpus import copy_corpus_lesson
from tests.courses.documents import png_bytes, write_image_pdf, write_pptx, write_text_pdf

CORPUS = Path(__file__).parents[1] / "fixtures" / "corpus"
CORPUS_LESSONS = sorted(path.name for path in CORPUS.iterdir() if (path / "lesson.md").is_file())
PACKAGE = Path(__file__).parents[2] / "lessonimport"


@pytest.fixture(autouse=True)
def private_folders(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    # Splitting long narration is a change the import announces; it is not under test here.
    settings.LECTERN_MAX_NARRATION_CHARS = 10**6


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _with_image_digest(scene: sb.Scene, digest: str | None) -> sb.Scene:
    return dataclasses.replace(scene, visual=dataclasses.replace(scene.visual, image_path=digest))


def _stored(storyboard: sb.Storyboard) -> list[sb.Scene]:
    """The rebuilt scenes, each image named by the digest of the stored file."""
    return [
        _with_image_digest(
            scene,
            _digest(Path(scene.visual.image_path).read_bytes())
            if scene.visual.image_path
            else None,
        )
        for scene in storyboard.scenes
    ]


def _stored_version(alice, course, source: Path, kind: str):
    pending = services.pending_import_create(owner=alice, course=course, source=source, kind=kind)
    drafts = services.pending_import_scenes(pending)
    folder = Path(pending.folder)
    digests = [
        _digest((folder / draft.image_path).read_bytes()) if draft.image_path else None
        for draft in drafts
    ]
    lesson = services.pending_import_confirm(pending=pending, user=alice)
    return lesson.latest_version, drafts, digests


@pytest.mark.parametrize("name", CORPUS_LESSONS)
def test_a_corpus_lesson_stored_and_rebuilt_is_the_storyboard_read_from_its_folder(
    name, alice, course, tmp_path
):
    folder = copy_corpus_lesson(name, tmp_path)
    direct = import_lesson_folder(folder)

    version, _drafts, _digests = _stored_version(alice, course, folder, ImportKind.FOLDER)
    rebuilt = storyboard_from_version(version)

    expected = [
        _with_image_digest(
            scene,
            _digest(services.image_reencoded(Path(scene.visual.image_path)).data)
            if scene.visual.image_path
            else None,
        )
        for scene in direct.scenes
    ]
    assert len(rebuilt.scenes) == len(expected)
    for got, want in zip(_stored(rebuilt), expected, strict=True):
        assert got == want, want.id
    assert (rebuilt.title, rebuilt.language, rebuilt.attribution) == (
        direct.title,
        direct.language,
        direct.attribution,
    )
    assert rebuilt.warnings == ()
    # What the old path dropped is in every corpus lesson: sentences the importer wrote
    # (sources without a file), which the manifest pairs with sentences by position.
    assert any(not ref.file and ref.sentence for scene in expected for ref in scene.sources)
    assert any(scene.visual.image_path for scene in expected)


def _expected_from_draft(draft: ImportedScene, number: int, digest: str | None) -> sb.Scene:
    """What a reviewed draft should render as (an image slide draws no bullets)."""
    kind = draft.kind
    visual = sb.Visual(
        kind,  # type: ignore[arg-type]
        title=draft.title,
        subtitle=draft.subtitle,
        bullets=draft.bullets if kind in ("text",) else (),
        code=draft.code,
        code_language=draft.code_language,
        math=draft.math if kind == "text" else (),
        image_path=digest,
        alt=draft.image_alt if kind in ("image", "text") else "",
    )
    return sb.Scene(
        id=f"s{number:02d}",
        visual=visual,
        narration=draft.narration,
        language=draft.language,
        concepts=draft.concepts,
        role=draft.role,  # type: ignore[arg-type]
        sources=draft.sources,
    )


@pytest.mark.parametrize("kind", [ImportKind.PDF, ImportKind.PPTX])
def test_a_pdf_and_a_pptx_stored_and_rebuilt_keep_every_field_of_their_drafts(
    kind, alice, course, tmp_path
):
    if kind == ImportKind.PDF:
        source = write_text_pdf(
            tmp_path / "cells.pdf", [["Cells", "Cells need energy."], ["Leaves", "Leaves."]]
        )
    else:
        source = write_pptx(tmp_path / "photo.pptx")

    version, drafts, digests = _stored_version(alice, course, source, kind)
    rebuilt = storyboard_from_version(version)

    expected = [
        _expected_from_draft(draft, number, digest)
        for number, (draft, digest) in enumerate(zip(drafts, digests, strict=True), 1)
    ]
    assert _stored(rebuilt) == expected
    sources = [ref for scene in expected for ref in scene.sources]
    assert sources and all(ref.file == source.name and ref.sentence for ref in sources)
    assert any(scene.visual.image_path for scene in expected)


def test_a_markdown_image_keeps_its_caption_as_subtitle_through_the_rows(alice, course, tmp_path):
    folder = tmp_path / "cell"
    folder.mkdir()
    (folder / "cell.png").write_bytes(png_bytes())
    (folder / "lesson.md").write_text(
        "# Cells\n\n![Figure 1: the cell wall](cell.png){alt='A plant cell'}\n\n"
        "The wall keeps the cell in shape.\n",
        "utf-8",
    )
    direct = import_lesson_folder(folder)
    image = next(scene for scene in direct.scenes if scene.visual.kind == "image")
    assert image.visual.subtitle == "Figure 1: the cell wall"

    version, _drafts, _digests = _stored_version(alice, course, folder, ImportKind.FOLDER)

    rebuilt = next(s for s in storyboard_from_version(version).scenes if s.visual.kind == "image")
    assert rebuilt.visual.subtitle == "Figure 1: the cell wall"
    assert rebuilt.visual.alt == "A plant cell"


def test_import_warnings_are_stored_as_messages_and_shown_in_the_teacher_language(
    client, alice, course, tmp_path
):
    source = write_image_pdf(tmp_path / "scan.pdf", pages=1)
    pending = services.pending_import_create(
        owner=alice, course=course, source=source, kind=ImportKind.PDF
    )

    assert pending.warnings == [
        {
            "message": "Page %(number)s of '%(name)s' has no text (a scanned page?); "
            "its narration is empty, type it in the editor.",
            "params": {"number": 1, "name": "scan.pdf"},
        }
    ]
    with translation.override("zh-hans"):
        shown = message_text(pending.warnings[0])
    assert shown == "“scan.pdf”的第 1 页没有文字（是扫描页吗？）；它的旁白为空，请在编辑器中输入。"
    alice.language = "zh-hans"
    alice.save()
    client.force_login(alice)
    page = client.get(reverse("courses:import_review", args=[pending.pk]))
    assert shown in page.content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")


def test_a_plain_string_warning_from_an_older_row_is_shown_as_it_is():
    assert message_text("scene 2: image 'a.png' not found") == "scene 2: image 'a.png' not found"
    nested = Message("scene %(number)s: %(problem)s", number=2, problem=Message("x %(y)s", y=1))
    assert message_text(nested.as_json()) == str(nested) == "scene 2: x 1"


def test_the_importer_package_imports_nothing_from_django():
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in ("django", "courses"), f"{path.name}: {name}"
