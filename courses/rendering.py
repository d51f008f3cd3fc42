"""Run one render job end to end: claim, storyboard from the database, render, publish, record.

Outputs are rendered into a temporary folder under MEDIA_ROOT/renders/, which is renamed
to renders/<job id>/ in one step once complete; with media in a bucket (courses.storage)
each finished file is then uploaded under its final name. `RenderJob.output_dir` is saved
last, so a job that points at outputs always has all of them.

The job id is the render key: a task may be delivered more than once (it is acknowledged
late and requeued when its worker dies, and the reaper may send it again), so each
delivery first claims the job, and only the claiming attempt renders and records it.

A failure that may pass (every speech engine of a language failed while speaking) does not
fail the job while the task has retries left: the job goes back to the queue with the stage
"waiting to retry" and the reason, and the task raises RenderRetry so that it is sent again
after a growing delay (courses/tasks.py).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import uuid
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from courses import storage
from courses.fair_share import render_job_over_share
from courses.messages import messages_json
from courses.models import LessonVersion, RenderJob, RenderStatus, VersionStatus
from courses.playlists import segment_store
from courses.progress import (
    RenderHeartbeat,
    RenderProgressRecorder,
    owned_rows,
    render_job_broadcast,
    render_job_worker_gone,
    worker_identity,
)
from courses.voices import version_voice_settings
from synthesis.errors import RenderCancelled, SynthesisError, TransientSpeechError
from synthesis.storyboard import RenderSettings

logger = logging.getLogger(__name__)

# What render_job_run answers for a job over its teacher's fair share: it stays queued.
RENDER_WAITING = "waiting"

RENDERS_DIR = "renders"
VIDEO_NAME = "lesson.mp4"
RETRY_STAGE = "waiting to retry"


class RenderRetry(Exception):
    """A render stopped by a failure that may pass; its job is queued again, and the task
    must be sent again later. The message is the reason, as the job's `error` shows it."""


def render_settings_for(job: RenderJob) -> RenderSettings:
    """Size and quality from the job, the voice from its version, the device from the site."""
    return RenderSettings(
        width_px=job.width_px,
        height_px=job.height_px,
        fps=job.fps,
        quality=job.quality,
        burn_captions=False,  # the player shows the WebVTT track (the viewer's setting)
        device=settings.LECTERN_DEVICE,
        voice=version_voice_settings(job.version),
    )


def render_job_run(*, job_id: int, can_retry: bool = False, ignore_share: bool = False) -> str:
    """Render a queued job; returns its final status. Never raises for a failed render.

    Safe to deliver twice: only the delivery that claims the job renders it, and a job that
    is finished, or rendering in a live worker, is left alone. With can_retry, a failure that
    may pass queues the job again and raises RenderRetry instead of failing it. A job over
    its teacher's fair share (courses.fair_share) is not claimed: "waiting" (send it again).
    """
    queued = RenderJob.objects.filter(pk=job_id, status=RenderStatus.QUEUED).first()
    if queued is not None and not ignore_share and render_job_over_share(queued):
        return RENDER_WAITING
    job, outcome = render_job_claim(job_id=job_id, worker=worker_identity())
    if job is None:
        return outcome
    render_job_broadcast(job)
    renders_root = Path(settings.MEDIA_ROOT) / RENDERS_DIR
    staging = renders_root / f".staging-{job.pk}-{uuid.uuid4().hex}"
    recorder = RenderProgressRecorder(job)
    # Another connection cannot see rows of a transaction still open here (a test's).
    heartbeat = (
        nullcontext()
        if connection.in_atomic_block
        else RenderHeartbeat(job, interval_s=settings.LECTERN_RENDER_HEARTBEAT_S)
    )
    try:
        with heartbeat:
            staging.mkdir(parents=True)
            _render_into(job, staging, recorder)
    except RenderCancelled:
        _finish(job, RenderStatus.CANCELLED, stage="cancelled")
    except TransientSpeechError as error:
        if can_retry and _queue_for_retry(job, reason=str(error)):
            raise RenderRetry(str(error)) from error
        _finish(job, RenderStatus.FAILED, stage="failed", error=str(error))
    except SoftTimeLimitExceeded:
        minutes = settings.LECTERN_RENDER_SOFT_TIME_LIMIT_S // 60
        _finish(
            job,
            RenderStatus.FAILED,
            stage="failed",
            error=_(
                "The render took longer than %(minutes)d minutes and was stopped. "
                "Try a smaller video size, or split the lesson."
            )
            % {"minutes": minutes},
        )
    except SynthesisError as error:
        _finish(job, RenderStatus.FAILED, stage="failed", error=str(error))
    except Exception as error:
        # Anything else is a bug (or a full disk), but the teacher still needs a reason and
        # a retry button.
        logger.exception("render job %s failed unexpectedly", job.pk)
        _finish(job, RenderStatus.FAILED, stage="failed", error=_unexpected_error_reason(error))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return job.status


