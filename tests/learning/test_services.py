"""The learning record: events appended once (client ids), intervals merged from what was
really played, answers once per attempt, completion, and the derived progress."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from courses.models import Checkpoint
from learning import selectors
from learning.models import CheckpointAnswer, LearningEvent, LessonProgress
from learning.services import EventIn, learning_events_record, merge_intervals

pytestmark = pytest.mark.django_db

_counter = iter(range(10**6))


def event(version, kind, payload, *, event_id=None, seconds=0) -> EventIn:
    return EventIn(
        client_event_id=event_id or f"e{next(_counter)}",
        kind=kind,
        lesson=version.lesson,
        version=version,
        occurred_at=timezone.now() - timedelta(minutes=5) + timedelta(seconds=seconds),
        payload=payload,
    )


def watched(version, start_s, end_s, **kwargs) -> EventIn:
    return event(version, "watched", {"start_s": start_s, "end_s": end_s}, **kwargs)


def answer(version, checkpoint, *, right: bool, attempt=1, **kwargs) -> EventIn:
    choice = checkpoint.choices.get(is_correct=right)
    payload = {"checkpoint": checkpoint.pk, "choice": choice.pk, "attempt": attempt}
    return event(version, "answered", payload, **kwargs)


def questions(version) -> list[Checkpoint]:
    return selectors.version_checkpoints(version)


def test_merge_intervals_joins_overlaps_and_small_gaps_and_keeps_order():
    intervals = merge_intervals([], 4, 6)
    intervals = merge_intervals(intervals, 0, 2)
    intervals = merge_intervals(intervals, 5, 8)
    assert intervals == [[0, 2], [4, 8]]
    assert merge_intervals(intervals, 2.3, 3.9, gap_s=0.5) == [[0, 8]]
    assert merge_intervals(intervals, 2.3, 3.0, gap_s=0.1) == [[0, 2], [2.3, 3.0], [4, 8]]


def test_watched_fraction_counts_seconds_really_played_not_the_playhead(version, sam, classroom):
    learning_events_record(
        student=sam,
        events=[watched(version, 0, 3), watched(version, 2, 4), watched(version, 10, 12)],
    )
    progress = LessonProgress.objects.get(student=sam, lesson=version.lesson)
    assert progress.watched_intervals == [[0, 4], [10, 12]]
    assert progress.watched_fraction == pytest.approx(0.5)  # 6 of 12 s, though the playhead hit 12
    assert progress.completed_at is None


def test_a_batch_sent_twice_is_recorded_once(version, sam, classroom):
    first, second = questions(version)
    batch = [
        watched(version, 0, 5, event_id="w1"),
        answer(version, first, right=False, event_id="a1"),
    ]
    result = learning_events_record(student=sam, events=batch)
    assert (result.recorded, result.duplicates) == (2, 0)
    again = learning_events_record(student=sam, events=batch)
    assert (again.recorded, again.duplicates) == (0, 2)
    assert LearningEvent.objects.filter(student=sam).count() == 2
    assert CheckpointAnswer.objects.filter(student=sam).count() == 1
    # The resent answer still gets its feedback (the player may have missed the first reply).
    assert again.answers["a1"]["correct"] is False
    assert again.answers["a1"]["explanation"] == "White light is a mix of all colours."


def test_the_same_client_id_from_another_student_is_theirs(version, sam, classroom, olga):
    learning_events_record(student=sam, events=[watched(version, 0, 5, event_id="same")])
    classroom.students.add(olga)
    learning_events_record(student=olga, events=[watched(version, 0, 5, event_id="same")])
    assert LearningEvent.objects.filter(client_event_id="same").count() == 2


def test_an_answer_counts_once_per_attempt_and_a_new_attempt_is_recorded_as_such(
    version, sam, classroom
):
    first, second = questions(version)
    result = learning_events_record(student=sam, events=[answer(version, first, right=False)])
    assert list(result.answers.values())[0] == {
        "checkpoint": first.pk, "correct": False,
        "explanation": "White light is a mix of all colours.",
        "correct_choice": first.choices.get(is_correct=True).pk, "correct_text": "Every colour",
        "attempt": 1, "counted": True,
    }  # fmt: skip
    again = learning_events_record(student=sam, events=[answer(version, first, right=True)])
    assert list(again.answers.values())[0]["counted"] is False
    assert CheckpointAnswer.objects.get(student=sam, attempt=1).is_correct is False
    assert LearningEvent.objects.filter(student=sam, kind="answered").count() == 2  # both kept

    learning_events_record(student=sam, events=[answer(version, second, right=True)])
    progress = LessonProgress.objects.get(student=sam)
    assert progress.score == pytest.approx(0.5)
    learning_events_record(
        student=sam,
        events=[
            answer(version, first, right=True, attempt=2),
            answer(version, second, right=True, attempt=2),
        ],
    )
    progress.refresh_from_db()
    assert progress.attempt == 2
    assert progress.score == pytest.approx(1.0)
    assert list(
        CheckpointAnswer.objects.filter(student=sam, checkpoint=first).values_list(
            "attempt", "is_correct"
        )
    ) == [(1, False), (2, True)]


def test_an_attempt_cannot_jump_ahead(version, sam, classroom):
    first, _second = questions(version)
    learning_events_record(student=sam, events=[answer(version, first, right=True, attempt=9)])
    assert CheckpointAnswer.objects.get(student=sam).attempt == 2
    assert LessonProgress.objects.get(student=sam).attempt == 2


def test_completion_needs_the_whole_video_with_small_gaps_and_every_answer(version, sam, classroom):
    first, second = questions(version)
    learning_events_record(
        student=sam,
        events=[
            watched(version, 0, 6),
            watched(version, 6.6, 12),
            answer(version, first, right=True),
        ],
    )
    progress = LessonProgress.objects.get(student=sam)
    assert progress.watched_fraction >= 0.95  # a 0.6 s gap is allowed
    assert progress.completed_at is None  # one question left
    learning_events_record(student=sam, events=[answer(version, second, right=False)])
    progress.refresh_from_db()
    assert progress.completed_at is not None
    assert progress.score == pytest.approx(0.5)
    completed = LearningEvent.objects.get(student=sam, kind="completed")
    assert completed.payload == {"watched_fraction": progress.watched_fraction, "score": 0.5}
    learning_events_record(student=sam, events=[watched(version, 0, 1)])
    assert LearningEvent.objects.filter(student=sam, kind="completed").count() == 1


def test_half_the_video_is_not_complete_even_with_every_answer(version, sam, classroom):
    first, second = questions(version)
    learning_events_record(
        student=sam,
        events=[
            watched(version, 0, 6),
            answer(version, first, right=True),
            answer(version, second, right=True),
        ],
    )
    assert LessonProgress.objects.get(student=sam).completed_at is None


def test_events_are_checked(version, sam, classroom, draft):
    first, _second = questions(version)
    bad = [
        event(version, "completed", {}),  # derived here, never taken from a player
        event(version, "watched", {"start_s": "0", "end_s": 3}),
        watched(version, 5, 2),
        event(version, "answered", {"checkpoint": first.pk, "choice": 0}),
    ]
    for wrong in bad:
        with pytest.raises(ValidationError):
            learning_events_record(student=sam, events=[wrong])
    assert not LearningEvent.objects.exists()


def test_an_interval_past_the_end_is_cut_at_the_end(version, sam, classroom):
    learning_events_record(student=sam, events=[watched(version, 11, 30)])
    assert LessonProgress.objects.get(student=sam).watched_intervals == [[11, 12]]


def test_resume_position_and_page_attempt(version, sam, classroom):
    first, second = questions(version)
    learning_events_record(
        student=sam, events=[event(version, "watched", {"start_s": 0, "end_s": 5, "position_s": 5})]
    )
    page = selectors.player_page(student=sam, lesson=version.lesson)
    assert page.config(sam)["resume_s"] == 5
    assert page.attempt == 1
    assert [q["at_s"] for q in page.questions] == [8.0, 12.0]
    learning_events_record(
        student=sam,
        events=[answer(version, first, right=True), answer(version, second, right=True)],
    )
    page = selectors.player_page(student=sam, lesson=version.lesson)
    assert page.attempt == 2  # every question answered: watching again is a new attempt
    assert not any(q["answered"] for q in page.questions)


def test_a_learning_event_is_never_changed(version, sam, classroom):
    from moderation.models import AppendOnlyError

    learning_events_record(student=sam, events=[watched(version, 0, 5, event_id="w1")])
    event = LearningEvent.objects.get(student=sam, client_event_id="w1")
    event.payload = {"start_s": 0, "end_s": 999}
    with pytest.raises(AppendOnlyError):
        event.save()
    assert LearningEvent.objects.get(pk=event.pk).payload["end_s"] == 5
