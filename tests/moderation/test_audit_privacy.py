"""The append-only audit log (what writes it, that it refuses changes, its CSV export) and
the privacy commands: export everything about a student, delete it from every table."""

from __future__ import annotations

import json
import zipfile
from unittest.mock import ANY

import pytest
from axes.models import AccessLog
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from courses.models import Concept
from learning.models import CheckpointAnswer, LearningEvent, LessonProgress, Mastery
from moderation import reports, services
from moderation.models import AppendOnlyError, AuditEntry, Report
from tests.moderation.conftest import render_and_submit


@pytest.fixture
def admin_user(db):
    return User.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def published(version, alice, mo, classroom):
    version = render_and_submit(version, alice)
    services.review_claim(version=version, moderator=mo)
    return services.review_decide(version=version, moderator=mo, verdicts={})


@pytest.fixture
def sams_data(published, sam):
    """sam watched, answered nothing yet, reported the lesson and signed in once."""
    lesson = published.lesson
    event = LearningEvent.objects.create(
        student=sam, lesson=lesson, version=published, kind="watched",
        payload={"start_s": 0, "end_s": 4}, client_event_id="e1", occurred_at=timezone.now(),
    )  # fmt: skip
    LessonProgress.objects.create(
        student=sam, lesson=lesson, version=published, watched_fraction=0.5
    )
    reports.report_create(student=sam, lesson=lesson, reason="wrong", note="My name is Sam Lee")
    AccessLog.objects.create(username="sam", ip_address="10.0.0.7", user_agent="test")
    concept = Concept.objects.create(course=lesson.course, name="Commits", slug="commits")
    Mastery.objects.create(student=sam, concept=concept, p_known=0.42, answers=[1, 0])
    return event


def test_moderation_steps_and_publishing_are_logged(published, mo):
    details = list(AuditEntry.objects.order_by("id").values_list("detail", flat=True))
    assert details[0] == "submit" and "approve" in details and details[-1] == "publish"
    assert AuditEntry.objects.filter(action="publish", actor=mo).count() == 1


def test_entries_cannot_be_changed_or_deleted(published):
    entry = AuditEntry.objects.first()
    entry.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_bulk_changes_are_refused_too(published):
    entries = AuditEntry.objects.all()
    count = entries.count()
    for change in (
        lambda: entries.update(note="rewritten"),
        lambda: entries.delete(),
        lambda: AuditEntry.objects.bulk_update(list(entries), ["note"]),
    ):
        with pytest.raises(AppendOnlyError):
            change()
    assert AuditEntry.objects.count() == count and not entries.filter(note="rewritten")


def test_deleting_a_user_who_acted_keeps_the_entries_with_their_name(db):
    from moderation.audit import audit_record
    from tests.conftest import make_user

    visitor = make_user("vera", "teacher")
    audit_record(actor=visitor, action="view_student_data", detail="gradebook")

    visitor.delete()

    entry = AuditEntry.objects.get()
    assert (entry.actor_id, entry.actor_name, entry.detail) == (None, "vera", "gradebook")


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database trigger is PostgreSQL's"
)
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE moderation_auditentry SET note = 'rewritten'",
        "UPDATE moderation_auditentry SET actor_id = NULL, note = 'rewritten'",
        "DELETE FROM moderation_auditentry",
    ],
)
def test_the_database_refuses_changes_made_around_django(published, sql):
    from django.db import DatabaseError, transaction

    count = AuditEntry.objects.count()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEntry.objects.count() == count and not AuditEntry.objects.filter(note="rewritten")


def test_the_admin_searches_and_exports_but_cannot_change(client, published, admin_user):
    client.force_login(admin_user)
    changelist = reverse("admin:moderation_auditentry_changelist")
    assert client.get(changelist, {"q": "publish"}).status_code == 200
    entry = AuditEntry.objects.first()
    assert client.get(reverse("admin:moderation_auditentry_add")).status_code == 403
    assert (
        client.post(reverse("admin:moderation_auditentry_delete", args=[entry.pk])).status_code
        == 403
    )
    response = client.post(
        changelist,
        {"action": "export_csv", "_selected_action": [e.pk for e in AuditEntry.objects.all()]},
    )
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("when,who,action") and len(lines) == AuditEntry.objects.count() + 1


