"""Fair sharing: a teacher over their share of running renders waits at the end of the
queue while another teacher's render is waiting; alone, they use every worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from courses import services
from courses.fair_share import render_job_over_share
from courses.models import RenderJob, RenderStatus
from courses.rendering import RENDER_WAITING, render_job_run
from courses.tasks import render_lesson_version
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def job(version, teacher, status=RenderStatus.QUEUED, **fields) -> RenderJob:
    return RenderJob.objects.create(
        version=version, requested_by=teacher, status=status, width_px=128, height_px=72,
        fps=10, quality="draft", **fields,
    )  # fmt: skip


def running(version, teacher, *, seconds_ago: float = 1) -> RenderJob:
    beat = timezone.now() - timedelta(seconds=seconds_ago)
    # A worker on another machine: alive for as long as its heartbeat is fresh.
    return job(version, teacher, RenderStatus.RUNNING, worker="elsewhere:1:x", heartbeat_at=beat)


@pytest.fixture
def bobs_version(db):
    bob = make_user("bob", "teacher")
    course = services.course_create(owner=bob, title="Maps", slug="maps")
    lesson = services.lesson_create(course=course, title="Scales", created_by=bob)
    return bob, lesson.versions.get()


def test_a_teacher_over_their_share_waits_while_another_teacher_waits(version, alice, bobs_version):
    bob, bobs = bobs_version
    running(version, alice)
    second = job(version, alice)
    assert not render_job_over_share(second)  # nobody else is waiting: all workers are hers

    job(bobs, bob)

    assert render_job_over_share(second)
    assert render_job_run(job_id=second.pk) == RENDER_WAITING
    second.refresh_from_db()
    assert (second.status, second.attempts) == (RenderStatus.QUEUED, 0)  # not claimed


def test_a_running_job_whose_worker_is_gone_does_not_count(version, alice, bobs_version, settings):
    bob, bobs = bobs_version
    running(version, alice, seconds_ago=settings.LECTERN_RENDER_STALE_S + 5)
    job(bobs, bob)

    assert not render_job_over_share(job(version, alice))


def test_no_share_when_it_is_turned_off(version, alice, bobs_version, settings):
    settings.LECTERN_RENDERS_PER_TEACHER = 0
    bob, bobs = bobs_version
    running(version, alice)
    job(bobs, bob)

    assert not render_job_over_share(job(version, alice))


def test_the_task_sends_a_waiting_job_to_the_end_of_the_queue(
    version, alice, bobs_version, monkeypatch, settings
):
    bob, bobs = bobs_version
    running(version, alice)
    second = job(version, alice)
    job(bobs, bob)
    sent = []
    monkeypatch.setattr(render_lesson_version, "apply_async", lambda **kwargs: sent.append(kwargs))

    assert render_lesson_version(second.pk) == RENDER_WAITING

    assert sent == [{"args": [second.pk], "countdown": settings.LECTERN_RENDER_SHARE_WAIT_S}]
    second.refresh_from_db()
    assert second.status == RenderStatus.QUEUED
