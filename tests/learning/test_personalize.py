"""personalize on the demo's adaptive lesson: two students, two plans with reasons, a real
variant written from cached segments, scenes without a moderator's approval refused."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.demo import ADAPTIVE_LESSON_TITLE, DEMO_TEACHER
from accounts.models import User
from courses.models import Lesson, RenderJob, RenderStatus, Scene
from moderation.models import SceneApproval
from tests.synthesis.media_checks import ffprobe

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_lesson(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    settings.LECTERN_TTS_ENGINES = ["espeak"]
    settings.LECTERN_DEVICE = "cpu"
    out = StringIO()
    call_command("seed_demo", stdout=out)
    lesson_id = int(out.getvalue().split("demo-lesson: ")[1].split()[0])
    lesson = Lesson.objects.get(pk=lesson_id)
    assert lesson.title == ADAPTIVE_LESSON_TITLE
    # A tiny finished render: the variant takes its size, quality and voice.
    RenderJob.objects.create(
        version=lesson.versions.get(), requested_by=User.objects.get(username=DEMO_TEACHER),
        status=RenderStatus.SUCCEEDED, width_px=128, height_px=72, fps=10, quality="draft",
        finished_at=timezone.now(),
    )  # fmt: skip
    return lesson


def personalize(lesson, student, out, *extra) -> str:
    stdout = StringIO()
    call_command("personalize", str(lesson.pk), "--student", student, "-o", str(out), *extra,
                 stdout=stdout)  # fmt: skip
    return stdout.getvalue()


def shown(text: str) -> list[str]:
    return [line.split("] ")[1].split(" (")[0] for line in text.splitlines() if "  + [" in line]


def test_demo_students_get_different_plans_with_reasons(demo_lesson, tmp_path):
    one = personalize(demo_lesson, "demo-student1", tmp_path / "a.mp4", "--plan-only")
    two = personalize(demo_lesson, "demo-student2", tmp_path / "b.mp4", "--plan-only")
    assert "Refraction, step by step" in shown(one)  # answered refraction wrongly
    assert "Recap: refraction" in shown(one)
    assert shown(one)[-1] == "Recap: refraction"  # recaps at the end
    assert "Light bends in water" not in shown(two)  # mastered: no introduction
    assert "Snell's law" in shown(two) and "Double rainbows" in shown(two)
    assert "already mastered" in two and "needs another explanation" in one
    assert "planned in" in one
    assert not (tmp_path / "a.mp4").exists()


def test_personalize_writes_the_variant_and_reuses_segments(demo_lesson, tmp_path):
    first = personalize(demo_lesson, "demo-student2", tmp_path / "two.mp4")
    assert "segments encoded" in first
    info = ffprobe(tmp_path / "two.mp4")
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
    assert float(info["format"]["duration"]) > 3
    again = personalize(demo_lesson, "demo-student2", tmp_path / "again.mp4")
    assert ": 0 segments encoded" in again


def test_a_scene_without_approval_is_refused(demo_lesson, tmp_path):
    scene = Scene.objects.get(version__lesson=demo_lesson, title="Snell's law")
    SceneApproval.objects.filter(content_hash=scene.content_hash).delete()
    with pytest.raises(CommandError, match="not approved"):
        personalize(demo_lesson, "demo-student2", tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


# --- In the app: the student's own variant, the teacher's preview -----------------------


def _status(client, url):
    from django.test import TestCase, override_settings

    with (
        override_settings(CELERY_TASK_ALWAYS_EAGER=True),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        return client.get(url)


def _urls(lesson, *, classroom=None, student=None):
    from django.urls import reverse

    if classroom is None:
        args = [lesson.pk]
        prefix = ""
    else:
        args = [classroom.pk, student.pk, lesson.pk]
        prefix = "teacher_"
    return {
        name: reverse(f"learning:{prefix}{name}", args=args)
        for name in ("variant_page", "variant_status", "variant_playlist")
    }


def test_student_plays_their_variant_and_nobody_else_can(client, demo_lesson):
    from accounts.models import Classroom

    one = User.objects.get(username="demo-student1")
    two = User.objects.get(username="demo-student2")
    urls = _urls(demo_lesson)
    client.force_login(one)
    page = client.get(urls["variant_page"])
    assert page.status_code == 200
    assert "Refraction, step by step" in page.content.decode()
    first = _status(client, urls["variant_status"]).json()
    assert first["status"] in ("pending", "ready")
    ready = client.get(urls["variant_status"]).json()
    assert ready["status"] == "ready" and ready["playlist"] == urls["variant_playlist"]
    playlist = client.get(urls["variant_playlist"]).content.decode()
    segments = [line for line in playlist.splitlines() if line.startswith("/")]
    # Opening, then a transition and a scene for each of the 6 planned scenes.
    assert len(segments) == 1 + 2 * 6
    segment = client.get(segments[1])
    assert segment.status_code == 200 and segment.content[0] == 0x47
    # A second request is instant: nothing to encode, the same shared variant.
    assert client.get(urls["variant_status"]).json()["encoded"] >= 1

    # Student two's plan differs: student one's segment URLs are not theirs.
    client.force_login(two)
    assert client.get(segments[1]).status_code == 404
    # The teacher previews exactly student one's variant.
    classroom = Classroom.objects.get(teacher__username=DEMO_TEACHER)
    preview = _urls(demo_lesson, classroom=classroom, student=one)
    assert client.get(preview["variant_page"]).status_code == 404  # a student: not found
    assert client.get(preview["variant_playlist"]).status_code == 404
    client.force_login(User.objects.get(username=DEMO_TEACHER))
    page = client.get(preview["variant_page"]).content.decode()
    assert "Preview as" in page and "needs another explanation" in page
    teacher_playlist = client.get(preview["variant_playlist"]).content.decode()
    keys = [line.rsplit("/", 1)[1] for line in teacher_playlist.splitlines() if "/" in line]
    assert keys == [line.rsplit("/", 1)[1] for line in segments]
    other = make_user_teacher("tom")
    client.force_login(other)
    for url in preview.values():
        assert client.get(url).status_code == 404


def make_user_teacher(name):
    from tests.conftest import make_user

    return make_user(name, "teacher")


def test_variant_with_an_unapproved_scene_is_refused_in_the_app(client, demo_lesson):
    scene = Scene.objects.get(version__lesson=demo_lesson, title="Refraction, step by step")
    SceneApproval.objects.filter(content_hash=scene.content_hash).delete()
    client.force_login(User.objects.get(username="demo-student1"))
    urls = _urls(demo_lesson)
    response = _status(client, urls["variant_status"])
    assert response.status_code == 409 and response.json()["status"] == "refused"
    assert client.get(urls["variant_playlist"]).status_code == 404
