"""Fair sharing of the render workers between teachers.

One teacher pressing render on thirty lessons must not make every other teacher wait for
all thirty. A teacher has at most LECTERN_RENDERS_PER_TEACHER renders running at once while
another teacher's render waits in the queue: a delivery of a render over that share is put
back at the end of the queue (courses.tasks) instead of being claimed, so the next delivery
is usually someone else's. With nobody else waiting, the share does not apply and every
worker may render the same teacher's jobs.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from courses.models import RenderJob, RenderStatus
from courses.progress import render_job_worker_gone


def render_job_over_share(job: RenderJob) -> bool:
    """Whether this queued job should wait: its teacher already has their share running
    while another teacher's job is queued."""
    share = settings.LECTERN_RENDERS_PER_TEACHER
    if share <= 0 or job.status != RenderStatus.QUEUED:
        return False
    others_waiting = (
        RenderJob.objects.filter(status=RenderStatus.QUEUED)
        .exclude(requested_by=job.requested_by_id)
        .exists()
    )
    if not others_waiting:
        return False
    now = timezone.now()
    running = RenderJob.objects.filter(
        requested_by=job.requested_by_id, status=RenderStatus.RUNNING
    ).exclude(pk=job.pk)
    live = sum(1 for other in running if not render_job_worker_gone(other, now=now))
    return live >= share
