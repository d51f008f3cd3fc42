"""Renaming and deleting courses and lessons: what the services change, what they refuse."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from courses import services
from courses.models import (
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
from tests.courses.documents import png_bytes


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def image_scene(version, media, name: str) -> Scene:
    (media / name).parent.mkdir(parents=True, exist_ok=True)
    (media / name).write_bytes(png_bytes())
    return Scene.objects.create(version=version, position=9, kind="image", image=name)


def test_course_update_renames_and_validates(course):
    services.course_update(course=course, title=" Git ", language="zh", description="d")
    course.refresh_from_db()
    assert (course.title, course.language, course.slug) == ("Git", "zh", "git")
    with pytest.raises(ValidationError):
        services.course_update(course=course, title="", language="en", description="")


def test_lesson_update_renames_and_validates(version):
    lesson = services.lesson_update(lesson=version.lesson, title="  Branches  ")
    assert Lesson.objects.get(pk=lesson.pk).title == "Branches"
    with pytest.raises(ValidationError):
        services.lesson_update(lesson=lesson, title="x" * 201)
    assert Lesson.objects.get(pk=lesson.pk).title == "Branches"


def test_lesson_delete_removes_versions_scenes_and_files(
    version, alice, media, django_capture_on_commit_callbacks
):
    fork, _copies = services.lesson_version_fork(version=version, user=alice)
    scene = image_scene(version, media, f"scenes/{version.lesson_id}/a.png")
    with django_capture_on_commit_callbacks(execute=True):
        course = services.lesson_delete(lesson=version.lesson, user=alice)
    assert course.slug == "git"
    assert not LessonVersion.objects.filter(pk__in=[version.pk, fork.pk]).exists()
    assert not Scene.objects.exists()
    assert not (media / scene.image.name).exists()


def test_lesson_delete_keeps_an_image_another_lesson_uses(
    version, alice, media, django_capture_on_commit_callbacks
):
    shared = image_scene(version, media, "scenes/shared/a.png")
    other = services.lesson_create(course=version.lesson.course, title="Other", created_by=alice)
    Scene.objects.create(version=other.versions.get(), kind="image", image=shared.image.name)
    with django_capture_on_commit_callbacks(execute=True):
        services.lesson_delete(lesson=version.lesson, user=alice)
    assert (media / "scenes" / "shared" / "a.png").is_file()


def test_lesson_delete_removes_nothing_until_the_deletion_commits(
    version, alice, media, django_capture_on_commit_callbacks
):
    scene = image_scene(version, media, f"scenes/{version.lesson_id}/a.png")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.lesson_delete(lesson=version.lesson, user=alice)
    assert (media / scene.image.name).is_file()
    assert len(callbacks) == 1


@pytest.mark.parametrize("status", [VersionStatus.APPROVED, VersionStatus.PUBLISHED])
def test_lesson_delete_refuses_a_live_lesson(version, alice, status):
    services.lesson_version_fork(version=version, user=alice)
    LessonVersion.objects.filter(pk=version.pk).update(status=status)
    with pytest.raises(ValidationError) as refused:
        services.lesson_delete(lesson=version.lesson, user=alice)
    assert refused.value.messages == [
        f"Version 1 of “Git basics” is {status}: students may be watching it, "
        "so the lesson is kept."
    ]
    assert LessonVersion.objects.filter(lesson=version.lesson).count() == 2


@pytest.mark.parametrize("status", [RenderStatus.QUEUED, RenderStatus.RUNNING])
def test_lesson_delete_refuses_while_rendering(version, alice, status):
    RenderJob.objects.create(version=version, requested_by=alice, status=status)
    with pytest.raises(ValidationError, match="is being rendered"):
        services.lesson_delete(lesson=version.lesson, user=alice)
    assert Lesson.objects.exists()


def test_course_delete_removes_lessons_concepts_and_pending_imports(
    version, alice, media, tmp_path, django_capture_on_commit_callbacks
):
    course = version.lesson.course
    services.concepts_for_names(course=course, names=["commits"])
    folder = tmp_path / "pending" / "p1"
    folder.mkdir(parents=True)
    PendingImport.objects.create(
        owner=alice, course=course, kind="zip", source_name="x.zip", title="X",
        language="en", folder=str(folder),
    )  # fmt: skip
    scene = image_scene(version, media, f"scenes/{version.lesson_id}/a.png")
    with django_capture_on_commit_callbacks(execute=True):
        services.course_delete(course=course, user=alice)
    assert not Course.objects.exists() and not Lesson.objects.exists()
    assert not Concept.objects.exists() and not PendingImport.objects.exists()
    assert not folder.exists()
    assert not (media / scene.image.name).exists()


def test_course_delete_refuses_when_one_lesson_is_published(version, alice):
    course = version.lesson.course
    services.lesson_create(course=course, title="Branches", created_by=alice)
    LessonVersion.objects.filter(pk=version.pk).update(status=VersionStatus.PUBLISHED)
    with pytest.raises(ValidationError, match="Git basics"):
        services.course_delete(course=course, user=alice)
    assert course.lessons.count() == 2


def test_course_delete_names_every_reason(version, alice):
    course = version.lesson.course
    branches = services.lesson_create(course=course, title="Branches", created_by=alice)
    LessonVersion.objects.filter(pk=version.pk).update(status=VersionStatus.APPROVED)
    RenderJob.objects.create(version=branches.versions.get(), requested_by=alice)
    with pytest.raises(ValidationError) as refused:
        services.course_delete(course=course, user=alice)
    assert len(refused.value.messages) == 2
    assert "“Branches” is being rendered" in refused.value.messages[1]
