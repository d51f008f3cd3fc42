"""seed_demo gives the demo class a published lesson with questions and some history."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.demo import DEMO_JOIN_CODE
from accounts.models import Classroom
from learning import selectors
from learning.models import CheckpointAnswer, LearningEvent

pytestmark = pytest.mark.django_db


def test_seed_demo_publishes_a_lesson_with_questions_and_history_once():
    call_command("seed_demo")
    classroom = Classroom.objects.get(join_code=DEMO_JOIN_CODE)
    book = selectors.gradebook(classroom)
    assert [lesson.title for lesson in book.lessons] == ["Why is the sky blue?"]
    assert len(book.questions) == 2
    assert [(q.right, q.answered) for q in book.questions] == [(1, 2), (1, 1)]
    assert book.questions[0].top_wrong == "Only yellow light"
    assert sum(row.answers for row in book.rows) == 3
    events = LearningEvent.objects.count()
    call_command("seed_demo")
    assert LearningEvent.objects.count() == events
    assert CheckpointAnswer.objects.count() == 3
