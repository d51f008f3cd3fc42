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
