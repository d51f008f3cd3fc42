"""Queries for accounts pages: classes and each role's home page.

Students see lessons only through moderation's publish gate (`published_lessons_for_student`).
"""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from accounts.models import Classroom, User
from courses.models import Course
from moderation.selectors import published_lessons_for_student


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
    """The classes a student belongs to, with their teacher, courses and published lessons
    (drafts and lessons under review are left out: students never learn they exist)."""
    return (
        Classroom.objects.filter(students=student)
        .select_related("teacher")
        .prefetch_related(
            Prefetch(
                "courses",
                queryset=Course.objects.prefetch_related(
                    Prefetch(
                        "lessons",
                        queryset=published_lessons_for_student(student).order_by("position", "id"),
                        to_attr="published_lessons",
                    )
                ),
            )
        )
    )
