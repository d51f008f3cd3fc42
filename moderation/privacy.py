"""Everything Lectern stores about a student: export it (JSON in a zip) and delete it.

What is stored about a student (the README's "Security and privacy" section lists it):
the account (username, display name, optional e-mail and names, language, caption
preference, sign-up and last sign-in times), class memberships, learning events, progress,
answers and mastery estimates per concept (learning app), reports they made, sign-in
attempts (django-axes: username, address, browser, time) and their sessions. Students upload
no files, and personalized videos are made of shared segments, not files of their own; the
zip has a media/ folder for when a student's own file exists.

Deleting removes the learning rows, memberships, sign-in records and sessions, deletes the
user row, and anonymises their reports (the reporter and the note are cleared; the reason
stays for the moderators' record). Audit entries name students by id only.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from learning.models import CheckpointAnswer, LearningEvent, LessonProgress, Mastery
from moderation.audit import audit_record
from moderation.models import AuditAction, AuditEntry, Report

EXPORT_FORMAT = 1


def _time(value) -> str | None:
    return value.isoformat() if value else None


def student_for_privacy(username: str) -> User:
    """The student with this username; a clear error for anyone else (staff, teachers)."""
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError(_("No user is called “%(name)s”.") % {"name": username})
    if not user.is_student or user.is_staff:
        raise ValidationError(
            _("“%(name)s” is not a student; only students' data is exported or deleted here.")
            % {"name": username}
        )
    return user


def _user_sessions(user: User) -> list[Session]:
    """The stored sessions signed in as this user (decoded one by one: Django keeps no index)."""
    return [
        session
        for session in Session.objects.filter(expire_date__gte=timezone.now())
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]


def student_data(user: User) -> dict:
    """Everything stored about the student, as plain JSON-ready data."""
    memberships = Membership.objects.filter(student=user).select_related("classroom__teacher")
    events = LearningEvent.objects.filter(student=user).select_related("lesson").order_by("id")
    progress = LessonProgress.objects.filter(student=user).select_related("lesson")
    answers = CheckpointAnswer.objects.filter(student=user).select_related(
        "checkpoint", "choice", "lesson"
    )
    reports = Report.objects.filter(reporter=user).select_related("lesson")
    mastery = Mastery.objects.filter(student=user).select_related("concept").order_by("concept")
    sign_ins = AccessLog.objects.filter(username=user.username).order_by("attempt_time")
    failures = AccessFailureLog.objects.filter(username=user.username).order_by("attempt_time")
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "account": {
            "id": user.pk,
            "username": user.username,
            "display_name": user.display_name,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "role": user.role,
            "language": user.language,
            "captions_enabled": user.captions_enabled,
            "captions_size": user.captions_size,
            "date_joined": _time(user.date_joined),
            "last_login": _time(user.last_login),
            "is_active": user.is_active,
        },
        "memberships": [
            {
                "class": m.classroom.name,
                "teacher": str(m.classroom.teacher),
                "joined_at": _time(m.joined_at),
            }
            for m in memberships
        ],
        "learning_events": [
            {
                "lesson": e.lesson.title,
                "lesson_id": e.lesson_id,
                "version_id": e.version_id,
                "kind": e.kind,
                "payload": e.payload,
                "occurred_at": _time(e.occurred_at),
                "received_at": _time(e.received_at),
            }
            for e in events
        ],
        "progress": [
            {
                "lesson": p.lesson.title,
                "lesson_id": p.lesson_id,
                "watched_fraction": p.watched_fraction,
                "watched_intervals": p.watched_intervals,
                "position_s": p.position_s,
                "attempt": p.attempt,
                "score": p.score,
                "completed_at": _time(p.completed_at),
                "updated_at": _time(p.updated_at),
            }
            for p in progress
        ],
        "answers": [
            {
                "lesson": a.lesson.title,
                "question": a.checkpoint.prompt,
                "answer": a.choice.text,
                "correct": a.is_correct,
                "attempt": a.attempt,
                "answered_at": _time(a.answered_at),
            }
            for a in answers
        ],
        "mastery": [
            {
                "concept": m.concept.name,
                "p_known": m.p_known,
                "answers": m.answers,
                "updated_at": _time(m.updated_at),
            }
            for m in mastery
        ],
        "reports": [
            {
                "lesson": r.lesson.title,
                "reason": r.reason,
                "note": r.note,
                "created_at": _time(r.created_at),
                "resolution": r.resolution,
            }
            for r in reports
        ],
        "sign_ins": [
            {"at": _time(a.attempt_time), "address": a.ip_address, "browser": a.user_agent}
            for a in sign_ins
        ],
        "failed_sign_ins": [
            {"at": _time(a.attempt_time), "address": a.ip_address, "browser": a.user_agent}
            for a in failures
        ],
        "staff_views_of_this_data": [
            {"at": _time(entry.created_at), "who": entry.actor_name, "what": entry.detail}
            for entry in AuditEntry.objects.filter(action=AuditAction.VIEW_STUDENT_DATA)
            if user.pk in entry.subject_ids
        ],
    }


def student_data_export(*, user: User, out: Path, actor=None) -> Path:
    """Write the student's data to a zip: data.json and media/ (empty: students upload no
    files yet). Logged in the audit log."""
    data = student_data(user)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("media/README.txt", "Files the student uploaded or personal videos.\n")
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT_STUDENT_DATA,
        detail="export",
        target=f"student #{user.pk}",
        subject_ids=[user.pk],
    )
    return out


@dataclass(frozen=True)
class DeletionSummary:
    learning_events: int
    progress: int
    answers: int
    memberships: int
    reports_anonymised: int
    sign_in_records: int
    sessions: int


def student_delete(*, user: User, actor=None) -> DeletionSummary:
    """Remove the student's personal data from every table and delete the account."""
    with transaction.atomic():
        pk, username = user.pk, user.username
        answers, _rows = CheckpointAnswer.objects.filter(student=user).delete()
        progress, _rows = LessonProgress.objects.filter(student=user).delete()
        events, _rows = LearningEvent.objects.filter(student=user).delete()
        memberships, _rows = Membership.objects.filter(student=user).delete()
        reports = Report.objects.filter(reporter=user).update(reporter=None, note="")
        sign_ins = sum(
            model.objects.filter(username=username).delete()[0]
            for model in (AccessAttempt, AccessFailureLog, AccessLog)
        )
        sessions = _user_sessions(user)
        for session in sessions:
            session.delete()
        user.delete()
        audit_record(
            actor=actor,
            action=AuditAction.DELETE_STUDENT,
            detail="delete",
            target=f"student #{pk}",
            subject_ids=[pk],
        )
    return DeletionSummary(
        learning_events=events,
        progress=progress,
        answers=answers,
        memberships=memberships,
        reports_anonymised=reports,
        sign_in_records=sign_ins,
        sessions=len(sessions),
    )
