"""What the learning app does when other apps tell it something happened."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def prepare_class_variants_on_publish(sender, *, version, **kwargs) -> None:
    """A lesson the policy adapts was published: its students' variants are prepared in the
    background now, so each student's video starts at once (the worker's periodic pass
    would come later)."""
    from learning.tasks import lesson_class_variants_prepare

    if not version.scenes.filter(concepts__isnull=False).exists():
        return
    try:
        lesson_class_variants_prepare.delay(version.lesson_id)
    except Exception:  # the broker is away: the worker's periodic pass asks for them later
        logger.exception("lesson %s: could not send the class variants task", version.lesson_id)
