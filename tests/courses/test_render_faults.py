"""Render jobs against real worker processes that are killed: "running" always means running.

Each test starts its own `celery -A lectern worker` on a private render queue, with a short
heartbeat (0.5 s) and stale threshold (3 s), renders a tiny lesson whose narration is new
(so no cached segment makes the render instant), and kills processes with SIGKILL.
Outputs go to the session's media folder, so whichever worker renders a job, the checks
look at the same files.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from accounts.management.commands import run_lectern
from courses import services
from courses.models import RenderJob, RenderStatus, Scene
from courses.progress import render_job_worker_gone
from tests.conftest import REPO_ROOT, SESSION_DIR, WorkerProcess, subprocess_env
from tests.courses.test_tasks import ffprobe_duration_s

STALE_S = 3.0


def wait_for(condition: Callable[[], object], *, timeout_s: float, what: str, log=None):
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = "\n".join(worker.log_tail() for worker in log or [])
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}\n{tail}")
        time.sleep(0.05)


@pytest.fixture
def fault_env(settings, django_db_blocker) -> dict[str, str]:
    """Environment of this test's workers; the test process sends to the same queue."""
    queue = f"render-faults-{uuid.uuid4().hex[:8]}"
    settings.LECTERN_RENDER_QUEUE = queue
    settings.LECTERN_RENDER_STALE_S = STALE_S
    with django_db_blocker.unblock():
        env = subprocess_env()
    env.update(
        LECTERN_RENDER_QUEUE=queue,
        LECTERN_RENDER_HEARTBEAT_S="0.5",
        LECTERN_RENDER_STALE_S=str(STALE_S),
        LECTERN_TTS_ENGINES="espeak",  # Piper takes seconds to load in each new process
        LECTERN_DEVICE="cpu",
    )
    return env


