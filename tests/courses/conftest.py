"""Fixtures for the studio tests: alice's course, a lesson with three scenes, a finished render."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace

import pytest
from django.urls import reverse

from courses import services
from courses.models import RenderJob, RenderStatus, Scene
from courses.rendering import render_settings_for
from courses.storyboards import storyboard_from_version
from synthesis.render import render
from synthesis.storyboard import VoiceSettings


@pytest.fixture
def course(alice):
    return services.course_create(owner=alice, title="Version control", slug="git")


@pytest.fixture
def version(course, alice):
    """Version 1 of a lesson: a title card, a bullet slide and a code slide."""
    lesson = services.lesson_create(course=course, title="Git basics", created_by=alice)
    version = lesson.versions.get()
    Scene.objects.create(version=version, position=0, kind="title", title="Git basics")
    Scene.objects.create(
        version=version,
        position=1,
        kind="text",
        title="Why version control",
        body="Keep history\nWork together\nUndo mistakes",
        narration="Version control keeps the history of a project. It lets people work together.",
        narration_sources=[
            {"sentence": "Version control keeps the history of a project.", "file": "lesson.md",
             "paragraph": 2},
            {"sentence": "It lets people work together.", "file": "lesson.md", "paragraph": 3},
        ],
    )  # fmt: skip
    Scene.objects.create(
        version=version,
        position=2,
        kind="code",
        title="First commit",
        code="git commit -m 'first'",
        code_language="bash",
        narration="A commit records a snapshot.",
    )
    return version


def finished_render(version, user, *, output_dir: str = "") -> RenderJob:
    """A render job row that finished (no files unless output_dir is given)."""
    return RenderJob.objects.create(
        version=version,
        requested_by=user,
        status=RenderStatus.SUCCEEDED,
        percent=100,
        output_dir=output_dir,
        manifest={"duration_s": 12.5},
    )


@contextlib.contextmanager
def import_tasks_run_at_once() -> Iterator[None]:
    """Within it, the import task a request queues runs (Celery eager) when the request's
    transaction commits, as a worker would run it, before the response returns."""
    from django.test import TestCase, override_settings

    # The Celery app reads CELERY_* from Django's settings at each use.
    with (
        override_settings(CELERY_TASK_ALWAYS_EAGER=True),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        yield


def post_scene_image(client, scene, upload, *, image_alt: str = ""):
    """The scene editor's form, posted with an image upload that makes the scene an image."""
    return client.post(
        reverse("courses:scene_edit", args=[scene.pk]),
        {
            "kind": "image", "title": "Picture", "body": "", "code": "", "code_language": "",
            "math": "", "image_alt": image_alt, "narration": "Words.", "language": "en",
            "role": "core", "concepts": "", "image": upload,
        },
    )  # fmt: skip


@pytest.fixture
def rendered_job(settings, tmp_path, version, alice):
    """A real (tiny, espeak) render of the three-scene version, as a finished job."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    job = RenderJob.objects.create(
        version=version, requested_by=alice, status=RenderStatus.SUCCEEDED,
        width_px=128, height_px=72, fps=10, quality="draft",
    )  # fmt: skip
    render_settings = replace(
        render_settings_for(job), device="cpu", voice=VoiceSettings(engines=("espeak",))
    )
    assert render_settings.burn_captions is False  # web renders: captions are a track
    out = settings.MEDIA_ROOT / "renders" / str(job.pk) / "lesson.mp4"
    result = render(
        storyboard_from_version(version),
        out,
        settings=render_settings,
        cache_dir=settings.LECTERN_CACHE_DIR,
    )
    job.output_dir = f"renders/{job.pk}"
    job.manifest = result.manifest_data
    job.save()
    return job
