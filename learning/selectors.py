"""Queries for students' pages (home, player) and teachers' gradebooks, checking access.

A student sees a lesson only through moderation's publish gate; a teacher sees only their
own classes. Anyone else is told the object does not exist (404), never that it is hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse

from accounts.models import Classroom, User
from courses.models import Checkpoint, Choice, Lesson, LessonVersion, RenderJob, VersionStatus
from courses.playlists import job_playlist
from courses.selectors import latest_successful_render
from courses.storage import local_media_path
from learning.models import CheckpointAnswer, LearningEvent, LessonProgress, LessonSettings
from moderation.publishing import signed_playlist_digests
from moderation.selectors import (
    published_lessons_for_student,
    published_version,
    published_version_for_student,
)

# Covered at least this much of the video (small gaps allowed) counts as watched in full.
WATCHED_IN_FULL = 0.95


# Access -----------------------------------------------------------------------------------


def lesson_for_student(*, student, lesson_id: int) -> Lesson:
    """A published lesson of one of the student's classes, with its published version
    (`published_version` reads it without a query); 404 for anyone else."""
    version = published_version_for_student(student=student, lesson_id=lesson_id)
    if version is None:
        raise Http404
    lesson = version.lesson
    lesson.published_versions = [version]
    return lesson


def classroom_for_teacher(*, user, classroom_id: int) -> Classroom:
    """The user's own class (staff: any); 404 for everyone else, students included."""
    classroom = get_object_or_404(Classroom.objects.select_related("teacher"), pk=classroom_id)
    if not (user.is_authenticated and (user.is_staff or classroom.teacher_id == user.pk)):
        raise Http404
    return classroom


def lesson_for_teacher(*, user, lesson_id: int) -> Lesson:
    """A lesson of the user's own course (staff: any); 404 for everyone else."""
    lesson = get_object_or_404(Lesson.objects.select_related("course"), pk=lesson_id)
    if not (user.is_authenticated and (user.is_staff or lesson.course.owner_id == user.pk)):
        raise Http404
    return lesson


def lesson_settings(lesson: Lesson) -> LessonSettings:
    """The lesson's settings, or unsaved defaults (no query when lesson_for_student joined
    them)."""
    if Lesson.learning_settings.is_cached(lesson):
        return getattr(lesson, "learning_settings", None) or LessonSettings(lesson=lesson)
    return LessonSettings.objects.filter(lesson=lesson).first() or LessonSettings(lesson=lesson)


def lessons_settings(lessons: list[Lesson]) -> dict[int, LessonSettings]:
    """{lesson id: its settings, or unsaved defaults} for several lessons, in one query."""
    found = {row.lesson_id: row for row in LessonSettings.objects.filter(lesson__in=lessons)}
    return {lesson.pk: found.get(lesson.pk) or LessonSettings(lesson=lesson) for lesson in lessons}


# What a version holds -------------------------------------------------------------------


def version_checkpoints(version: LessonVersion) -> list[Checkpoint]:
    """Accepted questions of a version, in scene order, with their choices."""
    return list(
        Checkpoint.objects.filter(scene__version=version, accepted=True)
        .select_related("scene")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("position", "id")))
        .order_by("scene__position", "scene__id")
    )


def version_duration_s(job: RenderJob | None) -> float:
    if job is None:
        return 0.0
    return float(job.manifest.get("duration_s") or 0.0)


def scene_order(version: LessonVersion) -> tuple[list[int], bool]:
    """The version's scene ids in lesson order, and whether any scene is tagged with a
    concept (the lesson then adapts: learning/variant_views.py); one query."""
    ids: list[int] = []
    tagged = False
    rows = version.scenes.order_by("position", "id").values_list("pk", "concepts")
    for scene_id, concept_id in rows:
        if not ids or ids[-1] != scene_id:
            ids.append(scene_id)
        tagged = tagged or concept_id is not None
    return ids, tagged


def scene_end_times_s(scene_ids: list[int], job: RenderJob) -> dict[int, float]:
    """{scene id: when the scene ends in the video}, from the render manifest, whose scenes
    are in the version's scene order (courses.storyboards)."""
    manifest_scenes = job.manifest.get("scenes") or []
    return {
        scene_id: float(entry["end_s"])
        for scene_id, entry in zip(scene_ids, manifest_scenes, strict=False)
        if "end_s" in entry
    }


