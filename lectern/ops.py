"""/ops/: the operations page for staff (site administrators).

Queue depth (messages waiting in Redis for each Celery queue, and those taken but not yet
acknowledged), running render jobs with their worker and heartbeat, recent failures with
their reasons, and render speed (seconds of video made per second of wall time, from the
statistics in recent manifests).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from courses.models import ImportStatus, PendingImport, RenderJob, RenderStatus
from courses.progress import render_job_worker_gone
from lectern.health import broker_redis_client

RECENT_FAILURES = 20
SPEED_SAMPLE = 20
# Kombu keeps a queue's messages of priority 0 under its own name and other priorities
# under "<queue>\x06\x16<priority>" (its default priority steps).
_PRIORITY_SUFFIXES = ("", *(f"\x06\x16{step}" for step in (3, 6, 9)))


@dataclass(frozen=True)
class QueueDepth:
    name: str
    waiting: int | None  # None: the broker did not answer


@dataclass(frozen=True)
class RenderSpeed:
    jobs: int
    video_s: float
    wall_s: float

    @property
    def factor(self) -> float | None:
        """Seconds of video per second of wall time over the sample."""
        return self.video_s / self.wall_s if self.wall_s > 0 else None


def queue_depths() -> tuple[list[QueueDepth], int | None, str]:
    """Messages waiting in each queue, messages taken but unacknowledged, and the broker's
    error ("" when it answered)."""
    names = list(dict.fromkeys(["celery", settings.LECTERN_RENDER_QUEUE]))
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    client = broker_redis_client(settings.CELERY_BROKER_URL)
    try:
        depths = [
            QueueDepth(name, sum(client.llen(f"{prefix}{name}{s}") for s in _PRIORITY_SUFFIXES))
            for name in names
        ]
        unacked = client.hlen(f"{prefix}unacked")
    except (redis.RedisError, OSError) as error:
        return [QueueDepth(name, None) for name in names], None, str(error)
    finally:
        client.close()
    return depths, unacked, ""


def render_speed(jobs: list[RenderJob]) -> RenderSpeed:
    """Video seconds over wall seconds of finished renders; a manifest's own wall time
    (statistics.wall_s) when it has one, else the job's start to finish."""
    video_s = wall_s = 0.0
    counted = 0
    for job in jobs:
        duration_s = (job.manifest or {}).get("duration_s")
        statistics = (job.manifest or {}).get("statistics") or {}
        job_wall_s = statistics.get("wall_s")
        if job_wall_s is None and job.started_at and job.finished_at:
            job_wall_s = (job.finished_at - job.started_at).total_seconds()
        if not duration_s or not job_wall_s:
            continue
        video_s += float(duration_s)
        wall_s += float(job_wall_s)
        counted += 1
    return RenderSpeed(jobs=counted, video_s=video_s, wall_s=wall_s)


def _heartbeat_age_s(job: RenderJob, now: datetime) -> float | None:
    last = job.heartbeat_at or job.updated_at
    return None if last is None else (now - last).total_seconds()


@never_cache
def operations(request):
    """The operations page; staff only (anyone else signed in gets 403)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.is_staff:
        raise PermissionDenied
    now = timezone.now()
    depths, unacked, broker_error = queue_depths()
    jobs = RenderJob.objects.select_related("version__lesson__course", "requested_by")
    running = [
        {
            "job": job,
            "heartbeat_age_s": _heartbeat_age_s(job, now),
            "worker_gone": render_job_worker_gone(job, now=now),
        }
        for job in jobs.filter(status=RenderStatus.RUNNING).order_by("started_at")
    ]
    queued = jobs.filter(status=RenderStatus.QUEUED).count()
    failures = list(
        jobs.filter(status=RenderStatus.FAILED).order_by("-finished_at")[:RECENT_FAILURES]
    )
    failed_imports = list(
        PendingImport.objects.select_related("owner")
        .filter(status=ImportStatus.FAILED)
        .order_by("-updated_at")[:RECENT_FAILURES]
    )
    succeeded = list(
        RenderJob.objects.filter(status=RenderStatus.SUCCEEDED)
        .order_by("-finished_at")
        .only("manifest", "started_at", "finished_at")[:SPEED_SAMPLE]
    )
    return render(
        request,
        "ops/operations.html",
        {
            "queues": depths,
            "unacked": unacked,
            "broker_error": broker_error,
            "running": running,
            "queued_jobs": queued,
            "failures": failures,
            "failed_imports": failed_imports,
            "speed": render_speed(succeeded),
        },
    )
