"""The gradebook: cells, question statistics, sparkline, CSV and xAPI exports, and the live
update a teacher's socket receives when a student answers."""

from __future__ import annotations

import csv
import io
import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role
from learning import selectors
from learning.services import EventIn, learning_events_record
from lectern.routing import websocket_urlpatterns
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def record(student, version, kind, payload, event_id):
    return learning_events_record(
        student=student,
        events=[
            EventIn(
                client_event_id=event_id, kind=kind, lesson=version.lesson, version=version,
                occurred_at=timezone.now(), payload=payload,
            )
        ],
    )  # fmt: skip


def answer(student, version, checkpoint, text, event_id):
    choice = checkpoint.choices.get(text=text)
    payload = {"checkpoint": checkpoint.pk, "choice": choice.pk, "attempt": 1}
    return record(student, version, "answered", payload, event_id)


def first_update(classroom, teacher, act) -> dict:
    """The first message the class's gradebook socket gets after act() runs."""

    async def scenario():
        connection = WebsocketCommunicator(
            URLRouter(websocket_urlpatterns), f"/ws/classes/{classroom.pk}/gradebook/"
        )
        connection.scope["user"] = teacher
        connected, _code = await connection.connect()
        assert connected
        assert (await connection.receive_json_from(timeout=5))["type"] == "ready"
        await sync_to_async(act)()
        update = await connection.receive_json_from(timeout=5)
        await connection.disconnect()
        return update

    return async_to_sync(scenario)()


@pytest.fixture
def answered(version, classroom, sam):
    """sam watched 4 s and got the first question wrong; kim got it right; lee chose wrong too."""
    first, _second = selectors.version_checkpoints(version)
    kim = make_user("kim", Role.STUDENT)
    lee = make_user("lee", Role.STUDENT)
    for student in (kim, lee):
        Membership.objects.create(classroom=classroom, student=student)
    record(sam, version, "watched", {"start_s": 0, "end_s": 4}, "s-w1")
    answer(sam, version, first, "Only yellow", "s-a1")
    answer(kim, version, first, "Every colour", "k-a1")
    answer(lee, version, first, "Only yellow", "l-a1")
    return first


def test_question_stats_count_right_answers_and_the_most_chosen_wrong_one(
    classroom, answered, lesson
):
    stats = selectors.question_stats(classroom, [lesson])
    first = stats[0]
    assert (first.right, first.answered, first.top_wrong, first.top_wrong_count) == (
        1, 3, "Only yellow", 2,
    )  # fmt: skip
    assert (stats[1].right, stats[1].answered, stats[1].top_wrong) == (0, 0, "")


def test_gradebook_page_shows_cells_questions_and_sparkline(client, alice, classroom, answered):
    client.force_login(alice)
    content = client.get(reverse("learning:gradebook", args=[classroom.pk])).content.decode()
    assert "Watched 33%" in content  # 4 of 12 s
    assert "Score 0%" in content
    assert "Only yellow (2)" in content
    assert "<polyline" in content
    assert f"/ws/classes/{classroom.pk}/gradebook/" in content


def test_csv_export_has_a_row_per_student_and_lesson(client, alice, classroom, answered, sam):
    client.force_login(alice)
    response = client.get(reverse("learning:gradebook_csv", args=[classroom.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "student",
        "display name",
        "course",
        "lesson",
        "watched %",
        "status",
        "score %",
    ]
    sam_row = next(row for row in rows if row[0] == "sam")
    assert sam_row[3:] == ["Why is the sky blue?", "33", "in progress", "0"]
    assert len(rows) == 1 + 3  # kim, lee, sam; one lesson


def test_xapi_export_uses_adl_verbs_and_says_what_was_played(client, alice, classroom, answered):
    client.force_login(alice)
    response = client.get(reverse("learning:xapi", args=[classroom.pk]))
    statements = json.loads(response.content)
    verbs = {s["verb"]["id"] for s in statements}
    assert verbs == {
        "http://adlnet.gov/expapi/verbs/experienced",
        "http://adlnet.gov/expapi/verbs/answered",
    }
    experienced = next(s for s in statements if s["verb"]["display"]["en-US"] == "experienced")
    assert experienced["actor"]["account"]["name"] == "sam"
    assert experienced["object"]["id"].endswith(
        f"/learn/lessons/{classroom.courses.get().lessons.get().pk}/"
    )
    assert list(experienced["result"]["extensions"].values()) == ["0.0[.]4.0"]
    answers = [s for s in statements if s["verb"]["display"]["en-US"] == "answered"]
    assert sorted(s["result"]["success"] for s in answers) == [False, False, True]
    assert len({s["id"] for s in statements}) == len(statements)


def test_teacher_toggles_prevent_skipping(client, alice, lesson, classroom):
    client.force_login(alice)
    url = reverse("learning:lesson_settings", args=[lesson.pk])
    client.post(url, {"prevent_skipping": "on", "next": "/learn/"})
    assert selectors.lesson_settings(lesson).prevent_skipping is True
    client.post(url, {})
    assert selectors.lesson_settings(lesson).prevent_skipping is False


@pytest.mark.django_db(transaction=True)
def test_the_teacher_socket_receives_an_answer_after_the_commit(version, classroom, alice, sam):
    first, _second = selectors.version_checkpoints(version)
    update = first_update(
        classroom, alice, lambda: answer(sam, version, first, "Only yellow", "live-1")
    )
    assert (update["type"], update["student"], update["lesson"]) == (
        "update",
        sam.pk,
        version.lesson_id,
    )
    assert update["score_percent"] == 0
    assert update["questions"][0] == {
        "checkpoint": first.pk, "right": 0, "answered": 1, "top_wrong": "Only yellow",
        "top_wrong_count": 1,
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_watched_batch_sends_only_the_progress_cell(version, classroom, alice, sam):
    """Watching changes the student's cell, not the question statistics, record or mastery:
    those are left out of the message (the dashboard keeps what it shows)."""
    update = first_update(
        classroom, alice, lambda: record(sam, version, "watched", {"start_s": 0, "end_s": 4}, "w-1")
    )
    assert (update["type"], update["student"], update["lesson"]) == (
        "update",
        sam.pk,
        version.lesson_id,
    )
    assert update["watched_percent"] > 0
    assert not {"questions", "record", "mastery"} & set(update)
