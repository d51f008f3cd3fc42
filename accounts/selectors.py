"""Queries for accounts pages: classes, a role's home page, the review queue."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from accounts.models import Classroom, User
from courses.models import Course, Lesson, LessonVersion, VersionStatus


def classroom_by_join_code(join_code: str) -> Classroom | None:
    return Classroom.objects.filter(join_code=join_code).first()


def classrooms_for_teacher(teacher: User) -> QuerySet[Classroom]:
    """A teacher's classes with their students, in one query each."""
    return (
        Classroom.objects.filter(teacher=teacher)
        .prefetch_related(Prefetch("students", queryset=User.objects.order_by("username")))
        .annotate(student_count=Count("students", distinct=True))
    )


def courses_for_teacher(teacher: User) -> QuerySet[Course]:
    return Course.objects.filter(owner=teacher).annotate(lesson_count=Count("lessons"))


def classrooms_for_student(student: User) -> QuerySet[Classroom]:
    """The classes a student belongs to, with their teacher, courses and lessons."""
    return (
        Classroom.objects.filter(students=student)
        .select_related("teacher")
        .prefetch_related(
            Prefetch(
                "courses",
                queryset=Course.objects.prefetch_related(
                    Prefetch("lessons", queryset=Lesson.objects.order_by("position", "id"))
                ),
            )
        )
    )


REVIEW_STATUSES = (VersionStatus.SUBMITTED, VersionStatus.IN_REVIEW)


def review_queue() -> QuerySet[LessonVersion]:
    """Lesson versions waiting for a moderator, oldest first."""
    return (
        LessonVersion.objects.filter(status__in=REVIEW_STATUSES)
        .select_related("lesson__course", "created_by")
        .order_by("created_at")
    )
