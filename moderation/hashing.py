"""Scene content hashes of a lesson version's rows (synthesis.content_hash over each scene
as the renderer reads it, the version's voice and the scene's accepted checkpoint)."""

from __future__ import annotations

from courses.models import Checkpoint, LessonVersion, Scene
from courses.storyboards import storyboard_from_version
from courses.voices import version_voice_settings
from synthesis.content_hash import scene_content_hash


def checkpoint_plain(checkpoint: Checkpoint | None) -> dict | None:
    """The question students see after the scene, as plain data; None when there is none.

    A generated draft the teacher has not accepted is never shown, so it does not count.
    """
    if checkpoint is None or not checkpoint.accepted:
        return None
    return {
        "prompt": checkpoint.prompt.strip(),
        "choices": [[choice.text, choice.is_correct] for choice in checkpoint.choices.all()],
        "explanation": checkpoint.explanation.strip(),
    }


def version_scene_hashes(version: LessonVersion) -> dict[int, str]:
    """{scene id: content hash} for every scene of the version, computed from its rows now."""
    rows = list(
        Scene.objects.filter(version=version)
        .select_related("checkpoint")
        .prefetch_related("checkpoint__choices")
        .order_by("position", "id")
    )
    storyboard = storyboard_from_version(version)  # the same order: position, id
    voice = version_voice_settings(version)
    hashes = {}
    for row, scene in zip(rows, storyboard.scenes, strict=True):
        hashes[row.pk] = scene_content_hash(
            scene, voice=voice, checkpoint=checkpoint_plain(_checkpoint(row))
        )
    return hashes


def _checkpoint(row: Scene) -> Checkpoint | None:
    try:
        return row.checkpoint
    except Checkpoint.DoesNotExist:
        return None


def version_scene_hashes_store(version: LessonVersion) -> dict[int, str]:
    """Compute and store every scene's content hash (at submission: the version is frozen)."""
    hashes = version_scene_hashes(version)
    for scene_id, content_hash in hashes.items():
        Scene.objects.filter(pk=scene_id).update(content_hash=content_hash)
    return hashes
