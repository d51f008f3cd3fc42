"""Teacher studio pages. Every view admits teachers (and staff) by role; the selectors
then refuse anyone but the course's owner with 403, so drafts stay private."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from accounts.permissions import role_required
from courses import playlists, selectors, services
from courses.estimates import (
    CHARS_PER_SECOND,
    MIN_SCENE_S,
    SCENE_PADDING_S,
    SENTENCE_GAP_S,
    narration_estimate_s,
)
from courses.forms import (
    CheckpointForm,
    ClassroomsForm,
    CourseEditForm,
    CourseForm,
    ImportConfirmForm,
    LessonForm,
    LessonImportForm,
    NarrationPreviewForm,
    RenderForm,
    SceneForm,
    VoiceForm,
    checkpoint_initial,
    scene_initial,
)
from courses.media import ranged_file_response, stored_file_response
from courses.models import (
    ImportKind,
    ImportStatus,
    RenderStatus,
    SceneKind,
    SceneRole,
    VersionStatus,
)
from courses.narration import narration_preview_wav, render_voices, voice_sample_sentence
from courses.quotas import teacher_storage_use
from courses.templatetags.studio import STAGE_LABELS
from courses.uploads import refused_uploads, upload_size_limited
from courses.voices import version_voice_settings, voice_settings
from synthesis.errors import SynthesisError

teacher_required = role_required(Role.TEACHER)
# Scene images and render files are also shown to moderators reviewing a submitted version.
teacher_or_moderator_required = role_required(Role.TEACHER, Role.MODERATOR)

logger = logging.getLogger(__name__)

# Files a finished render publishes, by the name the URL uses.
RENDER_FILES = {
    "video": "lesson.mp4",
    "captions": "lesson.vtt",
    "descriptions": "lesson.descriptions.vtt",
    "chapters": "lesson.chapters.vtt",
    "transcript": "lesson.txt",
    "poster": "lesson.jpg",
    "manifest": "lesson.json",
    "provenance": "lesson.c2pa",  # the signed video's C2PA manifest store, for its playlist
}


def _validation_messages(error: ValidationError) -> list[str]:
    return [str(message) for message in error.messages]


def _version_url(version, anchor: str = "") -> str:
    url = reverse("courses:version_detail", args=[version.pk])
    return f"{url}#{anchor}" if anchor else url


# Courses --------------------------------------------------------------------------------


@teacher_required
def course_list(request):
    courses = selectors.courses_for_owner(user=request.user)
    return render(request, "courses/course_list.html", {"courses": courses})


@teacher_required
@require_http_methods(["GET", "POST"])
def course_create(request):
    form = CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            course = services.course_create(owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Course created. Add a lesson or import one."))
            return redirect("courses:course_detail", slug=course.slug)
    return render(request, "courses/course_form.html", {"form": form})


@teacher_required
def course_detail(request, slug):
    course = selectors.course_for_editor(user=request.user, slug=slug)
    context = {
        "course": course,
        "lessons": course.lessons.prefetch_related("versions"),
        "concepts": course.concepts.all(),
        "classrooms_form": ClassroomsForm(
            owner=course.owner, initial={"classrooms": course.classrooms.all()}
        ),
        "lesson_form": LessonForm(),
        "import_form": LessonImportForm(),
    }
    return render(request, "courses/course_detail.html", context)


@teacher_required
@require_http_methods(["GET", "POST"])
def course_edit(request, slug):
    course = selectors.course_for_editor(user=request.user, slug=slug)
    form = CourseEditForm(request.POST or None, instance=course)
    if request.method == "POST" and form.is_valid():
        services.course_update(course=course, **form.cleaned_data)
        messages.success(request, _("Course saved."))
        return redirect("courses:course_detail", slug=course.slug)
    return render(request, "courses/course_form.html", {"form": form, "course": course})


@teacher_required
@require_http_methods(["GET", "POST"])
def course_delete(request, slug):
    """A confirmation page; its POST deletes the course unless a lesson is live or rendering."""
    course = selectors.course_for_editor(user=request.user, slug=slug)
    lessons = course.lessons.all()
    blockers = selectors.lesson_deletion_blockers(lessons)
    if request.method == "POST":
        try:
            services.course_delete(course=course, user=request.user)
        except ValidationError as error:
            blockers = _validation_messages(error)
        else:
            messages.success(request, _("Course “%(title)s” deleted.") % {"title": course.title})
            return redirect("courses:course_list")
    context = {
        "course": course,
        "blockers": blockers,
        "summary": selectors.deletion_summary(lessons),
    }
    return render(request, "courses/course_confirm_delete.html", context)


@teacher_required
@require_POST
def course_classrooms(request, slug):
    course = selectors.course_for_editor(user=request.user, slug=slug)
    form = ClassroomsForm(request.POST, owner=course.owner)
    if form.is_valid():
        services.course_set_classrooms(course=course, classrooms=form.cleaned_data["classrooms"])
        messages.success(request, _("Classes updated."))
    else:
        messages.error(request, _("Choose among your own classes."))
    return redirect("courses:course_detail", slug=course.slug)


# Lessons and imports --------------------------------------------------------------------


@teacher_required
@require_POST
def lesson_create(request, slug):
    course = selectors.course_for_editor(user=request.user, slug=slug)
    form = LessonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the lesson a title."))
        return redirect("courses:course_detail", slug=course.slug)
    lesson = services.lesson_create(
        course=course, title=form.cleaned_data["title"], created_by=request.user
    )
    version = lesson.versions.get()
    services.scene_create(
        version=version, user=request.user, kind=SceneKind.TITLE, title=lesson.title
    )
    return redirect(_version_url(version))


@teacher_required
def lesson_detail(request, lesson_id):
    lesson = selectors.lesson_for_editor(user=request.user, lesson_id=lesson_id)
    return redirect(_version_url(lesson.latest_version))


@teacher_required
@require_http_methods(["GET", "POST"])
def lesson_edit(request, lesson_id):
    """Rename a lesson."""
    lesson = selectors.lesson_for_editor(user=request.user, lesson_id=lesson_id)
    form = LessonForm(request.POST or None, initial={"title": lesson.title})
    if request.method == "POST" and form.is_valid():
        try:
            services.lesson_update(lesson=lesson, title=form.cleaned_data["title"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Lesson renamed."))
            return redirect(_version_url(lesson.latest_version))
    context = {"course": lesson.course, "lesson": lesson, "form": form}
    return render(request, "courses/lesson_form.html", context)


@teacher_required
@require_http_methods(["GET", "POST"])
def lesson_delete(request, lesson_id):
    """A confirmation page; its POST deletes the lesson unless it is live or rendering."""
    lesson = selectors.lesson_for_editor(user=request.user, lesson_id=lesson_id)
    lessons = selectors.lessons_by_id([lesson.pk])
    blockers = selectors.lesson_deletion_blockers(lessons)
    if request.method == "POST":
        try:
            course = services.lesson_delete(lesson=lesson, user=request.user)
        except ValidationError as error:
            blockers = _validation_messages(error)
        else:
            messages.success(request, _("Lesson “%(title)s” deleted.") % {"title": lesson.title})
            return redirect("courses:course_detail", slug=course.slug)
    context = {
        "course": lesson.course,
        "lesson": lesson,
        "blockers": blockers,
        "summary": selectors.deletion_summary(lessons),
    }
    return render(request, "courses/lesson_confirm_delete.html", context)


@upload_size_limited
@teacher_required
@require_http_methods(["GET", "POST"])
def lesson_import(request, slug):
    course = selectors.course_for_editor(user=request.user, slug=slug)
    posted = request.method == "POST"  # bound even when the only field was a refused file
    form = LessonImportForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        refused_uploads=refused_uploads(request),
    )
    if request.method == "POST" and form.is_valid():
        try:
            # The file is kept and read by a worker; the review page waits for it.
            pending = services.pending_import_start(
                owner=request.user,
                course=course,
                upload=form.cleaned_data["file"],
                kind=form.kind,
                language=form.cleaned_data["language"] or None,
            )
        except ValidationError as error:
            for message in _validation_messages(error):
                form.add_error("file", message)
        else:
            return redirect("courses:import_review", pending_id=pending.pk)
    context = {
        "course": course,
        "form": form,
        "storage": teacher_storage_use(request.user),
    }
    return render(request, "courses/lesson_import.html", context)


def _import_progress_text(pending) -> str:
    """What the worker is doing, in the teacher's language: 'Drawing page 12 of 200'."""
    step, count = pending.step, pending.step_count
    numbers = {"step": step, "count": count}
    if pending.stage == "unpacking" and count:
        return _("Unpacking file %(step)s of %(count)s") % numbers
    if pending.stage == "drawing" and count:
        return _("Drawing page %(step)s of %(count)s") % numbers
    if pending.stage == "reading" and count and pending.kind == ImportKind.PPTX:
        return _("Reading slide %(step)s of %(count)s") % numbers
    if pending.stage in ("reading", "unpacking", "drawing"):
        return _("Reading “%(name)s”") % {"name": pending.source_name}
    return _("Waiting for a worker to read the file…")


