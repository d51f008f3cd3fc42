"""Fixtures for moderation tests: alice's lesson of three scenes, rendered and ready to submit,
a second moderator, a class with a student and a student of another class."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import Classroom, Membership, Role
from courses import services
from courses.models import Scene
from tests.conftest import make_user
from tests.courses.conftest import finished_render
from tests.synthesis.labelled_render import copy_labelled_output


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def course(alice):
    return services.course_create(owner=alice, title="Version control", slug="git")


@pytest.fixture
def version(course, alice):
    """Version 1 of "Git basics": a title card, a sourced bullet slide, a code slide; rendered."""
    lesson = services.lesson_create(course=course, title="Git basics", created_by=alice)
    version = lesson.versions.get()
    Scene.objects.create(version=version, position=0, kind="title", title="Git basics")
    Scene.objects.create(
        version=version, position=1, kind="text", title="Why version control",
        body="Keep history\nWork together",
        narration="Version control keeps history. It lets people work together.",
        narration_sources=[
            {"sentence": "Version control keeps history.", "file": "lesson.md", "paragraph": 2},
        ],
    )  # fmt: skip
    Scene.objects.create(
        version=version, position=2, kind="code", title="First commit",
        code="git commit -m 'first'", code_language="bash",
        narration="A commit records a snapshot.",
    )  # fmt: skip
    finished_render(version, alice, output_dir="renders/1")
    # Publishing checks the labels of the render's real files and signs the video.
    copy_labelled_output(Path(settings.MEDIA_ROOT) / "renders/1")
    return version


@pytest.fixture
def mia(db):
    """A second moderator."""
    return make_user("mia", Role.MODERATOR)


@pytest.fixture
def classroom(alice, course, sam):
    classroom = Classroom.objects.create(teacher=alice, name="7B", join_code="K7P2QX")
    classroom.courses.add(course)
    Membership.objects.create(classroom=classroom, student=sam)
    return classroom


@pytest.fixture
def other_student(bob):
    """A student of bob's class, which does not have alice's course."""
    student = make_user("olga", Role.STUDENT)
    classroom = Classroom.objects.create(teacher=bob, name="8C", join_code="M3N4PQ")
    Membership.objects.create(classroom=classroom, student=student)
    return student


def render_and_submit(version, user):
    """Give a draft a finished render and submit it; returns the version as stored."""
    if not version.render_jobs.exists():
        finished_render(version, user, output_dir=f"renders/{version.pk}")
        copy_labelled_output(Path(settings.MEDIA_ROOT) / f"renders/{version.pk}")
    return services.lesson_version_submit(version=version, user=user)