@pytest.fixture
def start_worker(fault_env) -> Iterator[Callable[..., WorkerProcess]]:
    """Start workers on this test's queue; every one still running is stopped afterwards."""
    from lectern.celery import app as celery_app

    started: list[WorkerProcess] = []

    def start(*, concurrency: int = 1) -> WorkerProcess:
        name = f"faults-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        nodename = f"{name}@{socket.gethostname()}"
        log_path = SESSION_DIR / f"{name}.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "lectern", "worker",
                    "-Q", fault_env["LECTERN_RENDER_QUEUE"], "--concurrency", str(concurrency),
                    "-n", nodename, "--without-gossip", "--without-mingle",
                    "--loglevel", "INFO",
                ],
                cwd=REPO_ROOT, env=fault_env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        worker = WorkerProcess(process=process, nodename=nodename, log_path=log_path)
        started.append(worker)
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(destination=[nodename], timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the Celery worker did not start:\n{worker.log_tail()}")
        return worker

    yield start
    for worker in started:  # its pool processes die with it
        worker.process.kill()
        worker.process.wait()


@pytest.fixture
def lesson_version(alice, transactional_db):
    """Two short scenes whose narration no other render has cached."""
    course = services.course_create(owner=alice, title="Faults", slug="faults")
    lesson = services.lesson_create(course=course, title="Faults", created_by=alice)
    version = lesson.versions.get()
    token = uuid.uuid4().hex[:6]
    Scene.objects.create(
        version=version, position=0, kind="title", title=f"Run {token}",
        narration=f"This is run {token}. It tests a worker that dies.",
    )  # fmt: skip
    Scene.objects.create(
        version=version, position=1, kind="text", title="Plants", body="Light\nWater",
        narration=f"Plants need light and water to grow, says run {token}.",
    )  # fmt: skip
    return version


def enqueue(version, user) -> RenderJob:
    return services.lesson_version_render_enqueue(
        version=version, user=user, size="tiny", quality="draft"
    )


def job_row(job: RenderJob) -> RenderJob:
    return RenderJob.objects.get(pk=job.pk)


def worker_pid(job: RenderJob) -> int:
    return int(job.worker.split(":")[1])


def renders_dir() -> Path:
    return Path(django_settings.MEDIA_ROOT) / "renders"


def staging_folders(job: RenderJob) -> list[Path]:
    return sorted(renders_dir().glob(f".staging-{job.pk}-*"))


def running_attempt(job: RenderJob, attempt: int, workers) -> RenderJob:
    """Wait until `attempt` renders the job and has made its staging folder; the row then."""

    def rendering():
        row = job_row(job)
        ready = row.status == RenderStatus.RUNNING and row.attempts == attempt
        return row if ready and staging_folders(job) else None

    return wait_for(rendering, timeout_s=60, what=f"attempt {attempt} to render", log=workers)


def finished(job: RenderJob, workers, timeout_s: float = 90) -> RenderJob:
    return wait_for(
        lambda: (row := job_row(job)).is_finished and row,
        timeout_s=timeout_s, what=f"render job {job.pk} to finish", log=workers,
    )  # fmt: skip


def assert_published_once(job: RenderJob) -> None:
    """One complete, playable output in renders/<id>/ and nothing half-made beside it."""
    assert job.output_dir == f"renders/{job.pk}"
    video = renders_dir() / str(job.pk) / "lesson.mp4"
    assert abs(ffprobe_duration_s(video) - job.manifest["duration_s"]) < 0.2
    assert staging_folders(job) == []


pytestmark = pytest.mark.services


def test_killing_the_pool_process_mid_render_renders_the_job_again_once(
    lesson_version, alice, start_worker
):
    worker = start_worker()
    job = enqueue(lesson_version, alice)
    first = running_attempt(job, 1, [worker])

    os.kill(worker_pid(first), signal.SIGKILL)

    done = finished(job, [worker])
    assert (done.status, done.attempts, done.error) == ("succeeded", 2, ""), worker.log_tail()
    assert worker_pid(done) != worker_pid(first)
    assert_published_once(done)
    assert worker.process.poll() is None  # the worker itself carried on


def test_a_job_whose_whole_worker_was_killed_runs_on_a_new_worker_soon(
    lesson_version, alice, start_worker
):
    first_worker = start_worker()
    job = enqueue(lesson_version, alice)
    running_attempt(job, 1, [first_worker])
    started = time.monotonic()

    # The main process: its pool process dies with it, and its message stays unacknowledged
    # until the broker's visibility timeout (an hour); only the reaper can bring it back.
    os.kill(first_worker.process.pid, signal.SIGKILL)
    first_worker.process.wait()
    second_worker = start_worker()

    done = finished(job, [first_worker, second_worker])
    assert (done.status, done.attempts) == ("succeeded", 2), second_worker.log_tail()
    assert time.monotonic() - started < 60
    assert_published_once(done)


def test_a_job_that_kills_its_worker_every_time_fails_with_the_reason(
    lesson_version, alice, start_worker
):
    worker = start_worker()
    job = enqueue(lesson_version, alice)
    for attempt in range(1, django_settings.LECTERN_RENDER_MAX_ATTEMPTS + 1):
        os.kill(worker_pid(running_attempt(job, attempt, [worker])), signal.SIGKILL)

    done = finished(job, [worker])
    assert done.status == "failed", worker.log_tail()
    assert "stopped 3 times while rendering this lesson" in done.error
    assert (done.attempts, done.output_dir) == (3, "")
    assert staging_folders(job) == [] and not (renders_dir() / str(job.pk)).exists()
    # The lesson is free again: it can be rendered or deleted.
    services.lesson_delete(lesson=lesson_version.lesson, user=alice)


def test_the_same_job_delivered_twice_at_once_renders_once(lesson_version, alice, start_worker):
    worker = start_worker(concurrency=2)
    job = enqueue(lesson_version, alice)
    services._send_render_task(job.pk)  # a second delivery of the same job, at the same time

    done = finished(job, [worker])
    assert (done.status, done.attempts) == ("succeeded", 1), worker.log_tail()
    wait_for(
        lambda: "this delivery does nothing" in worker.log_path.read_text()
        or "another delivery took it up first" in worker.log_path.read_text(),
        timeout_s=30, what="the second delivery to give up", log=[worker],
    )  # fmt: skip
    assert_published_once(done)


def test_cancel_ends_a_job_whose_worker_was_killed_at_once(lesson_version, alice, start_worker):
    worker = start_worker()
    job = enqueue(lesson_version, alice)
    rendering = running_attempt(job, 1, [worker])
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait()
    # The kernel kills the pool process when its parent dies, a moment later.
    wait_for(
        lambda: render_job_worker_gone(rendering), timeout_s=10,
        what="the pool process to die with its parent",
    )  # fmt: skip

    services.render_job_cancel(job=job, user=alice)

    row = job_row(job)
    assert (row.status, row.stage) == ("cancelled", "cancelled")
    assert staging_folders(job) == []
    services.lesson_delete(lesson=lesson_version.lesson, user=alice)


# run_lectern's supervisor, with real processes standing in for the worker and web server.


def sleeper() -> subprocess.Popen:
    return subprocess.Popen(["sleep", "60"])


def test_run_lectern_starts_a_crashed_worker_again_with_a_growing_delay(caplog):
    worker = run_lectern.Child("Celery worker", sleeper(), start=sleeper, started_at=0.0)
    web = run_lectern.Child("web server", sleeper(), started_at=0.0)
    first_pid = worker.process.pid
    try:
        worker.process.kill()
        worker.process.wait()
        run_lectern.supervise_once([worker, web], now=10.0)  # up for 10 s, then crashed
        assert worker.restart_at == 11.0 and worker.process.pid == first_pid
        run_lectern.supervise_once([worker, web], now=10.5)
        assert worker.process.pid == first_pid  # still waiting
        run_lectern.supervise_once([worker, web], now=11.0)
        assert worker.process.pid != first_pid and worker.process.poll() is None

        worker.process.kill()
        worker.process.wait()
        run_lectern.supervise_once([worker, web], now=12.0)  # crashed again a second later
        assert worker.restart_at == 14.0
        assert "Celery worker exited with status -9; starting it again in 2 s" in caplog.text

        web.process.kill()
        web.process.wait()
        with pytest.raises(run_lectern.CommandError, match="web server exited"):
            run_lectern.supervise_once([worker, web], now=100.0)
    finally:
        for child in (worker, web):
            child.process.kill()
            child.process.wait()


def test_run_lectern_restart_delay_starts_over_after_a_stable_minute():
    assert [run_lectern.restart_delay_s(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    child = run_lectern.Child("Celery worker", sleeper(), start=sleeper, started_at=0.0)
    child.crashes = 5
    try:
        child.process.kill()
        child.process.wait()
        run_lectern.supervise_once([child], now=run_lectern.STABLE_AFTER_S + 1.0)
        assert child.crashes == 1
    finally:
        child.process.kill()
        child.process.wait()