def _import_status_payload(pending) -> dict:
    return {
        "status": pending.status,
        "progress": _import_progress_text(pending)
        if pending.status == ImportStatus.PARSING
        else "",
        "step": pending.step,
        "step_count": pending.step_count,
        "error": pending.error if pending.status == ImportStatus.FAILED else "",
        "review_url": reverse("courses:import_review", args=[pending.pk]),
    }


@teacher_required
@require_GET
def import_status(request, pending_id):
    """A pending import's progress as JSON; the waiting page polls it. Someone else's import
    is not found (404), so the address does not confirm that it exists."""
    try:
        pending = selectors.pending_import_for_owner(user=request.user, pending_id=pending_id)
    except PermissionDenied as error:
        raise Http404 from error
    return JsonResponse(_import_status_payload(pending))


@teacher_required
@require_http_methods(["GET", "POST"])
def import_review(request, pending_id):
    pending = selectors.pending_import_for_owner(user=request.user, pending_id=pending_id)
    if pending.status != ImportStatus.READY:
        context = {
            "pending": pending,
            "course": pending.course,
            "payload": _import_status_payload(pending),
            "import_url": reverse("courses:lesson_import", args=[pending.course.slug]),
        }
        return render(request, "courses/import_wait.html", context)
    form = ImportConfirmForm(request.POST or None, initial={"title": pending.title})
    series = services.pending_import_series(pending)
    if request.method == "POST" and form.is_valid():
        title = form.cleaned_data["title"]
        if series and form.cleaned_data["series"] == "split":
            lessons = services.pending_import_confirm_series(
                pending=pending, user=request.user, title=title
            )
            messages.success(
                request,
                _("%(count)d lessons imported as a series. Review each one's scenes, then render.")
                % {"count": len(lessons)},
            )
            return redirect("courses:course_detail", slug=pending.course.slug)
        lesson = services.pending_import_confirm(pending=pending, user=request.user, title=title)
        messages.success(request, _("Lesson imported. Review the scenes, then render."))
        return redirect(_version_url(lesson.latest_version))
    context = {
        "pending": pending,
        "course": pending.course,
        "series": series,
        "series_estimate_s": sum(part.estimate_s for part in series),
        "scenes": [
            {
                "scene": scene,
                "image_url": reverse("courses:import_image", args=[pending.pk, index])
                if scene.image_path
                else "",
                "kind_label": SceneKind(scene.kind).label,
                "role_label": SceneRole(scene.role).label,
            }
            for index, scene in enumerate(services.pending_import_scenes(pending))
        ],
        "form": form,
    }
    return render(request, "courses/import_review.html", context)


