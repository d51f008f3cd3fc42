"""The render task: a real tiny render published atomically, failures and cancels recorded."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from courses import services
from courses.models import RenderJob, RenderStatus, Scene
from courses.progress import (
    RenderHeartbeat,
    RenderProgressRecorder,
    render_job_worker_gone,
    worker_identity,
)
from courses.storyboards import storyboard_from_version
from courses.tasks import render_lesson_version
from synthesis.storyboard import Progress
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
    # Delivered again at once: no sign yet that its worker is gone, so it is left alone.
    assert render_lesson_version(job.pk) == RenderStatus.RUNNING
    # Its heartbeat went stale: this delivery takes it over.
    RenderJob.objects.filter(pk=job.pk).update(
        worker="elsewhere:1:pid:[1]", heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert render_lesson_version(job.pk) == RenderStatus.SUCCEEDED


def test_finished_and_missing_jobs_are_left_alone(tiny_version, alice, render_settings):
    job = queued_job(tiny_version, alice, status=RenderStatus.FAILED, error="earlier")
    assert render_lesson_version(job.pk) == RenderStatus.FAILED
    job.refresh_from_db()
    assert job.error == "earlier"
    assert render_lesson_version(987654) == "missing"


# Claims, heartbeats and the reaper: "running" always means a live worker is rendering.

ELSEWHERE = "another-host:4242:pid:[4026531836]"  # a worker on another machine


def dead_worker() -> str:
    """The identity a process on this machine had before it exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    host, _pid, namespace = worker_identity().split(":", 2)
    return f"{host}:{process.pid}:{namespace}"


def test_a_delivery_while_a_live_worker_renders_the_job_does_nothing(
    tiny_version, alice, render_settings
):
    job = queued_job(
        tiny_version, alice, status=RenderStatus.RUNNING, attempts=1,
        worker=worker_identity(), heartbeat_at=timezone.now(),
    )  # fmt: skip
    assert render_lesson_version(job.pk) == RenderStatus.RUNNING
    job.refresh_from_db()
    assert (job.status, job.attempts, job.output_dir) == ("running", 1, "")
    assert not (render_settings.MEDIA_ROOT / "renders").exists()


def test_a_job_whose_worker_process_died_is_taken_over_and_its_staging_removed(
    tiny_version, alice, render_settings
):
    # The heartbeat is fresh, but the process it names is gone from this machine.
    job = queued_job(
        tiny_version, alice, status=RenderStatus.RUNNING, attempts=1,
        worker=dead_worker(), heartbeat_at=timezone.now(),
    )  # fmt: skip
    leftover = render_settings.MEDIA_ROOT / "renders" / f".staging-{job.pk}-killed"
    leftover.mkdir(parents=True)
    (leftover / "lesson.mp4").write_bytes(b"half a video")

    assert render_lesson_version(job.pk) == RenderStatus.SUCCEEDED

    job.refresh_from_db()
    assert (job.attempts, job.worker) == (2, worker_identity())
    assert [p.name for p in (render_settings.MEDIA_ROOT / "renders").iterdir()] == [str(job.pk)]


def test_a_job_whose_worker_stopped_too_often_fails_with_the_reason(
    tiny_version, alice, render_settings
):
    render_settings.LECTERN_RENDER_MAX_ATTEMPTS = 3
    job = queued_job(
        tiny_version, alice, status=RenderStatus.RUNNING, attempts=3, worker=ELSEWHERE,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )  # fmt: skip
    assert render_lesson_version(job.pk) == RenderStatus.FAILED
    job.refresh_from_db()
    assert job.attempts == 3 and job.finished_at is not None
    assert "stopped 3 times while rendering this lesson" in job.error
    assert not (render_settings.MEDIA_ROOT / "renders").exists()


def test_worker_gone_needs_a_stale_heartbeat_or_a_dead_process(tiny_version, alice, settings):
    settings.LECTERN_RENDER_STALE_S = 60
    now = timezone.now()
    job = queued_job(
        tiny_version, alice, status=RenderStatus.RUNNING, attempts=1, worker=ELSEWHERE,
        heartbeat_at=now,
    )  # fmt: skip
    assert not render_job_worker_gone(job, now=now + timedelta(seconds=59))
    assert render_job_worker_gone(job, now=now + timedelta(seconds=61))
    job.worker = worker_identity()  # alive: this process
    assert not render_job_worker_gone(job, now=now)
    job.worker = dead_worker()
    assert render_job_worker_gone(job, now=now)
    job.status = RenderStatus.QUEUED
    assert not render_job_worker_gone(job, now=now + timedelta(hours=1))