def chapters(job: RenderJob) -> list[dict]:
    """[{"title", "start_s"}] from the render manifest, for the chapter list."""
    return [
        {"title": entry.get("title", ""), "start_s": float(entry.get("start_s", 0))}
        for entry in job.manifest.get("scenes") or []
    ]


_CUE_TIME = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})")


def _seconds(stamp: str) -> float:
    match = _CUE_TIME.fullmatch(stamp.strip().split(" ")[0])
    if match is None:
        raise ValueError(stamp)
    hours, minutes, seconds, millis = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def transcript_cues(job: RenderJob) -> list[dict]:
    """The captions file's cues [{"start_s", "end_s", "text"}]: the interactive transcript."""
    path = local_media_path(f"{job.output_dir}/lesson.vtt") if job.output_dir else None
    if path is None:
        return []
    cues = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8").replace("\r\n", "\n")):
        lines = [line for line in block.strip().split("\n") if line.strip()]
        timing = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue
        start, end = lines[timing].split("-->", 1)
        try:
            cues.append(
                {
                    "start_s": _seconds(start),
                    "end_s": _seconds(end),
                    "text": " ".join(lines[timing + 1 :]),
                }
            )
        except ValueError:
            continue
    return cues


def video_source_url(job: RenderJob) -> str:
    """The published MP4: what the player falls back to (and what a render made before
    playlists plays)."""
    return reverse("courses:render_job_file", args=[job.pk, "video"])


def video_playlist_url(job: RenderJob) -> str:
    """The HLS playlist the player plays over the shared segment cache; "" for a render made
    before playlists, or signed with a manifest that covers none (the player plays the MP4)."""
    if job_playlist(job) is None or signed_playlist_digests(job) == {}:
        return ""
    return reverse("courses:render_job_playlist", args=[job.pk])


# The player -------------------------------------------------------------------------------


def student_progress(*, student, lesson: Lesson) -> LessonProgress | None:
    return LessonProgress.objects.filter(student=student, lesson=lesson).first()


def page_attempt(progress: LessonProgress | None, question_count: int) -> int:
    """The attempt a page opened now answers in: the current one, or the next one when every
    question was answered in it (re-watching allows another attempt)."""
    if progress is None:
        return 1
    if question_count == 0:
        return progress.attempt
    answered = CheckpointAnswer.objects.filter(
        student=progress.student_id, lesson=progress.lesson_id, attempt=progress.attempt
    ).count()
    return progress.attempt + 1 if answered >= question_count else progress.attempt


@dataclass
class PlayerPage:
    lesson: Lesson
    version: LessonVersion
    job: RenderJob | None
    settings: LessonSettings
    progress: LessonProgress | None
    attempt: int
    questions: list[dict] = field(default_factory=list)
    chapters: list[dict] = field(default_factory=list)
    cues: list[dict] = field(default_factory=list)
    adaptive: bool = False  # scenes tagged with concepts: the lesson adapts to the student

    def config(self, student) -> dict:
        """What static/js/player.js reads (json_script): URLs, times, questions, prefs."""
        job = self.job
        return {
            "student": student.pk,
            "lesson": self.lesson.pk,
            "version": self.version.pk,
            "attempt": self.attempt,
            "duration_s": version_duration_s(job),
            "resume_s": self._resume_s(),
            "prevent_skipping": self.settings.prevent_skipping,
            "captions_on": student.captions_enabled,
            "events_url": reverse("learning:events"),
            "questions": self.questions,
        }

    def _resume_s(self) -> float:
        if self.progress is None or self.progress.version_id != self.version.pk:
            return 0.0
        duration = version_duration_s(self.job)
        position = self.progress.position_s
        return 0.0 if duration and position >= duration - 2 else position


def player_page(*, student, lesson: Lesson) -> PlayerPage:
    version = published_version(lesson)
    if version is None:
        raise Http404
    job = latest_successful_render(version)
    progress = student_progress(student=student, lesson=lesson)
    checkpoints = version_checkpoints(version)
    attempt = page_attempt(progress, len(checkpoints))
    answered = set(
        CheckpointAnswer.objects.filter(
            student=student, lesson=lesson, attempt=attempt
        ).values_list("checkpoint_id", flat=True)
        if checkpoints
        else ()
    )
    scene_ids, adaptive = scene_order(version)
    ends = scene_end_times_s(scene_ids, job) if job else {}
    duration = version_duration_s(job)
    questions = [
        {
            "id": checkpoint.pk,
            # A render without scene times (an old manifest): the question comes at the end.
            "at_s": ends.get(checkpoint.scene_id, duration),
            "prompt": checkpoint.prompt,
            "choices": [{"id": c.pk, "text": c.text} for c in checkpoint.choices.all()],
            "answered": checkpoint.pk in answered,
        }
        for checkpoint in checkpoints
    ]
    return PlayerPage(
        lesson=lesson,
        version=version,
        job=job,
        settings=lesson_settings(lesson),
        progress=progress,
        attempt=attempt,
        questions=questions,
        chapters=chapters(job) if job else [],
        cues=transcript_cues(job) if job else [],
        adaptive=adaptive,
    )


