"""In Chromium: a student joins a class with its code, opens the published lesson, watches
it (the media clock sped up 16 times), answers the first question wrongly and sees the
teacher's explanation, answers the last one and finishes; the teacher's gradebook, open in
a second browser context, shows each answer without a reload. And the player works with
the keyboard alone.

The video is a 12-second MP4 made by ffmpeg with three 4-second scenes in its manifest, so
the questions come at 8 s and at the end (a real render is covered by test_studio.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Classroom, Role
from courses import services as courses_services
from courses.models import Checkpoint, Choice, RenderJob, RenderStatus, Scene, VersionStatus
from learning.models import CheckpointAnswer, LessonProgress
from tests.browser.conftest import save_screenshot
from tests.conftest import make_user

pytestmark = pytest.mark.browser

CAPTIONS = (
    "WEBVTT\n\n"
    "00:00.000 --> 00:03.500\nWhy is the sky blue?\n\n"
    "00:04.000 --> 00:07.500\nSunlight is a mix of colours.\n\n"
    "00:08.000 --> 00:11.500\nAir scatters blue light the most.\n"
)
CHAPTERS = (
    "WEBVTT\n\n00:00.000 --> 00:04.000\nWhy is the sky blue?\n\n"
    "00:04.000 --> 00:08.000\nSunlight\n\n00:08.000 --> 00:12.000\nScattering\n"
)
MANIFEST = {
    "duration_s": 12.0,
    "scenes": [
        {"id": "s01", "title": "1. Why is the sky blue?", "start_s": 0.0, "end_s": 4.0},
        {"id": "s02", "title": "2. Sunlight", "start_s": 4.0, "end_s": 8.0},
        {"id": "s03", "title": "3. Scattering", "start_s": 8.0, "end_s": 12.0},
    ],
}


def tiny_render(version, user) -> RenderJob:
    """A finished render of `version`: a real 12 s MP4 (three colours), captions, chapters."""
    output_dir = f"renders/learning-test-{version.pk}"
    folder = Path(settings.MEDIA_ROOT) / output_dir
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "color=c=navy:s=320x180:d=4:r=15",
         "-f", "lavfi", "-i", "color=c=teal:s=320x180:d=4:r=15",
         "-f", "lavfi", "-i", "color=c=purple:s=320x180:d=4:r=15",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=24000:duration=12",
         "-filter_complex", "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]",
         "-map", "[v]", "-map", "3:a", "-c:v", "libx264", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-movflags", "+faststart", str(folder / "lesson.mp4")],
        check=True, timeout=60,
    )  # fmt: skip
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(folder / "lesson.mp4"),
         "-frames:v", "1", str(folder / "lesson.jpg")],
        check=True, timeout=60,
    )  # fmt: skip
    (folder / "lesson.vtt").write_text(CAPTIONS)
    (folder / "lesson.chapters.vtt").write_text(CHAPTERS)
    (folder / "lesson.txt").write_text("Why is the sky blue? Sunlight is a mix of colours.\n")
    return RenderJob.objects.create(
        version=version, requested_by=user, status=RenderStatus.SUCCEEDED, percent=100,
        width_px=320, height_px=180, fps=15, output_dir=output_dir, manifest=MANIFEST,
        finished_at=timezone.now(),
    )  # fmt: skip


def question(scene, prompt, right, wrong, explanation):
    checkpoint = Checkpoint.objects.create(scene=scene, prompt=prompt, explanation=explanation)
    Choice.objects.create(checkpoint=checkpoint, text=right, is_correct=True, position=0)
    Choice.objects.create(checkpoint=checkpoint, text=wrong, is_correct=False, position=1)
    return checkpoint


@pytest.fixture
def cast(transactional_db):
    """alice's published lesson with two questions, in her class (code K7P2QX)."""
    alice = make_user("alice", Role.TEACHER, display_name="Ms Alice")
    course = courses_services.course_create(owner=alice, title="Light and colour", slug="light")
    lesson = courses_services.lesson_create(
        course=course, title="Why is the sky blue?", created_by=alice
    )
    version = lesson.versions.get()
    version.attribution = "Written for Lectern's tests, CC0."
    Scene.objects.create(version=version, position=0, kind="title", title="Why is the sky blue?")
    sunlight = Scene.objects.create(version=version, position=1, title="Sunlight")
    scattering = Scene.objects.create(version=version, position=2, title="Scattering")
    question(
        sunlight, "What is sunlight made of?", "Every colour", "Only yellow",
        "White light is a mix of all the colours of the rainbow.",
    )  # fmt: skip
    question(
        scattering, "Which colour does air scatter most?", "Blue", "Red",
        "Short wavelengths scatter most.",
    )  # fmt: skip
    tiny_render(version, alice)
    # What moderation's publish does to the row (test_moderation.py covers the workflow).
    version.status, version.published_at = VersionStatus.PUBLISHED, timezone.now()
    version.save()
    classroom = Classroom.objects.create(teacher=alice, name="7B", join_code="K7P2QX")
    classroom.courses.add(course)
    return {"alice": alice, "classroom": classroom, "lesson": lesson}


