"""The pages students open most and the class gradebook run a fixed number of queries: more
questions or more lessons never add one per row (no query in a loop)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses import services
from courses.models import Scene
from tests.learning.conftest import add_question, publish, render_files

pytestmark = pytest.mark.django_db


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_player_runs_the_same_queries_whatever_the_number_of_questions(
    client, sam, lesson, version, classroom
):
    client.force_login(sam)
    url = reverse("learning:player", args=[lesson.pk])
    client.get(url)  # the first view saves the session's CSRF token
    before = queries_of(client, url)
    for position in range(3, 7):
        scene = Scene.objects.create(
            version=version, position=position, title=f"More {position}", narration="More."
        )
        add_question(scene, f"Question {position}?", "Yes", "No")
    assert queries_of(client, url) == before
    assert before <= 10


def test_the_gradebook_runs_the_same_queries_whatever_the_number_of_lessons(
    client, alice, course, lesson, classroom
):
    client.force_login(alice)
    url = reverse("learning:gradebook", args=[classroom.pk])
    client.get(url)
    before = queries_of(client, url)
    for number in range(2):
        extra = services.lesson_create(course=course, title=f"Extra {number}", created_by=alice)
        extra_version = extra.versions.get()
        scene = Scene.objects.create(
            version=extra_version, position=0, title="Hi", narration="Hello."
        )
        add_question(scene, "Hello?", "Yes", "No")
        render_files(extra_version, alice, output_dir=f"renders/extra-{extra_version.pk}")
        publish(extra_version)
    assert queries_of(client, url) == before