@teacher_required
@require_POST
def import_discard(request, pending_id):
    pending = selectors.pending_import_for_owner(user=request.user, pending_id=pending_id)
    course = pending.course
    services.pending_import_discard(pending=pending)
    messages.info(request, _("Import discarded; nothing was saved."))
    return redirect("courses:course_detail", slug=course.slug)


@teacher_required
def import_image(request, pending_id, index):
    """An image of a pending import, for its review page."""
    pending = selectors.pending_import_for_owner(user=request.user, pending_id=pending_id)
    scenes = pending.scenes
    if not 0 <= index < len(scenes) or not scenes[index].get("image_path"):
        raise Http404
    folder = Path(pending.folder).resolve()
    path = (folder / scenes[index]["image_path"]).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise Http404
    return ranged_file_response(request, path)


# Versions: the editor page --------------------------------------------------------------


@teacher_required
def version_detail(request, version_id):
    version = selectors.version_for_editor(user=request.user, version_id=version_id)
    lesson = version.lesson
    scenes = selectors.version_scenes(version)
    # The history table's versions carry their render jobs: this version's come from there.
    versions = selectors.lesson_versions(lesson)
    jobs = next(each for each in versions if each.pk == version.pk).render_jobs.all()
    latest_job = jobs[0] if jobs else None
    finished = selectors.latest_successful_of(jobs)
    unreviewed = services.unreviewed_draft_scene_numbers(version, scenes=scenes)
    context = {
        "course": lesson.course,
        "lesson": lesson,
        "version": version,
        "scenes": scenes,
        "is_frozen": version.status != VersionStatus.DRAFT or bool(jobs),
        "is_latest": versions[0].pk == version.pk,
        "latest_version": versions[0],
        "estimate_s": selectors.version_estimate_s(scenes),
        "max_lesson_s": settings.LECTERN_MAX_LESSON_MINUTES * 60,
        "render_form": RenderForm(version=version),
        "render_voices": render_voices(finished.manifest or {}) if finished else None,
        "job": latest_job,
        "job_payload": selectors.render_job_payload(latest_job) if latest_job else None,
        "finished_job": finished,
        "versions": versions,
        "can_submit": version.status == VersionStatus.DRAFT and finished is not None,
        "unreviewed_scenes": unreviewed,
        "scene_kinds": SceneKind.choices,
        "progress_strings": _progress_strings(),
        "pending_drafts": len(unreviewed),
    }
    return render(request, "courses/version_detail.html", context)


