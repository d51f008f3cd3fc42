"""A new variant plays at once with a hard cut where its crossfade is missing; the task
encodes that crossfade after the row is ready, so the next variant with those neighbours
crossfades; a ready row's playlist never changes."""

from __future__ import annotations

import pytest
from django.utils import timezone

from courses.models import RenderJob, RenderStatus
from courses.playlists import segment_store
from learning.models import LessonVariant, VariantStatus
from learning.variants import (
    lesson_variant_prepare,
    lesson_variant_ready,
    settings_key,
    variant_render_settings,
)

pytestmark = pytest.mark.django_db
FPS = 10
TRANSITION_FRAMES = 5  # TRANSITION_S at 10 fps


@pytest.fixture
def tiny_version(settings, tmp_path, version, alice):
    """conftest's three-scene lesson, whose latest render is tiny: variants take its size."""
    settings.LECTERN_CACHE_DIR = tmp_path / "cache"
    settings.LECTERN_TTS_ENGINES = ["espeak"]
    settings.LECTERN_DEVICE = "cpu"
    RenderJob.objects.create(
        version=version, requested_by=alice, status=RenderStatus.SUCCEEDED, width_px=128,
        height_px=72, fps=FPS, quality="draft", finished_at=timezone.now(),
    )  # fmt: skip
    return version


def prepared(version, scenes: list) -> LessonVariant:
    row = LessonVariant.objects.create(
        version=version,
        scene_order=",".join(str(scene.pk) for scene in scenes),
        settings_key=settings_key(variant_render_settings(version)),
    )
    assert lesson_variant_prepare(variant_id=row.pk) == "ready"
    row.refresh_from_db()
    return row


def transitions(row: LessonVariant) -> list[str]:
    return [key for key, frames in row.entries if frames == TRANSITION_FRAMES]


def test_a_variant_missing_a_crossfade_is_ready_with_a_cut_then_the_crossfade_is_stored(
    tiny_version,
):
    title, sunlight, scattering = tiny_version.scenes.order_by("position")
    full = prepared(tiny_version, [title, sunlight, scattering])
    assert len(transitions(full)) == 3 and full.encoded == 7  # scenes missing: no cut

    cut = prepared(tiny_version, [title, scattering])

    assert cut.status == VariantStatus.READY and cut.encoded == 0  # nothing encoded first
    # opening, crossfade into the title, title, (hard cut) scattering
    assert [key for key, _ in cut.entries] == [
        full.entries[0][0], full.entries[1][0], full.entries[2][0], full.entries[6][0],
    ]  # fmt: skip
    entries = list(cut.entries)
    store = segment_store()
    stored_after = set(store.root.glob("*.mp4"))
    assert len(stored_after) == 8  # 7 segments of the full variant and the new crossfade

    # The same row prepared again (a later request) keeps the playlist a student plays.
    assert lesson_variant_prepare(variant_id=cut.pk) == "ready"
    cut.refresh_from_db()
    assert cut.entries == entries and lesson_variant_ready(cut)

    # A new variant with those neighbours finds the crossfade: encoded by the cut's task.
    cut.delete()
    again = prepared(tiny_version, [title, scattering])
    assert again.encoded == 0
    assert len(again.entries) == 5 and len(transitions(again)) == 2
    new_crossfade = again.entries[3][0]
    assert new_crossfade not in {key for key, _ in full.entries}
    assert store.has(new_crossfade)
    assert set(store.root.glob("*.mp4")) == stored_after  # nothing encoded for it


def test_a_variant_whose_crossfades_are_stored_has_no_cut(tiny_version):
    title, sunlight, scattering = tiny_version.scenes.order_by("position")
    full = prepared(tiny_version, [title, sunlight, scattering])
    LessonVariant.objects.filter(pk=full.pk).delete()

    again = prepared(tiny_version, [title, sunlight, scattering])

    assert again.entries == full.entries and again.encoded == 0
