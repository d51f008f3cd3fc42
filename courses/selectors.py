"""Functions that fetch courses, lessons, versions, scenes and render jobs, checking access.

Only a course's owner and staff see its drafts: every `*_for_editor` selector answers 404
(Http404) to anyone else, so a view cannot forget the check and another teacher, a student
or a moderator never learns that the object exists. The `*_for_viewer` selectors also admit
moderators to versions submitted for review and the students of a lesson's classes to its
published version. 403 is kept for a role that is wrong for a whole page, not an object
(`role_required`: a student opening the course list).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.estimates import lesson_estimate_s
from courses.messages import message_text
from courses.models import (
    Checkpoint,
    Concept,
    Course,
    Lesson,
    LessonVersion,
    PendingImport,
    RenderJob,
    RenderStatus,
    Scene,
    VersionStatus,
)

ACTIVE_RENDER_STATUSES = (RenderStatus.QUEUED, RenderStatus.RUNNING)
# A version in one of these states may be on students' screens; its lesson is never deleted.
LIVE_VERSION_STATUSES = (VersionStatus.APPROVED, VersionStatus.PUBLISHED)
# Moderators see a version, its scene images and its renders from submission on.
REVIEWABLE_VERSION_STATUSES = (
    VersionStatus.SUBMITTED,
    VersionStatus.IN_REVIEW,
    VersionStatus.APPROVED,
    VersionStatus.REJECTED,
    VersionStatus.PUBLISHED,
)
# A job still queued after this long hints that no render worker is running.
RENDER_WAIT_HINT_S = 60
# A running job whose row changed this recently shows that a worker is alive (and busy).
WORKER_ALIVE_S = 120


def user_can_edit_course(user, course: Course) -> bool:
    """The owner and staff may see and change a course's drafts; nobody else."""
    return bool(user.is_authenticated and (user.is_staff or course.owner_id == user.pk))


def _require_editor(user, course: Course) -> None:
    if not user_can_edit_course(user, course):
        raise Http404  # someone else's course: not even its existence is theirs to know


def user_can_review_version(user, version: LessonVersion) -> bool:
    """Moderators (and staff) may see every version submitted for review or later."""
    return bool(
        user.is_authenticated
        and (user.is_staff or user.is_moderator)
        and version.status in REVIEWABLE_VERSION_STATUSES
    )


def user_can_watch_version(user, version: LessonVersion) -> bool:
    """Students of the lesson's classes may watch its published version (the player)."""
    if not (user.is_authenticated and user.is_student):
        return False
    if version.status != VersionStatus.PUBLISHED:
        return False
    # moderation.selectors holds the publish gate and imports this module: import it here.
    from moderation.selectors import lesson_is_visible_to_student

    return lesson_is_visible_to_student(student=user, lesson=version.lesson)


def _require_viewer(user, version: LessonVersion) -> None:
    if (
        user_can_edit_course(user, version.lesson.course)
        or user_can_review_version(user, version)
        or user_can_watch_version(user, version)
    ):
        return
    raise Http404  # a draft is none of their business, nor is its existence


def courses_for_owner(*, user) -> QuerySet[Course]:
    return Course.objects.filter(owner=user).prefetch_related("lessons")


def course_for_editor(*, user, slug: str) -> Course:
    course = get_object_or_404(Course.objects.select_related("owner"), slug=slug)
    _require_editor(user, course)
    return course


def lesson_for_editor(*, user, lesson_id: int) -> Lesson:
    lesson = get_object_or_404(Lesson.objects.select_related("course"), pk=lesson_id)
    _require_editor(user, lesson.course)
    return lesson


def version_for_editor(*, user, version_id: int) -> LessonVersion:
    version = get_object_or_404(
        LessonVersion.objects.select_related("lesson__course"), pk=version_id
    )
    _require_editor(user, version.lesson.course)
    return version


