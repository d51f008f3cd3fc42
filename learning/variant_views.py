"""Per-learner video: a student's own variant of a lesson, and the teacher's "preview as
student S" of exactly that variant with the reasons beside it.

Access: the student's URLs carry no student id (the plan is always the signed-in student's,
so nobody can ask for another's); the teacher's carry the class, which must be theirs, and a
student of it. Anything else is 404.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from courses import playlists
from courses.media import CONTENT_TYPES
from learning import selectors
from learning.models import VariantStatus
from learning.services import learning_events_record
from learning.variants import (
    VariantError,
    lesson_variant_entries,
    lesson_variant_ready,
    lesson_variant_request,
    precheck_answers,
    student_variant,
    variant_video_write,
)
from moderation.audit import audit_student_data_view
from synthesis.errors import SynthesisError

logger = logging.getLogger(__name__)
C2PA_TYPE = CONTENT_TYPES[".c2pa"]


def _own(user, lesson_id):
    lesson = selectors.lesson_for_student(student=user, lesson_id=lesson_id)
    return user, lesson, {"lesson_id": lesson.pk}


def _as_teacher(user, classroom_id, student_id, lesson_id):
    classroom = selectors.classroom_for_teacher(user=user, classroom_id=classroom_id)
    student = get_object_or_404(classroom.students.all(), pk=student_id)
    lesson = next(
        (x for x in selectors.classroom_lessons(classroom) if x.pk == int(lesson_id)), None
    )
    if lesson is None:
        raise Http404
    ids = {"classroom_id": classroom.pk, "student_id": student.pk, "lesson_id": lesson.pk}
    return student, lesson, ids


def _url(name: str, ids: dict, *extra) -> str:
    prefix = "teacher_" if "classroom_id" in ids else ""
    return reverse(f"learning:{prefix}{name}", args=[*ids.values(), *extra])


def _socket_path(ids: dict) -> str:
    """The page's WebSocket (lectern/routing.py, learning.consumers.VariantConsumer)."""
    if "classroom_id" in ids:
        classroom_id, student_id, lesson_id = ids.values()
        return f"/ws/classes/{classroom_id}/students/{student_id}/lessons/{lesson_id}/preview/"
    return f"/ws/lessons/{ids['lesson_id']}/my-video/"


def _page(request, student, lesson, ids, *, preview: bool):
    try:
        variant = student_variant(student=student, lesson=lesson)
    except VariantError:
        raise Http404 from None
    # The student answers the pre-checks (or skips them) before the video is made.
    asks_first = not preview and variant.pre_checks and not request.GET.get("skip_checks")
    if not asks_first:
        # The worker starts now rather than at the page's first status poll; a refusal is
        # what that poll reports.
        with contextlib.suppress(VariantError):
            lesson_variant_request(variant)
    return render(
        request,
        "learning/variant.html",
        {
            "lesson": lesson,
            "student": student,
            "preview": preview,
            "reasons": variant.reasons(),
            "status_url": _url("variant_status", ids),
            "socket_path": _socket_path(ids),
            "lesson_language": variant.version.language,
            "pre_checks": variant.pre_checks if asks_first else (),
            "pre_check_count": len(variant.pre_checks),
        },
    )


@login_required
@require_POST
def variant_precheck(request, lesson_id):
    """The student's answers to the pre-checks, recorded like answers in the player (so
    the learner model moves); then the plan is made again without what they showed they
    know."""
    student, lesson, ids = _own(request.user, lesson_id)
    try:
        variant = student_variant(student=student, lesson=lesson)
    except VariantError:
        raise Http404 from None
    answers = precheck_answers(variant, request.POST, student=student)
    if answers:
        learning_events_record(student=student, events=answers)
    return redirect(_url("variant_page", ids) + ("" if answers else "?skip_checks=1"))


def variant_subject(user, kwargs: dict):
    """(student, lesson, URL ids) of a variant URL's kwargs as the HTTP views resolve them
    for this user: the student's own (lesson_id), or a teacher's preview (classroom_id,
    student_id, lesson_id). Raises Http404 where the user may not see it."""
    if "classroom_id" in kwargs:
        return _as_teacher(user, kwargs["classroom_id"], kwargs["student_id"], kwargs["lesson_id"])
    return _own(user, kwargs["lesson_id"])


def variant_status_payload(variant, row, ids: dict) -> dict:
    """What status.json says of a requested variant (the page's WebSocket sends the same)."""
    ready = lesson_variant_ready(row)
    return {
        "status": VariantStatus.READY if ready else row.status,
        "playlist": _url("variant_playlist", ids) if ready else "",
        "captions": _url("variant_captions", ids) if ready else "",
        "order": variant.plan.order,
        "duration_s": round(variant.plan.duration_s(), 2),
        "encoded": row.encoded if ready else None,
    }


def refused_payload(error: VariantError) -> dict:
    return {"status": "refused", "error": str(error)}


def _status(student, lesson, ids) -> JsonResponse:
    try:
        variant = student_variant(student=student, lesson=lesson)
        row = lesson_variant_request(variant)
    except VariantError as error:
        return JsonResponse(refused_payload(error), status=409)
    return JsonResponse(variant_status_payload(variant, row, ids))


def _ready_row(student, lesson):
    try:
        variant = student_variant(student=student, lesson=lesson)
        row = lesson_variant_request(variant)
    except VariantError:
        raise Http404 from None
    if not lesson_variant_ready(row):
        raise Http404
    return row


