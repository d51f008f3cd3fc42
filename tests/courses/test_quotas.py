"""Quotas and caps: a teacher's storage, narration per scene, lesson length, zip bombs, and
the clean-up of replaced images, old pending imports and abandoned render staging."""

from __future__ import annotations

import os
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from courses import services
from courses.models import ImportStatus, PendingImport, RenderJob, RenderStatus, Scene
from courses.quotas import teacher_storage_use
from lessonimport.draft import ImportedScene, split_long_narration
from synthesis.storyboard import SourceRef
from tests.courses.conftest import finished_render, import_tasks_run_at_once
from tests.courses.documents import png_bytes

MB = 1024 * 1024


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    return settings.MEDIA_ROOT


def scene_form(scene, **changes) -> dict:
    data = {
        "kind": scene.kind, "title": scene.title, "body": scene.body, "code": scene.code,
        "code_language": scene.code_language, "math": "", "image_alt": "",
        "narration": scene.narration, "language": scene.language, "role": scene.role,
        "concepts": "",
    }  # fmt: skip
    return {**data, **changes}


def test_storage_counts_images_pending_imports_and_renders_once_each(alice, version, media):
    scene = version.scenes.get(position=1)
    scene.image = f"scenes/{version.lesson_id}/a.png"
    scene.save()
    (media / "scenes" / str(version.lesson_id)).mkdir(parents=True)
    (media / scene.image.name).write_bytes(bytes(3000))
    fork, _copies = services.lesson_version_fork(version=version, user=alice)  # shares a.png
    assert fork.scenes.exclude(image="").count() == 1
    (media / "renders" / "7").mkdir(parents=True)
    (media / "renders" / "7" / "lesson.mp4").write_bytes(bytes(5000))
    finished_render(version, alice, output_dir="renders/7")
    folder = media.parent / "var" / "pending-imports" / "p1"
    folder.mkdir(parents=True)
    (folder / "page.png").write_bytes(bytes(700))
    PendingImport.objects.create(
        owner=alice, course=version.lesson.course, kind="pdf", source_name="x.pdf", title="X",
        language="en", folder=str(folder),
    )  # fmt: skip

    use = teacher_storage_use(alice)

    assert (use.images_bytes, use.renders_bytes, use.imports_bytes) == (3000, 5000, 700)
    assert use.used_bytes == 8700


def test_teacher_home_shows_the_storage_used_of_the_quota(client, alice, course, settings):
    settings.LECTERN_TEACHER_QUOTA_MB = 2048
    client.force_login(alice)

    page = client.get(reverse("home")).content.decode()

    assert "Your storage" in page and "0\xa0bytes of 2.0\xa0GB used" in page


def test_an_import_over_the_quota_is_refused_with_a_message(client, alice, course, media, settings):
    settings.LECTERN_TEACHER_QUOTA_MB = 1
    client.force_login(alice)

    response = client.post(
        reverse("courses:lesson_import", args=[course.slug]),
        {"file": SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + bytes(2 * MB))},
    )

    assert response.status_code == 200
    assert "Your storage is full: this import needs about 2.0\xa0MB" in response.content.decode()
    assert not PendingImport.objects.exists()