def test_gradebook_and_exports_log_a_view_of_student_data(client, published, alice, sam, classroom):
    client.force_login(alice)
    for name in ("gradebook", "gradebook_csv", "xapi"):
        assert client.get(reverse(f"learning:{name}", args=[classroom.pk])).status_code == 200
    views = AuditEntry.objects.filter(action="view_student_data", actor=alice)
    assert sorted(views.values_list("detail", flat=True)) == ["gradebook", "gradebook_csv", "xapi"]
    assert all(entry.subject_ids == [sam.pk] for entry in views)


def test_the_class_roster_and_a_lessons_reports_log_a_view_of_student_data(
    client, published, alice, mo, sam, classroom
):
    client.force_login(alice)
    assert client.get(reverse("accounts:classes")).status_code == 200
    roster = AuditEntry.objects.get(action="view_student_data", actor=alice)
    assert (roster.detail, roster.subject_ids) == ("class roster", [sam.pk])

    reports.report_create(student=sam, lesson=published.lesson, reason="wrong")
    client.force_login(mo)
    assert (
        client.get(reverse("moderation:lesson_reports", args=[published.lesson_id])).status_code
        == 200
    )
    seen = AuditEntry.objects.get(action="view_student_data", actor=mo)
    assert (seen.detail, seen.subject_ids) == ("lesson reports", [sam.pk])


def test_export_student_data_writes_everything_about_them(sams_data, sam, tmp_path, classroom):
    sam.captions_size = "large"
    sam.save(update_fields=["captions_size"])
    out = tmp_path / "sam.zip"
    call_command("export_student_data", "sam", "-o", str(out))
    with zipfile.ZipFile(out) as archive:
        data = json.loads(archive.read("data.json"))
        assert "media/README.txt" in archive.namelist()
    assert data["account"]["username"] == "sam"
    assert data["account"]["captions_size"] == "large"
    assert [m["class"] for m in data["memberships"]] == ["7B"]
    assert [e["kind"] for e in data["learning_events"]] == ["watched"]
    assert data["progress"][0]["watched_fraction"] == 0.5
    assert data["mastery"] == [
        {"concept": "Commits", "p_known": 0.42, "answers": [1, 0], "updated_at": ANY}
    ]
    assert data["reports"][0]["note"] == "My name is Sam Lee"
    assert data["sign_ins"][0]["address"] == "10.0.0.7"
    assert AuditEntry.objects.filter(action="export_student_data", subject_ids=[sam.pk]).exists()


def test_delete_student_removes_their_data_from_every_table(sams_data, sam, client):
    pk = sam.pk
    client.force_login(sam)
    call_command("delete_student", "sam")
    assert not User.objects.filter(pk=pk).exists()
    for model in (LearningEvent, LessonProgress, CheckpointAnswer, Membership, Mastery):
        assert not model.objects.filter(**{"student_id": pk}).exists()
    report = Report.objects.get()
    assert report.reporter is None and report.note == "" and report.reason == "wrong"
    assert not AccessLog.objects.filter(username="sam").exists()
    assert client.get(reverse("home")).wsgi_request.user.is_anonymous  # session gone
    # The audit log keeps what was done, naming the student by id only.
    for entry in AuditEntry.objects.all():
        assert "sam" not in f"{entry.actor_name} {entry.target} {entry.note}"


def test_the_commands_refuse_anyone_but_a_student(alice, tmp_path):
    with pytest.raises(CommandError, match="not a student"):
        call_command("delete_student", "alice")
    with pytest.raises(CommandError, match="No user"):
        call_command("export_student_data", "nobody", "-o", str(tmp_path / "x.zip"))
    assert User.objects.filter(username="alice").exists()


def test_the_user_admin_exports_and_deletes_students(client, sams_data, sam, admin_user):
    client.force_login(admin_user)
    changelist = reverse("admin:accounts_user_changelist")
    response = client.post(
        changelist, {"action": "export_student_data", "_selected_action": [sam.pk]}
    )
    assert response["Content-Type"] == "application/zip"
    confirm = client.post(changelist, {"action": "delete_students", "_selected_action": [sam.pk]})
    assert b"Yes, delete them" in confirm.content and User.objects.filter(pk=sam.pk).exists()
    client.post(
        changelist,
        {"action": "delete_students", "_selected_action": [sam.pk], "confirm": "yes"},
    )
    assert not User.objects.filter(pk=sam.pk).exists()
    assert AuditEntry.objects.filter(action="delete_student", actor=admin_user).exists()


def test_opening_a_student_in_the_admin_is_logged(client, sam, admin_user):
    client.force_login(admin_user)
    client.get(reverse("admin:accounts_user_change", args=[sam.pk]))
    assert AuditEntry.objects.filter(action="view_student_data", subject_ids=[sam.pk]).exists()