def _progress_strings() -> dict:
    """Words the progress script shows, translated here because JavaScript cannot."""
    return {
        "stages": {key: str(label) for key, label in STAGE_LABELS.items()},
        "statuses": {status.value: str(status.label) for status in RenderStatus},
        "sceneOf": _("Scene {index} of {count}"),
        "left": _("{time} left"),
        "connectionLost": _("Live updates paused; checking every few seconds."),
        "confirmCancel": _("Stop this render?"),
    }


@teacher_required
@require_POST
def scene_add(request, version_id):
    version = selectors.version_for_editor(user=request.user, version_id=version_id)
    kind = request.POST.get("kind", SceneKind.TEXT)
    if kind not in SceneKind.values:
        kind = SceneKind.TEXT
    scene = services.scene_create(version=version, user=request.user, kind=kind)
    return redirect("courses:scene_edit", scene_id=scene.pk)


@teacher_required
@require_POST
def checkpoints_generate(request, version_id):
    version = selectors.version_for_editor(user=request.user, version_id=version_id)
    changed, created = services.checkpoint_drafts_generate(version=version, user=request.user)
    if not created:
        messages.info(request, _("No new questions could be drafted from these scenes."))
        return redirect(_version_url(changed))
    drafted = ngettext(
        "%(count)d draft question added; review it (accept, edit or delete) before you "
        "submit. Students see none until you accept them.",
        "%(count)d draft questions added; review each (accept, edit or delete) before you "
        "submit. Students see none until you accept them.",
        created,
    ) % {"count": created}
    if changed.pk != version.pk:
        drafted = (
            _(
                "Version %(old)s was already rendered or submitted, so the questions are in "
                "a new draft, version %(new)s."
            )
            % {"old": version.number, "new": changed.number}
            + " "
            + drafted
        )
    messages.success(request, drafted)
    return redirect(_version_url(changed))


@teacher_required
@require_POST
def version_render(request, version_id):
    version = selectors.version_for_editor(user=request.user, version_id=version_id)
    form = RenderForm(request.POST, version=version)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            for message in errors:
                if label:
                    message = _("%(field)s: %(error)s") % {"field": label, "error": message}
                messages.error(request, message)
        return redirect(_version_url(version, "render"))
    try:
        # The voice is stored with the version first, so the job renders with it.
        services.lesson_version_voice_set(version=version, user=request.user, **form.voice_choice)
        services.lesson_version_render_enqueue(
            version=version,
            user=request.user,
            size=form.cleaned_data["size"],
            quality=form.cleaned_data["quality"],
        )
    except ValidationError as error:
        for message in _validation_messages(error):
            messages.error(request, message)
    return redirect(_version_url(version, "render"))


