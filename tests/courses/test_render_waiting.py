"""A render nobody picks up: after a minute the page says no worker seems to run, and how
to start one; the teacher can cancel it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from courses.models import RenderJob, RenderStatus
from courses.selectors import RENDER_WAIT_HINT_S

WORKER_COMMAND = "celery -A lectern worker -Q render,celery"


def job_queued_ago(version, user, seconds: float, **fields) -> RenderJob:
    job = RenderJob.objects.create(version=version, requested_by=user, **fields)
    # created_at is set by auto_now_add, so age it afterwards.
    RenderJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )
    job.refresh_from_db()
    return job


def status_of(client, job) -> dict:
    return client.get(reverse("courses:render_job_status", args=[job.pk])).json()


def test_a_fresh_job_waits_without_a_hint(client, alice, version):
    job = job_queued_ago(version, alice, 5)
    client.force_login(alice)
    data = status_of(client, job)
    assert data["waiting"] == ""
    assert RENDER_WAIT_HINT_S - 6 <= data["waiting_hint_in_s"] <= RENDER_WAIT_HINT_S - 4
    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()
    assert 'data-waiting="no_worker" hidden' in page


def test_a_job_queued_for_minutes_says_no_worker_runs_and_how_to_start_one(client, alice, version):
    job = job_queued_ago(version, alice, 5 * 60)
    client.force_login(alice)
    data = status_of(client, job)
    assert (data["status"], data["waiting"], data["waiting_hint_in_s"]) == (
        "queued",
        "no_worker",
        0,
    )
    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()
    assert 'data-waiting="no_worker">' in page
    assert "No render worker seems to be running." in page
    assert f"<code>{WORKER_COMMAND}</code>" in page
    assert 'id="cancel-form">' in page  # the cancel button is shown, not hidden


def test_a_job_behind_a_busy_worker_is_told_to_wait_its_turn(client, alice, bob, version):
    from courses import services

    other_version = services.lesson_create(
        course=services.course_create(owner=bob, title="Bob's"), title="B", created_by=bob
    ).versions.get()
    RenderJob.objects.create(version=other_version, requested_by=bob, status=RenderStatus.RUNNING)
    job = job_queued_ago(version, alice, 5 * 60)
    client.force_login(alice)
    assert status_of(client, job)["waiting"] == "busy"


def test_a_running_job_left_by_a_dead_worker_does_not_count_as_busy(client, alice, version):
    stale = RenderJob.objects.create(version=version, requested_by=alice, status="running")
    RenderJob.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(minutes=30))
    job = job_queued_ago(version, alice, 5 * 60)
    client.force_login(alice)
    assert status_of(client, job)["waiting"] == "no_worker"


@pytest.mark.parametrize("status", [RenderStatus.RUNNING, RenderStatus.SUCCEEDED])
def test_only_queued_jobs_get_the_hint(client, alice, version, status):
    job = job_queued_ago(version, alice, 5 * 60, status=status)
    client.force_login(alice)
    data = status_of(client, job)
    assert (data["waiting"], data["waiting_hint_in_s"]) == ("", None)


def test_the_teacher_cancels_a_job_nobody_picked_up(client, alice, version):
    job = job_queued_ago(version, alice, 5 * 60)
    client.force_login(alice)
    data = client.post(
        reverse("courses:render_job_cancel", args=[job.pk]), HTTP_ACCEPT="application/json"
    ).json()
    assert (data["status"], data["finished"], data["waiting"]) == ("cancelled", True, "")
    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()
    assert 'data-waiting="no_worker" hidden' in page
    assert 'id="retry-form">' in page  # and can try again once a worker runs
