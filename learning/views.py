"""Students' player and telemetry endpoint; teachers' gradebook, its CSV and xAPI exports.

Access: every view needs a signed-in user, then its selector finds only what that user may
see (a student's published lessons, a teacher's own classes and lessons): 404 otherwise.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from courses.models import LessonVersion
from learning import selectors, services, xapi
from learning.mastery import class_heatmap, course_learner_model
from learning.services import EventIn
from moderation.audit import audit_student_data_view
from moderation.publishing import published_file_provenance
from moderation.selectors import published_version

# A player sends a few events a minute; an offline queue of an hour fits well below this.
MAX_EVENTS_PER_BATCH = 500


@login_required
@require_GET
def player(request, lesson_id):
    """Students of the lesson's classes, once it is published: the player page."""
    lesson = selectors.lesson_for_student(student=request.user, lesson_id=lesson_id)
    page = selectors.player_page(student=request.user, lesson=lesson)
    context = {
        "page": page,
        "player_config": page.config(request.user),
        "video_url": selectors.video_source_url(page.job) if page.job else "",
        "playlist_url": selectors.video_playlist_url(page.job) if page.job else "",
        # Read from the file itself (C2PA), not from the database.
        "provenance": published_file_provenance(page.job) if page.job else None,
        "player_strings": _player_strings(),
        "adaptive": page.adaptive,
    }
    return render(request, "learning/player.html", context)


def _player_strings() -> dict:
    """What static/js/player.js says, in the page's language."""
    return {
        "correct": _("Correct!"),
        "wrong": _("Not quite. The right answer is: {answer}"),
        "offline": _(
            "You seem to be offline. Your answer is kept on this device and sent when you are "
            "back online."
        ),
        "resumed": _("Resumed where you left off ({time})."),
        "completed": _("Lesson completed. Well done!"),
        "skipping": _("Answer the question before skipping ahead."),
        "already": _(
            "You answered this question before in this attempt; your first answer counts."
        ),
    }


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


def _parse_event(raw: object) -> tuple[dict, datetime] | None:
    if not isinstance(raw, dict):
        return None
    occurred_at = parse_datetime(str(raw.get("occurred_at", "")))
    if occurred_at is None:
        return None
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at, UTC)
    return raw, occurred_at


@login_required
@require_POST
def events(request):
    """Students: a batch of their own events, JSON {"events": [...]}. The CSRF token comes in
    the X-CSRFToken header. Duplicates are skipped; a lesson the student cannot see is 404."""
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _bad_request(_("The request is not JSON."))
    raw_events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(raw_events, list) or len(raw_events) > MAX_EVENTS_PER_BATCH:
        return _bad_request(_("Send a list of at most %(n)s events.") % {"n": MAX_EVENTS_PER_BATCH})
    if "student" in body and body["student"] != request.user.pk:
        return _bad_request(_("Events are recorded for the signed-in student only."))
    lessons: dict[int, object] = {}
    versions: dict[int, LessonVersion] = {}
    parsed: list[EventIn] = []
    for raw in raw_events:
        event = _parse_event(raw)
        if event is None:
            return _bad_request(_("Each event needs an id, a kind, a lesson and a time."))
        raw, occurred_at = event
        if "student" in raw and raw["student"] != request.user.pk:
            return _bad_request(_("Events are recorded for the signed-in student only."))
        try:
            lesson_id = int(raw.get("lesson"))
            version_id = int(raw.get("version"))
        except (TypeError, ValueError):
            return _bad_request(_("Each event needs an id, a kind, a lesson and a time."))
        if lesson_id not in lessons:
            lessons[lesson_id] = selectors.lesson_for_student(
                student=request.user, lesson_id=lesson_id
            )
        if version_id not in versions:
            # Only a version students were shown: the published one, or one published before.
            version = published_version(lessons[lesson_id])
            if version.pk != version_id:
                version = LessonVersion.objects.filter(
                    pk=version_id, lesson=lesson_id, published_at__isnull=False
                ).first()
            if version is None:
                raise Http404
            versions[version_id] = version
        client_id = str(raw.get("id", ""))
        if not client_id or len(client_id) > 64:
            return _bad_request(_("Each event needs an id, a kind, a lesson and a time."))
        payload = raw.get("payload") if isinstance(raw.get("payload"), dict) else {}
        parsed.append(
            EventIn(
                client_event_id=client_id,
                kind=str(raw.get("kind", "")),
                lesson=lessons[lesson_id],
                version=versions[version_id],
                occurred_at=occurred_at,
                payload=payload,
            )
        )
    try:
        result = services.learning_events_record(student=request.user, events=parsed)
    except ValidationError as error:
        return _bad_request(" ".join(error.messages))
    return JsonResponse(
        {
            "recorded": result.recorded,
            "duplicates": result.duplicates,
            "answers": result.answers,
            "progress": {
                str(lesson_id): selectors.cell_payload(row)
                for lesson_id, row in result.progress.items()
            },
        }
    )


