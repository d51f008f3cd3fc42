"""Celery tasks of the courses app; routed to the `render` queue by CELERY_TASK_ROUTES."""

from celery import shared_task

from courses.rendering import render_job_run


@shared_task(name="courses.tasks.render_lesson_version", ignore_result=True)
def render_lesson_version(job_id: int) -> str:
    """Render the lesson version of one RenderJob, reporting progress on its row."""
    return render_job_run(job_id=job_id)
