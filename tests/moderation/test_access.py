"""Who may open every moderation URL, and what students see: a role check first (sign-in or
403, whatever the object), then 404 for a version the user may not know exists."""

from __future__ import annotations

import pytest
from django.urls import reverse

from courses.models import RenderJob, VersionStatus
from moderation import selectors, services
from tests.conftest import make_user
from tests.moderation.conftest import render_and_submit


@pytest.fixture
def staff(db):
    return make_user("root", "student", is_staff=True)


@pytest.fixture
def submitted(version, alice):
    return render_and_submit(version, alice)


# (url name, takes a version id, method)
MODERATOR_URLS = [
    ("moderation:queue", False, "get"),
    ("moderation:review", True, "get"),
    ("moderation:claim", True, "post"),
    ("moderation:release", True, "post"),
    ("moderation:decide", True, "post"),
]
ALL_URLS = [
    *MODERATOR_URLS,
    ("moderation:appeal", True, "get"),
    ("moderation:appeal", True, "post"),
]


def url_for(name, takes_version, version) -> str:
    return reverse(name, args=[version.pk] if takes_version else [])


@pytest.mark.parametrize("name,takes_version,method", ALL_URLS)
def test_anonymous_visitors_are_sent_to_sign_in(client, submitted, name, takes_version, method):
    response = getattr(client, method)(url_for(name, takes_version, submitted))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name,takes_version,method", ALL_URLS)
def test_students_are_refused(client, submitted, sam, name, takes_version, method):
    client.force_login(sam)
    response = getattr(client, method)(url_for(name, takes_version, submitted))
    assert response.status_code == 403


@pytest.mark.parametrize("name,takes_version,method", MODERATOR_URLS)
def test_teachers_cannot_use_the_moderator_workspace(
    client, submitted, alice, bob, name, takes_version, method
):
    for teacher in (alice, bob):  # the owner no more than another teacher
        client.force_login(teacher)
        response = getattr(client, method)(url_for(name, takes_version, submitted))
        assert response.status_code == 403


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_teacher_gets_404_from_the_appeal(client, submitted, bob, mo, method):
    url = reverse("moderation:appeal", args=[submitted.pk])
    client.force_login(bob)
    assert getattr(client, method)(url).status_code == 404
    client.force_login(mo)  # moderators hold no appeals either
    assert getattr(client, method)(url).status_code == 403


def test_the_owner_and_staff_open_the_appeal_page(client, submitted, alice, staff):
    for user in (alice, staff):
        client.force_login(user)
        assert client.get(reverse("moderation:appeal", args=[submitted.pk])).status_code == 200


@pytest.mark.parametrize("user_name", ["mo", "staff"])
def test_moderators_and_staff_open_the_queue_and_review_page(
    client, submitted, mo, staff, user_name
):
    client.force_login({"mo": mo, "staff": staff}[user_name])
    queue = client.get(reverse("moderation:queue"))
    assert queue.status_code == 200 and "Git basics" in queue.content.decode()
    page = client.get(reverse("moderation:review", args=[submitted.pk]))
    assert page.status_code == 200


@pytest.mark.parametrize("name,takes_version,method", MODERATOR_URLS[1:])
def test_a_draft_is_404_for_moderators(client, version, mo, name, takes_version, method):
    client.force_login(mo)
    response = getattr(client, method)(url_for(name, takes_version, version))
    assert response.status_code == 404


def test_moderators_fetch_the_video_and_images_of_submitted_versions_only(
    client, version, alice, mo, media
):
    job = RenderJob.objects.get(version=version)
    (media / "renders" / "1").mkdir(parents=True, exist_ok=True)
    (media / "renders" / "1" / "lesson.mp4").write_bytes(b"\0" * 64)
    video = reverse("courses:render_job_file", args=[job.pk, "video"])
    scene = version.scenes.get(position=1)
    image = reverse("courses:scene_image", args=[scene.pk])
    client.force_login(mo)
    assert client.get(video).status_code == 404  # a draft: not even its existence
    assert client.get(image).status_code == 404
    render_and_submit(version, alice)
    response = client.get(video)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"\0" * 64
    assert client.get(image).status_code == 404  # the scene has no image: found, but empty


