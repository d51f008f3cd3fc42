"""Only a draft is rendered: a version with moderation or published keeps the video that was
reviewed (and, once published, checked and signed), so students never get a new, unchecked one."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from courses import services
from courses.models import RenderJob, VersionStatus
from tests.courses.conftest import finished_render

pytestmark = pytest.mark.django_db

MODERATED = [
    VersionStatus.SUBMITTED,
    VersionStatus.IN_REVIEW,
    VersionStatus.APPROVED,
    VersionStatus.REJECTED,
    VersionStatus.PUBLISHED,
]


@pytest.mark.parametrize("status", MODERATED)
def test_a_version_with_moderation_is_not_rendered_again(client, alice, version, status):
    finished_render(version, alice)
    version.status = status
    version.save()
    with pytest.raises(ValidationError, match="sent to moderation"):
        services.lesson_version_render_enqueue(version=version, user=alice)

    client.force_login(alice)
    response = client.post(
        reverse("courses:version_render", args=[version.pk]),
        {"size": "hd", "quality": "standard", "voice": "", "rate": "1"},
        follow=True,
    )
    assert "sent to moderation" in response.content.decode()
    assert RenderJob.objects.filter(version=version).count() == 1
    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()
    assert 'data-testid="render-frozen"' in page and 'id="render-form"' not in page


def test_a_draft_is_rendered(client, alice, version):
    job = services.lesson_version_render_enqueue(version=version, user=alice)
    assert job.version == version
    client.force_login(alice)
    page = client.get(reverse("courses:version_detail", args=[version.pk])).content.decode()
    assert 'id="render-form"' in page and 'data-testid="render-frozen"' not in page


def test_a_published_version_without_a_video_gets_its_first_one_checked_and_signed(
    alice, version, settings, tmp_path
):
    """The demo lesson is published before any video exists: its first render is the video
    students see, so it passes the publish checks and is signed before it is moved in place."""
    from courses.rendering import render_job_run
    from moderation.provenance import read_provenance
    from moderation.publishing import render_output_folder

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    settings.LECTERN_TTS_ENGINES = ["espeak"]
    settings.LECTERN_DEVICE = "cpu"
    version.status = VersionStatus.PUBLISHED
    version.save()
    assert version.accepts_renders
    job = RenderJob.objects.create(
        version=version, requested_by=alice, width_px=256, height_px=144, fps=10,
        quality="draft",
    )  # fmt: skip

    assert render_job_run(job_id=job.pk) == "succeeded"

    job.refresh_from_db()
    provenance = read_provenance(render_output_folder(job) / "lesson.mp4")
    assert provenance["validation_state"] == "Valid" and provenance["ai_generated"]
    # Its playlist is covered too, although its files were still in staging when signed.
    assert [item["key"] for item in provenance["hls_segments"]] == job.manifest["segments"]
    version.refresh_from_db()
    assert not version.accepts_renders  # from now on it keeps this video
