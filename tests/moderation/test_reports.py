"""Students' reports, hiding after enough reporters, restore and takedown: what students,
teachers and moderators then see, and what the audit log keeps."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Membership, Role
from courses.models import VersionStatus
from moderation import reports, selectors, services
from moderation.models import AuditEntry, HoldState, LessonHold, Report, ReviewEvent
from tests.conftest import make_user
from tests.moderation.conftest import render_and_submit


@pytest.fixture
def published(version, alice, mo, classroom):
    version = render_and_submit(version, alice)
    services.review_claim(version=version, moderator=mo)
    return services.review_decide(version=version, moderator=mo, verdicts={})


@pytest.fixture
def classmates(classroom):
    students = [make_user(f"kid{i}", Role.STUDENT) for i in range(3)]
    for student in students:
        Membership.objects.create(classroom=classroom, student=student)
    return students


def report_url(lesson) -> str:
    return reverse("moderation:report", args=[lesson.pk])


def test_a_student_reports_a_lesson_they_watch(client, published, sam):
    client.force_login(sam)
    response = client.post(report_url(published.lesson), {"reason": "wrong", "note": "typo"})
    assert response.status_code == 302
    report = Report.objects.get()
    assert (report.reporter, report.reason, report.version) == (sam, "wrong", published)


def test_the_player_page_has_the_report_form(client, published, sam):
    client.force_login(sam)
    page = client.get(reverse("learning:player", args=[published.lesson_id])).content.decode()
    assert f'action="{report_url(published.lesson)}"' in page


def test_a_student_who_cannot_see_the_lesson_gets_404(client, published, other_student, version):
    client.force_login(other_student)
    assert client.post(report_url(published.lesson), {"reason": "wrong"}).status_code == 404
    assert not Report.objects.exists()


def test_a_draft_cannot_be_reported(client, version, sam, classroom):
    client.force_login(sam)
    assert client.post(report_url(version.lesson), {"reason": "wrong"}).status_code == 404


def test_reporting_needs_post_and_a_student(client, published, sam, alice):
    client.force_login(sam)
    assert client.get(report_url(published.lesson)).status_code == 405
    client.force_login(alice)
    assert client.post(report_url(published.lesson), {"reason": "wrong"}).status_code == 403


def test_enough_distinct_reporters_hide_the_lesson(published, sam, classmates, settings):
    settings.LECTERN_REPORTS_TO_HIDE = 3
    lesson = published.lesson
    reports.report_create(student=sam, lesson=lesson, reason="wrong")
    reports.report_create(student=sam, lesson=lesson, reason="upsetting")  # same student
    reports.report_create(student=classmates[0], lesson=lesson, reason="wrong")
    assert selectors.lesson_is_visible_to_student(student=sam, lesson=lesson)
    assert not LessonHold.objects.exists()

    reports.report_create(student=classmates[1], lesson=lesson, reason="wrong")

    assert LessonHold.objects.get(lesson=lesson).state == HoldState.HIDDEN
    for student in [sam, *classmates]:
        assert not selectors.lesson_is_visible_to_student(student=student, lesson=lesson)
    # Hidden, not unpublished: a moderator decides.
    published.refresh_from_db()
    assert published.status == VersionStatus.PUBLISHED
    assert ReviewEvent.objects.filter(action="hide", version=published).exists()


def test_the_queue_puts_reports_first_with_counts(client, published, sam, classmates, mo):
    for student in [sam, *classmates[:2]]:
        reports.report_create(student=student, lesson=published.lesson, reason="wrong")
    client.force_login(mo)
    page = client.get(reverse("moderation:queue")).content.decode()
    assert page.index('data-testid="reported-lessons"') < page.index("Waiting for review")
    assert "1 lesson" in page and "1 hidden" in page
    detail = client.get(reverse("moderation:lesson_reports", args=[published.lesson_id]))
    assert "sam" in detail.content.decode()  # moderators see who reported


def test_the_teacher_never_sees_who_reported(client, published, sam, alice, classmates):
    for student in [sam, *classmates[:2]]:
        reports.report_create(student=student, lesson=published.lesson, reason="wrong", note="x")
    client.force_login(alice)
    for url in (
        reverse("courses:lesson_detail", args=[published.lesson_id]),
        reverse("courses:version_detail", args=[published.pk]),
        reverse("home"),
    ):
        page = client.get(url).content.decode()
        assert "kid0" not in page and "kid1" not in page
    assert (
        client.get(reverse("moderation:lesson_reports", args=[published.lesson_id])).status_code
        == 403
    )


def test_a_moderator_restores_a_hidden_lesson(published, sam, classmates, mo, settings):
    settings.LECTERN_REPORTS_TO_HIDE = 2
    for student in classmates[:2]:
        reports.report_create(student=student, lesson=published.lesson, reason="wrong")
    reports.lesson_restore(lesson=published.lesson, moderator=mo)
    assert selectors.lesson_is_visible_to_student(student=sam, lesson=published.lesson)
    assert not Report.objects.filter(resolved_at__isnull=True).exists()


def test_takedown_unpublishes_at_once_and_the_student_no_longer_sees_it(
    client, published, sam, mo, alice
):
    lesson = published.lesson
    job = published.render_jobs.get()
    client.force_login(sam)
    assert client.get(reverse("learning:player", args=[lesson.pk])).status_code == 200
    video = reverse("courses:render_job_file", args=[job.pk, "video"])
    assert client.get(video).status_code == 200
    client.force_login(mo)
    response = client.post(
        reverse("moderation:lesson_takedown", args=[lesson.pk]),
        {"reason_code": "unsuitable", "note": "Frightening images"},
    )
    assert response.status_code == 302

    published.refresh_from_db()
    assert published.status == VersionStatus.REJECTED
    assert "Frightening images" in published.status_reason
    assert not reports.lesson_variants_allowed(lesson)
    client.force_login(sam)
    assert client.get(reverse("learning:player", args=[lesson.pk])).status_code == 404
    assert client.get(video).status_code == 404
    assert "Git basics" not in client.get(reverse("home")).content.decode()
    assert AuditEntry.objects.filter(action="takedown", actor=mo).exists()


def test_a_takedown_ends_when_a_moderator_publishes_a_new_version(published, alice, mo, sam):
    from tests.moderation.test_workflow import edit_narration

    reports.lesson_takedown(lesson=published.lesson, moderator=mo, reason_code="inaccurate")
    draft = edit_narration(published.scenes.get(position=2), alice, "A commit is a snapshot.")
    version = render_and_submit(draft.version, alice)
    services.review_claim(version=version, moderator=mo)
    services.review_decide(version=version, moderator=mo, verdicts={})
    assert reports.lesson_variants_allowed(published.lesson)
    assert selectors.lesson_is_visible_to_student(student=sam, lesson=published.lesson)


def test_a_taken_down_lesson_cannot_be_restored_by_closing_reports(published, mo):
    reports.lesson_takedown(lesson=published.lesson, moderator=mo, reason_code="inaccurate")
    with pytest.raises(Exception, match="taken down"):
        reports.lesson_restore(lesson=published.lesson, moderator=mo)
