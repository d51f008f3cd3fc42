"""The publish gate's file step: labels checked, the served lesson.mp4 signed and verified."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from courses import services as courses_services
from courses.models import VersionStatus
from courses.selectors import latest_successful_render
from moderation import services
from moderation.provenance import read_provenance
from moderation.publishing import published_file_problems, render_output_folder
from tests.synthesis.labelled_render import SIZE_PX, encode_frames, write_labelled_output


@pytest.fixture
def job(version):
    return latest_successful_render(version)


@pytest.fixture
def folder(job):
    return render_output_folder(job)


def test_labelled_render_is_signed_in_place(job, folder, alice):
    write_labelled_output(folder)

    assert published_file_problems(job) == []

    provenance = read_provenance(folder / "lesson.mp4")
    assert provenance["validation_state"] == "Valid"
    assert provenance["author"] == str(alice)
    assert provenance["ai_generated"] is True
    assert sorted(p.name for p in folder.iterdir()) == ["lesson.c2pa", "lesson.mp4", "lesson.vtt"]


def test_publishing_twice_signs_once(job, folder):
    write_labelled_output(folder)
    published_file_problems(job)
    signed = (folder / "lesson.mp4").read_bytes()

    assert published_file_problems(job) == []
    assert (folder / "lesson.mp4").read_bytes() == signed


def test_missing_files_are_refused(job, folder):
    (folder / "lesson.vtt").unlink()

    assert published_file_problems(job) == ["The render's video or captions file is missing."]


def test_no_render_is_refused():
    assert published_file_problems(None) == ["The version has no finished render."]


def test_video_without_visible_label_is_refused_and_not_signed(job, folder):
    write_labelled_output(folder)
    encode_frames(folder / "lesson.mp4", np.full((30, SIZE_PX[1], SIZE_PX[0], 3), 90, np.uint8))

    problems = published_file_problems(job)

    assert problems == [
        "The video is not labelled as AI-generated: lesson.mp4: the opening frame has no "
        "visible AI-generated label",
        "The video is not labelled as AI-generated: lesson.mp4: the AIGC metadata tag is missing",
    ]
    assert read_provenance(folder / "lesson.mp4")["validation_state"] is None


def test_video_changed_after_signing_is_refused(job, folder):
    write_labelled_output(folder)
    published_file_problems(job)
    video = folder / "lesson.mp4"
    data = bytearray(video.read_bytes())
    data[-200] ^= 0x01  # in moov, last in a file written without faststart
    video.write_bytes(bytes(data))

    assert published_file_problems(job) == [
        "The video was changed after it was signed; render it again."
    ]


def test_a_missing_production_key_refuses_publishing(job, folder, settings, tmp_path):
    write_labelled_output(folder)
    settings.LECTERN_C2PA_KEY_FILE = str(tmp_path / "absent.key")
    settings.LECTERN_C2PA_CHAIN_FILE = str(tmp_path / "absent.pem")

    problems = published_file_problems(job)

    assert len(problems) == 1
    assert problems[0].startswith("The video could not be signed: LECTERN_C2PA_KEY_FILE")


def test_captions_without_the_ai_notice_are_refused(job, folder):
    write_labelled_output(folder)
    (folder / "lesson.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:02.000\nHello.\n")

    assert published_file_problems(job) == [
        "The video is not labelled as AI-generated: lesson.vtt: the first caption cue does "
        "not say the video is AI-generated"
    ]


def test_signed_file_still_plays(job, folder):
    write_labelled_output(folder)
    published_file_problems(job)

    result = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(folder / "lesson.mp4")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.strip() == "30"


def unlabel(folder) -> None:
    encode_frames(folder / "lesson.mp4", np.full((30, SIZE_PX[1], SIZE_PX[0], 3), 90, np.uint8))


def test_moderator_cannot_publish_an_unlabelled_video(version, folder, alice, mo):
    unlabel(folder)
    courses_services.lesson_version_submit(version=version, user=alice)
    services.review_claim(version=version, moderator=mo)

    with pytest.raises(ValidationError, match="opening frame has no visible AI-generated label"):
        services.review_decide(version=version, moderator=mo, verdicts={})

    version.refresh_from_db()
    assert version.status == VersionStatus.IN_REVIEW


def test_publishing_signs_the_served_video(version, folder, alice, mo):
    courses_services.lesson_version_submit(version=version, user=alice)
    services.review_claim(version=version, moderator=mo)

    version = services.review_decide(version=version, moderator=mo, verdicts={})

    assert version.status == VersionStatus.PUBLISHED
    assert read_provenance(folder / "lesson.mp4")["author"] == str(alice)


def test_a_committed_publish_tells_the_other_apps(
    version, folder, alice, mo, django_capture_on_commit_callbacks
):
    from moderation.signals import version_published

    told = []

    def receiver(sender, *, version, **kwargs):
        told.append(version.pk)

    version_published.connect(receiver)
    try:
        courses_services.lesson_version_submit(version=version, user=alice)
        services.review_claim(version=version, moderator=mo)
        with django_capture_on_commit_callbacks(execute=True):
            services.review_decide(version=version, moderator=mo, verdicts={})
    finally:
        version_published.disconnect(receiver)

    assert told == [version.pk]


def test_trusted_teachers_unlabelled_video_waits_for_a_moderator(
    version, folder, alice, admin_user
):
    services.teacher_trust_grant(teacher=alice, admin=admin_user)
    unlabel(folder)

    version = courses_services.lesson_version_submit(version=version, user=alice)

    version.refresh_from_db()
    assert version.status == VersionStatus.SUBMITTED


def test_the_player_shows_the_provenance_read_from_the_published_file(
    client, version, alice, mo, sam, classroom
):
    from django.urls import reverse

    courses_services.lesson_version_submit(version=version, user=alice)
    services.review_claim(version=version, moderator=mo)
    services.review_decide(version=version, moderator=mo, verdicts={})
    client.force_login(sam)

    page = client.get(reverse("learning:player", args=[version.lesson_id])).content.decode()

    assert 'data-testid="provenance"' in page
    assert "signed content credentials (C2PA)" in page
    assert "It was generated by AI." in page
    assert f"Author: {alice}<" in page
    assert "Made with Lectern" in page


def test_the_player_says_when_the_file_carries_no_valid_credentials(
    client, version, folder, alice, mo, sam, classroom
):
    from django.urls import reverse

    courses_services.lesson_version_submit(version=version, user=alice)
    services.review_claim(version=version, moderator=mo)
    services.review_decide(version=version, moderator=mo, verdicts={})
    video = folder / "lesson.mp4"
    data = bytearray(video.read_bytes())
    data[-2000] ^= 0xFF  # one byte changed after signing: the manifest no longer validates
    video.write_bytes(bytes(data))
    client.force_login(sam)

    page = client.get(reverse("learning:player", args=[version.lesson_id])).content.decode()

    assert "carries no valid content credentials" in page