@teacher_required
@require_GET
def version_voice_preview(request, version_id):
    """One sentence of the lesson in the voice and rate chosen on the Render form (unsaved)."""
    version = selectors.version_for_editor(user=request.user, version_id=version_id)
    form = VoiceForm(request.GET, version=version)
    if not form.is_valid():
        errors = [message for messages_ in form.errors.values() for message in messages_]
        return JsonResponse({"error": " ".join(errors)}, status=400)
    voice = voice_settings(language=version.language, **form.voice_choice)
    try:
        wav = narration_preview_wav(
            narration=voice_sample_sentence(version), language=version.language, voice=voice
        )
    except SynthesisError as error:
        return JsonResponse({"error": str(error)}, status=503)
    return ranged_file_response(request, wav)


@teacher_required
@require_POST
def version_submit(request, version_id):
    version = selectors.version_for_editor(user=request.user, version_id=version_id)
    try:
        services.lesson_version_submit(version=version, user=request.user)
    except ValidationError as error:
        for message in _validation_messages(error):
            messages.error(request, message)
    else:
        if version.status == VersionStatus.PUBLISHED:  # a trusted teacher's version
            messages.success(request, _("Published: your students can watch it now."))
        else:
            messages.success(request, _("Submitted for review. A moderator will look at it."))
    return redirect(_version_url(version))


# Scenes ---------------------------------------------------------------------------------


