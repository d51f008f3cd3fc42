"""LECTERN_CACHE_MAX_MB reaches the renderer: segments no render needs are evicted beyond it."""

from __future__ import annotations

import pytest

from courses import services
from courses.models import RenderJob, Scene
from courses.tasks import render_lesson_version


@pytest.fixture
def tiny_version(alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    settings.LECTERN_TTS_ENGINES = ["espeak"]
    settings.LECTERN_DEVICE = "cpu"
    course = services.course_create(owner=alice, title="Tiny", slug="tiny")
    version = services.lesson_create(course=course, title="One", created_by=alice).versions.get()
    Scene.objects.create(version=version, position=0, kind="text", title="Plants",
                         body="Light", narration="Plants need light.")  # fmt: skip
    return version


def render(version, user) -> RenderJob:
    job = RenderJob.objects.create(
        version=version, requested_by=user, width_px=128, height_px=72, fps=8, quality="draft"
    )
    render_lesson_version(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    return job


def rerender_changed(version, user) -> RenderJob:
    """Change the scene's narration (a new segment) and render the resulting draft."""
    scene = version.scenes.get()
    services.scene_update(
        scene=scene, user=user, kind="text", title="Plants", body="Light", code="",
        code_language="", math=[], image=None, clear_image=False, image_alt="",
        narration="Plants need water.", language="en", role="core", concept_names=[],
    )  # fmt: skip
    return render(version.lesson.latest_version, user)


def test_segments_beyond_the_cap_are_evicted_after_a_render(tiny_version, alice, settings):
    settings.LECTERN_CACHE_MAX_MB = 0
    render(tiny_version, alice)
    second = rerender_changed(tiny_version, alice)
    assert second.manifest["statistics"]["cache"]["evicted"] >= 1
    # What the newest render used stays, whatever the cap.
    segments = settings.LECTERN_CACHE_DIR / "segments"
    assert any(segments.glob("*.mp4"))


def test_segments_within_the_cap_are_kept(tiny_version, alice, settings):
    settings.LECTERN_CACHE_MAX_MB = 100
    render(tiny_version, alice)
    second = rerender_changed(tiny_version, alice)
    assert second.manifest["statistics"]["cache"]["evicted"] == 0