def scene_for_editor(*, user, scene_id: int) -> Scene:
    scene = get_object_or_404(Scene.objects.select_related("version__lesson__course"), pk=scene_id)
    _require_editor(user, scene.version.lesson.course)
    return scene


def scene_for_viewer(*, user, scene_id: int) -> Scene:
    """A scene for its course's owner, staff, or a moderator once its version was submitted."""
    scene = get_object_or_404(Scene.objects.select_related("version__lesson__course"), pk=scene_id)
    _require_viewer(user, scene.version)
    return scene


def checkpoint_for_editor(*, user, checkpoint_id: int) -> Checkpoint:
    checkpoint = get_object_or_404(
        Checkpoint.objects.select_related("scene__version__lesson__course"), pk=checkpoint_id
    )
    _require_editor(user, checkpoint.scene.version.lesson.course)
    return checkpoint


def render_job_for_editor(*, user, job_id: int) -> RenderJob:
    job = get_object_or_404(RenderJob.objects.select_related("version__lesson__course"), pk=job_id)
    _require_editor(user, job.version.lesson.course)
    return job


def render_job_for_viewer(*, user, job_id: int) -> RenderJob:
    """A render for its course's owner, staff, or a moderator once its version was submitted."""
    job = get_object_or_404(RenderJob.objects.select_related("version__lesson__course"), pk=job_id)
    _require_viewer(user, job.version)
    return job


def pending_import_for_owner(*, user, pending_id) -> PendingImport:
    pending = get_object_or_404(PendingImport.objects.select_related("course"), pk=pending_id)
    if not (user.is_staff or pending.owner_id == user.pk):
        raise Http404
    return pending


def lesson_version_is_frozen(version: LessonVersion) -> bool:
    """A version that was rendered, queued or left draft status never changes again."""
    return version.status != VersionStatus.DRAFT or version.render_jobs.exists()


def scene_checkpoint(scene: Scene) -> Checkpoint | None:
    """The scene's question, or None (no query when it was fetched with the scene)."""
    try:
        return scene.checkpoint
    except Checkpoint.DoesNotExist:
        return None


def version_scenes(version: LessonVersion) -> list[Scene]:
    """The version's scenes in order, with concepts and checkpoints loaded for the editor."""
    return list(
        version.scenes.select_related("checkpoint")
        .prefetch_related(
            "concepts",
            Prefetch("checkpoint__choices"),
            Prefetch("checkpoint__concepts"),
        )
        .order_by("position", "id")
    )


def version_estimate_s(scenes: list[Scene]) -> float:
    return lesson_estimate_s((scene.narration, scene.language) for scene in scenes)


def lesson_versions(lesson: Lesson) -> list[LessonVersion]:
    """Newest first, each with its render jobs (newest first) for the history table."""
    return list(
        lesson.versions.select_related("created_by")
        .prefetch_related(
            Prefetch(
                "render_jobs",
                queryset=RenderJob.objects.select_related("requested_by").order_by("-created_at"),
            )
        )
        .order_by("-number")
    )


def latest_render_job(version: LessonVersion) -> RenderJob | None:
    return version.render_jobs.order_by("-created_at").first()


def latest_successful_render(version: LessonVersion) -> RenderJob | None:
    return (
        version.render_jobs.filter(status=RenderStatus.SUCCEEDED)
        .exclude(output_dir="")
        .order_by("-finished_at", "-created_at")
        .first()
    )


def latest_successful_of(jobs) -> RenderJob | None:
    """latest_successful_render over render jobs already fetched."""
    finished = [j for j in jobs if j.status == RenderStatus.SUCCEEDED and j.output_dir]
    return max(
        finished,
        key=lambda j: (j.finished_at is not None, j.finished_at, j.created_at),
        default=None,
    )


def active_render_job(version: LessonVersion) -> RenderJob | None:
    return (
        version.render_jobs.filter(status__in=ACTIVE_RENDER_STATUSES)
        .order_by("-created_at")
        .first()
    )


