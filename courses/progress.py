"""Render progress: stored on the RenderJob row, and pushed to the job's channel group.

The row is the truth (a page that connects late, or reloads, reads it); the group
message only saves the page from polling. Writes are throttled so a fast pipeline
cannot flood the database or the browser.

The row also says whether its worker is alive: the rendering process writes
`heartbeat_at` every few seconds (from a thread, so a long step with no progress event
still counts) and names itself in `worker`. Every write of a running render is made only
while this attempt still owns the job (status running, same attempt number), so a worker
that lost the job to a take-over, a reaper or a cancel changes nothing and stops.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import QuerySet
from django.utils import timezone
from redis.exceptions import RedisError

from courses.models import RenderJob, RenderStatus
from courses.selectors import render_job_payload
from synthesis.storyboard import Progress

logger = logging.getLogger(__name__)

# At most about four progress writes per second, and a cancel check every half second.
MIN_WRITE_INTERVAL_S = 0.25
CANCEL_CHECK_INTERVAL_S = 0.5
PROGRESS_MESSAGE_TYPE = "render.progress"


def render_job_broadcast(job: RenderJob) -> None:
    """Send the job's stored state to everyone watching it; a broker hiccup is only logged."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": PROGRESS_MESSAGE_TYPE, "payload": render_job_payload(job)}
    try:
        async_to_sync(layer.group_send)(job.group_name, message)
    except (OSError, RedisError) as error:
        # The row already holds this state; pages fall back to polling the status URL.
        logger.warning("render job %s: progress not pushed (%s)", job.pk, error)


def worker_identity() -> str:
    """ "host:pid:pid-namespace" of this process, as stored in RenderJob.worker."""
    return f"{socket.gethostname()}:{os.getpid()}:{_pid_namespace()}"


def _pid_namespace() -> str:
    # Two containers may share a host name but never a pid namespace.
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a killed process its parent has not reaped yet still answers kill(0)
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def render_job_worker_gone(job: RenderJob, *, now: datetime | None = None) -> bool:
    """True when a running job's worker has stopped: no sign of life (heartbeat, or progress
    for a job taken up before heartbeats) for LECTERN_RENDER_STALE_S, or its process, on
    this machine, no longer exists."""
    if job.status != RenderStatus.RUNNING:
        return False
    now = now or timezone.now()
    last_sign = job.heartbeat_at or job.updated_at
    if last_sign is None or now - last_sign > timedelta(seconds=settings.LECTERN_RENDER_STALE_S):
        return True
    host, pid, namespace = (job.worker.split(":", 2) + ["", ""])[:3]
    same_machine = host == socket.gethostname() and namespace == _pid_namespace()
    return same_machine and pid.isdigit() and _process_is_gone(int(pid))


def owned_rows(job: RenderJob) -> QuerySet[RenderJob]:
    """The job's row while this attempt still owns it (running, and not taken over since)."""
    return RenderJob.objects.filter(pk=job.pk, status=RenderStatus.RUNNING, attempts=job.attempts)


class RenderHeartbeat:
    """Writes the job's `heartbeat_at` every interval_s from a thread while a render runs.

    A thread rather than the progress callback: an encode step can run for minutes without
    a progress event. A write that fails is logged and tried again next time.
    """

    def __init__(self, job: RenderJob, *, interval_s: float) -> None:
        self.job = job
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"render-heartbeat-{job.pk}", daemon=True
        )

    def __enter__(self) -> RenderHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 30)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval_s):
                now = timezone.now()
                try:
                    owned_rows(self.job).update(heartbeat_at=now, updated_at=now)
                except DatabaseError as error:
                    logger.warning("render job %s: heartbeat not written (%s)", self.job.pk, error)
        finally:
            connection.close()  # this thread's own connection


class RenderProgressRecorder:
    """The `progress` and `should_cancel` callbacks handed to `synthesis.render.render`."""

    def __init__(self, job: RenderJob, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.job = job
        self.clock = clock
        self._last_write = float("-inf")
        self._last_stage = job.stage
        self._last_cancel_check = float("-inf")
        self._cancelled = False

    def __call__(self, progress: Progress) -> None:
        now = self.clock()
        stage_changed = progress.stage != self._last_stage
        if not stage_changed and now - self._last_write < MIN_WRITE_INTERVAL_S:
            return
        self._last_write, self._last_stage = now, progress.stage
        job = self.job
        job.stage = progress.stage[:40]
        job.scene_index = progress.scene_index
        job.scene_count = progress.scene_count
        job.percent = max(0.0, min(progress.percent, 100.0))
        job.eta_s = progress.eta_s
        job.updated_at = job.heartbeat_at = timezone.now()
        written = owned_rows(job).update(
            stage=job.stage,
            scene_index=job.scene_index,
            scene_count=job.scene_count,
            percent=job.percent,
            eta_s=job.eta_s,
            updated_at=job.updated_at,
            heartbeat_at=job.heartbeat_at,
        )
        if written:
            render_job_broadcast(job)

    def should_cancel(self) -> bool:
        """True once the teacher cancelled, or once this attempt no longer owns the job."""
        now = self.clock()
        if not self._cancelled and now - self._last_cancel_check >= CANCEL_CHECK_INTERVAL_S:
            self._last_cancel_check = now
            self._cancelled = not owned_rows(self.job).filter(cancel_requested=False).exists()
        return self._cancelled
