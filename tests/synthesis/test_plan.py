"""The three steps: plan (pure, no file written), encode (only what is missing), assemble and
playlist (remux only); keys independent of position; joins of any order keep A/V in step."""

from __future__ import annotations

import json
import random
import subprocess
import wave
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from synthesis.assemble import assemble, plan_metadata
from synthesis.encode import encode_segment, encoder_settings, join_segments
from synthesis.hls import START_TICKS, TS_HZ, playlist, playlist_entries
from synthesis.manifest import build_manifest, write_json
from synthesis.plan import plan
from synthesis.render import encode
from synthesis.segments import SegmentStore
from synthesis.storyboard import RenderSettings, Scene, Storyboard, Visual, VoiceSettings
from tests.synthesis.media_checks import ffprobe, stream

FPS = 10
SETTINGS = RenderSettings(
    width_px=128,
    height_px=72,
    fps=FPS,
    quality="draft",
    device="cpu",
    burn_captions=False,
    voice=VoiceSettings(engines=("espeak",)),
)


def tone_wav(path: Path, seconds: float, hz: float) -> Path:
    """A 16-bit mono 48 kHz sine, as a narration clip stands in the speech cache."""
    t = np.arange(int(48_000 * seconds)) / 48_000
    samples = (0.3 * np.sin(2 * np.pi * hz * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(48_000)
        wav.writeframes(samples.tobytes())
    return path


@pytest.fixture
def clips(tmp_path) -> dict[str, list]:
    """Spoken sentences per scene id: what speech returns (text, clip, duration, engine)."""
    folder = tmp_path / "clips"
    folder.mkdir()
    spoken = {}
    for number, (scene_id, seconds) in enumerate([("a", 0.8), ("b", 1.1), ("c", 0.6), ("d", 0.9)]):
        wav = tone_wav(folder / f"{scene_id}.wav", seconds, 220 + 110 * number)
        spoken[scene_id] = [
            SimpleNamespace(
                text=f"Scene {scene_id}.",
                wav_path=wav,
                duration_s=seconds,
                engine="espeak",
                voice="en-us",
            )
        ]
    return spoken


SCENES = {
    "a": Scene("a", Visual(kind="title", title="Light"), "Scene a."),
    "b": Scene("b", Visual(kind="text", title="Colour", bullets=("Red", "Blue")), "Scene b."),
    "c": Scene("c", Visual(kind="text", title="Sky", bullets=("Scatter",)), "Scene c."),
    "d": Scene("d", Visual(kind="code", title="Code", code="print(1)"), "Scene d."),
}


def lesson(order: str) -> Storyboard:
    return Storyboard(title="Light", language="en", scenes=tuple(SCENES[i] for i in order))


def planned(order: str, clips, store=None, settings=SETTINGS):
    return plan(lesson(order), settings, spoken=[clips[i] for i in order], store=store)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path): (path.stat().st_mtime_ns, path.stat().st_size)
        for path in root.rglob("*")
        if path.is_file()
    }


def test_plan_is_a_value_and_writes_no_file(tmp_path, clips):
    store = SegmentStore(tmp_path / "cache")
    before = tree(tmp_path)
    first = planned("abc", clips, store)
    assert tree(tmp_path) == before  # not a file written, touched or removed
    assert planned("abc", clips, store) == first  # the same input, the same value
    # Opening, then a transition before each scene; everything missing from an empty store.
    assert len(first.segments) == 1 + 2 * 3
    assert first.segments[0] == first.opening.key
    assert first.missing == first.segments
    assert [s.timing.scene.id for s in first.scenes] == ["a", "b", "c"]
    assert all(s.content_hash for s in first.scenes)
    assert "missing" in first.summary()
    with pytest.raises(AttributeError):
        first.title = "changed"  # frozen


def test_scene_keys_do_not_depend_on_position(clips):
    forward = planned("abcd", clips)
    shuffled = planned("dbca", clips)
    keys = {s.timing.scene.id: s.key for s in forward.scenes}
    assert {s.timing.scene.id: s.key for s in shuffled.scenes} == keys
    assert forward.opening.key == shuffled.opening.key  # the opening label: title, not scene
    # A transition is keyed by both neighbours: b -> c appears in both lessons.
    assert forward.transition_keys[2] == shuffled.transition_keys[2]
    assert forward.transition_keys[1] != shuffled.transition_keys[1]
    # Settings still decide pixels: another size changes every key.
    bigger = planned("abcd", clips, settings=replace(SETTINGS, width_px=160, height_px=90))
    assert not set(bigger.segments) & set(forward.segments)
    # The content hash is what a viewer perceives: another size keeps it.
    assert [s.content_hash for s in bigger.scenes] == [s.content_hash for s in forward.scenes]


