"""Scene content hashes of a lesson version's rows (synthesis.content_hash over each scene
as the renderer reads it, with its accepted checkpoint, and the version's voice): the same
hashes the render manifest records."""

from __future__ import annotations

from courses.models import LessonVersion, Scene
from courses.storyboards import storyboard_from_version
from courses.voices import version_voice_settings
from synthesis.content_hash import scene_content_hash


def version_scene_hashes(version: LessonVersion) -> dict[int, str]:
    """{scene id: content hash} for every scene of the version, computed from its rows now
    (the storyboard carries each scene's accepted question, courses.storyboards)."""
    rows = list(Scene.objects.filter(version=version).order_by("position", "id"))
    storyboard = storyboard_from_version(version)  # the same order: position, id
    voice = version_voice_settings(version)
    return {
        row.pk: scene_content_hash(scene, voice=voice)
        for row, scene in zip(rows, storyboard.scenes, strict=True)
    }


def version_scene_hashes_store(version: LessonVersion) -> dict[int, str]:
    """Compute and store every scene's content hash (at submission: the version is frozen)."""
    hashes = version_scene_hashes(version)
    for scene_id, content_hash in hashes.items():
        Scene.objects.filter(pk=scene_id).update(content_hash=content_hash)
    return hashes