def play_fast(page):
    page.locator("#lesson-video").evaluate("(video) => { video.playbackRate = 16; }")


def test_student_watches_answers_and_finishes_while_the_gradebook_updates_live(
    browser, asgi_live_server, signed_in_page, cast, request
):
    classroom, lesson = cast["classroom"], cast["lesson"]
    teacher = signed_in_page(cast["alice"])
    teacher.goto(f"/learn/classes/{classroom.pk}/gradebook/")
    expect(teacher.get_by_text("No students yet")).to_be_visible()

    context = browser.new_context(
        base_url=asgi_live_server.url, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(15_000)
    # Closed before signed_in_page's teardown waits for the server and the database is flushed.
    request.addfinalizer(context.close)
    student = context.new_page()
    student.goto("/accounts/join/")
    student.fill("input[name=join_code]", "k7p2qx")
    student.fill("input[name=username]", "sam")
    student.fill("input[name=password1]", "a-long-pass-phrase-9")
    student.fill("input[name=password2]", "a-long-pass-phrase-9")
    student.get_by_role("button", name="Join class").click()
    expect(student.get_by_test_id("lesson-state")).to_have_text("Not started")
    save_screenshot(student, "learning-1-student-home")
    teacher.reload()  # sam is in the class now; from here on the teacher never reloads
    expect(teacher.locator("#live-state")).to_have_attribute("data-state", "live")

    student.get_by_test_id("continue").click()
    expect(student.get_by_role("heading", name="Why is the sky blue?")).to_be_visible()
    expect(student.get_by_test_id("ai-badge")).to_be_visible()
    expect(student.get_by_test_id("attribution")).to_contain_text("CC0")
    student.locator("media-play-button").click()
    play_fast(student)

    panel = student.get_by_test_id("question-panel")
    expect(panel).to_be_visible()
    expect(student.locator("#question-heading")).to_be_focused()
    assert student.locator("#lesson-video").evaluate("(v) => v.paused")
    assert student.locator("#lesson-video").evaluate("(v) => v.currentTime") == pytest.approx(
        8, abs=0.3
    )
    expect(panel.get_by_role("group", name="What is sunlight made of?")).to_be_visible()
    panel.get_by_label("Only yellow").check()
    panel.get_by_role("button", name="Check my answer").click()
    expect(panel.get_by_test_id("verdict")).to_have_text(
        "Not quite. The right answer is: Every colour"
    )
    expect(panel.get_by_test_id("explanation")).to_have_text(
        "White light is a mix of all the colours of the rainbow."
    )
    save_screenshot(student, "learning-2-wrong-answer-explained")

    stats = teacher.get_by_test_id("question-stats")
    expect(stats.locator("tr", has_text="What is sunlight made of?")).to_contain_text("0 / 1")
    expect(stats.locator("tr", has_text="What is sunlight made of?")).to_contain_text(
        "Only yellow (1)"
    )
    expect(teacher.get_by_test_id("cell")).to_contain_text("Score 0%")
    expect(teacher.locator("td[data-record]")).to_contain_text("0/1")
    save_screenshot(teacher, "learning-3-gradebook-live-answer")

    panel.get_by_role("button", name="Continue the video").click()
    play_fast(student)
    expect(panel.get_by_role("group", name="Which colour does air scatter most?")).to_be_visible()
    panel.get_by_label("Blue").check()
    panel.get_by_role("button", name="Check my answer").click()
    expect(panel.get_by_test_id("verdict")).to_have_text("Correct!")
    # The last question may come a moment before the end (timeupdate is coarse at 16x):
    # completion needs the rest played too, and the next batch of events (every 5 s).
    panel.get_by_role("button", name="Continue the video").click()
    expect(student.get_by_test_id("player-status")).to_have_text(
        "Lesson completed. Well done!", timeout=20_000
    )
    save_screenshot(student, "learning-4-finished")

    expect(teacher.get_by_test_id("cell")).to_contain_text("Completed")
    expect(teacher.get_by_test_id("cell")).to_contain_text("Score 50%")
    save_screenshot(teacher, "learning-5-gradebook-completed")
    progress = LessonProgress.objects.get(lesson=lesson)
    assert progress.completed_at is not None
    assert progress.watched_fraction >= 0.95
    assert CheckpointAnswer.objects.filter(student=progress.student).count() == 2

    student.goto("/")
    expect(student.get_by_test_id("lesson-state")).to_contain_text("Completed")
    save_screenshot(student, "learning-6-student-home-completed")
    context.close()


def test_the_player_works_with_the_keyboard_alone(signed_in_page, cast):
    sam = make_user("sam", Role.STUDENT)
    cast["classroom"].students.add(sam)
    page = signed_in_page(sam)
    page.goto(f"/learn/lessons/{cast['lesson'].pk}/")
    page.locator("#lesson-video").evaluate(
        "(v) => v.readyState >= 1 || new Promise((ok) => v.addEventListener('loadedmetadata', ok))"
    )
    reached = set()
    for _ in range(45):
        page.keyboard.press("Tab")
        reached.add(page.evaluate(
            "() => { const e = document.activeElement; return e.id || e.tagName.toLowerCase(); }"
        ))  # fmt: skip
    for control in (
        "media-play-button", "media-seek-backward-button", "media-seek-forward-button",
        "media-time-range", "media-mute-button", "media-volume-range", "media-captions-button",
        "media-playback-rate-button", "media-fullscreen-button", "caption-size",
    ):  # fmt: skip
        assert control in reached, f"Tab never reached {control}: {sorted(reached)}"
    assert "button" in reached  # chapters and transcript sentences

    video = page.locator("#lesson-video")
    play = page.locator("media-play-button")
    play.focus()
    for key in ("k", "k", "Space", "Space"):
        was_paused = video.evaluate("(v) => v.paused")
        page.keyboard.press(key)
        expect(video).to_have_js_property("paused", not was_paused)
        # media-chrome's button reads the state from the media's events: let them arrive.
        page.wait_for_function(
            "(paused) => document.querySelector('media-play-button')"
            ".hasAttribute('mediapaused') === paused",
            arg=not was_paused,
        )

    captions_mode = "(v) => v.textTracks[0].mode"
    assert video.evaluate(captions_mode) == "showing"  # sam's profile: captions on
    page.locator("media-captions-button").focus()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.getElementById('lesson-video').textTracks[0].mode !== 'showing'"
    )
    page.keyboard.press("c")
    page.wait_for_function(
        "() => document.getElementById('lesson-video').textTracks[0].mode === 'showing'"
    )
    page.locator("media-playback-rate-button").focus()
    page.keyboard.press("Enter")
    expect(video).to_have_js_property("playbackRate", 1.25)
    save_screenshot(page, "learning-7-keyboard-player")


def test_prevent_skipping_keeps_the_student_before_an_unanswered_question(signed_in_page, cast):
    from learning.services import lesson_settings_update

    lesson_settings_update(lesson=cast["lesson"], prevent_skipping=True)
    sam = make_user("sam", Role.STUDENT)
    cast["classroom"].students.add(sam)
    page = signed_in_page(sam)
    page.goto(f"/learn/lessons/{cast['lesson'].pk}/")
    video = page.locator("#lesson-video")
    video.evaluate(
        "(v) => v.readyState >= 1 || new Promise((ok) => v.addEventListener('loadedmetadata', ok))"
    )
    video.evaluate("(v) => { v.currentTime = 11; }")  # as dragging the time slider does
    expect(page.get_by_test_id("player-status")).to_have_text(
        "Answer the question before skipping ahead."
    )
    assert video.evaluate("(v) => v.currentTime") < 8
    page.locator("media-play-button").click()
    expect(page.get_by_test_id("question-panel")).to_be_visible()  # reached as it plays on
    save_screenshot(page, "learning-8-prevent-skipping")