def _playlist(student, lesson, ids) -> HttpResponse:
    from synthesis.hls import PLAYLIST_TYPE, media_playlist

    row = _ready_row(student, lesson)
    entries = lesson_variant_entries(row)
    text = media_playlist(
        [
            (_url("variant_segment", ids, entry.position, entry.key), entry.frames / row.fps)
            for entry in entries
        ]
    )
    response = HttpResponse(text, content_type=PLAYLIST_TYPE)
    response["Cache-Control"] = "private, no-cache"
    return _link_to_provenance(response, ids)


def _link_to_provenance(response: HttpResponse, ids) -> HttpResponse:
    """Name the variant's C2PA manifest, as courses.views does for a published render."""
    response["Link"] = f'<{_url("variant_provenance", ids)}>; rel="c2pa-manifest"'
    return response


def _signed_row(student, lesson):
    """The ready variant once its sidecar is signed (a moment after it is ready), else
    None: the MP4 and the sidecar are served only together."""
    row = _ready_row(student, lesson)
    return row if row.manifest_store else None


def _being_signed() -> HttpResponse:
    response = HttpResponse(
        _("This video is being signed; try again in a moment."),
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = "1"
    return response


def _provenance(student, lesson) -> HttpResponse:
    """The variant's C2PA manifest store: a sidecar of its MP4 (variant_video), listing the
    SHA-256 of each TS file its playlist serves."""
    row = _signed_row(student, lesson)
    if row is None:
        return _being_signed()
    response = HttpResponse(bytes(row.manifest_store), content_type=C2PA_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, "my-video.c2pa")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-cache"
    return response


def _video(student, lesson) -> HttpResponse:
    """The variant as one MP4, remuxed from its segments on request (nothing is stored per
    variant): the file its manifest was signed over, for download or a verifier."""
    row = _signed_row(student, lesson)
    if row is None:
        return _being_signed()
    with tempfile.TemporaryDirectory(prefix="lectern-variant-") as folder:
        path = variant_video_write(row.entries, row.fps, row.metadata, Path(folder) / "v.mp4")
        handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it; the name goes now
    response = FileResponse(
        handle, as_attachment=True, filename=f"lesson-{lesson.pk}-my-video.mp4",
        content_type="video/mp4",
    )  # fmt: skip
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-cache"
    return response


def _captions(student, lesson) -> HttpResponse:
    row = _ready_row(student, lesson)
    response = HttpResponse(row.captions or "WEBVTT\n", content_type="text/vtt; charset=utf-8")
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, no-cache"
    return response


def _segment(request, student, lesson, ids, position: int, key: str) -> HttpResponse:
    from synthesis.hls import MPEGTS_TYPE, ts_segment

    row = _ready_row(student, lesson)
    entries = lesson_variant_entries(row)
    if position >= len(entries) or entries[position].key != key:
        raise Http404
    try:
        data = ts_segment(playlists.segment_store(), entries[position], fps=row.fps)
    except SynthesisError:
        raise Http404 from None
    if hashlib.sha256(data).hexdigest() != row.ts_digests[position]:
        logger.error("variant %s: TS %s does not match its signed digest", row.pk, position)
        raise Http404
    response = playlists.ranged_bytes_response(request, data, MPEGTS_TYPE)
    response["Cache-Control"] = "private, max-age=86400"
    return _link_to_provenance(response, ids)


@login_required
@require_GET
def variant_page(request, lesson_id):
    return _page(request, *_own(request.user, lesson_id), preview=False)


@login_required
@require_GET
def variant_status(request, lesson_id):
    return _status(*_own(request.user, lesson_id))


@login_required
@require_GET
def variant_playlist(request, lesson_id):
    return _playlist(*_own(request.user, lesson_id))


@login_required
@require_GET
def variant_captions(request, lesson_id):
    return _captions(*_own(request.user, lesson_id)[:2])


@login_required
@require_GET
def variant_segment(request, lesson_id, position, key):
    student, lesson, ids = _own(request.user, lesson_id)
    return _segment(request, student, lesson, ids, position, key)


@login_required
@require_GET
def teacher_variant_page(request, classroom_id, student_id, lesson_id):
    student, lesson, ids = _as_teacher(request.user, classroom_id, student_id, lesson_id)
    audit_student_data_view(
        request=request, what="variant_preview", target=f"lesson #{lesson.pk}", students=[student]
    )
    return _page(request, student, lesson, ids, preview=True)


@login_required
@require_GET
def teacher_variant_status(request, classroom_id, student_id, lesson_id):
    return _status(*_as_teacher(request.user, classroom_id, student_id, lesson_id))


@login_required
@require_GET
def teacher_variant_playlist(request, classroom_id, student_id, lesson_id):
    return _playlist(*_as_teacher(request.user, classroom_id, student_id, lesson_id))


@login_required
@require_GET
def teacher_variant_captions(request, classroom_id, student_id, lesson_id):
    return _captions(*_as_teacher(request.user, classroom_id, student_id, lesson_id)[:2])


@login_required
@require_GET
def teacher_variant_segment(request, classroom_id, student_id, lesson_id, position, key):
    student, lesson, ids = _as_teacher(request.user, classroom_id, student_id, lesson_id)
    return _segment(request, student, lesson, ids, position, key)


@login_required
@require_GET
def variant_provenance(request, lesson_id):
    return _provenance(*_own(request.user, lesson_id)[:2])


@login_required
@require_GET
def variant_video(request, lesson_id):
    return _video(*_own(request.user, lesson_id)[:2])


@login_required
@require_GET
def teacher_variant_provenance(request, classroom_id, student_id, lesson_id):
    return _provenance(*_as_teacher(request.user, classroom_id, student_id, lesson_id)[:2])


@login_required
@require_GET
def teacher_variant_video(request, classroom_id, student_id, lesson_id):
    return _video(*_as_teacher(request.user, classroom_id, student_id, lesson_id)[:2])
