"""Students' reports on published lessons, hiding after enough reporters, and takedowns.

- `report_create`: a student who can see a lesson reports it with a reason; once
  LECTERN_REPORTS_TO_HIDE different students have open reports on it, the lesson is hidden
  (a `LessonHold` in state hidden) until a moderator restores it or takes it down.
- `lesson_restore`: a moderator finds nothing wrong: the hold goes, the reports are closed.
- `lesson_takedown`: a moderator unpublishes at once: the published version leaves
  PUBLISHED (it becomes rejected, with the reason, so the teacher can fix and resubmit),
  the lesson keeps a hold in state taken down, which also refuses every personalized
  variant now and later (`lesson_variants_allowed`; no variants exist yet), until a
  moderator publishes a new version.
The reporter is stored for moderators; no teacher page or message names them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Lesson, LessonVersion, VersionStatus
from moderation.models import (
    HoldState,
    LessonHold,
    ReasonCode,
    Report,
    ReportReason,
    ReviewAction,
)
from moderation.selectors import lesson_is_visible_to_student, published_version
from moderation.services import _event, _set_status


def reports_to_hide() -> int:
    return max(1, int(settings.LECTERN_REPORTS_TO_HIDE))


def open_reporter_count(lesson: Lesson) -> int:
    return (
        Report.objects.filter(lesson=lesson, resolved_at__isnull=True, reporter__isnull=False)
        .values("reporter")
        .distinct()
        .count()
    )


def report_create(*, student, lesson: Lesson, reason: str, note: str = "") -> Report:
    """Store a student's report; hide the lesson once enough different students reported it.

    A student's second open report on the same lesson replaces nothing and counts once.
    """
    if reason not in ReportReason.values:
        raise ValidationError(_("Choose what is wrong with the lesson."))
    with transaction.atomic():
        Lesson.objects.select_for_update().filter(pk=lesson.pk).first()
        if not lesson_is_visible_to_student(student=student, lesson=lesson):
            raise ValidationError(_("This lesson is not available."))
        report = Report.objects.create(
            lesson=lesson,
            version=published_version(lesson),
            reporter=student,
            reason=reason,
            note=note.strip()[:1000],
        )
        if open_reporter_count(lesson) >= reports_to_hide():
            hold, created = LessonHold.objects.get_or_create(
                lesson=lesson,
                defaults={"state": HoldState.HIDDEN, "version": report.version},
            )
            if created:
                _event(action=ReviewAction.HIDE, actor=None, version=report.version)
    return report


def _resolve_reports(lesson: Lesson, moderator, resolution: str) -> int:
    return Report.objects.filter(lesson=lesson, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by=moderator, resolution=resolution
    )


def lesson_restore(*, lesson: Lesson, moderator, note: str = "") -> None:
    """A moderator looked at the reports and found nothing to act on: students see it again."""
    with transaction.atomic():
        hold = LessonHold.objects.select_for_update().filter(lesson=lesson).first()
        if hold is not None and hold.state == HoldState.TAKEN_DOWN:
            raise ValidationError(
                _("This lesson was taken down; it comes back when a new version is approved.")
            )
        if hold is not None:
            hold.delete()
        _resolve_reports(lesson, moderator, "restored")
        _event(
            action=ReviewAction.RESTORE,
            actor=moderator,
            version=published_version(lesson),
            note=note.strip(),
        )


def lesson_takedown(
    *, lesson: Lesson, moderator, reason_code: str, note: str = ""
) -> LessonVersion | None:
    """Unpublish the lesson at once; returns the version that was published, if any."""
    if reason_code not in ReasonCode.values:
        raise ValidationError(_("Choose a reason for taking the lesson down."))
    with transaction.atomic():
        Lesson.objects.select_for_update().filter(pk=lesson.pk).first()
        version = published_version(lesson)
        if version is not None:
            reason = _("Taken down by a moderator: %(reason)s") % {
                "reason": ReasonCode(reason_code).label
            }
            _set_status(
                version,
                VersionStatus.REJECTED,
                reason + (f" ({note.strip()})" if note.strip() else ""),
            )
        LessonHold.objects.update_or_create(
            lesson=lesson,
            defaults={
                "state": HoldState.TAKEN_DOWN,
                "version": version,
                "created_by": moderator,
                "note": note.strip(),
            },
        )
        _resolve_reports(lesson, moderator, "taken_down")
        _event(
            action=ReviewAction.TAKEDOWN,
            actor=moderator,
            version=version,
            reason_code=reason_code,
            note=note.strip(),
        )
    return version


def lesson_variants_allowed(lesson: Lesson) -> bool:
    """Whether personalized variants of the lesson may be made or served.

    The variant service (`learning.variants.student_variant`) asks this first: a taken-down
    or hidden lesson has no variants, so a takedown covers every variant without listing them.
    """
    return not LessonHold.objects.filter(lesson=lesson).exists()
