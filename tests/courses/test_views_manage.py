"""Renaming and deleting courses and lessons from the studio: confirmation, refusals, access."""

from __future__ import annotations

import pytest
from django.urls import reverse

from courses.models import (
    Course,
    Lesson,
    LessonVersion,
    RenderJob,
    RenderStatus,
    Scene,
    VersionStatus,
)
from tests.courses.conftest import finished_render
from tests.courses.documents import png_bytes


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    return settings.MEDIA_ROOT


@pytest.fixture
def lesson_with_files(version, alice, media):
    """alice's lesson with an image scene and a finished render, both on disk."""
    scene = version.scenes.get(position=1)
    image_name = f"scenes/{version.lesson_id}/box.png"
    (media / "scenes" / str(version.lesson_id)).mkdir(parents=True)
    (media / image_name).write_bytes(png_bytes())
    scene.image = image_name
    scene.save()
    finished_render(version, alice, output_dir="renders/7")
    (media / "renders" / "7").mkdir(parents=True)
    (media / "renders" / "7" / "lesson.mp4").write_bytes(b"video")
    return version.lesson


def set_status(version, status: str) -> None:
    LessonVersion.objects.filter(pk=version.pk).update(status=status)


# Renaming -----------------------------------------------------------------------------


def test_owner_renames_a_course(client, alice, course):
    client.force_login(alice)
    response = client.post(
        reverse("courses:course_edit", args=[course.slug]),
        {"title": "  Git for teachers ", "language": "en", "description": ""},
    )
    assert response["Location"] == reverse("courses:course_detail", args=["git"])
    course.refresh_from_db()
    assert (course.title, course.slug) == ("Git for teachers", "git")


def test_owner_renames_a_lesson(client, alice, version):
    client.force_login(alice)
    url = reverse("courses:lesson_edit", args=[version.lesson_id])
    page = client.get(url).content.decode()
    assert 'value="Git basics"' in page and '<label for="id_title">' in page
    response = client.post(url, {"title": "Git, the basics"})
    assert response["Location"] == reverse("courses:version_detail", args=[version.pk])
    assert Lesson.objects.get().title == "Git, the basics"