def test_reaper_requeues_fails_or_cancels_only_jobs_whose_heartbeat_is_stale(
    tiny_version, alice, settings, monkeypatch
):
    settings.LECTERN_RENDER_STALE_S = 60
    settings.LECTERN_RENDER_MAX_ATTEMPTS = 3
    t0 = timezone.now()

    def running(attempts: int, heartbeat_at, **fields) -> RenderJob:
        return queued_job(
            tiny_version, alice, status=RenderStatus.RUNNING, stage="speech", worker=ELSEWHERE,
            attempts=attempts, heartbeat_at=heartbeat_at, **fields,
        )  # fmt: skip

    alive = running(1, t0 + timedelta(seconds=25))
    lost = running(1, t0)
    worn = running(3, t0)
    stopped = running(1, t0, cancel_requested=True)
    sent: list[int] = []
    monkeypatch.setattr(services, "_send_render_task", sent.append)

    assert services.render_jobs_reap(now=t0 + timedelta(seconds=59)) == {}
    assert services.render_jobs_reap(now=t0 + timedelta(seconds=61)) == {
        lost.pk: "requeued", worn.pk: "failed", stopped.pk: "cancelled",
    }  # fmt: skip
    assert services.render_jobs_reap(now=t0 + timedelta(seconds=61)) == {}

    assert sent == [lost.pk]
    for job in (alive, lost, worn, stopped):
        job.refresh_from_db()
    assert (alive.status, alive.attempts) == ("running", 1)
    assert (lost.status, lost.stage, lost.worker, lost.heartbeat_at) == (
        "queued",
        "requeued",
        "",
        None,
    )
    assert worn.status == "failed" and "stopped 3 times" in worn.error
    assert stopped.status == "cancelled" and stopped.finished_at is not None
    # The requeued job renders when its task arrives, as its second attempt.
    assert render_lesson_version(lost.pk) == RenderStatus.SUCCEEDED
    lost.refresh_from_db()
    assert lost.attempts == 2


def test_cancel_ends_a_running_job_whose_worker_is_gone_at_once(
    tiny_version, alice, render_settings
):
    job = queued_job(
        tiny_version, alice, status=RenderStatus.RUNNING, attempts=1, worker=ELSEWHERE,
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )  # fmt: skip
    job = services.render_job_cancel(job=job, user=alice)
    job.refresh_from_db()
    assert (job.status, job.stage, job.cancel_requested) == ("cancelled", "cancelled", True)
    assert job.finished_at is not None


def test_cancel_of_a_live_render_only_asks_it_to_stop(tiny_version, alice, render_settings):
    job = queued_job(
        tiny_version, alice, status=RenderStatus.RUNNING, attempts=1,
        worker=worker_identity(), heartbeat_at=timezone.now(),
    )  # fmt: skip
    services.render_job_cancel(job=job, user=alice)
    job.refresh_from_db()
    assert (job.status, job.cancel_requested, job.finished_at) == ("running", True, None)


def test_an_attempt_that_lost_its_job_writes_nothing_and_stops(tiny_version, alice, settings):
    job = queued_job(
        tiny_version, alice, status=RenderStatus.RUNNING, attempts=1, stage="speech",
        worker=worker_identity(), heartbeat_at=timezone.now(),
    )  # fmt: skip
    recorder = RenderProgressRecorder(job, clock=iter(range(100, 10_000, 10)).__next__)
    recorder(Progress(stage="frames", scene_index=1, scene_count=2, percent=40.0))
    assert not recorder.should_cancel()
    RenderJob.objects.filter(pk=job.pk).update(attempts=2, percent=5.0)  # taken over

    recorder(Progress(stage="encode", scene_index=2, scene_count=2, percent=90.0))

    row = RenderJob.objects.get(pk=job.pk)
    assert (row.stage, row.percent) == ("frames", 5.0)
    assert recorder.should_cancel()


def test_heartbeat_thread_keeps_writing_while_the_render_is_silent(
    alice, transactional_db, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    course = services.course_create(owner=alice, title="Beat", slug="beat")
    version = services.lesson_create(course=course, title="Beat", created_by=alice).versions.get()
    old = timezone.now() - timedelta(minutes=1)
    job = queued_job(
        version, alice, status=RenderStatus.RUNNING, attempts=1, worker=worker_identity(),
        heartbeat_at=old,
    )  # fmt: skip
    with RenderHeartbeat(job, interval_s=0.05):
        deadline = time.monotonic() + 10
        while RenderJob.objects.get(pk=job.pk).heartbeat_at == old:
            assert time.monotonic() < deadline, "no heartbeat written"
            time.sleep(0.05)
    assert RenderJob.objects.get(pk=job.pk).heartbeat_at > old


def test_render_time_limits_stay_below_the_broker_visibility_timeout(settings):
    from lectern.celery import app

    visibility_s = app.conf.broker_transport_options["visibility_timeout"]
    assert visibility_s == settings.LECTERN_BROKER_VISIBILITY_TIMEOUT_S
    assert render_lesson_version.soft_time_limit < render_lesson_version.time_limit < visibility_s
    assert render_lesson_version.acks_late and render_lesson_version.reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1


def test_a_render_over_its_soft_time_limit_fails_with_the_reason(
    tiny_version, alice, render_settings, monkeypatch
):
    from celery.exceptions import SoftTimeLimitExceeded

    from courses import rendering

    def too_slow(job, staging, recorder):
        (staging / "lesson.mp4").write_bytes(b"half")
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(rendering, "_render_into", too_slow)
    job = queued_job(tiny_version, alice)
    assert render_lesson_version(job.pk) == RenderStatus.FAILED
    job.refresh_from_db()
    minutes = render_settings.LECTERN_RENDER_SOFT_TIME_LIMIT_S // 60
    assert f"longer than {minutes} minutes" in job.error and job.output_dir == ""
    assert not any((render_settings.MEDIA_ROOT / "renders").iterdir())
