"""xAPI statements (https://github.com/adlnet/xAPI-Spec) from a class's learning events,
the format learning record stores and LMSs read: experienced, answered, completed."""

from __future__ import annotations

import uuid

from accounts.models import Classroom
from learning.models import EventKind, LearningEvent
from learning.selectors import classroom_events

VERBS = {
    EventKind.WATCHED: ("http://adlnet.gov/expapi/verbs/experienced", "experienced"),
    EventKind.ANSWERED: ("http://adlnet.gov/expapi/verbs/answered", "answered"),
    EventKind.COMPLETED: ("http://adlnet.gov/expapi/verbs/completed", "completed"),
}
LESSON_TYPE = "http://adlnet.gov/expapi/activities/lesson"
QUESTION_TYPE = "http://adlnet.gov/expapi/activities/cmi.interaction"
# The xAPI Video Profile's way of saying which seconds were played ("0[.]12.5").
PLAYED_SEGMENTS = "https://w3id.org/xapi/video/extensions/played-segments"
# Statement ids are stable (UUID 5 of the event), so exporting twice never duplicates.
STATEMENT_NAMESPACE = uuid.UUID("6f1c2d3e-8a4b-5c6d-9e0f-1a2b3c4d5e6f")


def _actor(event: LearningEvent, base_url: str) -> dict:
    student = event.student
    return {
        "objectType": "Agent",
        "name": str(student),
        "account": {"homePage": base_url, "name": student.username},
    }


def _lesson_activity(event: LearningEvent, base_url: str) -> dict:
    return {
        "objectType": "Activity",
        "id": f"{base_url}learn/lessons/{event.lesson_id}/",
        "definition": {"name": {"und": event.lesson.title}, "type": LESSON_TYPE},
    }


def statement(event: LearningEvent, *, base_url: str) -> dict:
    """One event as an xAPI statement."""
    verb_id, verb_name = VERBS[event.kind]
    lesson = _lesson_activity(event, base_url)
    data: dict = {
        "id": str(uuid.uuid5(STATEMENT_NAMESPACE, f"{base_url}:{event.pk}")),
        "actor": _actor(event, base_url),
        "verb": {"id": verb_id, "display": {"en-US": verb_name}},
        "object": lesson,
        "timestamp": event.occurred_at.isoformat(),
        "stored": event.received_at.isoformat(),
        "context": {"extensions": {f"{base_url}xapi/lesson-version": event.version.number}},
    }
    payload = event.payload
    if event.kind == EventKind.WATCHED:
        data["result"] = {
            "extensions": {PLAYED_SEGMENTS: f"{payload.get('start_s')}[.]{payload.get('end_s')}"}
        }
    elif event.kind == EventKind.ANSWERED:
        data["object"] = {
            "objectType": "Activity",
            "id": f"{lesson['id']}questions/{payload.get('checkpoint')}",
            "definition": {"type": QUESTION_TYPE, "interactionType": "choice"},
        }
        data["result"] = {
            "success": bool(payload.get("correct")),
            "response": str(payload.get("choice")),
        }
        data["context"]["contextActivities"] = {"parent": [lesson]}
        data["context"]["extensions"][f"{base_url}xapi/attempt"] = payload.get("attempt")
    else:
        result: dict = {"completion": True}
        if payload.get("score") is not None:
            result["score"] = {"scaled": payload["score"]}
        data["result"] = result
    return data


def classroom_statements(classroom: Classroom, *, base_url: str) -> list[dict]:
    return [statement(event, base_url=base_url) for event in classroom_events(classroom)]