# The student's home -----------------------------------------------------------------------


@dataclass
class LessonRow:
    lesson: Lesson
    progress: LessonProgress | None
    is_next: bool = False

    @property
    def state(self) -> str:
        if self.progress is None or (
            not self.progress.watched_intervals and self.progress.score is None
        ):
            return "not_started"
        return "completed" if self.progress.completed else "in_progress"


@dataclass
class CourseRows:
    title: str
    lessons: list[LessonRow]


@dataclass
class ClassroomRows:
    classroom: Classroom
    courses: list[CourseRows]


def student_home(student) -> tuple[list[ClassroomRows], LessonRow | None]:
    """The student's classes, each course's published lessons in course order with the
    student's progress, and the lesson to continue with (the first one not completed)."""
    progress = {p.lesson_id: p for p in LessonProgress.objects.filter(student=student)}
    visible = published_lessons_for_student(student).order_by("position", "id")
    classrooms = (
        Classroom.objects.filter(students=student)
        .select_related("teacher")
        .prefetch_related(
            Prefetch(
                "courses",
                queryset=_courses_with_lessons(visible),
            )
        )
        .order_by("name")
    )
    rows: list[ClassroomRows] = []
    next_row: LessonRow | None = None
    for classroom in classrooms:
        course_rows = []
        for course in classroom.courses.all():
            lessons = [LessonRow(lesson, progress.get(lesson.pk)) for lesson in course.visible]
            for row in lessons:
                if next_row is None and not (row.progress and row.progress.completed):
                    row.is_next = True
                    next_row = row
            course_rows.append(CourseRows(title=course.title, lessons=lessons))
        rows.append(ClassroomRows(classroom=classroom, courses=course_rows))
    return rows, next_row


def _courses_with_lessons(visible: QuerySet[Lesson]):
    from courses.models import Course

    return Course.objects.order_by("title").prefetch_related(
        Prefetch("lessons", queryset=visible, to_attr="visible")
    )


# The gradebook ----------------------------------------------------------------------------


def classroom_students(classroom: Classroom) -> list[User]:
    return list(classroom.students.order_by("display_name", "username"))


def classroom_lessons(classroom: Classroom) -> list[Lesson]:
    """Published lessons of the class's courses, in course order."""
    from moderation.selectors import published_lessons

    return list(
        published_lessons()
        .filter(course__classrooms=classroom)
        .select_related("course")
        .order_by("course__title", "position", "id")
        .distinct()
    )


@dataclass
class QuestionStats:
    checkpoint: Checkpoint
    lesson: Lesson
    right: int
    answered: int
    top_wrong: str  # the most chosen wrong answer's text, "" when nobody chose one
    top_wrong_count: int

    def as_dict(self) -> dict:
        return {
            "checkpoint": self.checkpoint.pk,
            "right": self.right,
            "answered": self.answered,
            "top_wrong": self.top_wrong,
            "top_wrong_count": self.top_wrong_count,
        }


