"""The operations page: staff only; queue depth from the real broker, running jobs with their
worker and heartbeat, recent failures with reasons, and render speed from manifests."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from courses import services
from courses.models import RenderJob, RenderStatus
from lectern.health import broker_redis_client
from lectern.ops import RenderSpeed, render_speed
from tests.conftest import make_user

OPS_URL = "/ops/"


@pytest.fixture
def staff(db):
    return make_user("root", Role.TEACHER, is_staff=True)


@pytest.fixture
def version(alice):
    course = services.course_create(owner=alice, title="Ops", slug="ops")
    lesson = services.lesson_create(course=course, title="Rainbows", created_by=alice)
    return lesson.versions.get()


def test_operations_url_is_ops():
    assert reverse("operations") == OPS_URL


def test_anonymous_visitor_is_sent_to_sign_in(client, db):
    response = client.get(OPS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("role", [Role.TEACHER, Role.STUDENT, Role.MODERATOR])
def test_signed_in_user_who_is_not_staff_gets_403(client, db, role):
    client.force_login(make_user(f"user-{role}", role))
    assert client.get(OPS_URL).status_code == 403


def test_staff_see_running_jobs_failures_and_render_speed(client, staff, version, alice):
    now = timezone.now()
    make = RenderJob.objects.create
    running = make(
        version=version, requested_by=alice, status=RenderStatus.RUNNING, stage="encode",
        worker="render-host-7:4242:pid:[1]", heartbeat_at=now - timedelta(seconds=2),
        started_at=now - timedelta(seconds=30), attempts=1,
    )  # fmt: skip
    failed = make(
        version=version, requested_by=alice, status=RenderStatus.FAILED, stage="failed",
        error="No speech engine could speak the sentence", finished_at=now,
    )  # fmt: skip
    for wall_s in (10.0, 30.0):  # 60 s of video in 40 s: 1.5 s of video a second
        make(
            version=version, requested_by=alice, status=RenderStatus.SUCCEEDED,
            manifest={"duration_s": 30.0, "statistics": {"wall_s": wall_s}},
            started_at=now, finished_at=now,
        )  # fmt: skip
    client.force_login(staff)

    response = client.get(OPS_URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-job="{running.pk}"' in page and "render-host-7:4242" in page
    assert "2 s ago" in page
    assert f'data-job="{failed.pk}"' in page and "No speech engine could speak" in page
    assert "1.50 seconds of video per second over the last 2 renders" in page


def test_queue_depth_counts_the_messages_waiting_in_the_broker(client, staff, settings):
    queue = f"ops-test-{uuid.uuid4().hex[:8]}"
    settings.LECTERN_RENDER_QUEUE = queue
    prefix = django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    broker = broker_redis_client(django_settings.CELERY_BROKER_URL)
    broker.rpush(f"{prefix}{queue}", "a", "b", "c")
    client.force_login(staff)
    try:
        page = client.get(OPS_URL).content.decode()
    finally:
        broker.delete(f"{prefix}{queue}")
        broker.close()

    row = page.split(f'data-queue="{queue}"', 1)[1].split("</tr>", 1)[0]
    assert '<td data-testid="depth">3</td>' in row


def test_queue_depth_says_when_the_broker_does_not_answer(client, staff, settings, tmp_path):
    settings.CELERY_BROKER_URL = f"redis+socket://{tmp_path / 'no-redis.sock'}"
    client.force_login(staff)

    page = client.get(OPS_URL).content.decode()

    assert 'data-testid="broker-error"' in page
    assert '<td data-testid="depth">?</td>' in page


def test_render_speed_falls_back_to_the_jobs_own_times_and_skips_unmeasured_ones():
    now = timezone.now()
    timed = RenderJob(
        manifest={"duration_s": 20.0}, started_at=now, finished_at=now + timedelta(seconds=10)
    )
    unmeasured = RenderJob(manifest={}, started_at=now, finished_at=now)

    speed = render_speed([timed, unmeasured])

    assert speed == RenderSpeed(jobs=1, video_s=20.0, wall_s=10.0)
    assert speed.factor == 2.0
    assert render_speed([]).factor is None
