"""Who may open every learning URL and the gradebook WebSocket: a student of another class,
a teacher of another class and an anonymous visitor get nothing (404 or sign-in)."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from courses.selectors import latest_successful_render
from learning.models import LearningEvent
from lectern.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db


def student_urls(lesson):
    return [
        ("get", reverse("learning:player", args=[lesson.pk])),
    ]


def teacher_urls(lesson, classroom):
    return [
        ("get", reverse("learning:gradebook", args=[classroom.pk])),
        ("get", reverse("learning:gradebook_csv", args=[classroom.pk])),
        ("get", reverse("learning:xapi", args=[classroom.pk])),
        ("post", reverse("learning:lesson_settings", args=[lesson.pk])),
    ]


def post_events(client, events, **extra):
    return client.post(
        reverse("learning:events"),
        data=json.dumps({"events": events, **extra}),
        content_type="application/json",
    )


def watched_event(version, event_id="w1", **extra):
    return {
        "id": event_id, "kind": "watched", "lesson": version.lesson_id, "version": version.pk,
        "occurred_at": timezone.now().isoformat(), "payload": {"start_s": 0, "end_s": 4},
        **extra,
    }  # fmt: skip


def test_anonymous_visitors_are_sent_to_sign_in(client, lesson, classroom):
    for method, url in [*student_urls(lesson), *teacher_urls(lesson, classroom)]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("accounts:login"))
    response = post_events(client, [watched_event(lesson.versions.get())])
    assert response.status_code == 302


def test_the_class_student_opens_the_player(client, lesson, classroom, sam):
    client.force_login(sam)
    response = client.get(reverse("learning:player", args=[lesson.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Why is the sky blue?" in content
    assert "AI-generated" in content
    assert "Written for Lectern&#x27;s tests (CC0)." in content
    assert "Air scatters blue light the most." in content  # the transcript, from the captions
    assert "vendor/media-chrome/index.js" in content
    assert "<script>" not in content  # no inline script (CSP): config is application/json


def test_others_get_404_from_the_player_and_the_files(
    client, lesson, classroom, olga, bob, alice, mo
):
    job = latest_successful_render(lesson.versions.get())
    for user in (olga, bob, mo):
        client.force_login(user)
        assert client.get(reverse("learning:player", args=[lesson.pk])).status_code == 404
    client.force_login(olga)
    for name in ("video", "captions", "chapters", "transcript"):
        url = reverse("courses:render_job_file", args=[job.pk, name])
        assert client.get(url).status_code == 404
    client.force_login(alice)  # the teacher previews in the studio, not the student player
    assert client.get(reverse("learning:player", args=[lesson.pk])).status_code == 404


def test_the_class_student_fetches_the_published_files(client, lesson, classroom, sam):
    job = latest_successful_render(lesson.versions.get())
    client.force_login(sam)
    response = client.get(reverse("courses:render_job_file", args=[job.pk, "video"]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"not really an mp4"
    response = client.get(reverse("courses:render_job_file", args=[job.pk, "captions"]))
    assert b"Air scatters blue light" in b"".join(response.streaming_content)


def test_a_draft_does_not_exist_for_the_student(client, lesson, classroom, sam, draft):
    client.force_login(sam)
    assert client.get(reverse("learning:player", args=[draft.lesson_id])).status_code == 404
    job = latest_successful_render(draft)
    response = client.get(reverse("courses:render_job_file", args=[job.pk, "video"]))
    assert response.status_code == 404
    assert post_events(client, [watched_event(draft)]).status_code == 404
    home = client.get(reverse("home")).content.decode()
    assert "Why is the sky blue?" in home
    assert "Rainbows" not in home


def test_a_student_of_another_class_cannot_post_events_for_the_lesson(client, lesson, olga):
    client.force_login(olga)
    assert post_events(client, [watched_event(lesson.versions.get())]).status_code == 404
    assert not LearningEvent.objects.exists()


def test_a_student_cannot_post_events_for_someone_else(client, lesson, classroom, sam, olga):
    version = lesson.versions.get()
    client.force_login(sam)
    response = post_events(client, [watched_event(version, student=olga.pk)])
    assert response.status_code == 400
    response = post_events(client, [watched_event(version)], student=olga.pk)
    assert response.status_code == 400
    assert not LearningEvent.objects.exists()
    response = post_events(client, [watched_event(version, student=sam.pk)])
    assert response.status_code == 200
    assert LearningEvent.objects.get().student == sam


def test_teachers_cannot_post_events(client, lesson, classroom, alice):
    client.force_login(alice)
    assert post_events(client, [watched_event(lesson.versions.get())]).status_code == 404


def test_the_events_endpoint_needs_the_csrf_header(lesson, classroom, sam):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(sam)
    assert post_events(client, [watched_event(lesson.versions.get())]).status_code == 403
    client.get(reverse("learning:player", args=[lesson.pk]))
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("learning:events"),
        data=json.dumps({"events": [watched_event(lesson.versions.get())]}),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert response.json()["recorded"] == 1


def test_bad_batches_are_refused(client, lesson, classroom, sam):
    client.force_login(sam)
    url = reverse("learning:events")
    assert client.post(url, data="{", content_type="application/json").status_code == 400
    assert post_events(client, [{"id": "x"}]).status_code == 400
    version = lesson.versions.get()
    assert post_events(client, [watched_event(version, kind="completed")]).status_code == 400


def test_only_the_class_teacher_opens_the_gradebook_and_exports(
    client, lesson, classroom, alice, bob, sam, olga
):
    for user in (bob, sam, olga):
        client.force_login(user)
        for method, url in teacher_urls(lesson, classroom):
            assert getattr(client, method)(url).status_code == 404, (user, url)
    client.force_login(alice)
    for method, url in teacher_urls(lesson, classroom):
        assert getattr(client, method)(url).status_code in (200, 302), url


def communicator(classroom_id, user) -> WebsocketCommunicator:
    connection = WebsocketCommunicator(
        URLRouter(websocket_urlpatterns), f"/ws/classes/{classroom_id}/gradebook/"
    )
    connection.scope["user"] = user
    return connection


@pytest.mark.django_db(transaction=True)
def test_only_the_class_teacher_joins_the_gradebook_socket(classroom, alice, bob, sam, olga):
    async def connects(user) -> bool:
        connection = communicator(classroom.pk, user)
        connected, _code = await connection.connect()
        if connected:
            assert (await connection.receive_json_from(timeout=5)) == {"type": "ready"}
        await connection.disconnect()
        return connected

    assert async_to_sync(connects)(alice)
    for user in (bob, sam, olga, AnonymousUser()):
        assert not async_to_sync(connects)(user)
