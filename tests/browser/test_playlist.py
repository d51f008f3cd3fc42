"""In Chromium: the teacher preview plays a render's HLS playlist (segments remuxed by Django,
timed to their places) from start to end for its whole length, and seeks into its middle,
natively and with hls.js; a preview swapped in when a render ends plays it too."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from courses import services
from courses.models import RenderJob, RenderStatus, Scene
from courses.rendering import render_settings_for
from courses.storyboards import storyboard_from_version
from synthesis.hls import DECODE_LEAD_FRAMES
from synthesis.render import render
from synthesis.storyboard import VoiceSettings
from tests.browser.conftest import save_screenshot

pytestmark = pytest.mark.browser

FPS = 10
# Plays at 2x to the end: [where the media begins, where it ended].
PLAY_TO_END = """(video) => new Promise((resolve, reject) => {
  video.muted = true;
  video.playbackRate = 2;
  video.addEventListener('ended', () => resolve([video.buffered.start(0), video.currentTime]),
                         {once: true});
  video.addEventListener('error', () => reject(new Error('video error ' + video.error?.code)));
  video.play().catch(reject);
})"""
SEEK_AND_PLAY = """(video) => new Promise((resolve, reject) => {
  const target = video.duration / 2;
  video.addEventListener('seeked', () => {
    const from = video.currentTime;
    video.play().catch(reject);
    setTimeout(() => resolve([target, from, video.currentTime]), 700);
  }, {once: true});
  video.currentTime = target;
})"""
# Chromium says "maybe" to HLS and plays it itself; saying "" makes the page use hls.js.
NO_NATIVE_HLS = """(() => {
  const canPlayType = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? '' : canPlayType.call(this, type);
  };
})();"""


def rendered_version(alice, *, status=RenderStatus.SUCCEEDED):
    """A three-scene lesson rendered for real (256x144, 10 fps, espeak), and its job."""
    course = services.course_create(owner=alice, title="Light", slug="light")
    lesson = services.lesson_create(course=course, title="Light", created_by=alice)
    version = lesson.versions.get()
    for position, (title, narration) in enumerate(
        [("Light", "Light is a wave."), ("Colour", "Red is slow."), ("Sky", "Blue scatters.")]
    ):
        Scene.objects.create(
            version=version, position=position, kind="text", title=title, body=title,
            narration=narration,
        )  # fmt: skip
    job = RenderJob.objects.create(
        version=version, requested_by=alice, status=status,
        width_px=256, height_px=144, fps=FPS, quality="draft", percent=100,
    )  # fmt: skip
    result = render(
        storyboard_from_version(version),
        Path(settings.MEDIA_ROOT) / "renders" / str(job.pk) / "lesson.mp4",
        settings=replace(
            render_settings_for(job), device="cpu", voice=VoiceSettings(engines=("espeak",))
        ),
        cache_dir=Path(settings.LECTERN_CACHE_DIR),
    )
    return version, job, result


def finish(job, result) -> None:
    job.status, job.percent = RenderStatus.SUCCEEDED, 100
    job.output_dir = f"renders/{job.pk}"
    job.manifest = result.manifest_data
    job.save()


def plays_whole_length(page, video, result, *, player: str, begins_at_s: float = 0.0) -> None:
    """The playlist plays the render's whole length to within one frame in all (not per
    segment), from begins_at_s; a seek lands in the middle and plays on."""
    expect(video).to_have_attribute("data-player", player)
    page.wait_for_function("() => document.querySelector('video#preview-video').readyState >= 1")
    duration_s = video.evaluate("(video) => video.duration")
    # The playlist's sum; with hls.js, once the last segment is buffered, Media Source
    # stretches it to where the media ends (begins_at_s later): either is right.
    assert duration_s == pytest.approx(result.duration_s, abs=1 / FPS) or (
        duration_s == pytest.approx(begins_at_s + result.duration_s, abs=1 / FPS)
    )
    begins_at, ended_at = video.evaluate(PLAY_TO_END)
    assert begins_at == pytest.approx(begins_at_s, abs=0.01)
    assert ended_at - begins_at == pytest.approx(result.duration_s, abs=1 / FPS)
    target, seeked_to, later = video.evaluate(SEEK_AND_PLAY)
    assert seeked_to == pytest.approx(target, abs=1 / FPS)
    assert later > seeked_to  # it plays on from the middle


def test_the_preview_plays_the_playlist_natively_to_the_end_and_seeks(signed_in_page, alice):
    version, job, result = rendered_version(alice)
    finish(job, result)
    assert len(result.manifest_data["segments"]) == 7  # opening, transition + scene x 3

    page = signed_in_page(alice)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(reverse("courses:version_detail", args=[version.pk]))
    video = page.locator("video#preview-video")
    expect(video).to_be_visible()
    # Chromium 156 plays HLS natively (canPlayType says "maybe").
    plays_whole_length(page, video, result, player="native-hls")
    assert any("/hls/index.m3u8" in url for url in requests)
    assert any(url.endswith(".ts") for url in requests)
    assert not any("hls.min.js" in url for url in requests)  # loaded only when needed
    save_screenshot(page, "playlist-preview")


def test_hls_js_plays_the_playlist_where_the_browser_cannot(signed_in_page, alice):
    version, job, result = rendered_version(alice)
    finish(job, result)

    page = signed_in_page(alice)
    page.add_init_script(NO_NATIVE_HLS)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(reverse("courses:version_detail", args=[version.pk]))
    video = page.locator("video#preview-video")
    # hls.js puts the first decoding time, not the first frame, at 0 ("to prevent negative
    # timestamps"): the media begins after the decode lead, once, whatever the segments.
    plays_whole_length(page, video, result, player="hls.js", begins_at_s=DECODE_LEAD_FRAMES / FPS)
    assert any("hls.min.js" in url for url in requests)
    assert any(url.endswith(".ts") for url in requests)
    assert video.evaluate("(video) => video.src.startsWith('blob:')")  # MSE, not the MP4


def test_a_preview_swapped_in_when_the_render_ends_plays_the_playlist(signed_in_page, alice):
    version, job, result = rendered_version(alice, status=RenderStatus.RUNNING)

    page = signed_in_page(alice)
    # No WebSocket: the page polls the job's status, which this test controls.
    page.add_init_script("delete window.WebSocket;")
    page.goto(reverse("courses:version_detail", args=[version.pk]))
    expect(page.locator("#render-progress [data-field=status]")).to_have_text("Running")
    expect(page.locator("video#preview-video")).to_have_count(0)
    page.evaluate("window.__noReload = true")

    finish(job, result)
    video = page.locator("video#preview-video")
    expect(video).to_be_visible(timeout=10_000)
    assert page.evaluate("window.__noReload") is True  # swapped in, not reloaded
    plays_whole_length(page, video, result, player="native-hls")


def test_a_student_watches_the_published_playlist_to_the_end_and_completes(signed_in_page, alice):
    from django.utils import timezone

    from accounts.models import Classroom
    from courses.models import VersionStatus
    from learning.models import LessonProgress
    from tests.conftest import make_user

    version, job, result = rendered_version(alice)
    finish(job, result)
    version.status, version.published_at = VersionStatus.PUBLISHED, timezone.now()
    version.save()
    sam = make_user("sam", "student")
    classroom = Classroom.objects.create(teacher=alice, name="7B", join_code="K7P2QX")
    classroom.courses.add(version.lesson.course)
    classroom.students.add(sam)

    page = signed_in_page(sam)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(reverse("learning:player", args=[version.lesson_id]))
    video = page.locator("video#lesson-video")
    expect(video).to_have_attribute("data-player", "native-hls")
    page.wait_for_function("() => document.querySelector('video#lesson-video').readyState >= 1")
    begins_at, ended_at = video.evaluate(PLAY_TO_END)
    assert ended_at - begins_at == pytest.approx(result.duration_s, abs=1 / FPS)
    assert any("/hls/index.m3u8" in url for url in requests)
    assert video.evaluate("(video) => video.currentSrc").endswith("/hls/index.m3u8")
    expect(page.get_by_test_id("player-status")).to_have_text("Lesson completed. Well done!")
    save_screenshot(page, "playlist-student-completed")
    progress = LessonProgress.objects.get(student=sam)
    assert progress.completed_at is not None and progress.watched_fraction >= 0.95
