"""Run one render job end to end: storyboard from the database, render, publish, record.

Outputs are rendered into a temporary folder under MEDIA_ROOT/renders/, which is renamed
to renders/<job id>/ in one step once complete; `RenderJob.output_dir` is saved last, so
a job that points at outputs always has all of them.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import RenderJob, RenderStatus
from courses.progress import RenderProgressRecorder, render_job_broadcast
from synthesis.errors import RenderCancelled, SynthesisError
from synthesis.storyboard import RenderSettings, VoiceSettings

logger = logging.getLogger(__name__)

RENDERS_DIR = "renders"
VIDEO_NAME = "lesson.mp4"


def render_settings_for(job: RenderJob) -> RenderSettings:
    """Size and quality from the job; device and voices from the site settings."""
    return RenderSettings(
        width_px=job.width_px,
        height_px=job.height_px,
        fps=job.fps,
        quality=job.quality,
        device=settings.LECTERN_DEVICE,
        voice=VoiceSettings(engines=tuple(settings.LECTERN_TTS_ENGINES)),
    )


def render_job_run(*, job_id: int) -> str:
    """Render a queued job; returns its final status. Never raises for a failed render."""
    job = RenderJob.objects.select_related("version__lesson__course").filter(pk=job_id).first()
    if job is None:  # the row went away (its lesson was deleted) before a worker got to it
        return "missing"
    # RUNNING too: with late acknowledgement, a task whose worker died is delivered again.
    if job.status not in (RenderStatus.QUEUED, RenderStatus.RUNNING):
        return job.status
    if job.cancel_requested:
        _finish(job, RenderStatus.CANCELLED, stage="cancelled")
        return job.status
    job.status, job.stage, job.started_at = RenderStatus.RUNNING, "starting", timezone.now()
    job.save(update_fields=["status", "stage", "started_at", "updated_at"])
    render_job_broadcast(job)

    renders_root = Path(settings.MEDIA_ROOT) / RENDERS_DIR
    staging = renders_root / f".staging-{job.pk}-{uuid.uuid4().hex}"
    recorder = RenderProgressRecorder(job)
    try:
        staging.mkdir(parents=True)
        _render_into(job, staging, recorder)
    except RenderCancelled:
        _finish(job, RenderStatus.CANCELLED, stage="cancelled")
    except SynthesisError as error:
        _finish(job, RenderStatus.FAILED, stage="failed", error=str(error))
    except Exception as error:
        # Anything else is a bug, but the teacher still needs a reason and a retry button.
        logger.exception("render job %s failed unexpectedly", job.pk)
        _finish(
            job,
            RenderStatus.FAILED,
            stage="failed",
            error=_("The render stopped because of an unexpected error: %(error)s")
            % {"error": f"{type(error).__name__}: {error}"},
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return job.status


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
    )
    published = Path(settings.MEDIA_ROOT) / RENDERS_DIR / str(job.pk)
    if published.exists():  # a retried task of the same job
        shutil.rmtree(published)
    os.replace(staging, published)
    job.manifest = result.manifest_data
    job.warnings = list(dict.fromkeys([*storyboard.warnings, *result.warnings]))
    job.output_dir = f"{RENDERS_DIR}/{job.pk}"
    _finish(job, RenderStatus.SUCCEEDED, stage="done", percent=100.0)


def _finish(
    job: RenderJob, status: str, *, stage: str, error: str = "", percent: float | None = None
) -> None:
    job.status, job.stage, job.error = status, stage, error
    job.finished_at = timezone.now()
    job.eta_s = 0 if status == RenderStatus.SUCCEEDED else None
    if percent is not None:
        job.percent = percent
    job.save()
    render_job_broadcast(job)
