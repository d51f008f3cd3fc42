"""The audit log: one call per thing worth answering for later (a moderation step, a publish,
a takedown, a view or export of students' data), and its CSV export for admins.

Entries are only ever added (`AuditEntry.save` refuses updates, the admin has no change or
delete). A student is named by id only, never by name, so deleting a student leaves no
personal data here while the log still says what was done.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

from moderation.models import AuditAction, AuditEntry


def _name(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    if getattr(user, "is_student", False):
        return f"student #{user.pk}"
    return user.get_username()


def audit_record(
    *,
    actor,
    action: str,
    detail: str = "",
    target: str = "",
    subject_ids: Iterable[int] = (),
    request=None,
    note: str = "",
) -> AuditEntry:
    """Add one entry: who (None: the system), what, about what, which students' data."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=_name(actor),
        action=action,
        detail=detail[:40],
        target=target[:200],
        subject_ids=sorted({int(pk) for pk in subject_ids}),
        path=request.get_full_path()[:300] if request is not None else "",
        note=note,
    )


def audit_student_data_view(*, request, what: str, target: str, students: Iterable) -> None:
    """Staff or a teacher looked at (or downloaded) these students' data."""
    audit_record(
        actor=request.user,
        action=AuditAction.VIEW_STUDENT_DATA,
        detail=what,
        target=target,
        subject_ids=[getattr(student, "pk", student) for student in students],
        request=request,
    )


def audit_unlabelled_export(*, staff, source: str, output: str) -> AuditEntry:
    """A staff user asked for a video without the visible AI-generated opening label."""
    return audit_record(
        actor=staff,
        action=AuditAction.UNLABELLED_EXPORT,
        detail="render_lesson --unlabelled",
        target=source,
        note=f"source: {source}\noutput: {output}",
    )


CSV_HEADER = ["when", "who", "action", "detail", "about", "students", "address", "note"]


def audit_csv_write(entries: Iterable[AuditEntry], out: IO[str]) -> None:
    """The entries as CSV (UTC times, ISO 8601), one row each."""
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for entry in entries:
        writer.writerow(
            [
                entry.created_at.isoformat(),
                entry.actor_name,
                entry.action,
                entry.detail,
                entry.target,
                " ".join(str(pk) for pk in entry.subject_ids),
                entry.path,
                entry.note,
            ]
        )