def course_concepts(course: Course) -> QuerySet[Concept]:
    return course.concepts.all()


def lesson_deletion_blockers(lessons: QuerySet[Lesson]) -> list[str]:
    """Why these lessons cannot be deleted now, one sentence each; empty when they can.

    A lesson with an approved or published version may be on students' screens, and one
    being rendered would have its outputs written after the rows are gone.
    """
    reasons: list[str] = []
    live = (
        LessonVersion.objects.filter(lesson__in=lessons, status__in=LIVE_VERSION_STATUSES)
        .select_related("lesson")
        .order_by("lesson__position", "lesson_id", "-number")
    )
    named: set[int] = set()
    for version in live:
        if version.lesson_id in named:
            continue
        named.add(version.lesson_id)
        reasons.append(
            _(
                "Version %(number)s of “%(lesson)s” is %(status)s: students may be watching "
                "it, so the lesson is kept."
            )
            % {
                "number": version.number,
                "lesson": version.lesson.title,
                "status": version.get_status_display().lower(),
            }
        )
    rendering = (
        Lesson.objects.filter(
            pk__in=lessons.values("pk"), versions__render_jobs__status__in=ACTIVE_RENDER_STATUSES
        )
        .distinct()
        .order_by("position", "id")
    )
    for lesson in rendering:
        reasons.append(
            _("“%(lesson)s” is being rendered: cancel the render or wait for it to end.")
            % {"lesson": lesson.title}
        )
    return reasons


def lessons_by_id(lesson_ids: list[int]) -> QuerySet[Lesson]:
    return Lesson.objects.filter(pk__in=lesson_ids)


def deletion_summary(lessons: QuerySet[Lesson]) -> dict[str, int]:
    """How many lessons, versions and rendered videos deleting these lessons removes."""
    return {
        "lessons": lessons.count(),
        "versions": LessonVersion.objects.filter(lesson__in=lessons).count(),
        "videos": RenderJob.objects.filter(version__lesson__in=lessons)
        .exclude(output_dir="")
        .count(),
    }


def render_job_wait_state(job: RenderJob, *, now: datetime | None = None) -> str:
    """Why a queued job still waits: "" (not queued, or not for long), "busy" (a worker is
    rendering something else) or "no_worker" (no render has made progress lately)."""
    if job.status != RenderStatus.QUEUED or job.created_at is None:
        return ""
    now = now or timezone.now()
    if now - job.created_at < timedelta(seconds=RENDER_WAIT_HINT_S):
        return ""
    busy = (
        RenderJob.objects.filter(
            status=RenderStatus.RUNNING, updated_at__gte=now - timedelta(seconds=WORKER_ALIVE_S)
        )
        .exclude(pk=job.pk)
        .exists()
    )
    return "busy" if busy else "no_worker"


def _wait_hint_in_s(job: RenderJob, now: datetime) -> int | None:
    """Seconds until a queued job has waited long enough for the hint; None when not queued."""
    if job.status != RenderStatus.QUEUED or job.created_at is None:
        return None
    waited_s = (now - job.created_at).total_seconds()
    return max(0, int(RENDER_WAIT_HINT_S - waited_s) + 1)


def render_job_payload(job: RenderJob) -> dict:
    """What the progress page needs: the same dict is stored, sent on connect and pushed."""
    now = timezone.now()
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": str(RenderStatus(job.status).label),
        "stage": job.stage,
        "scene_index": job.scene_index,
        "scene_count": job.scene_count,
        "percent": round(job.percent, 1),
        "eta_s": None if job.eta_s is None else round(job.eta_s),
        "error": job.error,
        "warnings": [message_text(warning) for warning in job.warnings],
        "cancel_requested": job.cancel_requested,
        "finished": job.is_finished,
        "waiting": render_job_wait_state(job, now=now),
        "waiting_hint_in_s": _wait_hint_in_s(job, now),
    }
