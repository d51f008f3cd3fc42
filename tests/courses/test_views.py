"""Studio views: who may open what (every view), and the flows teachers use."""

from __future__ import annotations

import pytest
from django.urls import reverse

from courses import services
from courses.messages import message_text
from courses.models import Checkpoint, Lesson, PendingImport, RenderJob, RenderStatus, Scene
from tests.corpus import copy_corpus_lesson
from tests.courses.conftest import finished_render, import_tasks_run_at_once
from tests.courses.documents import png_bytes, write_pptx, write_text_pdf, write_zip, zip_folder

LESSON_MD = b"---\ntitle: Tiny\n---\n\n# Tiny lesson\n\nPlants need light. They also need water.\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    return settings.MEDIA_ROOT


@pytest.fixture
def world(version, alice, media):
    """Every kind of object a studio URL can name, all belonging to alice."""
    scene = version.scenes.get(position=1)
    scene.image = "scenes/x.png"
    scene.save()
    (media / "scenes").mkdir(parents=True)
    (media / "scenes" / "x.png").write_bytes(png_bytes())
    Checkpoint.objects.create(scene=scene, prompt="?", generated=True, accepted=False)
    job = RenderJob.objects.create(
        version=version, requested_by=alice, status=RenderStatus.SUCCEEDED, output_dir="renders/1"
    )
    (media / "renders" / "1").mkdir(parents=True)
    (media / "renders" / "1" / "lesson.mp4").write_bytes(bytes(range(256)) * 4)
    pending = PendingImport.objects.create(
        owner=alice, course=version.lesson.course, kind="zip", source_name="x.zip", title="X",
        language="en", folder=str(media.parent / "pending"),
        scenes=[{"kind": "text", "title": "t"}],
    )  # fmt: skip
    return {
        "slug": version.lesson.course.slug,
        "lesson": version.lesson_id,
        "version": version.pk,
        "scene": scene.pk,
        "job": job.pk,
        "pending": pending.pk,
    }


# (url name, argument keys, method) for every studio view that names an object.
OWNED_VIEWS = [
    ("course_detail", ["slug"], "get"),
    ("course_edit", ["slug"], "get"),
    ("course_delete", ["slug"], "get"),
    ("course_delete", ["slug"], "post"),
    ("course_classrooms", ["slug"], "post"),
    ("lesson_create", ["slug"], "post"),
    ("lesson_import", ["slug"], "get"),
    ("lesson_detail", ["lesson"], "get"),
    ("lesson_edit", ["lesson"], "get"),
    ("lesson_edit", ["lesson"], "post"),
    ("lesson_delete", ["lesson"], "get"),
    ("lesson_delete", ["lesson"], "post"),
    ("version_detail", ["version"], "get"),
    ("scene_add", ["version"], "post"),
    ("checkpoints_generate", ["version"], "post"),
    ("version_render", ["version"], "post"),
    ("version_submit", ["version"], "post"),
    ("scene_edit", ["scene"], "get"),
    ("scene_move", ["scene"], "post"),
    ("scene_duplicate", ["scene"], "post"),
    ("scene_delete", ["scene"], "post"),
    ("scene_image", ["scene"], "get"),
    ("scene_narration_preview", ["scene"], "get"),
    ("checkpoint_edit", ["scene"], "get"),
    ("checkpoint_accept", ["scene"], "post"),
    ("checkpoint_delete", ["scene"], "post"),
    ("render_job_status", ["job"], "get"),
    ("render_job_cancel", ["job"], "post"),
    ("render_job_preview", ["job"], "get"),
    ("import_review", ["pending"], "get"),
    ("import_discard", ["pending"], "post"),
]


def owned_url(world, name, keys) -> str:
    return reverse(f"courses:{name}", args=[world[key] for key in keys])


@pytest.mark.parametrize("name,keys,method", OWNED_VIEWS)
def test_other_teachers_get_404(client, world, bob, name, keys, method):
    """Another teacher's course is not found: the answer does not confirm that it exists."""
    client.force_login(bob)
    response = getattr(client, method)(owned_url(world, name, keys))
    assert response.status_code == 404


@pytest.mark.parametrize("name,keys,method", OWNED_VIEWS)
def test_students_get_403(client, world, sam, name, keys, method):
    """The studio is the wrong place for a student's role: 403 before any object is looked up."""
    client.force_login(sam)
    response = getattr(client, method)(owned_url(world, name, keys))
    assert response.status_code == 403