def test_encode_fills_only_what_is_missing_and_assemble_remuxes(tmp_path, clips):
    store = SegmentStore(tmp_path / "cache")
    full = planned("abcd", clips, store)
    stats = encode(full, store)
    assert (stats.scene_misses, stats.transition_misses, stats.opening_misses) == (4, 4, 1)
    assert planned("abcd", clips, store).missing == ()

    # A variant: skip b, play d before c. Only transitions between new neighbours are new.
    variant = planned("adc", clips, store)
    assert set(variant.missing) == {variant.transition_keys[1], variant.transition_keys[2]}
    again = encode(variant, store)
    assert (again.scene_misses, again.transition_misses, again.opening_misses) == (0, 2, 0)
    assert again.frames_encoded == 2 * full.timeline.transition_frames

    out = tmp_path / "variant.mp4"
    joined = assemble(variant.segments, out, store=store, fps=FPS, metadata=plan_metadata(variant))
    assert joined.frame_count == variant.timeline.frame_count
    info = ffprobe(out)
    video_s = float(stream(info, "video")["duration"])
    assert video_s == pytest.approx(variant.timeline.duration_s, abs=1 / FPS)
    assert abs(float(stream(info, "audio")["duration"]) - video_s) <= 1 / FPS

    # The playlist over the same keys: TS files remuxed, no segment encoded or changed.
    segments_before = tree(store.root)
    index = playlist(variant.segment_frames, tmp_path / "hls", store=store, fps=FPS)
    text = index.read_text()
    assert text.startswith("#EXTM3U") and text.rstrip().endswith("#EXT-X-ENDLIST")
    assert text.count("#EXTINF") == len(variant.segments)
    assert "#EXT-X-DISCONTINUITY" not in text  # timestamps run on from file to file
    # The same files, the same sizes (use only touches their times).
    assert {k: v[1] for k, v in tree(store.root).items()} == {
        k: v[1] for k, v in segments_before.items()
    }
    durations = [
        float(line.split(":")[1].rstrip(","))
        for line in text.splitlines()
        if line.startswith("#EXTINF")
    ]
    assert sum(durations) == pytest.approx(variant.timeline.duration_s, abs=0.01)


def test_playlist_files_start_at_their_place_and_play_on_without_a_break(tmp_path, clips):
    """Each TS file's first frame is at its playlist position (to the 90 kHz tick) and the
    files, played one after another, are one stream: every frame 1/fps after the last,
    decoding times rising, the sound one unbroken run as long as the video."""
    store = SegmentStore(tmp_path / "cache")
    variant = planned("adc", clips, store)
    encode(variant, store)
    index = playlist(variant.segment_frames, tmp_path / "hls", store=store, fps=FPS)
    names = [line for line in index.read_text().splitlines() if line.endswith(".ts")]
    entries = playlist_entries(variant.segment_frames, FPS)
    for name, entry in zip(names, entries, strict=True):
        info = ffprobe(tmp_path / "hls" / name)
        assert float(stream(info, "video")["start_time"]) == pytest.approx(
            START_TICKS / TS_HZ + entry.start_frame / FPS, abs=1 / TS_HZ
        )
        # The sound runs on from the file before; each packet within half a packet of
        # where its samples belong (packets the sound before already covers are dropped).
        assert float(stream(info, "audio")["start_time"]) == pytest.approx(
            START_TICKS / TS_HZ + entry.audio_start_sample / 48_000, abs=1 / TS_HZ
        )
        belongs_at = entry.start_frame * 48_000 // FPS + entry.audio_skip * 1024
        assert abs(entry.audio_start_sample - belongs_at) <= 512

    whole = tmp_path / "whole.ts"
    whole.write_bytes(b"".join((tmp_path / "hls" / name).read_bytes() for name in names))
    video = packet_times(whole, "v")
    assert len(video) == variant.timeline.frame_count
    shown = sorted(pts for pts, _ in video)
    steps = {round(b - a, 6) for a, b in zip(shown, shown[1:], strict=False)}
    assert steps == {round(1 / FPS, 6)}  # no gap and no overlap at any seam
    decoded = [dts for _, dts in video]
    assert all(b > a for a, b in zip(decoded, decoded[1:], strict=False))
    assert all(dts <= pts for pts, dts in video)
    audio = sorted(pts for pts, _ in packet_times(whole, "a"))
    video_end = shown[-1] + 1 / FPS
    assert audio[0] == pytest.approx(shown[0], abs=1 / TS_HZ)
    # One unbroken run of AAC packets, ending within half a packet of the video's end.
    packet_s = 1024 / 48_000
    assert audio[-1] + packet_s == pytest.approx(video_end, abs=packet_s / 2 + 1 / TS_HZ)
    gaps = [b - a for a, b in zip(audio, audio[1:], strict=False)]
    assert max(gaps) == pytest.approx(min(gaps), abs=1 / TS_HZ)  # no overlap, no hole
    assert min(gaps) == pytest.approx(packet_s, abs=1 / TS_HZ)