def _unexpected_error_reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return _(
            "The server's disk is full, so the video could not be written; nothing was "
            "published. Ask your administrator to free some space, then render again."
        )
    return _("The render stopped because of an unexpected error: %(error)s") % {
        "error": f"{type(error).__name__}: {error}"
    }


def _queue_for_retry(job: RenderJob, *, reason: str) -> bool:
    """Put a job this attempt owns back in the queue to be tried again; False when it no
    longer owns it, or the teacher asked to cancel.

    The attempt ended cleanly (no worker was lost), so it is not counted against
    LECTERN_RENDER_MAX_ATTEMPTS.
    """
    now = timezone.now()
    fields = {
        "status": RenderStatus.QUEUED,
        "stage": RETRY_STAGE,
        "error": reason,
        "worker": "",
        "heartbeat_at": None,
        "eta_s": None,
        "updated_at": now,
    }
    if (
        not owned_rows(job)
        .filter(cancel_requested=False)
        .update(**fields, attempts=F("attempts") - 1)
    ):
        return False
    logger.warning("render job %s: will be tried again later: %s", job.pk, reason)
    for name, value in fields.items():
        setattr(job, name, value)
    job.attempts -= 1
    render_job_broadcast(job)
    return True


def render_job_retry_abandoned(*, job_id: int, reason: str) -> str:
    """Fail a job waiting to retry whose task could not be sent again (the broker is away),
    since no delivery would ever end it; returns its status afterwards."""
    job = RenderJob.objects.filter(pk=job_id).first()
    if job is None:
        return "missing"
    as_read = RenderJob.objects.filter(
        pk=job.pk, status=RenderStatus.QUEUED, stage=RETRY_STAGE, attempts=job.attempts
    )
    return render_job_end(job, as_read, RenderStatus.FAILED, error=reason, now=timezone.now())


def render_job_claim(
    *, job_id: int, worker: str, now: datetime | None = None
) -> tuple[RenderJob | None, str]:
    """Take a job up for `worker`: (the job, now running) or (None, the status it keeps).

    The claim is one conditional UPDATE on the row as it was read (status, attempt number,
    heartbeat), so of two deliveries racing for a job exactly one wins, on any database. A
    running job is taken over only when its worker is gone; after LECTERN_RENDER_MAX_ATTEMPTS
    lost attempts the job fails with the reason instead.
    """
    now = now or timezone.now()
    job = RenderJob.objects.select_related("version__lesson__course").filter(pk=job_id).first()
    if job is None:  # the row went away (its lesson was deleted) before a worker got to it
        return None, "missing"
    if job.is_finished:
        return None, job.status
    if job.status == RenderStatus.RUNNING and not render_job_worker_gone(job, now=now):
        logger.info(
            "render job %s: already rendering in %s; this delivery does nothing", job.pk, job.worker
        )
        return None, job.status
    as_read = RenderJob.objects.filter(
        pk=job.pk, status=job.status, attempts=job.attempts, heartbeat_at=job.heartbeat_at
    )
    if job.cancel_requested:
        return None, render_job_end(job, as_read, RenderStatus.CANCELLED, now=now)
    if job.attempts >= settings.LECTERN_RENDER_MAX_ATTEMPTS:
        error = worker_stopped_reason(job.attempts)
        return None, render_job_end(job, as_read, RenderStatus.FAILED, error=error, now=now)
    claimed = as_read.update(
        status=RenderStatus.RUNNING,
        stage="starting",
        error="",  # the reason an earlier attempt gave for retrying
        attempts=F("attempts") + 1,
        worker=worker,
        heartbeat_at=now,
        started_at=now,
        updated_at=now,
    )
    if not claimed:
        logger.info("render job %s: another delivery took it up first", job.pk)
        return None, RenderJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    if job.attempts:
        logger.warning(
            "render job %s: attempt %d in %s (a worker stopped while rendering it)",
            job.pk,
            job.attempts + 1,
            worker,
        )
    render_job_remove_staging(job.pk)  # left by an attempt whose worker was killed
    job.refresh_from_db()
    return job, job.status


