"""Fixtures for learning tests: alice's published lesson (three scenes, two questions, a
finished render with captions and scene times), her class with sam, bob's class with olga."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import Classroom, Membership, Role
from courses import services
from courses.models import Checkpoint, Choice, RenderJob, RenderStatus, Scene, VersionStatus
from tests.conftest import make_user

CAPTIONS = (
    "WEBVTT\n\n"
    "00:00.000 --> 00:03.000\nWhy is the sky blue?\n\n"
    "00:04.000 --> 00:07.500\nSunlight is a mix of colours.\n\n"
    "00:08.000 --> 00:11.500\nAir scatters blue light the most.\n"
)
# Three scenes of 4 s: the questions come at 8 s (scene 2) and 12 s (scene 3, the end).
MANIFEST = {
    "duration_s": 12.0,
    "scenes": [
        {"id": "s01", "title": "Why is the sky blue?", "start_s": 0.0, "end_s": 4.0},
        {"id": "s02", "title": "Sunlight", "start_s": 4.0, "end_s": 8.0},
        {"id": "s03", "title": "Scattering", "start_s": 8.0, "end_s": 12.0},
    ],
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def render_files(
    version, user, *, output_dir: str, video: bytes = b"not really an mp4"
) -> RenderJob:
    """A finished render whose folder holds the files the player asks for."""
    folder = Path(settings.MEDIA_ROOT) / output_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lesson.mp4").write_bytes(video)
    (folder / "lesson.vtt").write_text(CAPTIONS)
    (folder / "lesson.chapters.vtt").write_text("WEBVTT\n")
    (folder / "lesson.txt").write_text("Why is the sky blue?\n")
    return RenderJob.objects.create(
        version=version, requested_by=user, status=RenderStatus.SUCCEEDED, percent=100,
        output_dir=output_dir, manifest=MANIFEST, finished_at=timezone.now(),
    )  # fmt: skip


def add_question(scene, prompt, right, wrong, explanation=""):
    checkpoint = Checkpoint.objects.create(scene=scene, prompt=prompt, explanation=explanation)
    Choice.objects.create(checkpoint=checkpoint, text=right, is_correct=True, position=0)
    Choice.objects.create(checkpoint=checkpoint, text=wrong, is_correct=False, position=1)
    return checkpoint


def publish(version):
    """What moderation's publish does to the row (its own tests cover the workflow)."""
    version.status = VersionStatus.PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["status", "published_at"])
    return version


@pytest.fixture
def course(alice):
    return services.course_create(owner=alice, title="Light and colour", slug="light")


@pytest.fixture
def version(course, alice):
    lesson = services.lesson_create(course=course, title="Why is the sky blue?", created_by=alice)
    version = lesson.versions.get()
    version.attribution = "Written for Lectern's tests (CC0)."
    version.save(update_fields=["attribution"])
    Scene.objects.create(version=version, position=0, kind="title", title="Why is the sky blue?")
    sunlight = Scene.objects.create(
        version=version, position=1, title="Sunlight", narration="Sunlight is a mix of colours."
    )
    scattering = Scene.objects.create(
        version=version, position=2, title="Scattering",
        narration="Air scatters blue light the most.",
    )  # fmt: skip
    add_question(
        sunlight, "What is sunlight made of?", "Every colour", "Only yellow",
        explanation="White light is a mix of all colours.",
    )  # fmt: skip
    add_question(
        scattering, "Which colour does air scatter most?", "Blue", "Red",
        explanation="Short wavelengths scatter most.",
    )  # fmt: skip
    render_files(version, alice, output_dir=f"renders/{version.pk}")
    return publish(version)


@pytest.fixture
def lesson(version):
    return version.lesson


@pytest.fixture
def draft(course, alice):
    """A second lesson of the same course that was never published."""
    lesson = services.lesson_create(course=course, title="Rainbows (draft)", created_by=alice)
    version = lesson.versions.get()
    Scene.objects.create(version=version, position=0, title="Rainbows", narration="Soon.")
    render_files(version, alice, output_dir=f"renders/draft-{version.pk}")
    return version


@pytest.fixture
def classroom(alice, course, sam):
    classroom = Classroom.objects.create(teacher=alice, name="7B", join_code="K7P2QX")
    classroom.courses.add(course)
    Membership.objects.create(classroom=classroom, student=sam)
    return classroom


@pytest.fixture
def olga(bob):
    """A student of bob's class, which does not have alice's course."""
    student = make_user("olga", Role.STUDENT)
    classroom = Classroom.objects.create(teacher=bob, name="8C", join_code="M3N4PQ")
    Membership.objects.create(classroom=classroom, student=student)
    return student


@pytest.fixture
def bob_classroom(olga):
    return Classroom.objects.get(join_code="M3N4PQ")