@pytest.mark.parametrize("name,keys,method", OWNED_VIEWS)
def test_anonymous_visitors_are_sent_to_sign_in(client, world, name, keys, method):
    response = getattr(client, method)(owned_url(world, name, keys))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


# The narration preview speaks; test_narration_preview_plays_the_typed_text covers it.
PAGES = [v for v in OWNED_VIEWS if v[2] == "get" and v[0] != "scene_narration_preview"]


@pytest.mark.parametrize("name,keys,method", PAGES)
def test_owner_and_staff_can_open_every_page(client, world, alice, bob, name, keys, method):
    client.force_login(alice)
    assert client.get(owned_url(world, name, keys)).status_code in (200, 302)
    bob.is_staff = True
    bob.save()
    client.force_login(bob)
    assert client.get(owned_url(world, name, keys)).status_code in (200, 302)


def test_render_files_are_refused_to_others(client, world, bob, sam):
    url = reverse("courses:render_job_file", args=[world["job"], "video"])
    for user in (bob, sam):
        client.force_login(user)
        assert client.get(url).status_code == 404


def test_import_images_are_refused_to_others(client, world, bob):
    client.force_login(bob)
    url = reverse("courses:import_image", args=[world["pending"], 0])
    assert client.get(url).status_code == 404


def test_students_cannot_list_or_create_courses(client, sam):
    client.force_login(sam)
    assert client.get(reverse("courses:course_list")).status_code == 403
    assert client.post(reverse("courses:course_create"), {"title": "x"}).status_code == 403


# Courses ------------------------------------------------------------------------------


def test_teacher_creates_a_course(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("courses:course_create"), {"title": "Biology", "slug": "", "language": "en"}
    )
    assert response.status_code == 302
    assert alice.courses.get().slug == "biology"


def test_course_list_shows_only_own_courses(client, alice, bob, course):
    services.course_create(owner=bob, title="Bob's secret course")
    client.force_login(alice)
    page = client.get(reverse("courses:course_list")).content.decode()
    assert "Version control" in page and "secret" not in page


def test_course_can_be_given_to_own_classes_only(client, alice, bob, course):
    from accounts.models import Classroom

    mine = Classroom.objects.create(teacher=alice, name="7B")
    theirs = Classroom.objects.create(teacher=bob, name="8C")
    client.force_login(alice)
    url = reverse("courses:course_classrooms", args=[course.slug])
    client.post(url, {"classrooms": [mine.pk, theirs.pk]})
    assert list(course.classrooms.all()) == []
    client.post(url, {"classrooms": [mine.pk]})
    assert list(course.classrooms.all()) == [mine]


# Imports ------------------------------------------------------------------------------


