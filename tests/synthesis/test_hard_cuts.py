"""Hard cuts: a plan may enter a scene without a transition segment; its timeline, captions,
manifest, HLS playlist and MP4 all agree on it, and a full plan never cuts."""

from __future__ import annotations

from types import SimpleNamespace

import av
import numpy as np
import pytest

from synthesis.assemble import assemble
from synthesis.captions import caption_track
from synthesis.hls import playlist
from synthesis.manifest import build_manifest
from synthesis.plan import plan, with_hard_cuts
from synthesis.render import encode
from synthesis.segments import SegmentStore
from synthesis.storyboard import RenderSettings, Scene, Storyboard, Visual, VoiceSettings
from tests.synthesis.media_checks import decoded_audio, ffprobe, stream
from tests.synthesis.test_plan import tone_wav

FPS = 10
SETTINGS = RenderSettings(
    width_px=256,
    height_px=144,
    fps=FPS,
    quality="draft",
    device="cpu",
    burn_captions=False,
    voice=VoiceSettings(engines=("espeak",)),
)
SCENES = {
    "a": Scene("a", Visual(kind="title", title="Light"), "Scene a."),
    "b": Scene("b", Visual(kind="text", title="Colour", bullets=("Red", "Blue")), "Scene b."),
    "c": Scene("c", Visual(kind="code", title="Code", code="print(1)"), "Scene c."),
}


@pytest.fixture
def clips(tmp_path) -> dict[str, list]:
    spoken = {}
    for number, (scene_id, seconds) in enumerate([("a", 0.8), ("b", 1.1), ("c", 0.6)]):
        wav = tone_wav(tmp_path / f"{scene_id}.wav", seconds, 220 + 110 * number)
        spoken[scene_id] = [
            SimpleNamespace(
                text=f"Scene {scene_id}.", wav_path=wav, duration_s=seconds, engine="espeak",
                voice="en-us",
            )
        ]  # fmt: skip
    return spoken


def segment_frames(store: SegmentStore, key: str) -> list[np.ndarray]:
    with av.open(str(store.get(key))) as container:
        return [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]


def lesson_plan(order: str, clips, store: SegmentStore | None = None):
    storyboard = Storyboard(title="Light", language="en", scenes=tuple(SCENES[i] for i in order))
    return storyboard, plan(storyboard, SETTINGS, spoken=[clips[i] for i in order], store=store)


def test_a_cut_has_no_transition_and_the_scenes_after_it_start_earlier(clips):
    storyboard, full = lesson_plan("abc", clips)
    cut = full.with_cuts(frozenset({2}))  # straight from b into c
    transition = full.timeline.transition_frames

    assert full.transition_keys[2] not in cut.segments
    assert cut.segments == tuple(k for k in full.segments if k != full.transition_keys[2])
    assert cut.cut_transition_keys == (full.transition_keys[2],)
    kinds = [(entry.kind, entry.scene_index) for entry in cut.timeline.entries]
    assert ("transition", 1) not in kinds and ("transition", 0) in kinds
    timeline = cut.timeline
    assert timeline.frame_count == full.timeline.frame_count - transition
    assert sum(frames for _, frames in cut.segment_frames) == timeline.frame_count
    b_end = timeline.scene_start_s(1) + timeline.scenes[1].duration_s
    assert timeline.scene_start_s(2) == pytest.approx(b_end)
    assert timeline.scene_start_s(2) == pytest.approx(
        full.timeline.scene_start_s(2) - transition / FPS
    )
    last_cue = caption_track(timeline, "en")[-1]
    assert last_cue.start_s == pytest.approx(caption_track(full.timeline, "en")[-1].start_s - 0.5)
    manifest = build_manifest(plan=cut, storyboard=storyboard, warnings=[], statistics={})
    assert [t["to"] for t in manifest["transitions"]] == ["a", "b"]
    assert manifest["cuts"] == [{"into": "c", "at_s": round(timeline.scene_start_s(2), 3)}]
    assert "cuts" not in build_manifest(
        plan=full, storyboard=storyboard, warnings=[], statistics={}
    )
    assert cut.render_key != full.render_key and cut.crossfaded() == full


def test_a_variant_plays_with_a_cut_where_its_crossfade_is_missing(tmp_path, clips):
    store = SegmentStore(tmp_path / "cache")
    _, lesson = lesson_plan("abc", clips, store)
    encode(lesson, store)
    _, variant = lesson_plan("ac", clips, store)  # a new neighbour pair: a -> c
    assert variant.missing == (variant.transition_keys[1],)

    ready = with_hard_cuts(variant, store)

    assert ready.cuts == frozenset({1}) and ready.missing == ()
    video = tmp_path / "variant.mp4"
    joined = assemble(ready.segments, video, store=store, fps=FPS)
    hls = playlist(ready.segment_frames, tmp_path / "hls", store=store, fps=FPS)
    timeline = ready.timeline
    assert joined.frame_count == timeline.frame_count
    info = ffprobe(video)
    assert int(stream(info, "video")["nb_frames"]) == timeline.frame_count
    audio_s = len(decoded_audio(video)) / 48_000
    assert abs(audio_s - timeline.duration_s) < 1024 / 48_000  # within one AAC packet
    listed = [float(line[8:-1]) for line in hls.read_text().splitlines() if "EXTINF" in line]
    assert sum(listed) == pytest.approx(timeline.duration_s) and len(listed) == 4
    # Whole pictures either side of the cut: the last of a and the first of c, no blend.
    cut_frame = round(timeline.scene_start_s(1) * FPS)
    with av.open(str(video)) as container:
        frames = [f.to_ndarray(format="rgb24").astype(int) for f in container.decode(video=0)]
    a_last, c_first = frames[cut_frame - 1], frames[cut_frame]
    a_own, c_own = (
        segment_frames(store, ready.scenes[0].key),
        segment_frames(store, ready.scenes[1].key),
    )
    assert np.abs(a_last - a_own[-1]).mean() < 0.5 and np.abs(c_first - c_own[0]).mean() < 0.5
    assert np.abs(c_first - a_last).mean() > 2  # a different picture, at once

    encode(ready.crossfaded(), store)  # the task's afterwards: only the crossfade
    assert store.has(variant.transition_keys[1])
    assert with_hard_cuts(variant, store).cuts == frozenset()


def test_a_full_plan_never_cuts(tmp_path, clips):
    store = SegmentStore(tmp_path / "cache")
    _, before = lesson_plan("abc", clips, store)
    encode(before, store)
    _, full = lesson_plan("abc", clips, store)

    assert full.cuts == frozenset() and with_hard_cuts(full, store) == full
    assert full.segments == before.segments and full.render_key == before.render_key
    assert len(full.segments) == 7