@upload_size_limited
@teacher_required
@require_http_methods(["GET", "POST"])
def scene_edit(request, scene_id):
    scene = selectors.scene_for_editor(user=request.user, scene_id=scene_id)
    version = scene.version
    if request.method == "POST":
        form = SceneForm(request.POST, request.FILES, refused_uploads=refused_uploads(request))
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                saved = services.scene_update(
                    scene=scene,
                    user=request.user,
                    concept_names=data.pop("concepts"),
                    **data,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if saved.version_id != version.pk:
                    messages.info(
                        request,
                        _(
                            "Version %(old)s was already rendered or submitted, so your change "
                            "is saved in a new draft, version %(new)s."
                        )
                        % {"old": version.number, "new": saved.version.number},
                    )
                else:
                    messages.success(request, _("Scene saved."))
                return redirect(_version_url(saved.version, f"scene-{saved.pk}"))
    else:
        form = SceneForm(initial=scene_initial(scene))
    context = {
        "course": version.lesson.course,
        "lesson": version.lesson,
        "version": version,
        "scene": scene,
        "form": form,
        "is_frozen": selectors.lesson_version_is_frozen(version),
        "sentences": _sentence_rows(scene),
        "scene_estimate_s": narration_estimate_s(scene.narration, scene.language),
        "concept_names": [concept.name for concept in version.lesson.course.concepts.all()],
        "estimate_config": {
            "charsPerSecond": CHARS_PER_SECOND,
            "sentenceGapS": SENTENCE_GAP_S,
            "scenePaddingS": SCENE_PADDING_S,
            "minSceneS": MIN_SCENE_S,
        },
    }
    return render(request, "courses/scene_edit.html", context)


def _sentence_rows(scene) -> list[dict]:
    """Each narrated sentence with where it came from (None: typed by the teacher)."""
    from synthesis.sentences import split_sentences

    sources = {
        source.get("sentence"): source for source in scene.narration_sources if source.get("file")
    }
    return [
        {"sentence": sentence, "source": sources.get(sentence)}
        for sentence in split_sentences(scene.narration, scene.language)
    ]


@teacher_required
@require_POST
def scene_move(request, scene_id):
    scene = selectors.scene_for_editor(user=request.user, scene_id=scene_id)
    offset = -1 if request.POST.get("direction") == "up" else 1
    moved = services.scene_move(scene=scene, user=request.user, offset=offset)
    return redirect(_version_url(moved.version, f"scene-{moved.pk}"))


@teacher_required
@require_POST
def scene_duplicate(request, scene_id):
    scene = selectors.scene_for_editor(user=request.user, scene_id=scene_id)
    copy = services.scene_duplicate(scene=scene, user=request.user)
    messages.success(request, _("Scene duplicated."))
    return redirect(_version_url(copy.version, f"scene-{copy.pk}"))


@teacher_required
@require_POST
def scene_delete(request, scene_id):
    scene = selectors.scene_for_editor(user=request.user, scene_id=scene_id)
    version = services.scene_delete(scene=scene, user=request.user)
    messages.success(request, _("Scene deleted."))
    return redirect(_version_url(version))


@teacher_or_moderator_required
def scene_image(request, scene_id):
    scene = selectors.scene_for_viewer(user=request.user, scene_id=scene_id)
    if not scene.image:
        raise Http404
    return stored_file_response(request, scene.image.name)


@teacher_required
@require_http_methods(["GET", "POST"])
def scene_narration_preview(request, scene_id):
    """The scene's narration as speech in the version's voice (POST: the text being typed)."""
    scene = selectors.scene_for_editor(user=request.user, scene_id=scene_id)
    narration, language = scene.narration, scene.language
    if request.method == "POST":
        form = NarrationPreviewForm(request.POST)
        if not form.is_valid():
            return JsonResponse({"error": _("The narration is too long to preview.")}, status=400)
        narration = form.cleaned_data["narration"]
        language = form.cleaned_data["language"] or language
    if not narration.strip():
        return JsonResponse({"error": _("There is no narration to play yet.")}, status=400)
    try:
        wav = narration_preview_wav(
            narration=narration, language=language, voice=version_voice_settings(scene.version)
        )
    except SynthesisError as error:
        return JsonResponse({"error": str(error)}, status=503)
    return ranged_file_response(request, wav)


# Checkpoints ----------------------------------------------------------------------------


@teacher_required
@require_http_methods(["GET", "POST"])
def checkpoint_edit(request, scene_id):
    scene = selectors.scene_for_editor(user=request.user, scene_id=scene_id)
    existing = selectors.scene_checkpoint(scene)
    if request.method == "POST":
        form = CheckpointForm(request.POST)
        if form.is_valid():
            checkpoint = services.checkpoint_save(
                scene=scene,
                user=request.user,
                prompt=form.cleaned_data["prompt"],
                explanation=form.cleaned_data["explanation"],
                choices=form.cleaned_data["choices"],
                concept_names=form.cleaned_data["concepts"],
            )
            messages.success(request, _("Question saved."))
            return redirect(_version_url(checkpoint.scene.version, f"scene-{checkpoint.scene_id}"))
    else:
        form = CheckpointForm(initial=checkpoint_initial(existing) if existing else None)
    context = {
        "course": scene.version.lesson.course,
        "lesson": scene.version.lesson,
        "version": scene.version,
        "scene": scene,
        "checkpoint": existing,
        "form": form,
        "concept_names": [c.name for c in scene.version.lesson.course.concepts.all()],
    }
    return render(request, "courses/checkpoint_form.html", context)


@teacher_required
@require_POST
def checkpoint_accept(request, scene_id):
    scene = selectors.scene_for_editor(user=request.user, scene_id=scene_id)
    if selectors.scene_checkpoint(scene) is None:
        raise Http404
    checkpoint = services.checkpoint_accept(scene=scene, user=request.user)
    messages.success(request, _("Question accepted."))
    return redirect(_version_url(checkpoint.scene.version, f"scene-{checkpoint.scene_id}"))


@teacher_required
@require_POST
def checkpoint_delete(request, scene_id):
    scene = selectors.scene_for_editor(user=request.user, scene_id=scene_id)
    scene = services.checkpoint_delete(scene=scene, user=request.user)
    messages.success(request, _("Question removed."))
    return redirect(_version_url(scene.version, f"scene-{scene.pk}"))


# Render jobs ----------------------------------------------------------------------------


@teacher_required
def render_job_status(request, job_id):
    """The stored progress as JSON: the page polls this when the WebSocket is down."""
    job = selectors.render_job_for_editor(user=request.user, job_id=job_id)
    return JsonResponse(selectors.render_job_payload(job))


@teacher_required
@require_POST
def render_job_cancel(request, job_id):
    job = selectors.render_job_for_editor(user=request.user, job_id=job_id)
    job = services.render_job_cancel(job=job, user=request.user)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse(selectors.render_job_payload(job))
    messages.info(request, _("Cancelling the render."))
    return redirect(_version_url(job.version, "render"))


@teacher_required
def render_job_preview(request, job_id):
    """The preview block of a finished job, fetched by the page when the render ends."""
    job = selectors.render_job_for_editor(user=request.user, job_id=job_id)
    if not job.output_dir:
        raise Http404
    return render(request, "courses/_render_preview.html", {"finished_job": job})


@role_required(Role.TEACHER, Role.MODERATOR, Role.STUDENT)
def render_job_file(request, job_id, name):
    """One output of a finished render, to the owner (moderators once it is submitted, the
    class's students once it is published), with Range support for seeking."""
    job = selectors.render_job_for_viewer(user=request.user, job_id=job_id)
    if name not in RENDER_FILES or not job.output_dir:
        raise Http404
    stored_name = f"{job.output_dir}/{RENDER_FILES[name]}"
    download = None
    if request.GET.get("download"):
        slug = job.version.lesson.course.slug
        suffix = Path(RENDER_FILES[name]).suffix
        download = f"{slug}-{job.version.lesson_id}-v{job.version.number}{suffix}"
    return stored_file_response(request, stored_name, download_name=download)


def _render_job_segments(request, job_id) -> tuple:
    """A finished job the user may see, its playlist entries, frame rate and, for a signed
    video, the TS digests its manifest lists (None for an unsigned draft's preview). Anyone
    else gets 404, which does not confirm the job; so does a signed video whose manifest
    covers no playlist (the player then plays the signed MP4)."""
    from moderation.publishing import signed_playlist_digests  # moderation imports courses

    try:
        job = selectors.render_job_for_viewer(user=request.user, job_id=job_id)
    except PermissionDenied:
        raise Http404 from None
    found = playlists.job_playlist(job)
    if found is None:
        raise Http404  # rendered before playlists existed: the player plays the MP4
    entries, fps = found
    digests = signed_playlist_digests(job)
    if digests is not None and set(digests) != {entry.position for entry in entries}:
        raise Http404
    return job, entries, fps, digests


def _link_to_provenance(response: HttpResponse, job, digests) -> HttpResponse:
    """Name the C2PA manifest that covers a signed render's playlist (the C2PA way of
    pointing at an external manifest)."""
    if digests:
        url = reverse("courses:render_job_file", args=[job.pk, "provenance"])
        response["Link"] = f'<{url}>; rel="c2pa-manifest"'
    return response


@role_required(Role.TEACHER, Role.MODERATOR, Role.STUDENT)
def render_job_playlist(request, job_id):
    """The HLS media playlist of a finished render over its cached segments (404 when a
    segment has left the cache: the player falls back to the MP4). Pins the segments."""
    from synthesis.hls import PLAYLIST_TYPE, media_playlist

    job, entries, fps, digests = _render_job_segments(request, job_id)
    store = playlists.segment_store()
    keys = {entry.key for entry in entries}
    if not all(store.has(key) for key in keys):
        raise Http404
    owner = f"render-job-{job.pk}"
    if store.pins(owner) != keys:
        store.pin(keys, owner=owner)  # a live playlist: never evicted (segments_gc unpins)
    text = media_playlist(
        [
            (reverse("courses:render_job_segment", args=[job.pk, entry.position, entry.key]),
             entry.frames / fps)
            for entry in entries
        ]
    )  # fmt: skip
    response = HttpResponse(text, content_type=PLAYLIST_TYPE)
    response["Cache-Control"] = "private, no-cache"
    return _link_to_provenance(response, job, digests)


@role_required(Role.TEACHER, Role.MODERATOR, Role.STUDENT)
def render_job_segment(request, job_id, position, key):
    """The segment at a position of a finished render's playlist as MPEG-TS, timed to its
    place (remuxed on request), with Range support. A signed render's TS file is served
    only when its bytes are those its manifest lists."""
    from synthesis.hls import MPEGTS_TYPE, ts_segment

    job, entries, fps, digests = _render_job_segments(request, job_id)
    if position >= len(entries) or entries[position].key != key:
        raise Http404
    try:
        data = ts_segment(playlists.segment_store(), entries[position], fps=fps)
    except SynthesisError:
        raise Http404 from None
    if digests is not None and hashlib.sha256(data).hexdigest() != digests[position]:
        logger.error("render %s: TS %s does not match its signed digest", job.pk, position)
        raise Http404
    response = playlists.ranged_bytes_response(request, data, MPEGTS_TYPE)
    response["Cache-Control"] = "private, max-age=86400"
    return _link_to_provenance(response, job, digests)
