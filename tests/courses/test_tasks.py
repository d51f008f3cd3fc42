"""The render task: a real tiny render published atomically, failures and cancels recorded."""

from __future__ import annotations

import json
import subprocess

import pytest
from django.core.files.base import ContentFile

from courses import services
from courses.models import RenderJob, RenderStatus, Scene
from courses.storyboards import storyboard_from_version
from courses.tasks import render_lesson_version
from tests.courses.documents import png_bytes


@pytest.fixture
def render_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    settings.LECTERN_TTS_ENGINES = ["piper", "espeak"]
    settings.LECTERN_DEVICE = "cpu"
    return settings


@pytest.fixture
def tiny_version(alice, render_settings):
    course = services.course_create(owner=alice, title="Tiny", slug="tiny")
    lesson = services.lesson_create(course=course, title="Two scenes", created_by=alice)
    version = lesson.versions.get()
    Scene.objects.create(version=version, position=0, kind="title", title="Two scenes",
                         narration="Hello.")  # fmt: skip
    Scene.objects.create(version=version, position=1, kind="text", title="Plants",
                         body="Light\nWater", narration="Plants need light and water.")  # fmt: skip
    return version


def queued_job(version, user, **fields) -> RenderJob:
    return RenderJob.objects.create(
        version=version, requested_by=user, width_px=256, height_px=144, fps=12,
        quality="draft", scene_count=version.scenes.count(), **fields,
    )  # fmt: skip


def ffprobe_duration_s(path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(json.loads(out.stdout)["format"]["duration"])


def test_task_renders_publishes_and_records_the_outputs(tiny_version, alice, render_settings):
    job = queued_job(tiny_version, alice)
    assert render_lesson_version(job.pk) == RenderStatus.SUCCEEDED
    job.refresh_from_db()
    assert (job.status, job.percent, job.stage, job.error) == ("succeeded", 100.0, "done", "")
    published = render_settings.MEDIA_ROOT / job.output_dir
    assert job.output_dir == f"renders/{job.pk}"
    names = {path.name for path in published.iterdir()}
    assert {"lesson.mp4", "lesson.vtt", "lesson.chapters.vtt", "lesson.json"} <= names
    assert abs(ffprobe_duration_s(published / "lesson.mp4") - job.manifest["duration_s"]) < 0.2
    assert "Plants need light and water." in (published / "lesson.vtt").read_text()
    # Nothing half-made is left beside the published folder.
    assert [p.name for p in (render_settings.MEDIA_ROOT / "renders").iterdir()] == [str(job.pk)]


def test_a_second_render_reuses_unchanged_scenes(tiny_version, alice, render_settings):
    first = queued_job(tiny_version, alice)
    render_lesson_version(first.pk)
    scene = tiny_version.scenes.get(position=1)
    services.scene_update(
        scene=scene, user=alice, kind="text", title="Plants", body="Light\nWater", code="",
        code_language="", math=[], image=None, clear_image=False, image_alt="",
        narration="Plants need light.", language="en", role="core", concept_names=[],
    )  # fmt: skip
    fork = tiny_version.lesson.latest_version
    second = queued_job(fork, alice)
    render_lesson_version(second.pk)
    second.refresh_from_db()
    cache = second.manifest["statistics"]["cache"]
    assert second.status == "succeeded"
    # The title card did not change, so its segment came from the cache; scene 2 is new.
    assert (cache["scene_hits"], cache["scene_misses"]) == (1, 1)


def test_failure_stores_a_reason_and_publishes_nothing(tiny_version, alice, render_settings):
    render_settings.LECTERN_TTS_ENGINES = ["no-such-engine"]
    job = queued_job(tiny_version, alice)
    assert render_lesson_version(job.pk) == RenderStatus.FAILED
    job.refresh_from_db()
    assert job.status == "failed" and "scene 1" in job.error and job.output_dir == ""
    renders = render_settings.MEDIA_ROOT / "renders"
    assert not renders.exists() or not any(renders.iterdir())


def test_cancel_before_start_skips_the_render(tiny_version, alice, render_settings):
    job = queued_job(tiny_version, alice)
    services.render_job_cancel(job=job, user=alice)
    assert render_lesson_version(job.pk) == RenderStatus.CANCELLED
    assert not (render_settings.MEDIA_ROOT / "renders").exists()


def test_cancel_during_the_render_stops_it(tiny_version, alice, render_settings):
    """The cancel button is pressed after the task picked the job up."""
    from courses import rendering

    job = queued_job(tiny_version, alice)
    original = rendering.RenderProgressRecorder.should_cancel
    calls = []

    def cancel_after_first_check(recorder):
        calls.append(1)
        if len(calls) == 2:
            RenderJob.objects.filter(pk=recorder.job.pk).update(cancel_requested=True)
            recorder._last_cancel_check = float("-inf")
        return original(recorder)

    rendering.RenderProgressRecorder.should_cancel = cancel_after_first_check
    try:
        assert render_lesson_version(job.pk) == RenderStatus.CANCELLED
    finally:
        rendering.RenderProgressRecorder.should_cancel = original
    job.refresh_from_db()
    assert (job.status, job.output_dir) == ("cancelled", "")


def test_storyboard_uses_every_scene_field(tiny_version, render_settings):
    leaf = Scene(version=tiny_version, position=2, kind="image", title="Leaf", image_alt="A leaf")
    leaf.image.save("leaf.png", ContentFile(png_bytes()))
    Scene.objects.create(
        version=tiny_version, position=3, kind="image", title="Lost", image="scenes/gone.png"
    )
    storyboard = storyboard_from_version(tiny_version)
    title, text, image, lost = storyboard.scenes
    assert (title.visual.kind, title.visual.title) == ("title", "Two scenes")
    assert text.visual.bullets == ("Light", "Water")
    assert image.visual.image_path.endswith(".png") and image.visual.alt == "A leaf"
    assert lost.visual.kind == "text"
    assert storyboard.warnings == (
        "scene 4: its image (scenes/gone.png) is missing; showing a text slide instead",
    )


def test_a_job_left_running_by_a_dead_worker_is_rendered_when_delivered_again(
    tiny_version, alice, render_settings
):
    job = queued_job(tiny_version, alice, status=RenderStatus.RUNNING, stage="speech")
    assert render_lesson_version(job.pk) == RenderStatus.SUCCEEDED


def test_finished_and_missing_jobs_are_left_alone(tiny_version, alice, render_settings):
    job = queued_job(tiny_version, alice, status=RenderStatus.FAILED, error="earlier")
    assert render_lesson_version(job.pk) == RenderStatus.FAILED
    job.refresh_from_db()
    assert job.error == "earlier"
    assert render_lesson_version(987654) == "missing"
