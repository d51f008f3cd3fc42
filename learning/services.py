"""The one writer of students' learning records: `learning_events_record`.

It appends the events, derives progress and answers in the same transaction, and tells the
gradebooks of the student's classes after the commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import Checkpoint, Choice, Lesson, LessonVersion
from courses.selectors import latest_successful_render
from learning import selectors
from learning.mastery import mastery_record_answer, student_mastery_payload
from learning.models import (
    CheckpointAnswer,
    EventKind,
    LearningEvent,
    LessonProgress,
    LessonSettings,
)
from moderation.selectors import published_version

logger = logging.getLogger(__name__)

# Played intervals closer than this are joined: timeupdate fires about 4 times a second.
INTERVAL_JOIN_GAP_S = 0.5
# Kinds a player may send; "completed" is derived here, never taken from a client.
CLIENT_KINDS = (EventKind.WATCHED, EventKind.ANSWERED)


@dataclass(frozen=True)
class EventIn:
    """One event as the telemetry endpoint parsed it (lesson and version already checked)."""

    client_event_id: str
    kind: str
    lesson: Lesson
    version: LessonVersion
    occurred_at: datetime
    payload: dict


@dataclass
class RecordResult:
    recorded: int = 0
    duplicates: int = 0
    # {client event id: {"correct", "explanation", "correct_choice", "attempt", "counted"}}
    answers: dict[str, dict] = field(default_factory=dict)
    progress: dict[int, LessonProgress] = field(default_factory=dict)


def merge_intervals(
    intervals: list[list[float]], start_s: float, end_s: float, *, gap_s: float = 0.0
) -> list[list[float]]:
    """Sorted, non-overlapping intervals with [start_s, end_s] added (gaps up to gap_s join)."""
    merged: list[list[float]] = []
    for start, end in sorted([*intervals, [start_s, end_s]]):
        if merged and start <= merged[-1][1] + gap_s:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [[round(start, 3), round(end, 3)] for start, end in merged]


def covered_fraction(intervals: list[list[float]], duration_s: float) -> float:
    if duration_s <= 0:
        return 0.0
    return min(1.0, sum(end - start for start, end in intervals) / duration_s)


def lesson_settings_update(*, lesson: Lesson, prevent_skipping: bool) -> LessonSettings:
    settings, _created = LessonSettings.objects.get_or_create(lesson=lesson)
    settings.prevent_skipping = prevent_skipping
    settings.full_clean()
    settings.save(update_fields=["prevent_skipping"])
    return settings


@transaction.atomic
def learning_events_record(
    *, student, events: list[EventIn], broadcast: bool = True
) -> RecordResult:
    """Append a student's events (duplicates by client id are skipped), update their progress
    and answers in the same transaction, and broadcast the new progress after the commit
    (`broadcast=False`: seed_demo, which runs before the channel layer's Redis)."""
    result = RecordResult()
    answered = False  # a new answer in this batch (else only the progress cell changed)
    ids = [event.client_event_id for event in events]
    known = set(
        LearningEvent.objects.filter(student=student, client_event_id__in=ids).values_list(
            "client_event_id", flat=True
        )
    )
    lessons = {event.lesson.pk: event.lesson for event in events}
    progress = {
        lesson_id: _progress_for_update(student=student, lesson=lessons[lesson_id])
        for lesson_id in sorted(lessons)
    }
    for event in sorted(events, key=lambda e: (e.occurred_at, e.client_event_id)):
        if event.kind not in CLIENT_KINDS:
            raise ValidationError(_("Unknown event kind: %(kind)s") % {"kind": event.kind})
        if event.client_event_id in known:
            result.duplicates += 1
            if event.kind == EventKind.ANSWERED:
                result.answers[event.client_event_id] = _stored_answer(student, event)
            continue
        known.add(event.client_event_id)
        row = progress[event.lesson.pk]
        if event.kind == EventKind.WATCHED:
            _record_watched(student, event, row)
        else:
            result.answers[event.client_event_id] = _record_answer(student, event, row)
            answered = True
        result.recorded += 1
    now = timezone.now()
    for row in progress.values():
        _derive(row, now=now)
        row.save()
    result.progress = progress
    if broadcast:
        transaction.on_commit(
            lambda: _broadcast(student, list(progress.values()), answered=answered)
        )
    return result


def _progress_for_update(*, student, lesson: Lesson) -> LessonProgress:
    """The student's progress row, locked; a newly published version starts intervals again."""
    version = published_version(lesson)
    if version is None:
        raise ValidationError(_("This lesson is not published."))
    row, created = LessonProgress.objects.select_for_update().get_or_create(
        student=student,
        lesson=lesson,
        defaults={"version": version},
    )
    row.lesson = lesson  # the caller's instance, its course fetched with it
    changed = created or row.version_id != version.pk
    if changed:
        row.version = version
        row.watched_intervals = []
        row.watched_fraction = 0
        row.position_s = 0
    if changed or not row.duration_s:
        # A version published before its first render has no length until it is rendered.
        row.duration_s = selectors.version_duration_s(latest_successful_render(version))
    return row


def _event(student, event: EventIn, payload: dict) -> LearningEvent:
    return LearningEvent.objects.create(
        student=student,
        lesson=event.lesson,
        version=event.version,
        kind=event.kind,
        payload=payload,
        client_event_id=event.client_event_id,
        occurred_at=min(event.occurred_at, timezone.now()),
    )


def _number(payload: dict, key: str) -> float:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(_("%(key)s must be a number.") % {"key": key})
    return float(value)


def _record_watched(student, event: EventIn, row: LessonProgress) -> None:
    start_s = max(0.0, _number(event.payload, "start_s"))
    end_s = _number(event.payload, "end_s")
    if row.duration_s:
        end_s = min(end_s, row.duration_s)
    if end_s < start_s:
        raise ValidationError(_("A watched interval must end after it starts."))
    position_s = event.payload.get("position_s", end_s)
    payload = {"start_s": round(start_s, 3), "end_s": round(end_s, 3)}
    if isinstance(position_s, (int, float)) and not isinstance(position_s, bool):
        payload["position_s"] = round(float(position_s), 3)
    _event(student, event, payload)
    if event.version.pk != row.version_id:
        return  # an old version's interval, sent after a gap: kept in the record only
    if end_s > start_s:
        row.watched_intervals = merge_intervals(
            row.watched_intervals, start_s, end_s, gap_s=INTERVAL_JOIN_GAP_S
        )
    row.position_s = payload.get("position_s", end_s)


def _checkpoint_and_choice(event: EventIn) -> tuple[Checkpoint, Choice]:
    checkpoint = (
        Checkpoint.objects.filter(
            pk=event.payload.get("checkpoint"), scene__version=event.version, accepted=True
        )
        .select_related("scene")
        .first()
    )
    if checkpoint is None:
        raise ValidationError(_("No such question in this lesson."))
    choice = checkpoint.choices.filter(pk=event.payload.get("choice")).first()
    if choice is None:
        raise ValidationError(_("No such answer to this question."))
    return checkpoint, choice


def _answer_feedback(answer: CheckpointAnswer, *, counted: bool) -> dict:
    checkpoint = answer.checkpoint
    right = next((c for c in checkpoint.choices.all() if c.is_correct), None)
    return {
        "checkpoint": checkpoint.pk,
        "correct": answer.is_correct if counted else answer.choice.is_correct,
        "explanation": checkpoint.explanation,
        "correct_choice": right.pk if right else None,
        "correct_text": right.text if right else "",
        "attempt": answer.attempt,
        "counted": counted,
    }


def _record_answer(student, event: EventIn, row: LessonProgress) -> dict:
    checkpoint, choice = _checkpoint_and_choice(event)
    attempt = event.payload.get("attempt", row.attempt)
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise ValidationError(_("attempt must be a positive whole number."))
    # A new attempt starts when the player says so, one at a time.
    attempt = min(attempt, row.attempt + 1)
    if attempt > row.attempt and event.version.pk == row.version_id:
        row.attempt = attempt
    payload = {
        "checkpoint": checkpoint.pk,
        "choice": choice.pk,
        "attempt": attempt,
        "correct": choice.is_correct,
    }
    stored = _event(student, event, payload)
    existing = CheckpointAnswer.objects.filter(
        student=student, checkpoint=checkpoint, attempt=attempt
    ).first()
    if existing is not None:  # answered once per attempt: the first answer counts
        feedback = _answer_feedback(existing, counted=False)
        feedback["correct"] = choice.is_correct
        return feedback
    answer = CheckpointAnswer.objects.create(
        student=student,
        lesson=event.lesson,
        checkpoint=checkpoint,
        choice=choice,
        attempt=attempt,
        is_correct=choice.is_correct,
        event=stored,
        answered_at=stored.occurred_at,
    )
    # The learner model moves with the record, in the same transaction (counted answers).
    mastery_record_answer(student=student, checkpoint=checkpoint, correct=choice.is_correct)
    return _answer_feedback(answer, counted=True)


def _stored_answer(student, event: EventIn) -> dict:
    """Feedback for an answer sent again (a retried batch): what was recorded the first time."""
    stored = LearningEvent.objects.get(student=student, client_event_id=event.client_event_id)
    answer = (
        CheckpointAnswer.objects.filter(
            student=student,
            checkpoint=stored.payload.get("checkpoint"),
            attempt=stored.payload.get("attempt"),
        )
        .select_related("checkpoint", "choice")
        .first()
    )
    if answer is None:
        return {}
    return _answer_feedback(answer, counted=answer.event_id == stored.pk)


def _derive(row: LessonProgress, *, now: datetime) -> None:
    """Watched fraction, score and completion from the row's intervals and answers."""
    row.watched_fraction = round(covered_fraction(row.watched_intervals, row.duration_s), 4)
    question_ids = list(
        Checkpoint.objects.filter(scene__version=row.version_id, accepted=True).values_list(
            "pk", flat=True
        )
    )
    answered, right = 0, 0
    if question_ids:
        counts = CheckpointAnswer.objects.filter(
            student=row.student_id, checkpoint__in=question_ids, attempt=row.attempt
        ).aggregate(answered=Count("pk"), right=Count("pk", filter=Q(is_correct=True)))
        answered, right = counts["answered"], counts["right"]
    row.score = right / len(question_ids) if question_ids else None
    if (
        row.completed_at is None
        and row.watched_fraction >= selectors.WATCHED_IN_FULL
        and answered >= len(question_ids)
    ):
        row.completed_at = now
        LearningEvent.objects.create(
            student_id=row.student_id,
            lesson_id=row.lesson_id,
            version=row.version,
            kind=EventKind.COMPLETED,
            payload={"watched_fraction": row.watched_fraction, "score": row.score},
            client_event_id=f"completed:{row.lesson_id}",
            occurred_at=now,
        )


def gradebook_group_name(classroom_id: int) -> str:
    return f"gradebook-class-{classroom_id}"


def _broadcast(student, rows: list[LessonProgress], *, answered: bool = True) -> None:
    """Tell the gradebooks of the student's classes about their committed progress rows.
    Without a new answer only the student's progress cell changed, and only it is sent (the
    dashboard keeps the questions, record and mastery it shows)."""
    layer = get_channel_layer()
    if layer is None:
        return
    for row in rows:
        lesson = row.lesson
        cell = selectors.cell_payload(row)
        for classroom in selectors.classrooms_of_student_for_lesson(student=student, lesson=lesson):
            payload = {"student": student.pk, "lesson": lesson.pk, **cell}
            if answered:
                payload.update(_answer_payload(student, lesson, classroom))
            message = {"type": "gradebook.update", "payload": payload}
            try:
                async_to_sync(layer.group_send)(gradebook_group_name(classroom.pk), message)
            except Exception:  # the record is committed; a dashboard catches up on reload
                logger.exception("gradebook broadcast failed for class %s", classroom.pk)


def _answer_payload(student, lesson: Lesson, classroom) -> dict:
    """What a new answer changes on a class dashboard: the lesson's question statistics, the
    student's answer record and their mastery of the course's concepts."""
    history = selectors.answer_history([student], selectors.classroom_lessons(classroom))
    results = history[student.pk]
    return {
        "questions": [stats.as_dict() for stats in selectors.question_stats(classroom, [lesson])],
        "record": {
            "points": selectors.sparkline_points(results),
            "right": sum(results),
            "answers": len(results),
        },
        "mastery": student_mastery_payload(student=student, course=lesson.course),
    }