@login_required
@require_GET
def gradebook(request, classroom_id):
    """The class's teacher (and staff): students by lessons, questions, live updates."""
    classroom = selectors.classroom_for_teacher(user=request.user, classroom_id=classroom_id)
    book = selectors.gradebook(classroom)
    audit_student_data_view(
        request=request,
        what="gradebook",
        target=f"class #{classroom.pk}",
        students=[row.student for row in book.rows],
    )
    settings_by_lesson = selectors.lessons_settings(book.lessons)
    lesson_columns = [
        {
            "lesson": lesson,
            "settings": settings_by_lesson[lesson.pk],
            "questions": [stats for stats in book.questions if stats.lesson.pk == lesson.pk],
        }
        for lesson in book.lessons
    ]
    heatmap = class_heatmap(classroom, [row.student for row in book.rows])
    courses = {concept.course for concept in heatmap["concepts"]}
    thresholds = [(course, course_learner_model(course)) for course in sorted(courses, key=str)]
    adaptive = [lesson for lesson in book.lessons if lesson.course_id in
                {concept.course_id for concept in heatmap["concepts"]}]  # fmt: skip
    return render(
        request,
        "learning/gradebook.html",
        {
            "book": book,
            "lesson_columns": lesson_columns,
            "classroom": classroom,
            "heatmap": heatmap,
            "adaptive_lessons": adaptive,
            "thresholds": thresholds,
        },
    )


def _status_text(cell: dict) -> str:
    if cell["completed"]:
        return _("completed")
    if cell["watched_percent"] or cell["score_percent"] is not None:
        return _("in progress")
    return _("not started")


@login_required
@require_GET
def gradebook_csv(request, classroom_id):
    """The gradebook as CSV: one row per student and lesson."""
    classroom = selectors.classroom_for_teacher(user=request.user, classroom_id=classroom_id)
    book = selectors.gradebook(classroom)
    audit_student_data_view(
        request=request,
        what="gradebook_csv",
        target=f"class #{classroom.pk}",
        students=[row.student for row in book.rows],
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="gradebook-class-{classroom.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["student", "display name", "course", "lesson", "watched %", "status", "score %"]
    )
    lessons = {lesson.pk: lesson for lesson in book.lessons}
    for row in book.rows:
        for cell in row.cells:
            lesson = lessons[cell["lesson"]]
            writer.writerow(
                [
                    row.student.username,
                    row.student.display_name,
                    lesson.course.title,
                    lesson.title,
                    cell["watched_percent"],
                    _status_text(cell),
                    "" if cell["score_percent"] is None else cell["score_percent"],
                ]
            )
    return response


@login_required
@require_GET
def xapi_export(request, classroom_id):
    """The class's learning record as xAPI statements (JSON), for an LRS or an LMS."""
    classroom = selectors.classroom_for_teacher(user=request.user, classroom_id=classroom_id)
    statements = xapi.classroom_statements(classroom, base_url=request.build_absolute_uri("/"))
    audit_student_data_view(
        request=request,
        what="xapi",
        target=f"class #{classroom.pk}",
        students=classroom.students.values_list("pk", flat=True),
    )
    response = JsonResponse(statements, safe=False, json_dumps_params={"ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="xapi-class-{classroom.pk}.json"'
    return response


@login_required
@require_POST
def lesson_settings(request, lesson_id):
    """The course's owner: whether students may skip past unanswered questions."""
    lesson = selectors.lesson_for_teacher(user=request.user, lesson_id=lesson_id)
    services.lesson_settings_update(
        lesson=lesson, prevent_skipping=request.POST.get("prevent_skipping") == "on"
    )
    messages.success(request, _("Settings of “%(lesson)s” saved.") % {"lesson": lesson.title})
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "home"
    return redirect(next_url)


@login_required
@require_POST
def course_thresholds(request, course_id):
    """The course's owner: when a concept counts as mastered, remedial and enrichment."""
    from courses.models import Course
    from learning.mastery import THRESHOLD_FIELDS, course_thresholds_update

    course = Course.objects.filter(pk=course_id).first()
    if course is None or not (request.user.is_staff or course.owner_id == request.user.pk):
        raise Http404
    try:
        values = {
            name: float(request.POST[name]) for name in THRESHOLD_FIELDS if request.POST.get(name)
        }
        course_thresholds_update(course=course, values=values)
    except ValueError:
        messages.error(request, _("Each threshold is a number between 0 and 1."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Thresholds of “%(course)s” saved.") % {"course": course.title})
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "home"
    return redirect(next_url)
