"""Celery tasks of the courses app; routed to the `render` queue by CELERY_TASK_ROUTES.

A render task is acknowledged only when it ends, and put back in the queue when its pool
process dies (reject_on_worker_lost), so a killed render runs again; the job row counts
the attempts and ends the job as failed after LECTERN_RENDER_MAX_ATTEMPTS (see
courses/rendering.py). A failure that may pass (every speech engine failed while speaking)
sends the task again after LECTERN_RENDER_RETRY_DELAY_S, doubling each time, at most
LECTERN_RENDER_RETRIES times; the job waits in the queue meanwhile. Every worker also runs
the render reaper (`render_jobs_reap`): once when it is ready and then every few seconds,
from its event loop.
Nothing else runs periodically in `make run` (no Celery beat), and a worker is where a
requeued job is needed anyway; several workers reaping at once is harmless, each change
being a conditional UPDATE.
"""

from __future__ import annotations

import logging
import os

from celery import shared_task
from celery.exceptions import Retry
from celery.signals import worker_ready
from django.conf import settings
from django.db import connection

from courses.rendering import (
    RENDER_WAITING,
    RenderRetry,
    render_job_retry_abandoned,
    render_job_run,
)

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="courses.tasks.render_lesson_version",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.LECTERN_RENDER_SOFT_TIME_LIMIT_S,
    time_limit=settings.LECTERN_RENDER_TIME_LIMIT_S,
)
def render_lesson_version(self, job_id: int) -> str:
    """Render the lesson version of one RenderJob, reporting progress on its row."""
    retries = self.request.retries or 0
    try:
        outcome = render_job_run(job_id=job_id, can_retry=retries < settings.LECTERN_RENDER_RETRIES)
    except RenderRetry as retry:
        countdown_s = render_retry_delay_s(retries)
        try:
            raise self.retry(countdown=countdown_s, max_retries=settings.LECTERN_RENDER_RETRIES)
        except Retry:
            raise  # sent: the worker logs "Retry in N s" and acknowledges this delivery
        except Exception:  # the broker is away: nothing would ever run the job again
            logger.exception("render job %s: could not be sent again", job_id)
            return render_job_retry_abandoned(job_id=job_id, reason=str(retry))
    if outcome == RENDER_WAITING:
        return render_job_send_later(self, job_id)
    return outcome


def render_job_send_later(task, job_id: int) -> str:
    """Put a job over its teacher's fair share back at the end of the queue (a new message,
    not a retry: waiting is not a failure); the job renders now if the broker is away."""
    if task.request.is_eager:  # run in place (LECTERN_CELERY_EAGER): there is no queue
        return render_job_run(job_id=job_id, ignore_share=True)
    try:
        task.apply_async(args=[job_id], countdown=settings.LECTERN_RENDER_SHARE_WAIT_S)
    except Exception:  # nothing would ever run it again: better unfair than never
        logger.exception("render job %s: could not be sent again; rendering it now", job_id)
        return render_job_run(job_id=job_id, ignore_share=True)
    return RENDER_WAITING


def render_retry_delay_s(retries: int) -> float:
    """Backoff before retry number retries + 1: the base delay, doubled each time."""
    return settings.LECTERN_RENDER_RETRY_DELAY_S * 2**retries


def reap_render_jobs() -> None:
    """One reaper sweep; a failed one is logged, and the next comes soon after."""
    from courses.services import render_jobs_reap

    try:
        render_jobs_reap()
    except Exception:  # the database or broker may be away for a while
        logger.exception("render reaper: sweep failed")
    finally:
        connection.close()  # a fresh connection each sweep survives a database restart


@worker_ready.connect
def start_render_reaper(sender, **kwargs) -> None:
    """Sweep once now, then every few seconds from the worker's event loop.

    The loop runs in the worker's main thread: a thread of its own could hold a lock (in
    SQLite, in a connection pool) just when the pool forks a new process, which would then
    hang. A few sweeps fit within the stale threshold, so a lost job waits at most about
    1.25 times it.
    """
    if os.environ.get("LECTERN_RENDER_REAPER", "1") == "0":
        return  # a worker started only for tests that must not reap others' jobs
    reap_render_jobs()
    interval_s = max(0.5, min(settings.LECTERN_RENDER_STALE_S / 4, 30))
    sender.timer.call_repeatedly(interval_s, reap_render_jobs)


# Imports and storage clean-up --------------------------------------------------------------


@shared_task(
    name="courses.tasks.import_lesson_file",
    ignore_result=True,
    soft_time_limit=settings.LECTERN_IMPORT_TIME_LIMIT_S,
    time_limit=settings.LECTERN_IMPORT_TIME_LIMIT_S + 30,
)
def import_lesson_file(pending_id: str, language: str = "", ui_language: str = "") -> str:
    """Read the upload of a pending import (on the default queue, not the render queue).

    Messages are written in the language of the page that started the import.
    """
    from celery.exceptions import SoftTimeLimitExceeded
    from django.utils import translation
    from django.utils.translation import gettext

    from courses.services import pending_import_fail, pending_import_run

    with translation.override(ui_language or settings.LANGUAGE_CODE):
        try:
            pending = pending_import_run(pending_id=pending_id, language=language)
        except SoftTimeLimitExceeded:
            minutes = settings.LECTERN_IMPORT_TIME_LIMIT_S // 60
            pending_import_fail(
                pending_id=pending_id,
                message=gettext(
                    "Reading this file took more than %(minutes)s minutes, so it was stopped. "
                    "Split it into smaller files."
                )
                % {"minutes": minutes},
            )
            return "failed"
    return pending.status if pending is not None else "gone"


def clean_up_storage() -> None:
    """One clean-up sweep (pending imports, render staging); a failed one is logged."""
    from courses.services import storage_clean_up

    try:
        storage_clean_up()
    except Exception:  # the database may be away for a while; the next sweep retries
        logger.exception("storage clean-up: sweep failed")
    finally:
        connection.close()


@worker_ready.connect
def start_storage_clean_up(sender, **kwargs) -> None:
    """Clean up once when the worker is ready, then every few minutes, from its event loop
    (as the render reaper does: no Celery beat runs in `make run`)."""
    clean_up_storage()
    sender.timer.call_repeatedly(settings.LECTERN_CLEAN_UP_INTERVAL_S, clean_up_storage)
