"""Celery tasks of the learning app: the periodic fit of every course's learner model.

As with the render reaper (courses/tasks.py), no Celery beat runs: each worker, once ready,
sends the fit task now and then every LECTERN_LEARNER_FIT_INTERVAL_S from its event loop.
It also sends the task that asks for every student's variant of each published lesson (a
publish already asked for its own lesson's, learning/receivers.py; this pass catches
students who joined since and publishes whose task could not be sent). All run on the default
queue, not in the loop (DKT training takes seconds); courses with no answer newer than their
last fit are skipped, and a ready variant costs a lookup, so several workers sending them
is cheap.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

logger = logging.getLogger(__name__)


@shared_task(name="learning.tasks.learner_models_fit", ignore_result=True)
def learner_models_fit() -> int:
    """Fit the learner model of every course with new answers (EM, DKT, choice by AUC)."""
    from learning.mastery import learner_models_fit_all

    return learner_models_fit_all()


@shared_task(name="learning.tasks.class_variants_prepare", ignore_result=True)
def class_variants_prepare() -> int:
    """Request every student's variant of the published adaptive lessons (background)."""
    from learning.variants import class_variants_prepare as prepare

    return prepare()


@shared_task(name="learning.tasks.lesson_class_variants_prepare", ignore_result=True)
def lesson_class_variants_prepare(lesson_id: int) -> int:
    """Request every student's variant of one lesson, just published (background)."""
    from learning.variants import class_variants_prepare as prepare

    return prepare(lesson_ids=[lesson_id])


def send_learner_models_fit() -> None:
    try:
        learner_models_fit.delay()
        class_variants_prepare.delay()
    except Exception:  # the broker is away for a while; the next tick sends it again
        logger.exception("learner model fit: could not be sent")


@worker_ready.connect
def start_learner_model_fits(sender, **kwargs) -> None:
    send_learner_models_fit()
    sender.timer.call_repeatedly(settings.LECTERN_LEARNER_FIT_INTERVAL_S, send_learner_models_fit)


@shared_task(
    name="learning.tasks.lesson_variant_prepare",
    ignore_result=True,
    time_limit=settings.LECTERN_RENDER_TIME_LIMIT_S,  # at most a full render's encode
)
def lesson_variant_prepare(variant_id: int) -> str:
    """Encode what a student's variant lacks (only never-rendered scenes and transitions)."""
    from learning.variants import lesson_variant_prepare as prepare

    return prepare(variant_id=variant_id)
