"""Segment encoding and joining: real MP4 files checked with ffprobe and by decoding them."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from synthesis.encode import (
    AUDIO_RATE_HZ,
    boundary_frame,
    combine_parts,
    container_metadata,
    encode_audio,
    encode_segment,
    encoder_settings,
    frame_at,
    join_segments,
)
from synthesis.errors import SynthesisError
from synthesis.frames.yuv import yuv420_to_rgb
from tests.synthesis.media_checks import (
    decoded_audio,
    decoded_frame_count,
    ffprobe,
    stream,
    top_level_boxes,
)

FPS = 15
SIZE = (256, 144)
MARK_S = 0.2  # where each test segment has its click and its white frame


def marked_segment(path, frame_count, *, size=SIZE, quality="draft", audio_s=None):
    """A dark segment with one white frame and one loud click, both MARK_S after its start."""
    width, height = size
    frames = np.full((frame_count, height, width, 3), 30, dtype=np.uint8)
    mark_frame = round(MARK_S * FPS)
    if mark_frame < frame_count:
        frames[mark_frame] = 255
    samples = round((audio_s if audio_s is not None else frame_count / FPS) * AUDIO_RATE_HZ)
    audio = np.zeros(samples, dtype=np.float32)
    mark_sample = round(MARK_S * AUDIO_RATE_HZ)
    if mark_sample + 480 <= samples:
        audio[mark_sample : mark_sample + 480] = 0.8 * np.sin(np.arange(480) * 2 * np.pi / 48)
    batches = (frames[i : i + 8] for i in range(0, frame_count, 8))
    return encode_segment(
        path,
        batches,
        audio,
        fps=FPS,
        size_px=size,
        encoder=encoder_settings(quality, FPS),
        still=True,
    )


def test_segment_is_h264_aac_with_equal_audio_and_video_length(tmp_path):
    segment = marked_segment(tmp_path / "a.mp4", 23)

    info = ffprobe(segment.path)
    video, audio = stream(info, "video"), stream(info, "audio")
    assert video["codec_name"] == "h264"
    assert video["pix_fmt"] == "yuv420p"
    assert (video["width"], video["height"]) == SIZE
    assert video["color_space"] == "bt709"
    assert audio["codec_name"] == "aac"
    assert int(audio["sample_rate"]) == AUDIO_RATE_HZ
    assert float(video["duration"]) == pytest.approx(23 / FPS, abs=1e-3)
    assert float(audio["duration"]) == pytest.approx(23 / FPS, abs=1e-3)
    assert segment.audio_samples == round(23 / FPS * AUDIO_RATE_HZ)


def test_segment_audio_is_padded_or_cut_to_the_video(tmp_path):
    short = marked_segment(tmp_path / "short.mp4", 30, audio_s=0.5)
    long = marked_segment(tmp_path / "long.mp4", 30, audio_s=5.0)

    for segment in (short, long):
        audio = stream(ffprobe(segment.path), "audio")
        assert float(audio["duration"]) == pytest.approx(2.0, abs=1e-3)


def test_segment_starts_with_a_keyframe_and_keeps_a_fixed_gop(tmp_path):
    segment = marked_segment(tmp_path / "gop.mp4", 150)
    import av

    with av.open(str(segment.path)) as container:
        keyframes = [
            index for index, frame in enumerate(container.decode(video=0)) if frame.key_frame
        ]
    gop = encoder_settings("draft", FPS).gop_frames
    assert keyframes == list(range(0, 150, gop))


def test_unknown_quality_is_refused():
    with pytest.raises(SynthesisError, match="unknown quality 'best'"):
        encoder_settings("best", 30)


def test_joined_segments_keep_audio_and_video_in_step(tmp_path):
    # Lengths that are not whole AAC packets, like real scenes and transitions.
    lengths = [37, 8, 51, 8, 23]
    segments = [marked_segment(tmp_path / f"s{i}.mp4", n) for i, n in enumerate(lengths)]
    out = tmp_path / "lesson.mp4"

    joined = join_segments(
        [s.path for s in segments],
        out,
        fps=FPS,
        metadata=container_metadata(title="T", language="en", render_key="k" * 64),
    )

    total_s = sum(lengths) / FPS
    info = ffprobe(out)
    video, audio = stream(info, "video"), stream(info, "audio")
    assert joined.frame_count == sum(lengths) == decoded_frame_count(out)
    assert float(video["duration"]) == pytest.approx(total_s, abs=1e-3)
    assert abs(float(audio["duration"]) - float(video["duration"])) < 1 / FPS
    # Every segment's click is heard when its white frame is shown, even the last one.
    starts_s = np.cumsum([0, *lengths[:-1]]) / FPS
    samples = decoded_audio(out)
    assert abs(len(samples) / AUDIO_RATE_HZ - total_s) < 1 / FPS
    for start_s in starts_s:
        window = samples[
            round((start_s + 0.05) * AUDIO_RATE_HZ) : round((start_s + 0.4) * AUDIO_RATE_HZ)
        ]
        onset_s = start_s + 0.05 + np.argmax(np.abs(window) > 0.2) / AUDIO_RATE_HZ
        assert onset_s == pytest.approx(start_s + MARK_S, abs=0.015)
        white = frame_at(out, start_s + MARK_S)
        assert white.mean() > 200


def test_joined_video_carries_the_ai_label_and_starts_fast(tmp_path):
    segments = [marked_segment(tmp_path / f"s{i}.mp4", 20) for i in range(2)]
    out = tmp_path / "lesson.mp4"
    join_segments(
        [s.path for s in segments],
        out,
        fps=FPS,
        metadata=container_metadata(title="Git basics", language="en", render_key="abc123"),
    )

    tags = ffprobe(out)["format"]["tags"]
    label = json.loads(tags["AIGC"])
    assert label == {
        "Label": "1",
        "ContentProducer": "Lectern",
        "ProduceID": "abc123",
        "ReservedCode1": "",
        "ContentPropagator": "Lectern",
        "PropagateID": "abc123",
        "ReservedCode2": "",
    }
    assert "AI-generated" in tags["comment"]
    assert tags["title"] == "Git basics"
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")


def test_join_refuses_segments_encoded_differently(tmp_path):
    small = marked_segment(tmp_path / "small.mp4", 10)
    large = marked_segment(tmp_path / "large.mp4", 10, size=(320, 180))

    with pytest.raises(SynthesisError, match="different parameters"):
        join_segments([small.path, large.path], tmp_path / "x.mp4", fps=FPS, metadata={})


def test_boundary_frame_is_the_first_or_last_frame_in_planar_yuv(tmp_path):
    width, height = SIZE
    frames = np.zeros((75, height, width, 3), dtype=np.uint8)
    frames[0] = (200, 40, 40)
    frames[1:-1] = (40, 200, 40)
    frames[-1] = (40, 40, 200)
    path = tmp_path / "b.mp4"
    encode_segment(
        path,
        iter([frames]),
        np.zeros(AUDIO_RATE_HZ * 5),
        fps=FPS,
        size_px=SIZE,
        encoder=encoder_settings("standard", FPS),
        still=False,
    )

    first, last = (boundary_frame(path, which) for which in ("first", "last"))

    assert first.shape == last.shape == (height * 3 // 2, width)
    first, last = yuv420_to_rgb(first), yuv420_to_rgb(last)
    assert np.abs(first.astype(int) - (200, 40, 40)).mean() < 12
    assert np.abs(last.astype(int) - (40, 40, 200)).mean() < 12


def test_encode_rejects_frames_of_the_wrong_size(tmp_path):
    frames = np.zeros((4, 100, 100, 3), dtype=np.uint8)
    with pytest.raises(SynthesisError, match="do not match the video size 256x144"):
        encode_segment(
            tmp_path / "x.mp4",
            iter([frames]),
            np.zeros(100),
            fps=FPS,
            size_px=SIZE,
            encoder=encoder_settings("draft", FPS),
            still=True,
        )


def test_held_batches_broadcast_from_one_picture_encode_like_full_ones(tmp_path):
    width, height = SIZE
    picture = np.zeros((height, width, 3), dtype=np.uint8)
    picture[:, : width // 2] = (220, 180, 40)
    held = np.broadcast_to(picture, (20, height, width, 3))  # as the compositor sends stills
    path = tmp_path / "held.mp4"
    encode_segment(
        path,
        iter([held, np.repeat(picture[None], 5, axis=0)]),
        np.zeros(10),
        fps=FPS,
        size_px=SIZE,
        encoder=encoder_settings("standard", FPS),
        still=True,
    )

    assert decoded_frame_count(path) == 25
    first, last = (yuv420_to_rgb(boundary_frame(path, which)) for which in ("first", "last"))
    for frame in (first, last, frame_at(path, 1.0)):
        assert np.abs(frame.astype(int) - picture).mean() < 4


@pytest.mark.parametrize("quality", ["draft", "standard", "high"])
def test_held_and_moving_segments_join_at_every_quality(tmp_path, quality):
    width, height = SIZE
    moving = np.random.default_rng(1).integers(0, 255, (6, height, width, 3), dtype=np.uint8)
    held = np.broadcast_to(moving[0], (6, height, width, 3))
    paths = []
    for name, frames, still in (("held", held, True), ("moving", moving, False)):
        path = tmp_path / f"{name}.mp4"
        encode_segment(
            path,
            iter([frames]),
            np.zeros(10),
            fps=FPS,
            size_px=SIZE,
            encoder=encoder_settings(quality, FPS),
            still=still,
        )
        paths.append(path)

    joined = join_segments(paths, tmp_path / "joined.mp4", fps=FPS, metadata={})

    assert joined.frame_count == decoded_frame_count(joined.path) == 12


def test_segments_too_short_for_b_frames_join_with_longer_ones(tmp_path):
    # At 1-2 fps a transition is a frame or two: x264 reorders nothing there.
    lengths = [20, 1, 20, 2, 20]
    segments = [marked_segment(tmp_path / f"s{i}.mp4", n) for i, n in enumerate(lengths)]

    joined = join_segments([s.path for s in segments], tmp_path / "j.mp4", fps=FPS, metadata={})

    assert joined.frame_count == decoded_frame_count(joined.path) == sum(lengths)
    info = ffprobe(joined.path)
    audio_s = float(stream(info, "audio")["duration"])
    assert abs(audio_s - float(stream(info, "video")["duration"])) < 1 / FPS


def test_encoder_fingerprint_changes_with_the_x264_options(monkeypatch):
    import synthesis.encode as encode

    settings = encoder_settings("standard", 30)
    before = encode.encoder_fingerprint(settings)
    assert before == encode.encoder_fingerprint(encoder_settings("standard", 30))
    assert before != encode.encoder_fingerprint(encoder_settings("high", 30))
    monkeypatch.setattr(encode, "HELD_PARAMS", encode.HELD_PARAMS + ":aq-strength=1.0")
    assert encode.encoder_fingerprint(settings) != before


def test_segments_encoded_with_other_thread_counts_share_keys_and_join(tmp_path):
    import synthesis.encode as encode

    one, many = encoder_settings("standard", FPS, threads=1), encoder_settings("standard", FPS)
    assert encode.encoder_fingerprint(one) == encode.encoder_fingerprint(many)
    paths = []
    for name, encoder in (("one", one), ("many", many)):
        paths.append(tmp_path / f"{name}.mp4")
        encode_segment(
            paths[-1],
            iter([np.full((20, SIZE[1], SIZE[0], 3), 90, np.uint8)]),
            np.zeros(AUDIO_RATE_HZ),
            fps=FPS,
            size_px=SIZE,
            encoder=encoder,
            still=False,
        )

    joined = join_segments(paths, tmp_path / "joined.mp4", fps=FPS, metadata={})

    assert joined.frame_count == 40 == decoded_frame_count(joined.path)


def test_held_segment_shows_every_picture_switch_inside_and_across_batches(tmp_path):
    width, height = SIZE
    red = np.zeros((height, width, 3), dtype=np.uint8)
    red[:] = (200, 30, 30)
    blue = np.zeros_like(red)
    blue[:] = (30, 30, 200)
    expected = [red, red, red, blue, blue, blue, blue, red, red, red]
    batches = [np.stack(expected[:5]), np.stack(expected[5:8]), np.stack(expected[8:])]
    path = tmp_path / "switch.mp4"
    encode_segment(
        path,
        iter(batches),
        np.zeros(10),
        fps=FPS,
        size_px=SIZE,
        encoder=encoder_settings("standard", FPS),
        still=True,
    )

    import av

    with av.open(str(path)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == len(expected)
    for got, want in zip(decoded, expected, strict=True):
        assert np.abs(got.astype(int) - want).mean() < 6


def test_parts_and_audio_of_different_lengths_are_refused(tmp_path):
    encoder = encoder_settings("draft", FPS)
    frames = np.full((10, SIZE[1], SIZE[0], 3), 60, np.uint8)
    part = encode_segment(
        tmp_path / "part.mp4",
        iter([frames]),
        None,
        fps=FPS,
        size_px=SIZE,
        encoder=encoder,
        still=False,
    )
    sound = encode_audio(
        tmp_path / "audio.mp4", np.zeros(AUDIO_RATE_HZ), frame_count=30, fps=FPS, encoder=encoder
    )

    with pytest.raises(SynthesisError, match="hold 10 frames, but its audio lasts 30"):
        combine_parts([part.path], sound, tmp_path / "whole.mp4", fps=FPS)


def test_parts_combine_into_one_segment_with_the_gop_layout_and_audio_of_a_whole(tmp_path):
    # 150 moving frames (brightness rises each frame) in two parts cut at a GOP boundary,
    # and one audio track with a click in the second part.
    encoder = encoder_settings("draft", FPS)
    gop = encoder.gop_frames
    ramp = np.arange(150, dtype=np.float32) * 200 / 150 + 20  # 1.3 levels a frame
    frames = np.broadcast_to(ramp[:, None, None, None], (150, SIZE[1], SIZE[0], 3))
    frames = frames.astype(np.uint8)
    paths = []
    for number, (start, stop) in enumerate([(0, gop), (gop, 150)]):
        paths.append(tmp_path / f"part{number}.mp4")
        part = encode_segment(
            paths[-1],
            (frames[i : min(i + 8, stop)] for i in range(start, stop, 8)),
            None,
            fps=FPS,
            size_px=SIZE,
            encoder=encoder,
            still=False,
        )
        assert part.audio_samples == 0
        assert [s["codec_type"] for s in ffprobe(part.path)["streams"]] == ["video"]
    click_s = (gop + 10) / FPS
    audio = np.zeros(round(150 / FPS * AUDIO_RATE_HZ), dtype=np.float32)
    click = round(click_s * AUDIO_RATE_HZ)
    audio[click : click + 480] = 0.8 * np.sin(np.arange(480) * 2 * np.pi / 48)

    sound = encode_audio(tmp_path / "audio.mp4", audio, frame_count=150, fps=FPS, encoder=encoder)

    segment = combine_parts(paths, sound, tmp_path / "whole.mp4", fps=FPS)

    with av.open(str(segment.path)) as container:
        decoded = list(container.decode(video=0))
    assert segment.frame_count == len(decoded) == 150
    assert [i for i, frame in enumerate(decoded) if frame.key_frame] == list(range(0, 150, gop))
    # Every frame is where it was made, on both sides of the cut.
    levels = np.array([frame.to_ndarray(format="rgb24").mean() for frame in decoded])
    assert np.abs(levels - ramp).max() < 3
    info = ffprobe(segment.path)
    assert float(stream(info, "audio")["duration"]) == pytest.approx(150 / FPS, abs=1e-3)
    samples = decoded_audio(segment.path)
    onset_s = np.argmax(np.abs(samples) > 0.2) / AUDIO_RATE_HZ
    assert onset_s == pytest.approx(click_s, abs=0.005)
    # The combined segment joins with whole ones like any other.
    other = marked_segment(tmp_path / "other.mp4", 20, quality="draft")
    joined = join_segments(
        [other.path, segment.path],
        tmp_path / "lesson.mp4",
        fps=FPS,
        metadata=container_metadata(title="T", language="en", render_key="k" * 64),
    )
    assert joined.frame_count == 170 == decoded_frame_count(joined.path)