def upload(client, course, name: str, data: bytes, *, follow: bool = False, **extra):
    """POST the import form; the worker's task runs before it returns (see conftest)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse("courses:lesson_import", args=[course.slug])
    with import_tasks_run_at_once():
        response = client.post(url, {"file": SimpleUploadedFile(name, data), **extra})
    if follow and response.status_code == 302:
        return client.get(response["Location"])
    return response


def assert_nothing_saved(media):
    """No lesson, no import to review and no file kept (a failed import keeps its message)."""
    assert not Lesson.objects.exists()
    assert not PendingImport.objects.exclude(status="failed").exists()
    pending_root = media.parent / "var" / "pending-imports"
    assert not pending_root.exists() or not any(pending_root.iterdir())


def test_zip_import_shows_every_warning_then_confirm_creates_the_lesson(
    client, alice, course, media, tmp_path, django_capture_on_commit_callbacks
):
    folder = copy_corpus_lesson("en-git-basics", tmp_path, max_blocks=12)
    archive = zip_folder(folder, tmp_path / "git.zip").read_bytes()
    client.force_login(alice)
    response = upload(client, course, "git.zip", archive)
    pending = PendingImport.objects.get()
    assert response["Location"] == reverse("courses:import_review", args=[pending.pk])
    assert not Lesson.objects.exists()

    review = client.get(response["Location"]).content.decode()
    assert pending.warnings
    for warning in pending.warnings:
        assert message_text(warning).replace("'", "&#x27;") in review
    assert "Automated Version Control" in review

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("courses:import_review", args=[pending.pk]), {"title": "Git 1"}
        )
    lesson = Lesson.objects.get()
    version = lesson.versions.get()
    assert response["Location"] == reverse("courses:version_detail", args=[version.pk])
    assert lesson.title == "Git 1"
    assert version.scenes.count() == len(pending.scenes)
    assert "Carpentries" in version.attribution
    assert version.import_report["warnings"] == pending.warnings
    images = [scene for scene in version.scenes.all() if scene.image]
    assert images and all((media / scene.image.name).is_file() for scene in images)
    assert not PendingImport.objects.exists()
    assert not (media.parent / "var" / "pending-imports" / str(pending.pk)).exists()


def test_discarding_an_import_leaves_nothing(client, alice, course, media):
    client.force_login(alice)
    upload(
        client,
        course,
        "l.zip",
        write_zip(media.parent / "l.zip", {"lesson.md": LESSON_MD}).read_bytes(),
    )
    pending = PendingImport.objects.get()
    client.post(reverse("courses:import_discard", args=[pending.pk]))
    assert_nothing_saved(media)


def test_pdf_and_pptx_uploads_reach_the_review_page(client, alice, course, media, tmp_path):
    client.force_login(alice)
    pdf = write_text_pdf(tmp_path / "cells.pdf", [["Cells", "Cells need energy."]])
    assert upload(client, course, "cells.pdf", pdf.read_bytes()).status_code == 302
    deck = write_pptx(tmp_path / "photo.pptx")
    assert upload(client, course, "photo.pptx", deck.read_bytes()).status_code == 302
    assert PendingImport.objects.count() == 2


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("notes.docx", b"PK\x03\x04whatever", "is not a file Lectern can import"),
        ("bad.zip", b"PK\x03\x04 truncated", "is not a readable zip archive"),
        ("bad.pdf", b"%PDF-1.4\nbroken", "could not be read as a PDF"),
        ("bad.pptx", b"PK\x03\x04 truncated", "is not a readable zip archive"),
        ("fake.pdf", b"hello, I am text", "named like a PDF but is not one"),
    ],
)
def test_bad_uploads_get_a_form_error_and_nothing_is_saved(
    client, alice, course, media, name, data, message
):
    client.force_login(alice)
    response = upload(client, course, name, data, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert_nothing_saved(media)


def test_zip_with_paths_outside_the_archive_gets_a_form_error(client, alice, course, media):
    archive = write_zip(media.parent / "evil.zip", {"lesson.md": LESSON_MD, "../../x.md": b"x"})
    client.force_login(alice)
    response = upload(client, course, "evil.zip", archive.read_bytes(), follow=True)
    assert "a path outside the archive" in response.content.decode()
    assert_nothing_saved(media)


def test_oversized_upload_gets_a_form_error(client, alice, course, media, settings):
    settings.LECTERN_MAX_UPLOAD_BYTES = 1000
    client.force_login(alice)
    response = upload(client, course, "big.pdf", b"%PDF-1.4\n" + bytes(5000))
    assert "“big.pdf” is larger than 1000" in response.content.decode()
    assert_nothing_saved(media)


def test_broken_pptx_gets_a_form_error(client, alice, course, media):
    archive = write_zip(media.parent / "x.pptx", {"hello.txt": b"not slides"})
    client.force_login(alice)
    response = upload(client, course, "x.pptx", archive.read_bytes(), follow=True)
    assert "could not be read as a PowerPoint presentation" in response.content.decode()
    assert_nothing_saved(media)


# The editor ---------------------------------------------------------------------------


def scene_form(scene, **changes) -> dict:
    data = {
        "kind": scene.kind,
        "title": scene.title,
        "body": scene.body,
        "code": scene.code,
        "code_language": scene.code_language,
        "math": "",
        "image_alt": scene.image_alt,
        "narration": scene.narration,
        "language": scene.language,
        "role": scene.role,
        "concepts": "",
    }
    data.update(changes)
    return data


def test_version_page_lists_scenes_with_status_and_estimate(client, alice, version):
    client.force_login(alice)
    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()
    assert "Why version control" in page and "First commit" in page
    assert 'data-testid="version-status">Draft<' in page
    assert "about 0:" in page


def test_scene_editor_shows_each_sentence_source(client, alice, version):
    client.force_login(alice)
    scene = version.scenes.get(position=1)
    page = client.get(reverse("courses:scene_edit", args=[scene.pk])).content.decode()
    assert "from lesson.md, paragraph 2" in page
    code_scene = version.scenes.get(position=2)
    page = client.get(reverse("courses:scene_edit", args=[code_scene.pk])).content.decode()
    assert "typed by hand" in page


def test_saving_a_scene_with_new_narration_marks_it_typed(client, alice, version):
    client.force_login(alice)
    scene = version.scenes.get(position=1)
    narration = "Version control keeps the history of a project. Everyone can see it."
    response = client.post(
        reverse("courses:scene_edit", args=[scene.pk]),
        scene_form(scene, narration=narration, concepts="history, commits"),
    )
    assert response.status_code == 302
    scene.refresh_from_db()
    assert scene.narration == narration
    assert scene.narration_sources[1] == {"sentence": "Everyone can see it."}
    assert sorted(c.name for c in scene.concepts.all()) == ["commits", "history"]


def test_saving_a_scene_of_a_rendered_version_goes_to_a_new_version(client, alice, version):
    finished_render(version, alice)
    client.force_login(alice)
    scene = version.scenes.get(position=1)
    response = client.post(
        reverse("courses:scene_edit", args=[scene.pk]), scene_form(scene, title="New title")
    )
    fork = version.lesson.latest_version
    assert fork.number == 2
    assert response["Location"].startswith(reverse("courses:version_detail", args=[fork.pk]))
    assert version.scenes.get(position=1).title == "Why version control"


def test_uploading_a_broken_image_is_refused(client, alice, version):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(alice)
    scene = version.scenes.get(position=1)
    data = scene_form(scene, kind="image")
    data["image"] = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\nnot really")
    response = client.post(reverse("courses:scene_edit", args=[scene.pk]), data)
    assert response.status_code == 200
    assert "photo.png" in response.content.decode()


def test_uploading_an_image_makes_an_image_scene(client, alice, version, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(alice)
    scene = version.scenes.get(position=1)
    data = scene_form(scene, kind="image", image_alt="A red box")
    data["image"] = SimpleUploadedFile("box.png", png_bytes())
    assert client.post(reverse("courses:scene_edit", args=[scene.pk]), data).status_code == 302
    scene.refresh_from_db()
    assert scene.kind == "image" and (media / scene.image.name).is_file()
    image = client.get(reverse("courses:scene_image", args=[scene.pk]))
    assert image["Content-Type"] == "image/png"
    assert "sandbox" in image["Content-Security-Policy"]


def test_move_buttons_reorder_scenes(client, alice, version):
    client.force_login(alice)
    last = version.scenes.get(position=2)
    client.post(reverse("courses:scene_move", args=[last.pk]), {"direction": "up"})
    last.refresh_from_db()
    assert last.position == 1


def test_add_duplicate_and_delete_scenes(client, alice, version):
    client.force_login(alice)
    client.post(reverse("courses:scene_add", args=[version.pk]), {"kind": "code"})
    assert version.scenes.count() == 4
    first = version.scenes.get(position=0)
    client.post(reverse("courses:scene_duplicate", args=[first.pk]))
    assert version.scenes.count() == 5
    client.post(reverse("courses:scene_delete", args=[first.pk]))
    assert version.scenes.count() == 4


def test_narration_preview_plays_the_typed_text(client, alice, version, settings, tmp_path):
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    settings.LECTERN_TTS_ENGINES = ["espeak"]
    client.force_login(alice)
    scene = version.scenes.get(position=1)
    response = client.post(
        reverse("courses:scene_narration_preview", args=[scene.pk]),
        {"narration": "Hello there. This is a preview.", "language": "en"},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert b"".join(response.streaming_content)[:4] == b"RIFF"


def test_narration_preview_of_empty_text_says_so(client, alice, version):
    client.force_login(alice)
    scene = version.scenes.get(position=0)
    response = client.post(
        reverse("courses:scene_narration_preview", args=[scene.pk]), {"narration": " "}
    )
    assert response.status_code == 400
    assert "no narration" in response.json()["error"]


# Checkpoints --------------------------------------------------------------------------


def test_checkpoint_form_saves_a_multiple_answer_question(client, alice, version):
    client.force_login(alice)
    scene = version.scenes.get(position=1)
    response = client.post(
        reverse("courses:checkpoint_edit", args=[scene.pk]),
        {
            "prompt": "What does version control give you?",
            "explanation": "Both.",
            "concepts": "history",
            "choice_1": "History",
            "correct_1": "on",
            "choice_2": "Teamwork",
            "correct_2": "on",
            "choice_3": "Free pizza",
        },
    )
    assert response.status_code == 302
    checkpoint = Checkpoint.objects.get(scene=scene)
    assert [c.is_correct for c in checkpoint.choices.all()] == [True, True, False]
    assert checkpoint.accepted and not checkpoint.generated


def test_checkpoint_form_needs_a_correct_answer(client, alice, version):
    client.force_login(alice)
    scene = version.scenes.get(position=1)
    response = client.post(
        reverse("courses:checkpoint_edit", args=[scene.pk]),
        {"prompt": "?", "choice_1": "a", "choice_2": "b"},
    )
    assert "Mark at least one answer as correct." in response.content.decode()


def test_generated_drafts_wait_for_the_teacher(client, alice, version):
    for position, term in enumerate(["commit", "branch", "merge"], start=3):
        Scene.objects.create(
            version=version, position=position, narration=f"A **{term}** is a Git idea."
        )
    client.force_login(alice)
    client.post(reverse("courses:checkpoints_generate", args=[version.pk]))
    drafts = Checkpoint.objects.filter(scene__version=version)
    assert drafts.exists()
    assert not drafts.filter(accepted=True).exists()
    scene = drafts.first().scene
    client.post(reverse("courses:checkpoint_accept", args=[scene.pk]))
    assert Checkpoint.objects.get(scene=scene).accepted


# Rendering ----------------------------------------------------------------------------


def test_render_button_queues_a_small_job(
    client, alice, version, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("courses:version_render", args=[version.pk]),
            {"size": "tiny", "quality": "draft"},
        )
    assert response.status_code == 302
    job = RenderJob.objects.get()
    assert (job.width_px, job.height_px, job.requested_by) == (256, 144, alice)
    assert len(callbacks) == 1
    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()
    assert f"/ws/render-jobs/{job.pk}/" in page


def test_status_endpoint_returns_the_stored_progress(client, alice, version):
    job = RenderJob.objects.create(
        version=version, requested_by=alice, status=RenderStatus.RUNNING, stage="speech",
        scene_index=2, scene_count=3, percent=41.26, eta_s=12.4,
    )  # fmt: skip
    client.force_login(alice)
    data = client.get(reverse("courses:render_job_status", args=[job.pk])).json()
    assert data["status"] == "running" and data["percent"] == 41.3 and data["eta_s"] == 12
    assert (data["scene_index"], data["scene_count"], data["finished"]) == (2, 3, False)


def test_video_supports_range_requests_for_seeking(client, alice, world):
    client.force_login(alice)
    url = reverse("courses:render_job_file", args=[world["job"], "video"])
    whole = client.get(url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    part = client.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206
    assert part["Content-Range"] == "bytes 10-19/1024"
    assert b"".join(part.streaming_content) == bytes(range(10, 20))
    tail = client.get(url, HTTP_RANGE="bytes=-4")
    assert b"".join(tail.streaming_content) == bytes(range(252, 256))
    assert client.get(url, HTTP_RANGE="bytes=5000-").status_code == 416


def test_missing_render_outputs_are_404(client, alice, world):
    client.force_login(alice)
    assert (
        client.get(reverse("courses:render_job_file", args=[world["job"], "captions"])).status_code
        == 404
    )
    assert (
        client.get(reverse("courses:render_job_file", args=[world["job"], "secrets"])).status_code
        == 404
    )


def test_preview_shows_video_with_captions_chapters_and_ai_badge(client, alice, world):
    client.force_login(alice)
    page = client.get(reverse("courses:render_job_preview", args=[world["job"]])).content.decode()
    assert '<track kind="captions"' in page and '<track kind="chapters"' in page
    assert "AI-generated" in page and "Download MP4" in page


def test_cancel_button_answers_json_for_the_script(client, alice, version):
    job = RenderJob.objects.create(version=version, requested_by=alice, status=RenderStatus.RUNNING)
    client.force_login(alice)
    data = client.post(
        reverse("courses:render_job_cancel", args=[job.pk]), HTTP_ACCEPT="application/json"
    ).json()
    assert data["cancel_requested"] is True


def test_submit_for_review_after_render(client, alice, version):
    finished_render(version, alice, output_dir="renders/9")
    client.force_login(alice)
    client.post(reverse("courses:version_submit", args=[version.pk]))
    version.refresh_from_db()
    assert version.status == "submitted"
    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()
    assert 'data-testid="version-status">Submitted<' in page


def test_lesson_create_starts_with_a_title_card(client, alice, course):
    client.force_login(alice)
    client.post(reverse("courses:lesson_create", args=[course.slug]), {"title": "Branches"})
    scene = Scene.objects.get(version__lesson__title="Branches")
    assert (scene.kind, scene.title) == ("title", "Branches")