def test_the_review_page_shows_video_scenes_sources_and_question(client, submitted, mo):
    from courses.models import Checkpoint, Choice

    scene = submitted.scenes.get(position=2)
    checkpoint = Checkpoint.objects.create(scene=scene, prompt="What does a commit record?")
    Choice.objects.create(checkpoint=checkpoint, text="A snapshot", is_correct=True)
    job = RenderJob.objects.get(version=submitted)
    client.force_login(mo)
    client.post(reverse("moderation:claim", args=[submitted.pk]))
    body = client.get(reverse("moderation:review", args=[submitted.pk])).content.decode()
    assert reverse("courses:render_job_file", args=[job.pk, "video"]) in body
    assert "Version control keeps history." in body and "from lesson.md" in body
    # "It lets people work together." has no source: marked for the moderator.
    assert body.count('data-testid="no-source"') == 2  # that sentence and scene 3's
    assert "What does a commit record?" in body and "A snapshot" in body
    assert body.count('name="decision-') == 6  # two radios for each of three scenes
    assert submitted.scenes.get(position=0).content_hash[:12] in body


def test_deciding_through_the_views(client, submitted, alice, mo):
    bad = submitted.scenes.get(position=1)
    client.force_login(mo)
    client.post(reverse("moderation:claim", args=[submitted.pk]))
    response = client.post(
        reverse("moderation:decide", args=[submitted.pk]),
        {
            f"decision-{bad.pk}": "reject",
            f"reason-{bad.pk}": "quality",
            f"note-{bad.pk}": "Mumbled",
        },
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == VersionStatus.REJECTED

    client.force_login(alice)
    page = client.get(reverse("courses:version_detail", args=[submitted.pk])).content.decode()
    assert "Hard to see, hear or follow" in page and "Mumbled" in page
    assert reverse("moderation:appeal", args=[submitted.pk]) in page
    edit = client.get(reverse("courses:scene_edit", args=[bad.pk])).content.decode()
    assert 'data-testid="scene-rejection"' in edit and "Mumbled" in edit
    response = client.post(
        reverse("moderation:appeal", args=[submitted.pk]), {"note": "It is clear."}
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == VersionStatus.SUBMITTED


def test_the_old_queue_address_leads_to_the_workspace(client, mo):
    client.force_login(mo)
    response = client.get(reverse("accounts:review_queue"))
    assert response.url == reverse("moderation:queue")


# Students and the publish gate ------------------------------------------------------------


def publish(version, alice, mo):
    version = render_and_submit(version, alice)
    services.review_claim(version=version, moderator=mo)
    return services.review_decide(version=version, moderator=mo, verdicts={})


def test_students_see_only_published_lessons_of_their_classes(
    client, version, alice, mo, sam, other_student, classroom
):
    lesson = version.lesson
    client.force_login(sam)
    assert "Git basics" not in client.get(reverse("home")).content.decode()  # a draft
    render_and_submit(version, alice)
    assert "Git basics" not in client.get(reverse("home")).content.decode()  # under review
    assert not selectors.lesson_is_visible_to_student(student=sam, lesson=lesson)

    services.review_claim(version=version, moderator=mo)
    services.review_decide(version=version, moderator=mo, verdicts={})

    assert "Git basics" in client.get(reverse("home")).content.decode()
    assert list(selectors.published_lessons_for_student(sam)) == [lesson]
    assert selectors.lesson_is_visible_to_student(student=sam, lesson=lesson)
    client.force_login(other_student)
    assert "Git basics" not in client.get(reverse("home")).content.decode()
    assert not selectors.lesson_is_visible_to_student(student=other_student, lesson=lesson)
    assert list(selectors.published_lessons_for_student(alice)) == []  # teachers: not this way


def test_a_published_lesson_stays_visible_while_its_next_version_is_reviewed(
    client, version, alice, mo, sam, classroom
):
    from tests.moderation.test_workflow import edit_narration

    publish(version, alice, mo)
    draft = edit_narration(version.scenes.get(position=2), alice, "A commit is a snapshot.").version
    render_and_submit(draft, alice)
    lessons = list(selectors.published_lessons_for_student(sam))
    assert lessons == [version.lesson]
    assert [v.number for v in lessons[0].published_versions] == [1]


def test_the_workspace_speaks_chinese(client, submitted, mo):
    mo.language = "zh-hans"
    mo.save()
    client.force_login(mo)
    body = client.get(reverse("moderation:queue")).content.decode()
    assert "待审核场景" in body and "认领" in body
