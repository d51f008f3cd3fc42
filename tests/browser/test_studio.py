"""In Chromium, as a teacher: import a lesson, edit it, render it live, watch it, submit it.

Renders are kept tiny (256x144, draft quality, a trimmed lesson) so the suite stays fast;
a real Celery worker renders them and progress arrives over the WebSocket.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from courses.models import LessonVersion, RenderJob
from tests.browser.conftest import save_screenshot
from tests.corpus import copy_corpus_lesson
from tests.courses.documents import zip_folder

pytestmark = pytest.mark.browser

RENDER_TIMEOUT_MS = 240_000
# Records every progress value the page shows, and a marker that a reload would erase.
WATCH_PROGRESS = """() => {
  window.__noReload = true;
  window.__seen = [];
  const bar = document.querySelector('#render-progress [role=progressbar]');
  window.__seen.push(bar.getAttribute('aria-valuenow'));
  new MutationObserver(() => window.__seen.push(bar.getAttribute('aria-valuenow')))
    .observe(bar, {attributes: true, attributeFilter: ['aria-valuenow']});
}"""
VIDEO_DURATION_S = """(video) => new Promise((resolve, reject) => {
  if (video.readyState >= 1) return resolve(video.duration);
  video.addEventListener('loadedmetadata', () => resolve(video.duration));
  video.addEventListener('error', () => reject(new Error('video error ' + video.error?.code)));
  video.load();
})"""
CAPTION_CUES = """(video) => new Promise((resolve) => {
  const track = Array.from(video.textTracks).find((t) => t.kind === 'captions');
  track.mode = 'showing';
  const check = () => track.cues && track.cues.length
    ? resolve(Array.from(track.cues).map((cue) => cue.text))
    : setTimeout(check, 100);
  check();
})"""


def sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-" + username)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your courses")).to_be_visible()


def create_course(page: Page, title: str) -> None:
    page.goto("/courses/")
    page.get_by_role("link", name="New course").click()
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Create course").click()
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()


def import_zip(page: Page, archive, screenshot: str) -> None:
    page.get_by_label("Lesson material").set_input_files(str(archive))
    page.get_by_role("button", name="Read the file").click()
    expect(page.get_by_role("heading", name="Review the import")).to_be_visible()
    save_screenshot(page, screenshot)
    page.get_by_role("button", name="Create the lesson").click()
    expect(page.get_by_role("heading", name="Scenes")).to_be_visible()


def render_tiny_and_wait(page: Page, *, reload_midway: bool = False) -> None:
    page.get_by_label("Video size").select_option("tiny")
    page.get_by_label("Quality").select_option("draft")
    page.get_by_role("button", name="Render", exact=True).click()
    expect(page.locator("#render-progress")).to_be_visible()
    if reload_midway:
        # Progress is stored: a reloaded page picks the render up where it is.
        expect(page.locator("#render-progress [data-field=status]")).to_have_text("Running")
        page.reload()
        expect(page.locator("#render-progress [data-field=status]")).not_to_have_text("Queued")
    page.evaluate(WATCH_PROGRESS)
    expect(page.locator("#render-progress [data-field=status]")).to_have_text(
        "Done", timeout=RENDER_TIMEOUT_MS
    )


def test_teacher_imports_edits_renders_watches_and_submits(
    page, asgi_live_server, celery_worker_process, alice, tmp_path
):
    lesson = copy_corpus_lesson("en-git-basics", tmp_path, max_blocks=7)
    archive = zip_folder(lesson, tmp_path / "en-git-basics.zip")

    sign_in(page, "alice")
    create_course(page, "Version control with Git")
    save_screenshot(page, "studio-1-course")

    import_zip(page, archive, "studio-2-import-review")
    expect(page.get_by_text("Credit: CC-BY-4.0")).to_be_visible()
    save_screenshot(page, "studio-3-lesson")

    page.get_by_role("link", name="Edit scene 2").click()
    expect(page.get_by_text("from lesson.md").first).to_be_visible()
    narration = page.locator("textarea[name=narration]")
    narration.fill("Version control records every change. You can always go back.")
    expect(page.locator("#scene-estimate")).to_have_text(re.compile(r"^0:0\d$"))
    save_screenshot(page, "studio-4-scene-editor")
    page.get_by_role("button", name="Save scene").click()
    expect(page.get_by_text("Version control records every change.").first).to_be_visible()

    render_tiny_and_wait(page)
    progress = page.locator("#render-progress [role=progressbar]")
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#render-progress [data-field=percent]")).to_have_text("100%")
    # The page followed the render without reloading: updates came over the WebSocket.
    assert page.evaluate("window.__noReload") is True
    seen = [int(value) for value in page.evaluate("window.__seen")]
    assert seen[-1] == 100
    assert any(0 < value < 100 for value in seen), seen  # it moved while we watched

    video = page.locator("video#preview-video")
    expect(video).to_be_visible()
    expect(page.get_by_text("AI-generated").first).to_be_visible()
    expect(page.get_by_role("link", name="Download MP4")).to_be_visible()
    duration_s = video.evaluate(VIDEO_DURATION_S)
    job = RenderJob.objects.get()
    assert job.status == "succeeded"
    assert duration_s == pytest.approx(job.manifest["duration_s"], abs=0.15)
    video.evaluate("(video) => { video.muted = true; return video.play(); }")
    page.wait_for_function("() => document.querySelector('video#preview-video').currentTime > 0.2")
    save_screenshot(page, "studio-5-rendered")

    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_test_id("version-status")).to_have_text("Submitted")
    assert LessonVersion.objects.get(pk=job.version_id).status == "submitted"
    save_screenshot(page, "studio-6-submitted")


def test_chinese_lesson_renders_with_chinese_captions(
    page, asgi_live_server, celery_worker_process, alice, tmp_path
):
    lesson = copy_corpus_lesson("zh-softmax-regression", tmp_path, max_blocks=3)
    archive = zip_folder(lesson, tmp_path / "zh-softmax-regression.zip")

    sign_in(page, "alice")
    create_course(page, "深度学习")
    import_zip(page, archive, "studio-zh-1-import-review")

    render_tiny_and_wait(page, reload_midway=True)
    video = page.locator("video#preview-video")
    expect(video).to_be_visible()
    cues = video.evaluate(CAPTION_CUES)
    assert cues and all(re.search(r"[\u4e00-\u9fff]", cue) for cue in cues), cues
    page.wait_for_timeout(300)
    save_screenshot(page, "studio-zh-2-rendered")