def packet_times(path: Path, kind: str) -> list[tuple[float, float]]:
    """(pts, dts) in seconds of every packet of one stream, in file order."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", kind, "-show_entries",
         "packet=pts_time,dts_time", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [
        (float(pts), float(dts))
        for pts, dts, *_ in (line.split(",") for line in result.stdout.split())
    ]


FRAMES = [7, 13, 5, 22, 9, 16]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    """Short segments of different lengths (not whole AAC packets), speech-like tones."""
    folder = tmp_path_factory.mktemp("drift")
    encoder = encoder_settings("draft", FPS)
    paths = []
    for number, frames in enumerate(FRAMES):
        picture = np.full((1, 72, 128, 3), 40 * number, dtype=np.uint8)
        samples = round(frames * 48_000 / FPS)
        t = np.arange(samples) / 48_000
        audio = (0.2 * np.sin(2 * np.pi * (300 + 50 * number) * t)).astype(np.float32)
        path = folder / f"{number}.mp4"
        encode_segment(
            path,
            [np.repeat(picture, frames, axis=0)],
            audio,
            fps=FPS,
            size_px=(128, 72),
            encoder=encoder,
            still=number % 2 == 0,
        )
        paths.append(path)
    return paths


def test_any_order_of_segments_joins_without_drift(tmp_path, corpus):
    shuffle = random.Random(12)
    for attempt in range(20):
        order = [shuffle.choice(corpus) for _ in range(shuffle.randint(2, 9))]
        out = tmp_path / f"{attempt}.mp4"
        joined = join_segments(order, out, fps=FPS, metadata={})
        info = ffprobe(out)
        video_s = float(stream(info, "video")["duration"])
        audio_s = float(stream(info, "audio")["duration"])
        assert joined.frame_count == sum(FRAMES[corpus.index(p)] for p in order)
        assert abs(video_s - joined.frame_count / FPS) <= 1 / FPS
        assert abs(audio_s - video_s) <= 1 / FPS, (attempt, video_s, audio_s)


def test_content_hash_survives_size_and_renderer_version_but_not_a_word(
    tmp_path, clips, monkeypatch
):
    """The manifest's content_hash (what moderation approves) is what a viewer perceives:
    the same at another size and after a renderer version bump, different for one word."""
    import synthesis.segments

    def manifest(storyboard, settings=SETTINGS) -> dict:
        the_plan = plan(storyboard, settings, spoken=[clips[s.id] for s in storyboard.scenes])
        data = build_manifest(plan=the_plan, storyboard=storyboard, warnings=[], statistics={})
        write_json(tmp_path / "lesson.json", data)
        return json.loads((tmp_path / "lesson.json").read_text())

    def hashes(data: dict) -> list[str]:
        return [scene["content_hash"] for scene in data["scenes"]]

    original = manifest(lesson("ab"))
    assert all(len(h) == 64 for h in hashes(original))
    bigger = manifest(lesson("ab"), replace(SETTINGS, width_px=256, height_px=144))
    assert bigger["segments"] != original["segments"]  # other pixels, other segments
    assert hashes(bigger) == hashes(original)
    monkeypatch.setattr(synthesis.segments, "RENDERER_VERSION", "bumped")
    bumped = manifest(lesson("ab"))
    assert not set(bumped["segments"]) & set(original["segments"])  # every key moved
    assert hashes(bumped) == hashes(original)

    edited_scene = replace(SCENES["b"], narration="Scene b, edited.")
    edited = Storyboard(title="Light", language="en", scenes=(SCENES["a"], edited_scene))
    changed = hashes(manifest(edited))
    assert changed[0] == hashes(original)[0] and changed[1] != hashes(original)[1]