@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory) -> Path:
    """The probe: a 0.8 MB zip (a lesson and 790 MB of zeros)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("lesson.md", "# Tiny\n\nPlants need light.\n")
        with archive.open("big.bin", "w", force_zip64=True) as member:
            for _ in range(790):
                member.write(bytes(MB))
    assert path.stat().st_size < MB
    return path


def test_a_small_zip_that_unpacks_to_790_mb_is_refused_quickly(
    client, alice, course, media, zip_bomb
):
    client.force_login(alice)
    started = time.monotonic()

    with import_tasks_run_at_once():
        response = client.post(
            reverse("courses:lesson_import", args=[course.slug]),
            {"file": SimpleUploadedFile("bomb.zip", zip_bomb.read_bytes())},
        )

    assert time.monotonic() - started < 10
    pending = PendingImport.objects.get()
    assert pending.status == ImportStatus.FAILED
    assert "'bomb.zip' unpacks to 790 MB; Lectern accepts at most 400 MB." in pending.error
    assert not Path(pending.folder).exists()
    page = client.get(response["Location"]).content.decode().replace("&#x27;", "'")
    assert "unpacks to 790 MB" in page


def test_an_archive_may_unpack_only_to_the_free_quota(alice, course, media, settings, tmp_path):
    settings.LECTERN_TEACHER_QUOTA_MB = 3
    archive = tmp_path / "l.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("lesson.md", "# Tiny\n\nPlants need light.\n")
        out.writestr("big.bin", bytes(5 * MB))
    upload = SimpleUploadedFile("l.zip", archive.read_bytes())
    pending = services.pending_import_start(owner=alice, course=course, upload=upload, kind="zip")

    pending = services.pending_import_run(pending_id=pending.pk)

    assert pending.status == ImportStatus.FAILED
    assert "unpacks to 5 MB; Lectern accepts at most 3 MB" in pending.error


# Narration and length caps --------------------------------------------------------------


def test_scene_form_refuses_narration_over_the_cap(client, alice, version, settings):
    settings.LECTERN_MAX_NARRATION_CHARS = 100
    scene = version.scenes.get(position=1)
    client.force_login(alice)

    response = client.post(
        reverse("courses:scene_edit", args=[scene.pk]), scene_form(scene, narration="Words. " * 30)
    )

    assert response.status_code == 200
    assert "narration has 209 characters; a scene may have at most 100" in (
        response.content.decode().replace("&#x27;", "'")
    )
    scene.refresh_from_db()
    assert len(scene.narration) < 100


def test_import_splits_a_long_narration_between_sentences_and_says_so():
    sentences = [f"Sentence number {n} is here." for n in range(10)]
    scene = ImportedScene(
        kind="image",
        title="Cells",
        image_path="pages/page-001.png",
        narration=" ".join(sentences),
        sources=tuple(SourceRef("c.pdf", page=1, sentence=s) for s in sentences),
    )

    scenes, warnings = split_long_narration((scene,), max_chars=100, source_name="c.pdf")

    assert [len(part.narration) <= 100 for part in scenes] == [True] * len(scenes)
    assert len(scenes) == 4  # three sentences of 28 characters fit in 100, four do not
    assert " ".join(part.narration for part in scenes) == scene.narration
    assert [part.title for part in scenes] == ["Cells", "Cells (2)", "Cells (3)", "Cells (4)"]
    assert all(part.image_path == scene.image_path for part in scenes)
    assert sum(len(part.sources) for part in scenes) == 10
    assert [str(warning) for warning in warnings] == [
        "Scene 1 (“Cells”) of 'c.pdf' has 269 characters of narration, more than 100; "
        "it was split into 4 scenes."
    ]


def test_render_is_refused_over_the_narration_cap_naming_the_scene(alice, version, settings):
    settings.LECTERN_MAX_NARRATION_CHARS = 50
    with pytest.raises(ValidationError) as refused:
        services.lesson_version_render_enqueue(version=version, user=alice)
    narration = version.scenes.get(position=1).narration
    expected = f"Scene 2 (“Why version control”) has {len(narration)} characters of narration"
    assert any(expected in message for message in refused.value.messages), refused.value.messages
    assert not RenderJob.objects.exists()


def test_render_is_refused_over_the_length_cap(alice, version, settings):
    Scene.objects.filter(version=version, position=1).update(narration="Long words here. " * 170)
    settings.LECTERN_MAX_LESSON_MINUTES = 2
    with pytest.raises(ValidationError) as refused:
        services.lesson_version_render_enqueue(version=version, user=alice)
    assert "a video may last at most 2 minutes" in refused.value.messages[0]
    assert not RenderJob.objects.exists()


def test_render_is_refused_when_its_output_would_pass_the_quota(alice, version, settings):
    settings.LECTERN_TEACHER_QUOTA_MB = 1
    Scene.objects.filter(version=version, position=1).update(narration="Long words here. " * 170)
    with pytest.raises(ValidationError, match="Your storage is full: this render needs"):
        services.lesson_version_render_enqueue(version=version, user=alice, size="full-hd")
    assert not RenderJob.objects.exists()


def test_render_panel_shows_the_estimate_and_the_cap(client, alice, version, settings):
    settings.LECTERN_MAX_LESSON_MINUTES = 60
    client.force_login(alice)

    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()

    assert "Estimated length: about 0:" in page
    assert "A video may last at most 60:00." in page


# Clean-up -------------------------------------------------------------------------------


def test_a_replaced_image_is_removed_unless_another_version_shares_it(
    client, alice, version, media
):
    scene = version.scenes.get(position=1)
    client.force_login(alice)
    edit = reverse("courses:scene_edit", args=[scene.pk])
    client.post(
        edit, scene_form(scene, kind="image", image=SimpleUploadedFile("a.png", png_bytes()))
    )
    scene.refresh_from_db()
    first = media / scene.image.name
    assert first.is_file()

    with_second = scene_form(scene, kind="image", image=SimpleUploadedFile("b.png", png_bytes()))
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(edit, with_second)
    scene.refresh_from_db()
    assert (media / scene.image.name).is_file()
    assert not first.exists()

    # A rendered version is frozen: the edit forks it, and the fork shares the image file.
    finished_render(version, alice)
    shared = media / scene.image.name
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(edit, scene_form(scene, kind="text", clear_image="on"))
    assert shared.is_file()  # version 1 still shows it


def test_deleting_a_scene_removes_its_image(client, alice, version, media):
    scene = version.scenes.get(position=1)
    scene.image = f"scenes/{version.lesson_id}/gone.png"
    scene.save()
    path = media / scene.image.name
    path.parent.mkdir(parents=True)
    path.write_bytes(png_bytes())
    client.force_login(alice)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(reverse("courses:scene_delete", args=[scene.pk]))

    assert not path.exists()


def test_clean_up_removes_old_pending_imports_and_abandoned_staging(alice, version, media):
    folder = media.parent / "var" / "pending-imports" / "old"
    folder.mkdir(parents=True)
    (folder / "page.png").write_bytes(bytes(10))
    old = PendingImport.objects.create(
        owner=alice, course=version.lesson.course, kind="pdf", source_name="x.pdf", title="X",
        language="en", folder=str(folder),
    )  # fmt: skip
    PendingImport.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    orphan = media.parent / "var" / "pending-imports" / "orphan"
    orphan.mkdir()
    running = RenderJob.objects.create(version=version, requested_by=alice, status="running")
    ended = RenderJob.objects.create(version=version, requested_by=alice, status="failed")
    renders = media / "renders"
    keep = renders / f".staging-{running.pk}-abc"
    gone = renders / f".staging-{ended.pk}-def"
    fresh = renders / f".staging-{ended.pk}-new"
    for staging in (keep, gone, fresh):
        staging.mkdir(parents=True)
        (staging / "lesson.mp4").write_bytes(bytes(10))
    hours_ago = time.time() - 7 * 3600
    for path in (keep, gone, orphan):
        os.utime(path, (hours_ago, hours_ago))

    done = services.storage_clean_up()

    assert done == {"pending_imports": 1, "folders": 1, "staging": 1}
    assert not PendingImport.objects.exists() and not folder.exists() and not orphan.exists()
    assert keep.is_dir() and fresh.is_dir() and not gone.exists()
    assert RenderJob.objects.get(pk=running.pk).status == RenderStatus.RUNNING
