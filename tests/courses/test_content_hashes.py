"""The render manifest records the same scene content hashes as moderation stores on the
rows, accepted question included: what a moderator approved is what the video shows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from courses.models import Checkpoint, Choice, RenderJob, RenderStatus
from courses.rendering import render_settings_for
from courses.storyboards import storyboard_from_version
from moderation.hashing import version_scene_hashes
from synthesis.render import render


@pytest.fixture
def asked(version):
    """The version's second scene with an accepted question."""
    scene = version.scenes.get(position=1)
    checkpoint = Checkpoint.objects.create(scene=scene, prompt="What is a commit?", accepted=True)
    Choice.objects.create(checkpoint=checkpoint, text="A snapshot", is_correct=True)
    Choice.objects.create(checkpoint=checkpoint, text="A branch", is_correct=False, position=1)
    return scene


def test_the_manifest_and_the_rows_agree_on_every_scene_hash(
    asked, version, alice, settings, tmp_path
):
    settings.LECTERN_TTS_ENGINES = ["espeak"]  # the version's voice: the site's engines
    job = RenderJob.objects.create(
        version=version, requested_by=alice, status=RenderStatus.SUCCEEDED,
        width_px=128, height_px=72, fps=10, quality="draft",
    )  # fmt: skip
    result = render(
        storyboard_from_version(version),
        tmp_path / "lesson.mp4",
        settings=replace(render_settings_for(job), device="cpu"),
        cache_dir=tmp_path / "cache",
    )

    rows = version_scene_hashes(version)
    manifest = [scene["content_hash"] for scene in result.manifest_data["scenes"]]

    assert manifest == list(rows.values())
    asked.checkpoint.choices.filter(is_correct=False).update(text="A tag")
    assert version_scene_hashes(version)[asked.pk] != rows[asked.pk]  # the question counts
