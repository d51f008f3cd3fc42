"""The Celery app; workers run `celery -A lectern worker -Q render,celery`."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lectern.settings")

app = Celery("lectern")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Log lines written while a task runs name its job (lectern/logging.py): "render-<job id>"
# for a render, "import-<pending import id>" for an import, else the task's id.
_JOB_KINDS = {
    "courses.tasks.render_lesson_version": "render",
    "courses.tasks.import_lesson_file": "import",
}
_running: dict[str, tuple] = {}


def task_job_id(task_name: str, task_id: str, args) -> str:
    kind = _JOB_KINDS.get(task_name)
    return f"{kind}-{args[0]}" if kind and args else f"task-{task_id}"


@task_prerun.connect
def _bind_task_job(task_id=None, task=None, args=None, **kwargs) -> None:
    from lectern.logging import start_job

    _running[task_id] = start_job(task_job_id(task.name, task_id, args or ()))


@task_postrun.connect
def _unbind_task_job(task_id=None, **kwargs) -> None:
    from lectern.logging import end_job

    started = _running.pop(task_id, None)
    if started is not None:
        end_job(started)