def worker_stopped_reason(count: int) -> str:
    return ngettext(
        "The render worker stopped %(count)d time while rendering this lesson, so it was not "
        "tried again. Ask your administrator to check the worker's log, or try a smaller size.",
        "The render worker stopped %(count)d times while rendering this lesson, so it was not "
        "tried again. Ask your administrator to check the worker's log, or try a smaller size.",
        count,
    ) % {"count": count}


def render_job_end(
    job: RenderJob, as_read: QuerySet[RenderJob], status: str, *, error: str = "", now: datetime
) -> str:
    """End a job no worker renders (cancelled or failed) if its row is still as_read.

    Returns the job's status afterwards; any staging folder a killed attempt left goes too.
    """
    stage = "cancelled" if status == RenderStatus.CANCELLED else "failed"
    fields = {"status": status, "stage": stage, "error": error, "eta_s": None}
    if as_read.update(**fields, finished_at=now, updated_at=now):
        for name, value in {**fields, "finished_at": now, "updated_at": now}.items():
            setattr(job, name, value)
        render_job_remove_staging(job.pk)
        render_job_broadcast(job)
        return status
    return RenderJob.objects.filter(pk=job.pk).values_list("status", flat=True).first() or "missing"


def render_job_remove_staging(job_id: int) -> None:
    """Remove the staging folders renders of this job left behind (a killed worker's)."""
    for folder in (Path(settings.MEDIA_ROOT) / RENDERS_DIR).glob(f".staging-{job_id}-*"):
        shutil.rmtree(folder, ignore_errors=True)


def _render_into(job: RenderJob, staging: Path, recorder: RenderProgressRecorder) -> None:
    from courses.storyboards import storyboard_from_version
    from synthesis.render import render

    storyboard = storyboard_from_version(job.version)
    result = render(
        storyboard,
        staging / VIDEO_NAME,
        settings=render_settings_for(job),
        cache_dir=Path(settings.LECTERN_CACHE_DIR),
        progress=recorder,
        should_cancel=recorder.should_cancel,
        cache_max_bytes=settings.LECTERN_CACHE_MAX_MB * 1024 * 1024,
        segment_remote=storage.segment_remote(),
    )
    now = timezone.now()
    still_ours = owned_rows(job).filter(cancel_requested=False)
    if not still_ours.update(stage="publish", heartbeat_at=now, updated_at=now):
        raise RenderCancelled("the job was cancelled or taken over before it was published")
    job.manifest = result.manifest_data  # the playlist the publish checks sign
    if LessonVersion.objects.filter(pk=job.version_id, status=VersionStatus.PUBLISHED).exists():
        # The first video of a version published before it had one (the demo lesson):
        # students see it, so it passes the publish checks and is signed first.
        from moderation.publishing import published_file_problems  # moderation imports courses

        problems = published_file_problems(job, folder=staging)
        if problems:
            raise SynthesisError(" ".join(problems))
    published = Path(settings.MEDIA_ROOT) / RENDERS_DIR / str(job.pk)
    if published.exists():  # published by an attempt whose worker stopped before recording it
        shutil.rmtree(published)
    os.replace(staging, published)
    output_dir = f"{RENDERS_DIR}/{job.pk}"
    # Media in a bucket: the segments and then every finished file go up before the job
    # points at them; the local folder stays as this worker's copy.
    try:
        segment_store().push((result.manifest_data or {}).get("segments") or ())
        storage.render_outputs_upload(published, output_dir)
    except BaseException:
        shutil.rmtree(published, ignore_errors=True)
        raise
    job.warnings = messages_json(dict.fromkeys([*storyboard.warnings, *result.warnings]))
    job.output_dir = output_dir
    if not _finish(job, RenderStatus.SUCCEEDED, stage="done", percent=100.0):
        storage.render_outputs_delete(output_dir)
        shutil.rmtree(published, ignore_errors=True)


def _finish(
    job: RenderJob, status: str, *, stage: str, error: str = "", percent: float | None = None
) -> bool:
    """Record how this attempt ended, if it still owns the job; False when it does not."""
    fields = {
        "status": status,
        "stage": stage,
        "error": error,
        "finished_at": timezone.now(),
        "eta_s": 0 if status == RenderStatus.SUCCEEDED else None,
        "percent": job.percent if percent is None else percent,
        "manifest": job.manifest,
        "warnings": job.warnings,
        "output_dir": job.output_dir if status == RenderStatus.SUCCEEDED else "",
    }
    if not owned_rows(job).update(**fields, updated_at=fields["finished_at"]):
        logger.info("render job %s: ended elsewhere; this attempt records nothing", job.pk)
        job.refresh_from_db()
        return False
    for name, value in fields.items():
        setattr(job, name, value)
    render_job_broadcast(job)
    return True
