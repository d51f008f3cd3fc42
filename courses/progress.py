"""Render progress: stored on the RenderJob row, and pushed to the job's channel group.

The row is the truth (a page that connects late, or reloads, reads it); the group
message only saves the page from polling. Writes are throttled so a fast pipeline
cannot flood the database or the browser.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone
from redis.exceptions import RedisError

from courses.models import RenderJob
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
        job.updated_at = timezone.now()
        RenderJob.objects.filter(pk=job.pk).update(
            stage=job.stage,
            scene_index=job.scene_index,
            scene_count=job.scene_count,
            percent=job.percent,
            eta_s=job.eta_s,
            updated_at=job.updated_at,
        )
        render_job_broadcast(job)

    def should_cancel(self) -> bool:
        now = self.clock()
        if not self._cancelled and now - self._last_cancel_check >= CANCEL_CHECK_INTERVAL_S:
            self._last_cancel_check = now
            self._cancelled = RenderJob.objects.filter(
                pk=self.job.pk, cancel_requested=True
            ).exists()
        return self._cancelled
