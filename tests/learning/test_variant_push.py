"""The variant page's WebSocket: told the moment the prepare task marks the variant ready
(not at its next status poll), with the access of the variant's HTTP views."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import reverse
from django.utils import timezone

from courses.models import RenderJob, RenderStatus
from learning import variants
from learning.models import LessonVariant, VariantStatus
from lectern.routing import websocket_urlpatterns
from moderation.hashing import version_scene_hashes_store
from moderation.models import SceneApproval

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def adaptive(settings, tmp_path, version, classroom, alice, monkeypatch):
    """conftest's lesson with approved scenes and a tiny latest render (so a variant is small
    to encode); the prepare task is not sent: the tests run it themselves."""
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    settings.LECTERN_TTS_ENGINES = ["espeak"]
    settings.LECTERN_DEVICE = "cpu"
    for content_hash in version_scene_hashes_store(version).values():
        SceneApproval.objects.get_or_create(
            content_hash=content_hash,
            defaults={"approved_by": alice, "approved_at": timezone.now(), "version": version},
        )
    RenderJob.objects.create(
        version=version, requested_by=alice, status=RenderStatus.SUCCEEDED, width_px=128,
        height_px=72, fps=10, quality="draft", finished_at=timezone.now(),
    )  # fmt: skip
    sent: list[int] = []
    monkeypatch.setattr(variants, "_send_prepare", sent.append)
    return sent


def communicator(path: str, user) -> WebsocketCommunicator:
    connection = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    connection.scope["user"] = user
    return connection


def prepare(variant_id: int) -> str:
    return variants.lesson_variant_prepare(variant_id=variant_id)


def test_the_student_is_told_when_the_prepare_task_marks_the_variant_ready(adaptive, lesson, sam):
    async def scenario():
        connection = communicator(f"/ws/lessons/{lesson.pk}/my-video/", sam)
        connected, _code = await connection.connect()
        assert connected
        waiting = await connection.receive_json_from(timeout=5)
        (variant_id,) = adaptive  # connecting asked for the variant, as status.json does
        assert await database_sync_to_async(prepare)(variant_id) == "ready"
        ready = await connection.receive_json_from(timeout=5)
        await connection.disconnect()
        return waiting, ready

    waiting, ready = async_to_sync(scenario)()

    assert waiting["type"] == "status" and waiting["status"]["status"] == VariantStatus.PENDING
    assert ready["type"] == "ready"
    assert ready["status"]["status"] == VariantStatus.READY
    assert ready["status"]["playlist"] == reverse("learning:variant_playlist", args=[lesson.pk])
    assert ready["status"]["order"] == waiting["status"]["order"]


def test_a_variant_ready_before_the_socket_connects_is_sent_at_once(
    adaptive, lesson, classroom, sam, alice
):
    async def scenario(path, user):
        connection = communicator(path, user)
        connected, _code = await connection.connect()
        assert connected
        first = await connection.receive_json_from(timeout=5)
        await connection.disconnect()
        return first

    async_to_sync(scenario)(f"/ws/lessons/{lesson.pk}/my-video/", sam)
    (variant_id,) = adaptive
    assert prepare(variant_id) == "ready"

    own = async_to_sync(scenario)(f"/ws/lessons/{lesson.pk}/my-video/", sam)
    preview_path = f"/ws/classes/{classroom.pk}/students/{sam.pk}/lessons/{lesson.pk}/preview/"
    preview = async_to_sync(scenario)(preview_path, alice)

    assert own["type"] == "ready" and own["status"]["playlist"]
    args = [classroom.pk, sam.pk, lesson.pk]
    assert preview["type"] == "ready"
    assert preview["status"]["playlist"] == reverse("learning:teacher_variant_playlist", args=args)
    assert LessonVariant.objects.get(pk=variant_id).status == VariantStatus.READY


def test_users_outside_the_class_are_refused(adaptive, lesson, classroom, sam, olga, bob):
    own = f"/ws/lessons/{lesson.pk}/my-video/"
    preview = f"/ws/classes/{classroom.pk}/students/{sam.pk}/lessons/{lesson.pk}/preview/"

    async def answers():
        out = []
        for path, user in [(own, olga), (own, bob), (preview, bob), (preview, sam)]:
            connection = communicator(path, user)
            out.append(await connection.connect())
            await connection.disconnect()  # ends the consumer, closed but still listening
        return out

    # Another class's student and teacher; a student is not the teacher of the preview.
    assert async_to_sync(answers)() == [(False, 4403)] * 4
    assert adaptive == []  # nothing was asked for on their behalf