def test_renaming_a_lesson_needs_a_title(client, alice, version):
    client.force_login(alice)
    response = client.post(reverse("courses:lesson_edit", args=[version.lesson_id]), {"title": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert Lesson.objects.get().title == "Git basics"


def test_course_and_version_pages_link_to_rename_and_delete(client, alice, version):
    client.force_login(alice)
    course_page = client.get(reverse("courses:course_detail", args=["git"])).content.decode()
    assert reverse("courses:course_delete", args=["git"]) in course_page
    assert reverse("courses:lesson_edit", args=[version.lesson_id]) in course_page
    assert 'aria-label="Delete lesson “Git basics”"' in course_page
    version_page = client.get(reverse("courses:version_detail", args=[version.pk])).content
    assert reverse("courses:lesson_delete", args=[version.lesson_id]) in version_page.decode()


# Deleting lessons -----------------------------------------------------------------------


def test_deleting_a_lesson_asks_first(client, alice, lesson_with_files):
    client.force_login(alice)
    page = client.get(reverse("courses:lesson_delete", args=[lesson_with_files.pk]))
    html = page.content.decode()
    assert "Delete the lesson “Git basics”?" in html
    assert "1 version with its scenes and questions" in html and "1 rendered video" in html
    assert 'method="post"' in html and "Delete the lesson</button>" in html
    assert Lesson.objects.exists()


def test_owner_deletes_a_lesson_with_its_files(
    client, alice, lesson_with_files, media, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("courses:lesson_delete", args=[lesson_with_files.pk]))
    assert response["Location"] == reverse("courses:course_detail", args=["git"])
    assert not Lesson.objects.exists() and not Scene.objects.exists()
    assert not RenderJob.objects.exists()
    assert not (media / "renders" / "7").exists()
    assert not (media / "scenes" / str(lesson_with_files.pk)).exists()
    assert Course.objects.filter(slug="git").exists()
    page = client.get(response["Location"]).content.decode()
    assert "Lesson “Git basics” deleted." in page


@pytest.mark.parametrize("status", [VersionStatus.PUBLISHED, VersionStatus.APPROVED])
def test_a_lesson_with_a_live_version_is_not_deleted(client, alice, version, status):
    set_status(version, status)
    client.force_login(alice)
    url = reverse("courses:lesson_delete", args=[version.lesson_id])
    page = client.get(url).content.decode()
    assert f"Version 1 of “Git basics” is {status}" in page
    assert "Delete the lesson</button>" not in page
    response = client.post(url)
    assert response.status_code == 200
    assert "students may be watching it" in response.content.decode()
    assert Lesson.objects.filter(pk=version.lesson_id).exists()


def test_a_lesson_being_rendered_is_not_deleted(client, alice, version):
    RenderJob.objects.create(version=version, requested_by=alice, status=RenderStatus.RUNNING)
    client.force_login(alice)
    response = client.post(reverse("courses:lesson_delete", args=[version.lesson_id]))
    assert "“Git basics” is being rendered" in response.content.decode()
    assert Lesson.objects.exists()


def test_a_lesson_whose_old_version_was_submitted_can_be_deleted(client, alice, version):
    """Only approved and published versions keep a lesson; one waiting for review does not."""
    set_status(version, VersionStatus.SUBMITTED)
    client.force_login(alice)
    client.post(reverse("courses:lesson_delete", args=[version.lesson_id]))
    assert not Lesson.objects.exists()


# Deleting courses -----------------------------------------------------------------------


def test_deleting_a_course_asks_first_and_lists_what_goes(client, alice, lesson_with_files):
    from accounts.models import Classroom

    Classroom.objects.create(teacher=alice, name="7B").courses.add(lesson_with_files.course)
    client.force_login(alice)
    html = client.get(reverse("courses:course_delete", args=["git"])).content.decode()
    assert "Delete the course “Version control”?" in html
    assert "1 lesson" in html and "1 rendered video" in html and "7B" in html
    assert "This cannot be undone." in html
    assert Course.objects.exists()


def test_owner_deletes_a_course_with_its_lessons(
    client, alice, lesson_with_files, media, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("courses:course_delete", args=["git"]))
    assert response["Location"] == reverse("courses:course_list")
    assert not Course.objects.exists() and not Lesson.objects.exists()
    assert not (media / "renders" / "7").exists()
    assert "Course “Version control” deleted." in client.get(response["Location"]).content.decode()


def test_a_course_with_a_published_lesson_keeps_everything(client, alice, course, version):
    from courses import services

    other = services.lesson_create(course=course, title="Branches", created_by=alice)
    set_status(version, VersionStatus.PUBLISHED)
    client.force_login(alice)
    response = client.post(reverse("courses:course_delete", args=["git"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "This course cannot be deleted now:" in html
    assert "Version 1 of “Git basics” is published" in html
    assert Lesson.objects.filter(pk__in=[version.lesson_id, other.pk]).count() == 2


# Access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["course_delete", "lesson_delete", "lesson_edit"])
def test_other_teachers_and_students_change_nothing(client, version, bob, sam, name):
    key = "git" if name == "course_delete" else version.lesson_id
    # Another teacher is told nothing exists (404); the studio is no place for a student (403).
    for user, status in ((bob, 404), (sam, 403)):
        client.force_login(user)
        response = client.post(reverse(f"courses:{name}", args=[key]), {"title": "Mine now"})
        assert response.status_code == status
    assert Lesson.objects.get().title == "Git basics"


@pytest.mark.parametrize("name", ["course_delete", "lesson_delete"])
def test_anonymous_delete_goes_to_sign_in_and_deletes_nothing(client, version, name):
    key = "git" if name == "course_delete" else version.lesson_id
    response = client.post(reverse(f"courses:{name}", args=[key]))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    assert Lesson.objects.exists()


def test_staff_can_delete_another_teachers_lesson(client, bob, version):
    bob.is_staff = True
    bob.save()
    client.force_login(bob)
    client.post(reverse("courses:lesson_delete", args=[version.lesson_id]))
    assert not Lesson.objects.exists()


def test_delete_needs_a_post(client, alice, version):
    client.force_login(alice)
    response = client.put(reverse("courses:lesson_delete", args=[version.lesson_id]))
    assert response.status_code == 405
    assert Lesson.objects.exists()
