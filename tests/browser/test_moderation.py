"""In Chromium: a moderator claims a submitted lesson, watches it and rejects one scene with a
reason; the teacher sees the reason, fixes the scene and resubmits; only that scene needs
review; the moderator approves; a student of the class now sees the lesson, a student of
another class does not; the student reports it, a moderator takes it down, and it is gone
for the student.

A real render is not the point here (tests/browser/test_studio.py covers it): each version
gets a finished RenderJob whose output is a 3-second labelled MP4, so the video element
really loads and publishing can check and sign it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.models import Classroom, Membership, Role
from courses import services as courses_services
from courses.models import LessonVersion, RenderJob, RenderStatus, Scene, VersionStatus
from tests.browser.conftest import save_screenshot
from tests.conftest import make_user
from tests.synthesis.labelled_render import write_labelled_output

pytestmark = pytest.mark.browser

VIDEO_DURATION_S = """(video) => new Promise((resolve, reject) => {
  if (video.readyState >= 1) return resolve(video.duration);
  video.addEventListener('loadedmetadata', () => resolve(video.duration));
  video.addEventListener('error', () => reject(new Error('video error ' + video.error?.code)));
  video.load();
})"""
VIDEO_S = 3.0


def fake_render(version: LessonVersion, user) -> RenderJob:
    """A finished render of `version` whose outputs are a tiny real MP4 and captions."""
    output_dir = f"renders/moderation-test-{version.pk}"
    folder = Path(settings.MEDIA_ROOT) / output_dir
    folder.mkdir(parents=True, exist_ok=True)
    # Labelled as the renderer labels (publishing checks the labels and signs the video).
    write_labelled_output(folder, duration_s=VIDEO_S)
    return RenderJob.objects.create(
        version=version, requested_by=user, status=RenderStatus.SUCCEEDED, percent=100,
        width_px=256, height_px=144, fps=10, output_dir=output_dir,
        manifest={"duration_s": VIDEO_S},
    )  # fmt: skip


@pytest.fixture
def cast(transactional_db):
    """alice's lesson (three scenes) submitted for review; sam in her class, olga in bob's."""
    alice = make_user("alice", Role.TEACHER)
    bob = make_user("bob", Role.TEACHER)
    mo = make_user("mo", Role.MODERATOR)
    sam = make_user("sam", Role.STUDENT)
    olga = make_user("olga", Role.STUDENT)
    course = courses_services.course_create(owner=alice, title="Version control", slug="git")
    lesson = courses_services.lesson_create(course=course, title="Git basics", created_by=alice)
    version = lesson.versions.get()
    Scene.objects.create(version=version, position=0, kind="title", title="Git basics")
    Scene.objects.create(
        version=version, position=1, kind="text", title="Snapshots",
        body="Every commit is a snapshot\nHistory never changes",
        narration="Git stores the differences between files. History never changes.",
        narration_sources=[{"sentence": "History never changes.", "file": "lesson.md",
                            "paragraph": 3}],
    )  # fmt: skip
    Scene.objects.create(
        version=version, position=2, kind="code", title="First commit",
        code="git commit -m 'first'", code_language="bash",
        narration="A commit records a snapshot.",
    )  # fmt: skip
    mine = Classroom.objects.create(teacher=alice, name="7B", join_code="K7P2QX")
    mine.courses.add(course)
    Membership.objects.create(classroom=mine, student=sam)
    other = Classroom.objects.create(teacher=bob, name="8C", join_code="M3N4PQ")
    Membership.objects.create(classroom=other, student=olga)
    fake_render(version, alice)
    courses_services.lesson_version_submit(version=version, user=alice)
    return {"alice": alice, "mo": mo, "sam": sam, "olga": olga, "version": version}


def test_moderator_rejects_a_scene_teacher_fixes_it_and_only_that_scene_is_reviewed_again(
    signed_in_page, cast
):
    v1 = cast["version"]
    moderator = signed_in_page(cast["mo"])
    moderator.goto("/moderation/")
    expect(moderator.get_by_test_id("scenes-to-review")).to_have_text("3 of 3")
    save_screenshot(moderator, "moderation-1-queue")
    moderator.get_by_role("button", name="Claim Git basics").click()

    expect(moderator.get_by_test_id("claim-state")).to_contain_text("You are reviewing this")
    video = moderator.locator("video#review-video")
    assert video.evaluate(VIDEO_DURATION_S) == pytest.approx(VIDEO_S, abs=0.2)
    # The sentence with no source is marked for the moderator.
    expect(moderator.get_by_test_id("no-source").first).to_be_visible()
    moderator.get_by_role("radio", name="Reject scene 2").check()
    moderator.get_by_label("Reason for scene 2").select_option("inaccurate")
    moderator.get_by_label("Note for scene 2").fill("Git stores snapshots, not differences.")
    save_screenshot(moderator, "moderation-2-review-reject")
    moderator.get_by_role("button", name="Send decisions").click()
    expect(moderator.get_by_text("Rejected. The teacher sees your reasons")).to_be_visible()
    v1.refresh_from_db()
    assert v1.status == VersionStatus.REJECTED

    teacher = signed_in_page(cast["alice"])
    teacher.goto(f"/courses/versions/{v1.pk}/")
    notice = teacher.get_by_test_id("scene-rejection")
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Inaccurate or misleading")
    expect(notice).to_contain_text("Git stores snapshots, not differences.")
    save_screenshot(teacher, "moderation-3-teacher-sees-reason")
    teacher.get_by_role("link", name="Edit scene 2").click()
    expect(teacher.get_by_test_id("scene-rejection")).to_be_visible()
    teacher.locator("textarea[name=narration]").fill(
        "Git stores a snapshot of every file. History never changes."
    )
    teacher.get_by_role("button", name="Save scene").click()
    expect(teacher.get_by_text("saved in a new draft, version 2")).to_be_visible()
    expect(teacher.get_by_test_id("scene-rejection")).to_have_count(0)  # fixed
    v2 = LessonVersion.objects.get(lesson=v1.lesson, number=2)
    fake_render(v2, cast["alice"])
    teacher.reload()
    teacher.get_by_role("button", name="Submit for review").click()
    expect(teacher.get_by_test_id("version-status")).to_have_text("Submitted")

    moderator.goto("/moderation/")
    expect(moderator.get_by_test_id("scenes-to-review")).to_have_text("1 of 3")
    moderator.get_by_role("button", name="Claim Git basics").click()
    expect(moderator.get_by_test_id("approved-before")).to_have_count(2)
    expect(moderator.get_by_test_id("needs-review")).to_have_count(1)
    expect(
        moderator.get_by_test_id("review-scene").nth(1).get_by_test_id("needs-review")
    ).to_be_visible()
    save_screenshot(moderator, "moderation-4-only-changed-scene")
    moderator.get_by_role("button", name="Send decisions").click()
    expect(moderator.get_by_text("Approved and published")).to_be_visible()
    v2.refresh_from_db()
    assert v2.status == VersionStatus.PUBLISHED

    student = signed_in_page(cast["sam"])
    student.goto("/")
    expect(student.get_by_test_id("published-lessons")).to_contain_text("Git basics")
    save_screenshot(student, "moderation-5-student-sees-lesson")
    outsider = signed_in_page(cast["olga"])
    outsider.goto("/")
    expect(outsider.get_by_role("heading", name="My lessons")).to_be_visible()
    expect(outsider.get_by_text("Git basics")).to_have_count(0)
    save_screenshot(outsider, "moderation-6-other-class-sees-nothing")

    # The student reports the lesson; a moderator takes it down; it is gone for the student.
    student.get_by_role("link", name="Git basics").first.click()
    expect(student.get_by_role("heading", name="Git basics")).to_be_visible()
    lesson_url = student.url
    student.get_by_test_id("report-lesson").locator("summary").click()
    student.get_by_label("What is wrong?").select_option("wrong")
    student.get_by_label("Tell us more (optional)").fill("The second scene looks wrong to me.")
    student.get_by_role("button", name="Send the report").click()
    expect(student.get_by_text("Thank you. A moderator will look at this lesson.")).to_be_visible()
    save_screenshot(student, "moderation-7-student-reports")

    moderator.goto("/moderation/")
    reported = moderator.get_by_test_id("reported-lessons")
    expect(reported.get_by_test_id("reporters")).to_contain_text("1")
    reported.get_by_role("link", name="Git basics").click()
    expect(moderator.get_by_test_id("reports")).to_contain_text("The second scene looks wrong")
    moderator.get_by_label("Reason").select_option("inaccurate")
    moderator.get_by_label("Note for the teacher").fill("Taken down after a student's report.")
    save_screenshot(moderator, "moderation-8-takedown")
    moderator.get_by_test_id("takedown").click()
    expect(moderator.get_by_text("Taken down: students no longer see the lesson.")).to_be_visible()
    v2.refresh_from_db()
    assert v2.status != VersionStatus.PUBLISHED

    student.goto("/")
    expect(student.get_by_role("heading", name="My lessons")).to_be_visible()
    expect(student.get_by_text("Git basics")).to_have_count(0)
    save_screenshot(student, "moderation-9-gone-for-the-student")
    assert student.goto(lesson_url).status == 404
