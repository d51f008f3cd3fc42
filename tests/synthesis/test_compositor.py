"""Compositor backends: shapes, Ken Burns, caption timing, held stills, crossfades, agreement."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from synthesis.errors import SynthesisError
from synthesis.frames.compositor import (
    CaptionCue,
    KenBurnsMove,
    ScenePlan,
    crossfade_frames,
    get_compositor,
    motion_hold_frames,
    plan_is_static,
)
from synthesis.frames.overlays import caption_overlay, corner_mark_overlay
from synthesis.frames.slides import render_visual
from synthesis.frames.yuv import yuv420_to_rgb
from synthesis.storyboard import Visual

torch = pytest.importorskip("torch")
CUDA = torch.cuda.is_available()

BACKENDS = [
    "cpu",
    "torch-cpu",
    pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not CUDA, reason="no CUDA")]),
]
SIZES = [(320, 180), (180, 320), (200, 200)]


def _slide(size_px: tuple[int, int]) -> Image.Image:
    visual = Visual(
        "text", title="Linear regression", bullets=("A bullet", "线性回归基于几个简单的假设")
    )
    return render_visual(visual, size_px=size_px, language="en")


GENTLE_ZOOM = KenBurnsMove()


def _plan(size_px=(320, 180), motion=GENTLE_ZOOM, **changes) -> ScenePlan:
    values = dict(
        base=_slide(size_px),
        duration_s=1.0,
        fps=10,
        size_px=size_px,
        motion=motion,
        captions=(CaptionCue(0.0, 0.5, "First caption"), CaptionCue(0.5, 1.0, "第二句字幕")),
        language="en",
        opening_label=True,
    )
    values.update(changes)
    return ScenePlan(**values)


def _frames(backend: str, plan: ScenePlan, batch_size: int = 4) -> np.ndarray:
    return np.concatenate(list(get_compositor(backend).scene_frames(plan, batch_size=batch_size)))


@pytest.mark.parametrize("size_px", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("motion", [KenBurnsMove(), None], ids=["moving", "held"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_scene_frames_are_uint8_batches_of_the_frame_size(backend, motion, size_px):
    plan = _plan(size_px, motion, duration_s=1.05)
    width, height = size_px

    batches = list(get_compositor(backend).scene_frames(plan, batch_size=4))

    assert all(batch.dtype == np.uint8 for batch in batches)
    assert all(batch.shape[1:] == (height, width, 3) for batch in batches)
    assert all(1 <= len(batch) <= 4 for batch in batches)
    assert sum(len(batch) for batch in batches) == plan.frame_count == 11


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "cpu"])
def test_torch_backends_match_the_cpu_backend(backend):
    plan = _plan((320, 180), KenBurnsMove(1.0, 1.08, (0.45, 0.5), (0.6, 0.4)), duration_s=2.0)

    cpu = _frames("cpu", plan).astype(np.int16)
    other = _frames(backend, plan).astype(np.int16)

    difference = np.abs(cpu - other)
    assert difference.mean() < 2
    # Sharp text edges may differ by a few levels; a half-pixel slip would differ everywhere.
    assert (difference > 8).mean() < 0.001


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "cpu"])
def test_torch_backends_compose_yuv_like_the_cpu_backend(backend):
    plan = _plan((320, 180), KenBurnsMove(1.0, 1.08, (0.45, 0.5), (0.6, 0.4)), duration_s=2.0)

    def yuv(name: str) -> np.ndarray:
        batches = get_compositor(name).scene_frames_yuv420(plan, batch_size=4)
        return np.concatenate(list(batches)).astype(np.int16)

    cpu, other = yuv("cpu"), yuv(backend)

    assert other.shape == cpu.shape == (plan.frame_count, 270, 320)
    difference = np.abs(cpu - other)
    assert difference.mean() < 2
    # Blended in RGB (torch) or per plane (cpu): soft overlay edges differ most.
    assert np.percentile(difference, 99) <= 12


@pytest.mark.parametrize("backend", BACKENDS)
def test_ken_burns_starts_on_the_slide_and_zooms_about_the_centre(backend):
    # A bright 4x4 spot centred at (80, 45) in pixel-edge coordinates, on black. Zooming
    # 1.5x about the centre (160, 90) carries it to (160 - 1.5 * 80, 90 - 1.5 * 45) =
    # (40, 22.5), that is pixel indices around (39.5, 22), and makes it 6x6.
    base = np.zeros((180, 320, 3), np.uint8)
    base[43:47, 78:82] = 255
    plan = _plan(
        base=Image.fromarray(base),
        motion=KenBurnsMove(1.0, 1.5),
        captions=(),
        opening_label=False,
    )

    frames = _frames(backend, plan)

    mark = corner_mark_overlay(size_px=plan.size_px, language="en")
    below_mark = slice(mark.y + mark.image.height, None)
    assert np.abs(frames[0][below_mark].astype(int) - base[below_mark]).max() <= 1
    spot = frames[-1][:, :200, 0].astype(float)  # left part: away from the corner mark
    rows, columns = np.nonzero(spot > 128)
    assert abs(rows.mean() - 22) <= 0.75
    assert abs(columns.mean() - 39.5) <= 0.75
    assert len(rows) > 16  # it grew from 16 pixels


@pytest.mark.parametrize("backend", BACKENDS)
def test_captions_switch_at_cue_times(backend):
    plan = _plan(motion=None, opening_label=False, duration_s=1.5)
    overlay = caption_overlay("First caption", size_px=plan.size_px)
    box = (
        slice(overlay.y, overlay.y + overlay.image.height),
        slice(overlay.x, overlay.x + overlay.image.width),
    )
    base = np.asarray(plan.base)

    frames = _frames(backend, plan)

    assert np.array_equal(frames[0][box], frames[4][box])  # 0.0 s and 0.4 s: first cue
    assert not np.array_equal(frames[4][box], frames[5][box])  # 0.5 s: the second cue
    assert np.array_equal(frames[10][box], base[box])  # 1.0 s: no cue, the slide shows


def test_held_scene_repeats_one_picture_without_copies():
    plan = _plan(motion=None, captions=(), opening_label=False, duration_s=2.0)
    assert plan_is_static(plan)

    batches = list(get_compositor("cpu").scene_frames(plan, batch_size=8))

    assert all(batch.strides[0] == 0 for batch in batches)  # broadcast views of one frame
    assert all(not batch.flags.writeable for batch in batches)
    assert all(np.shares_memory(batches[0], batch) for batch in batches)


def test_held_batches_end_where_the_caption_changes():
    # Captions switch at 0.5 s and end at 1.0 s (frames 5 and 10 of 15 at 10 fps).
    plan = _plan(motion=None, opening_label=False, duration_s=1.5)

    batches = list(get_compositor("cpu").scene_frames(plan, batch_size=4))

    assert [len(batch) for batch in batches] == [4, 1, 4, 1, 4, 1]
    assert all(batch.strides[0] == 0 for batch in batches)


def test_moving_scene_is_not_static():
    assert not plan_is_static(_plan())


def test_crossfade_goes_from_frame_a_to_frame_b():
    black = np.zeros((18, 32, 3), np.uint8)
    white = np.full((18, 32, 3), 255, np.uint8)
    black[0, 0] = 7  # mark a

    frames = crossfade_frames(black, white, 5)

    assert frames.shape == (5, 18, 32, 3) and frames.dtype == np.uint8
    assert np.array_equal(frames[0], black)
    assert np.array_equal(frames[-1], white)
    assert abs(int(frames[2, 5, 5, 0]) - 128) <= 1
    assert (np.diff(frames[:, 5, 5, 0].astype(int)) > 0).all()


def test_crossfade_mixes_planar_frames_too():
    frames = crossfade_frames(np.zeros((6, 4), np.uint8), np.full((6, 4), 200, np.uint8), 3)

    assert frames.shape == (3, 6, 4)
    assert frames[1, 0, 0] == 100


def test_crossfade_refuses_frames_of_different_sizes():
    with pytest.raises(SynthesisError, match="different sizes"):
        crossfade_frames(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8), 3)


def test_get_compositor_names():
    assert get_compositor("cpu").name == "cpu"
    assert get_compositor("torch-cpu").name == "torch-cpu"
    assert get_compositor("auto").name == ("torch-cuda" if CUDA else "cpu")


@pytest.mark.skipif(CUDA, reason="this machine has CUDA")
def test_get_compositor_cuda_without_a_gpu_says_so():
    with pytest.raises(SynthesisError, match="CUDA"):
        get_compositor("cuda")


def test_get_compositor_rejects_unknown_devices():
    with pytest.raises(SynthesisError, match="unknown render device 'tpu'"):
        get_compositor("tpu")


@pytest.mark.cuda
@pytest.mark.skipif(not CUDA, reason="no CUDA")
def test_cuda_compositor_is_chosen_and_makes_frames():
    compositor = get_compositor("cuda")
    plan = _plan((640, 360))

    frames = np.concatenate(list(compositor.scene_frames(plan, batch_size=16)))

    assert compositor.name == "torch-cuda"
    assert frames.shape == (plan.frame_count, 360, 640, 3)


def test_ken_burns_zoom_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        KenBurnsMove(0.9, 1.0)


@pytest.mark.parametrize("motion", [KenBurnsMove(), None], ids=["moving", "held"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_frame_range_makes_exactly_those_frames_of_the_whole_scene(backend, motion):
    plan = _plan(motion=motion, duration_s=2.0)
    compositor = get_compositor(backend)
    whole = np.concatenate(list(compositor.scene_frames(plan, batch_size=4)))

    part = np.concatenate(
        list(compositor.scene_frames(plan, batch_size=3, frame_range=range(7, 16)))
    )

    np.testing.assert_array_equal(part, whole[7:16])


def test_a_frame_range_outside_the_scene_is_refused():
    plan = _plan(duration_s=1.0)
    with pytest.raises(SynthesisError, match="not a part of a 10-frame scene"):
        list(get_compositor("cpu").scene_frames(plan, frame_range=range(5, 12)))


@pytest.mark.parametrize("size_px", [(320, 180), (250, 142)], ids=["16x9", "odd-halves"])
def test_yuv_frames_are_the_rgb_frames_in_the_encoders_pixel_format(size_px):
    # Captions, the opening label and the corner mark, blended in YUV instead of RGB.
    plan = _plan(size_px, duration_s=1.0)
    compositor = get_compositor("cpu")
    rgb = np.concatenate(list(compositor.scene_frames(plan, batch_size=4)))

    yuv = np.concatenate(
        list(compositor.scene_frames_yuv420(plan, batch_size=3, frame_range=range(2, 10)))
    )

    width, height = size_px
    assert yuv.dtype == np.uint8
    assert yuv.shape == (8, height * 3 // 2, width)
    back = np.stack([yuv420_to_rgb(frame) for frame in yuv]).astype(int)
    expected = np.stack([yuv420_to_rgb(rgb_to_yuv420(frame)) for frame in rgb[2:10]]).astype(int)
    difference = np.abs(back - expected)
    assert difference.mean() < 1.5
    # Only soft edges differ by more than a few levels (chroma shared by 2x2 pixels).
    assert np.percentile(difference, 99) <= 12


def rgb_to_yuv420(frame: np.ndarray) -> np.ndarray:
    """What the encoder makes of an RGB frame: BT.709 limited-range YUV 4:2:0."""
    import av
    from av.video.reformatter import ColorRange, Colorspace

    converted = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24").reformat(
        format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
    )
    return converted.to_ndarray()


def test_a_slow_move_steps_fifteen_times_a_second_and_frames_repeat_in_pairs():
    # The default drift (zoom 1.0 -> 1.06) over 4 s at 30 fps: under 0.1 px a frame.
    plan = _plan(
        (320, 180), KenBurnsMove(), duration_s=4.0, fps=30, captions=(), opening_label=False
    )
    assert motion_hold_frames(plan) == 2

    yuv = np.concatenate(list(get_compositor("cpu").scene_frames_yuv420(plan, batch_size=5)))

    pairs_equal = [np.array_equal(yuv[i], yuv[i + 1]) for i in range(0, len(yuv) - 1, 2)]
    steps_equal = [np.array_equal(yuv[i], yuv[i + 2]) for i in range(0, len(yuv) - 2, 2)]
    assert all(pairs_equal)
    assert not all(steps_equal)  # the view still moves, every second frame


@pytest.mark.parametrize(
    ("motion", "fps", "expected"),
    [
        (KenBurnsMove(1.0, 2.0), 30, 1),  # a fast zoom moves every frame
        (KenBurnsMove(), 10, 1),  # below 30 fps every frame is a step already
        (KenBurnsMove(), 60, 4),
        (None, 30, 1),
    ],
)
def test_only_slow_moves_at_high_frame_rates_hold_steps(motion, fps, expected):
    plan = _plan((320, 180), motion, duration_s=2.0, fps=fps)

    assert motion_hold_frames(plan) == expected
