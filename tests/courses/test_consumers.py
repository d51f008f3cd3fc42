"""The render progress WebSocket: stored row first, then relayed updates, owners only."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from courses import services
from courses.models import RenderJob, RenderStatus, Scene
from courses.progress import RenderProgressRecorder
from lectern.routing import websocket_urlpatterns
from synthesis.storyboard import Progress

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def job(alice):
    course = services.course_create(owner=alice, title="Git", slug="git-ws")
    lesson = services.lesson_create(course=course, title="Basics", created_by=alice)
    version = lesson.versions.get()
    Scene.objects.create(version=version, title="Hello", narration="Hello.")
    return RenderJob.objects.create(
        version=version, requested_by=alice, status=RenderStatus.RUNNING, stage="speech",
        scene_index=1, scene_count=3, percent=20.0,
    )  # fmt: skip


def communicator(job_id: int, user) -> WebsocketCommunicator:
    connection = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/render-jobs/{job_id}/"
    )
    connection.scope["user"] = user
    return connection


async def connect_and_read(connection) -> tuple[bool, dict | None]:
    connected, _code = await connection.connect()
    first = await connection.receive_json_from(timeout=5) if connected else None
    return connected, first


def test_owner_gets_the_stored_row_then_relayed_updates(job, alice):
    async def scenario():
        connection = communicator(job.pk, alice)
        connected, first = await connect_and_read(connection)
        assert connected
        assert (first["status"], first["stage"], first["percent"]) == ("running", "speech", 20.0)
        recorder = RenderProgressRecorder(job)
        await sync_to_async(recorder)(Progress("frames", 2, 3, 55.0, eta_s=9.0))
        update = await connection.receive_json_from(timeout=5)
        assert (update["stage"], update["scene_index"], update["percent"], update["eta_s"]) == (
            "frames", 2, 55.0, 9,
        )  # fmt: skip
        await connection.disconnect()

    async_to_sync(scenario)()
    job.refresh_from_db()
    assert (job.stage, job.percent) == ("frames", 55.0)


def test_other_teacher_student_and_anonymous_are_refused(job, bob, sam):
    async def refused(user) -> bool:
        connection = communicator(job.pk, user)
        connected, _code = await connection.connect()
        await connection.disconnect()
        return not connected

    for user in (bob, sam, AnonymousUser()):
        assert async_to_sync(refused)(user)


def test_unknown_job_is_refused(alice, db):
    async def scenario():
        connection = communicator(999999, alice)
        connected, _code = await connection.connect()
        return connected

    assert not async_to_sync(scenario)()


def test_recorder_throttles_writes_but_never_drops_a_stage_change(job):
    now = [100.0]
    recorder = RenderProgressRecorder(job, clock=lambda: now[0])
    recorder(Progress("speech", 1, 3, 10.0))
    recorder(Progress("speech", 1, 3, 11.0))  # same stage, 0 s later: skipped
    job.refresh_from_db()
    assert job.percent == 10.0
    now[0] += 0.05
    recorder(Progress("frames", 2, 3, 40.0))  # a new stage is always written
    job.refresh_from_db()
    assert (job.stage, job.percent) == ("frames", 40.0)
    now[0] += 0.3
    recorder(Progress("frames", 2, 3, 45.0))  # a quarter second later: written
    job.refresh_from_db()
    assert job.percent == 45.0


def test_should_cancel_reads_the_flag_set_by_the_cancel_button(job, alice):
    now = [0.0]
    recorder = RenderProgressRecorder(job, clock=lambda: now[0])
    assert not recorder.should_cancel()
    services.render_job_cancel(job=job, user=alice)
    now[0] += 1.0
    assert recorder.should_cancel()