def question_stats(classroom: Classroom, lessons: list[Lesson]) -> list[QuestionStats]:
    """Per question of the lessons' published versions (in lesson, then scene order):
    first-attempt answers by the class's students, how many were right, and the wrong answer
    chosen most often. Three queries, however many lessons and questions."""
    order = {lesson.pk: index for index, lesson in enumerate(lessons)}
    by_lesson = {lesson.pk: lesson for lesson in lessons}
    checkpoints = sorted(
        Checkpoint.objects.filter(
            scene__version__lesson__in=lessons,
            scene__version__status=VersionStatus.PUBLISHED,
            accepted=True,
        )
        .select_related("scene__version")
        .prefetch_related(Prefetch("choices", queryset=Choice.objects.order_by("position", "id"))),
        key=lambda c: (order[c.scene.version.lesson_id], c.scene.position, c.scene_id),
    )
    answers = CheckpointAnswer.objects.filter(
        checkpoint__in=checkpoints, attempt=1, student__in=classroom.students.all()
    )
    counts = {
        row["checkpoint"]: row
        for row in answers.values("checkpoint").annotate(
            answered=Count("pk"), right=Count("pk", filter=Q(is_correct=True))
        )
    }
    top_wrong: dict[int, dict] = {}
    for row in (
        answers.filter(is_correct=False)
        .values("checkpoint", "choice__text")
        .annotate(n=Count("pk"))
        .order_by("checkpoint", "-n", "choice__text")
    ):
        top_wrong.setdefault(row["checkpoint"], row)
    stats = []
    for checkpoint in checkpoints:
        count = counts.get(checkpoint.pk, {"answered": 0, "right": 0})
        wrong = top_wrong.get(checkpoint.pk)
        stats.append(
            QuestionStats(
                checkpoint=checkpoint,
                lesson=by_lesson[checkpoint.scene.version.lesson_id],
                right=count["right"],
                answered=count["answered"],
                top_wrong=wrong["choice__text"] if wrong else "",
                top_wrong_count=wrong["n"] if wrong else 0,
            )
        )
    return stats


def cell_payload(progress: LessonProgress | None) -> dict:
    """One gradebook cell: the same dict is rendered, exported and pushed over the socket."""
    if progress is None:
        return {"watched_percent": 0, "completed": False, "score_percent": None}
    return {
        "watched_percent": progress.watched_percent,
        "completed": progress.completed,
        "score_percent": progress.score_percent,
    }


def answer_history(students: list[User], lessons: list[Lesson]) -> dict[int, list[bool]]:
    """{student id: whether each of their answers was right, oldest first}."""
    history: dict[int, list[bool]] = {student.pk: [] for student in students}
    for student_id, correct in (
        CheckpointAnswer.objects.filter(student__in=students, lesson__in=lessons)
        .order_by("answered_at", "pk")
        .values_list("student_id", "is_correct")
    ):
        history[student_id].append(correct)
    return history


def sparkline_points(results: list[bool], *, width: int = 100, height: int = 24) -> str:
    """SVG polyline points of the running share of right answers (0 at the bottom)."""
    if not results:
        return ""
    right = 0
    points = []
    step = width / max(len(results) - 1, 1)
    for index, correct in enumerate(results):
        right += correct
        share = right / (index + 1)
        points.append(f"{index * step:.1f},{(1 - share) * (height - 2) + 1:.1f}")
    if len(points) == 1:
        points.append(f"{width:.1f},{points[0].split(',')[1]}")
    return " ".join(points)


@dataclass
class GradebookRow:
    student: User
    cells: list[dict]
    sparkline: str
    answers: int
    right: int


@dataclass
class Gradebook:
    classroom: Classroom
    lessons: list[Lesson]
    rows: list[GradebookRow]
    questions: list[QuestionStats]


def gradebook(classroom: Classroom) -> Gradebook:
    students = classroom_students(classroom)
    lessons = classroom_lessons(classroom)
    progress = {
        (p.student_id, p.lesson_id): p
        for p in LessonProgress.objects.filter(student__in=students, lesson__in=lessons)
    }
    history = answer_history(students, lessons)
    rows = [
        GradebookRow(
            student=student,
            cells=[
                {"lesson": lesson.pk, **cell_payload(progress.get((student.pk, lesson.pk)))}
                for lesson in lessons
            ],
            sparkline=sparkline_points(history[student.pk]),
            answers=len(history[student.pk]),
            right=sum(history[student.pk]),
        )
        for student in students
    ]
    return Gradebook(
        classroom=classroom,
        lessons=lessons,
        rows=rows,
        questions=question_stats(classroom, lessons),
    )


def classrooms_of_student_for_lesson(*, student, lesson: Lesson) -> QuerySet[Classroom]:
    """The classes whose gradebook shows this student's work in this lesson."""
    return Classroom.objects.filter(students=student, courses=lesson.course_id).distinct()


def classroom_events(classroom: Classroom) -> QuerySet[LearningEvent]:
    """The class's students' events in the class's lessons, oldest first (xAPI export)."""
    return (
        LearningEvent.objects.filter(
            student__in=classroom.students.all(),
            lesson__course__classrooms=classroom,
        )
        .select_related("student", "lesson", "version")
        .order_by("occurred_at", "pk")
        .distinct()
    )
