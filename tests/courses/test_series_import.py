"""Long material becomes a series: the import review proposes one lesson per section."""

from __future__ import annotations

import pytest
from django.urls import reverse

from courses import services
from courses.models import Lesson, PendingImport
from courses.series import SERIES_THRESHOLD_S, series_parts
from tests.courses.conftest import import_tasks_run_at_once
from tests.courses.documents import png_bytes, write_zip

SECTIONS = ("Setting up", "Making changes", "Looking back", "Working together")
SHORT_MD = b"---\ntitle: Tiny\n---\n\n# Tiny lesson\n\nPlants need light. They also need water.\n"


def long_lesson_md() -> bytes:
    """Four sections of about four minutes of narration each (16 minutes in all)."""
    parts = ["---\ntitle: Git basics\n---\n\n# Git basics\n"]
    for number, section in enumerate(SECTIONS, start=1):
        parts.append(f"\n## {section}\n")
        for paragraph in range(8):
            sentences = " ".join(
                f"In part {number}, step {paragraph}.{line}, the repository keeps a careful "
                f"record of every change to the project."
                for line in range(6)
            )
            parts.append(f"\n{sentences}\n")
            if number == 2 and paragraph == 0:
                parts.append("\n![A commit graph](graph.png)\n")
    return "".join(parts).encode()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    return settings.MEDIA_ROOT


def upload(client, course, tmp_path, lesson_md: bytes) -> PendingImport:
    from django.core.files.uploadedfile import SimpleUploadedFile

    members = {"lesson.md": lesson_md, "graph.png": png_bytes()}
    data = write_zip(tmp_path / "lesson.zip", members).read_bytes()
    url = reverse("courses:lesson_import", args=[course.slug])
    with import_tasks_run_at_once():
        client.post(url, {"file": SimpleUploadedFile("lesson.zip", data)})
    return PendingImport.objects.get()


def scene_keys(scenes) -> list[tuple[str, str]]:
    return [(scene["title"], scene["narration"]) for scene in scenes]


def test_series_parts_follow_sections_and_keep_the_title_card_in_the_first():
    titles = ["Git", "Setup", "Setup (continued)", "Changes", "History"]
    parts = series_parts(titles, [5, 100, 100, 50, 50], "en", kinds=["title"] + ["text"] * 4)
    assert [(p.title, p.first, p.end, p.estimate_s) for p in parts] == [
        ("Setup", 0, 3, 205),
        ("Changes", 3, 4, 50),
        ("History", 4, 5, 50),
    ]


def test_a_long_import_proposes_one_lesson_per_section(client, alice, course, media, tmp_path):
    client.force_login(alice)
    pending = upload(client, course, tmp_path, long_lesson_md())

    parts = services.pending_import_series(pending)
    page = client.get(reverse("courses:import_review", args=[pending.pk])).content.decode()

    assert [part.title for part in parts] == list(SECTIONS)
    assert sum(part.estimate_s for part in parts) > SERIES_THRESHOLD_S
    assert 'data-testid="series-proposal"' in page
    assert "Create 4 lessons" in page and "Keep one lesson" in page
    for part in parts:
        assert part.title in page and f"{part.scene_count} scenes, about" in page


def test_accepting_the_split_creates_one_lesson_per_section_with_every_scene(
    client, alice, course, media, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    pending = upload(client, course, tmp_path, long_lesson_md())
    imported = scene_keys(pending.scenes)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("courses:import_review", args=[pending.pk]),
            {"title": "Git basics", "series": "split"},
        )

    assert response["Location"] == reverse("courses:course_detail", args=[course.slug])
    lessons = list(Lesson.objects.filter(course=course))
    assert [lesson.title for lesson in lessons] == [
        f"Git basics — {number}. {section}" for number, section in enumerate(SECTIONS, start=1)
    ]
    created = []
    for lesson in lessons:
        version = lesson.versions.get()
        assert version.status == "draft"
        created += [(s.title, s.narration) for s in version.scenes.order_by("position")]
    assert created == imported
    second = lessons[1].versions.get()
    assert second.scenes.filter(kind="image").exclude(image="").count() == 1
    assert not PendingImport.objects.exists()


def test_keeping_one_lesson_creates_one(client, alice, course, media, tmp_path):
    client.force_login(alice)
    pending = upload(client, course, tmp_path, long_lesson_md())
    count = len(pending.scenes)

    client.post(
        reverse("courses:import_review", args=[pending.pk]), {"title": "Git", "series": "one"}
    )

    lesson = Lesson.objects.get(course=course)
    assert lesson.title == "Git" and lesson.versions.get().scenes.count() == count


def test_a_short_import_shows_no_proposal(client, alice, course, media, tmp_path):
    client.force_login(alice)
    pending = upload(client, course, tmp_path, SHORT_MD)

    page = client.get(reverse("courses:import_review", args=[pending.pk])).content.decode()

    assert services.pending_import_series(pending) == []
    assert "series-proposal" not in page and "Create the lesson" in page
    # Asking for a split anyway makes one lesson.
    client.post(
        reverse("courses:import_review", args=[pending.pk]), {"title": "T", "series": "split"}
    )
    assert Lesson.objects.filter(course=course).count() == 1


def test_another_teachers_import_is_not_found(client, alice, bob, course, media, tmp_path):
    client.force_login(alice)
    pending = upload(client, course, tmp_path, long_lesson_md())
    client.force_login(bob)
    url = reverse("courses:import_review", args=[pending.pk])

    assert client.get(url).status_code == 404
    assert client.post(url, {"title": "Mine", "series": "split"}).status_code == 404
    assert not Lesson.objects.exists() and PendingImport.objects.filter(pk=pending.pk).exists()
