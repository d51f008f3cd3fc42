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
    # The second lesson is the adaptive one (tests/learning/test_personalize.py).
    assert [lesson.title for lesson in book.lessons] == [
        "Why is the sky blue?",
        "How does a rainbow form?",
    ]
    sky = [q for q in book.questions if q.lesson.title == "Why is the sky blue?"]
    assert len(sky) == 2
    assert [(q.right, q.answered) for q in sky] == [(1, 2), (1, 1)]
    assert sky[0].top_wrong == "Only yellow light"
    sky_answers = CheckpointAnswer.objects.filter(lesson__title="Why is the sky blue?")
    assert sky_answers.count() == 3
    events = LearningEvent.objects.count()
    answers = CheckpointAnswer.objects.count()
    call_command("seed_demo")
    assert LearningEvent.objects.count() == events
    assert CheckpointAnswer.objects.count() == answers
