"""In Chromium, on the demo's adaptive lesson: a student answers the refraction question
wrongly in the lesson player; the teacher's mastery heatmap, open in another browser,
shows the new estimate without a reload; the student's next video ("the version made for
you") now includes the remedial scene for refraction and plays; the teacher's "preview as
student" shows the same plan and plays the same variant.

The lesson player plays a stand-in MP4 (nine 2-second scenes, so the question comes at
4 s); the variant is really made by the Celery worker: spoken and encoded at 128 x 72 into
the segment cache, then played as HLS.
"""

from __future__ import annotations

import re
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from accounts.demo import ADAPTIVE_SCENES, DEMO_TEACHER
from accounts.models import Classroom, User
from courses.models import Concept, Lesson, RenderJob, RenderStatus, Scene
from learning import variants
from learning.models import LessonVariant, VariantStatus
from tests.browser.conftest import save_screenshot

pytestmark = pytest.mark.browser

SCENE_S = 2.0
REMEDIAL_TITLE = "Refraction, step by step"


def stand_in_render(lesson: Lesson, teacher: User) -> RenderJob:
    """A finished render of the lesson for its player: one MP4 of nine 2 s scenes (the
    variant takes the job's size, 128 x 72 at 10 fps, not this file's)."""
    version = lesson.versions.get()
    output_dir = f"renders/adaptive-test-{version.pk}"
    folder = Path(settings.MEDIA_ROOT) / output_dir
    folder.mkdir(parents=True, exist_ok=True)
    duration_s = SCENE_S * len(ADAPTIVE_SCENES)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"color=c=navy:s=320x180:d={duration_s}:r=15",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=24000:duration={duration_s}",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart",
         str(folder / "lesson.mp4")],
        check=True, timeout=60,
    )  # fmt: skip
    (folder / "lesson.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.500\nRainbows.\n")
    scenes = [
        {"id": f"s{i:02d}", "title": title, "start_s": i * SCENE_S, "end_s": (i + 1) * SCENE_S}
        for i, (_role, _concept, title, _body, _narration) in enumerate(ADAPTIVE_SCENES)
    ]
    return RenderJob.objects.create(
        version=version, requested_by=teacher, status=RenderStatus.SUCCEEDED, percent=100,
        width_px=128, height_px=72, fps=10, quality="draft", output_dir=output_dir,
        manifest={"duration_s": duration_s, "scenes": scenes}, finished_at=timezone.now(),
    )  # fmt: skip


@pytest.fixture
def demo(transactional_db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    lesson = Lesson.objects.get(pk=int(out.getvalue().split("demo-lesson: ")[1].split()[0]))
    teacher = User.objects.get(username=DEMO_TEACHER)
    stand_in_render(lesson, teacher)
    return {
        "lesson": lesson,
        "teacher": teacher,
        "student": User.objects.get(username="demo-student3"),
        "classroom": Classroom.objects.get(teacher=teacher),
    }


def plan_rows(page) -> list[str]:
    rows = page.get_by_test_id("variant-plan").locator("li")
    return [" ".join(text.split()) for text in rows.all_inner_texts()]


def expect_it_plays(page) -> None:
    video = page.locator("#variant-video")
    expect(page.locator("#variant-stage")).to_be_visible(timeout=90_000)
    video.evaluate("(v) => { v.muted = true; v.playbackRate = 4; return v.play(); }")
    page.wait_for_function(
        "() => document.getElementById('variant-video').currentTime > 1.5", timeout=30_000
    )


def test_a_wrong_answer_brings_the_remedial_scene_and_the_teacher_sees_and_previews_it(
    signed_in_page, celery_worker_process, demo
):
    lesson, student_user, classroom = demo["lesson"], demo["student"], demo["classroom"]
    remedial = Scene.objects.get(version__lesson=lesson, title=REMEDIAL_TITLE)
    before = variants.student_variant(student=student_user, lesson=lesson)
    assert str(remedial.pk) not in before.plan.order  # no answers on refraction yet

    teacher = signed_in_page(demo["teacher"])
    teacher.goto(f"/learn/classes/{classroom.pk}/gradebook/")
    expect(teacher.locator("#live-state")).to_have_attribute("data-state", "live")
    refraction = Concept.objects.get(course=lesson.course, slug="refraction")
    cell = teacher.locator(
        f'td[data-mastery-student="{student_user.pk}"][data-concept="{refraction.pk}"]'
    )
    expect(cell).to_have_text("–")

    student = signed_in_page(student_user)
    student.goto(f"/learn/lessons/{lesson.pk}/")
    student.locator("media-play-button").click()
    student.locator("#lesson-video").evaluate("(video) => { video.playbackRate = 16; }")
    panel = student.get_by_test_id("question-panel")
    expect(panel.get_by_role("group", name="Why does light bend")).to_be_visible()
    panel.get_by_label("It changes colour").check()
    panel.get_by_role("button", name="Check my answer").click()
    expect(panel.get_by_test_id("verdict")).to_contain_text("Not quite")

    expect(cell).to_have_text(re.compile(r"^\d+%$"))  # live, no reload
    save_screenshot(teacher, "adaptive-1-heatmap-live")

    student.goto(f"/learn/lessons/{lesson.pk}/")
    student.get_by_test_id("my-video").click()
    rows = plan_rows(student)
    remedial_row = next(row for row in rows if REMEDIAL_TITLE in row)
    assert remedial_row.startswith("Shown:")
    assert "refraction needs another explanation" in remedial_row
    expect_it_plays(student)
    save_screenshot(student, "adaptive-2-student-variant")
    variant = LessonVariant.objects.get(status=VariantStatus.READY)
    assert str(remedial.pk) in variant.scene_order.split(",")

    teacher.get_by_role("row", name=str(student_user)).get_by_role("link").first.click()
    expect(teacher.get_by_test_id("preview-note")).to_be_visible()
    assert plan_rows(teacher) == rows
    expect_it_plays(teacher)
    save_screenshot(teacher, "adaptive-3-preview-as-student")
    # The preview played the very variant the student played: no second one was made.
    assert LessonVariant.objects.count() == 1
