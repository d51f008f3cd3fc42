"""Turn one still slide into a scene's frames: slow Ken Burns, captions, AI labels; crossfades.

Two backends make the same frames (within a level or two) from the same plan:
`cpu` warps with OpenCV, `torch` samples batches with affine_grid/grid_sample, on CUDA
when there is one. Both read the crop boxes and overlay timings computed here, so they
differ only in arithmetic rounding. The zoom never goes below 1, so every frame is an
enlargement of the base and plain bilinear sampling is exact for both.

Frames come in batches of (B, H, W, 3) uint8; memory stays bounded by B, never by the
scene's length. Held stills (motion=None) are cheap: each distinct picture (a caption
change, the opening label going away, a bullet revealed) is composed once, and a batch
shows one picture, as a read-only broadcast view of it, so nobody writes into a batch once
it is made.
`plan_is_static(plan)` tells an encoder it may take a still-image path.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

from synthesis.errors import SynthesisError
from synthesis.frames.overlays import (
    OPENING_LABEL_S,
    Overlay,
    caption_overlay,
    corner_mark_overlay,
    opening_label_overlay,
)

DEFAULT_BATCH_SIZE = 16
# A slow move is updated this many times a second at most frame rates (see
# motion_hold_frames), as long as no step moves the picture more than this.
MOTION_STEPS_PER_S = 15
MAX_MOTION_STEP_PX = 0.5


@dataclass(frozen=True)
class KenBurnsMove:
    """A slow zoom and pan: zoom factors (>= 1) and view centres as fractions of the slide."""

    start_zoom: float = 1.0
    end_zoom: float = 1.06
    start_center: tuple[float, float] = (0.5, 0.5)
    end_center: tuple[float, float] = (0.5, 0.5)

    def __post_init__(self) -> None:
        if self.start_zoom < 1 or self.end_zoom < 1:
            raise ValueError("Ken Burns zoom must be at least 1 (the slide fills the frame)")


@dataclass(frozen=True)
class CaptionCue:
    """A caption shown from start_s up to (not including) end_s, in scene time."""

    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True, eq=False)
class Reveal:
    """From start_frame on, a held scene shows picture instead of the base (or the reveal
    before): a bullet appears as it is said (synthesis.reveal). Same size as the base."""

    start_frame: int
    picture: Image.Image


@dataclass(frozen=True, eq=False)
class ScenePlan:
    """Everything that decides a scene's pixels.

    reveals (held scenes only, by start_frame) replace the base from their frame on; the
    compositor blends each as an opaque patch over what changed, under the captions.
    """

    base: Image.Image
    duration_s: float
    fps: int
    size_px: tuple[int, int]
    motion: KenBurnsMove | None = None
    captions: tuple[CaptionCue, ...] = ()
    language: str = "en"
    opening_label: bool = False
    reveals: tuple[Reveal, ...] = ()

    @property
    def frame_count(self) -> int:
        """Whole frames covering duration_s (rounded up, as the timeline counts them)."""
        return max(1, math.ceil(self.duration_s * self.fps - 1e-6))


class Compositor(Protocol):
    """Makes a scene's frames; see get_compositor."""

    name: str

    def scene_frames(
        self,
        plan: ScenePlan,
        batch_size: int = DEFAULT_BATCH_SIZE,
        frame_range: range | None = None,
    ) -> Iterator[np.ndarray]:
        """Batches of frames, each (B, H, W, 3) uint8: the frames of the range (default all).

        A range lets a long scene be made in parts, each exactly as in the whole scene.
        """
        ...

    def scene_frames_yuv420(
        self,
        plan: ScenePlan,
        batch_size: int = DEFAULT_BATCH_SIZE,
        frame_range: range | None = None,
    ) -> Iterator[np.ndarray]:
        """The same frames in the encoder's planar BT.709 YUV 4:2:0, (B, H * 3 // 2, W) uint8.

        For moving scenes: x264 takes them as they are (synthesis.frames.yuv).
        """
        ...


def plan_is_static(plan: ScenePlan) -> bool:
    """Whether the picture only changes at caption switches (no motion): encode cheaply."""
    return plan.motion is None


@dataclass(frozen=True, eq=False)
class PreparedScene:
    """A plan made concrete: the base at output size, crop boxes, overlays and when each shows."""

    base: Image.Image  # RGB at exactly size_px
    boxes: np.ndarray  # (n, 4) float64 crop boxes (x0, y0, x1, y1) in base pixels
    overlays: tuple[Overlay, ...]  # in compositing order
    active: np.ndarray  # (n, k) bool: overlay k shows on frame i

    @property
    def frame_count(self) -> int:
        return len(self.boxes)


def _base_at_output_size(base: Image.Image, size_px: tuple[int, int]) -> Image.Image:
    """The base scaled once to the output size (centre-cropped if its shape differs)."""
    base = base.convert("RGB")
    if base.size == size_px:
        return base
    width, height = size_px
    scale = max(width / base.width, height / base.height)
    crop_width, crop_height = width / scale, height / scale
    left, top = (base.width - crop_width) / 2, (base.height - crop_height) / 2
    return base.resize(
        size_px,
        Image.Resampling.LANCZOS,
        box=(left, top, left + crop_width, top + crop_height),
    )


def crop_boxes(
    motion: KenBurnsMove | None, frame_count: int, size_px: tuple[int, int], hold_frames: int = 1
) -> np.ndarray:
    """(n, 4) crop boxes (x0, y0, x1, y1) in base pixels: linear zoom and pan, kept inside.

    With hold_frames k > 1 the view moves every k-th frame and holds in between.
    """
    width, height = size_px
    if motion is None:
        return np.tile(np.array([0.0, 0.0, width, height]), (frame_count, 1))
    steps = np.arange(frame_count) // hold_frames * hold_frames
    progress = steps / max(1, frame_count - 1)  # (n,) 0 -> 1
    zoom = motion.start_zoom + (motion.end_zoom - motion.start_zoom) * progress
    center_x = motion.start_center[0] + (motion.end_center[0] - motion.start_center[0]) * progress
    center_y = motion.start_center[1] + (motion.end_center[1] - motion.start_center[1]) * progress
    box_width, box_height = width / zoom, height / zoom
    # A centre too near an edge is moved in, so the view never leaves the slide.
    x0 = np.clip(center_x * width - box_width / 2, 0, width - box_width)
    y0 = np.clip(center_y * height - box_height / 2, 0, height - box_height)
    return np.stack([x0, y0, x0 + box_width, y0 + box_height], axis=1)


def motion_hold_frames(plan: ScenePlan) -> int:
    """How many frames each step of a slow move is held: the view moves 15 times a second.

    A Ken Burns drift moves a tenth of a pixel a frame; moving it every second frame at
    30 fps halves the frames to compose and makes every other frame nearly free for x264,
    with steps still under MAX_MOTION_STEP_PX. Faster moves keep a step per frame.
    """
    limit = max(1, plan.fps // MOTION_STEPS_PER_S)
    if plan.motion is None or limit == 1 or plan.frame_count < 2:
        return 1
    boxes = crop_boxes(plan.motion, plan.frame_count, plan.size_px)
    # How far a frame's content moves on screen from one frame to the next, at most.
    scale = plan.size_px[0] / (boxes[:, 2] - boxes[:, 0])  # output px per base px
    step_px = (np.abs(np.diff(boxes, axis=0)).max(axis=1) * scale[1:]).max()
    if step_px == 0:
        return limit
    return int(max(1, min(limit, MAX_MOTION_STEP_PX // step_px)))


def prepare_scene(plan: ScenePlan, frame_range: range | None = None) -> PreparedScene:
    """Scale the base, compute the crop box of every frame (of the range) and the overlays."""
    if plan.fps <= 0 or plan.duration_s <= 0:
        raise SynthesisError(
            "a scene needs a positive length and frame rate, "
            f"not {plan.duration_s} s at {plan.fps} fps"
        )
    count = plan.frame_count
    chosen = slice(None) if frame_range is None else _frame_slice(frame_range, count)
    frames = np.arange(count)[chosen]  # (n,) indices of the frames made
    times_s = frames / plan.fps
    base = _base_at_output_size(plan.base, plan.size_px)
    overlays: list[Overlay] = []
    columns: list[np.ndarray] = []
    if plan.reveals and plan.motion is not None:
        # A patch stays where it is on the screen while the slide under it zooms.
        raise SynthesisError("a moving scene cannot reveal its bullets one by one")
    for overlay, start_frame in reveal_overlays(base, plan.reveals, plan.size_px):
        shown = frames >= start_frame
        if shown.any():
            overlays.append(overlay)
            columns.append(shown)
    for cue in plan.captions:
        shown = (times_s >= cue.start_s) & (times_s < cue.end_s)
        # Only captions of the range are drawn: a part or one end frame needs few of them.
        overlay = caption_overlay(cue.text, size_px=plan.size_px) if shown.any() else None
        if overlay is not None:
            overlays.append(overlay)
            columns.append(shown)
    if plan.opening_label:
        overlays.append(opening_label_overlay(size_px=plan.size_px, language=plan.language))
        columns.append(times_s < OPENING_LABEL_S)
    overlays.append(corner_mark_overlay(size_px=plan.size_px, language=plan.language))
    columns.append(np.ones(len(times_s), dtype=bool))
    boxes = crop_boxes(plan.motion, count, plan.size_px, motion_hold_frames(plan))
    return PreparedScene(
        base=base,
        boxes=boxes[chosen],
        overlays=tuple(overlays),
        active=np.stack(columns, axis=1),
    )


def reveal_overlays(
    base: Image.Image, reveals: tuple[Reveal, ...], size_px: tuple[int, int]
) -> list[tuple[Overlay, int]]:
    """Each reveal as an opaque patch of its picture over the box where it differs from the
    picture before, with its start frame. Blended in order over the base, the patches up to
    reveal k give exactly picture k: a pixel reveal k changed lies in patch k or a later one.
    """
    patches = []
    before = np.asarray(base)
    for reveal in sorted(reveals, key=lambda r: r.start_frame):
        picture = np.asarray(_base_at_output_size(reveal.picture, size_px))
        changed = np.flatnonzero((picture != before).any(axis=2).any(axis=1))  # rows
        if len(changed):
            columns = np.flatnonzero((picture != before).any(axis=2).any(axis=0))
            top, bottom = int(changed[0]), int(changed[-1]) + 1
            left, right = int(columns[0]), int(columns[-1]) + 1
            patch = Image.fromarray(picture[top:bottom, left:right]).convert("RGBA")
            patches.append((Overlay(patch, left, top), reveal.start_frame))
        before = picture
    return patches


def _frame_slice(frames: range, frame_count: int) -> slice:
    if frames.step != 1 or not 0 <= frames.start < frames.stop <= frame_count:
        raise SynthesisError(
            f"frames {frames.start}-{frames.stop} are not a part of a {frame_count}-frame scene"
        )
    return slice(frames.start, frames.stop)


def held_batches(
    scene: PreparedScene,
    batch_size: int,
    compose: Callable[[np.ndarray], np.ndarray],
) -> Iterator[np.ndarray]:
    """Batches for a still scene: compose(active overlays) once per distinct picture.

    Every batch is a read-only broadcast of one picture (no copy): a batch ends early where
    the picture changes, so an encoder recognises a repeat by its memory alone.
    """
    states, state_of_frame = np.unique(scene.active, axis=0, return_inverse=True)
    state_of_frame = state_of_frame.reshape(-1)
    pictures = [compose(state) for state in states]  # each (H, W, 3) uint8
    changes = (np.flatnonzero(np.diff(state_of_frame)) + 1).tolist()
    for start, stop in zip([0, *changes], [*changes, scene.frame_count], strict=True):
        picture = pictures[state_of_frame[start]]
        for first in range(start, stop, batch_size):
            count = min(batch_size, stop - first)
            yield np.broadcast_to(picture, (count, *picture.shape))


def crossfade_frames(a: np.ndarray, b: np.ndarray, n_frames: int) -> np.ndarray:
    """(n, *shape) uint8 frames fading from frame a (the first) to frame b (the last).

    a and b are single frames of one shape: RGB (H, W, 3) or planar YUV (H * 3 // 2, W);
    the mix is linear, so it means the same in either. With one frame, it is the halfway mix.
    """
    return np.concatenate(list(crossfade_batches(a, b, n_frames, batch_size=n_frames)))


def crossfade_batches(
    a: np.ndarray, b: np.ndarray, n_frames: int, *, batch_size: int
) -> Iterator[np.ndarray]:
    """crossfade_frames in batches of at most batch_size frames, so memory stays bounded."""
    if a.shape != b.shape:
        raise SynthesisError(f"cannot crossfade frames of different sizes {a.shape} and {b.shape}")
    if n_frames < 1:
        raise SynthesisError("a crossfade needs at least one frame")
    weights = [0.5] if n_frames == 1 else [k / (n_frames - 1) for k in range(n_frames)]
    start_frame = a.astype(np.float32)
    difference = b.astype(np.float32)
    difference -= start_frame
    mixed = np.empty_like(start_frame)  # one frame of float scratch, whatever n_frames is
    for start in range(0, n_frames, batch_size):
        chunk = weights[start : start + batch_size]
        frames = np.empty((len(chunk), *a.shape), dtype=np.uint8)
        for index, weight in enumerate(chunk):
            np.multiply(difference, weight, out=mixed)
            mixed += start_frame
            np.rint(mixed, out=mixed)
            frames[index] = np.clip(mixed, 0, 255, out=mixed)
        yield frames


def get_compositor(device: str) -> Compositor:
    """The backend for a device setting: auto | cpu | cuda (or torch-cpu | torch-cuda).

    auto takes CUDA when torch sees a GPU, else the cpu backend: on the 2-core development
    CPU it composes a moving 1280x720 frame several times faster than torch's grid_sample
    there (bench/compositor_fps.py).
    """
    choice = device.strip().lower()
    if choice == "cpu":
        from synthesis.frames.cpu_backend import CpuCompositor

        return CpuCompositor()
    if choice == "torch-cpu":
        from synthesis.frames.torch_backend import TorchCompositor

        return TorchCompositor("cpu")
    if choice in ("auto", "cuda", "torch-cuda", "gpu"):
        cuda = _cuda_available()
        if cuda:
            from synthesis.frames.torch_backend import TorchCompositor

            return TorchCompositor("cuda")
        if choice == "auto":
            from synthesis.frames.cpu_backend import CpuCompositor

            return CpuCompositor()
        raise SynthesisError(
            f"device '{device}' asks for a CUDA GPU, but torch sees none "
            "(torch.cuda.is_available() is False); set LECTERN_DEVICE to auto or cpu"
        )
    raise SynthesisError(f"unknown render device '{device}'; choose auto, cpu or cuda")


def _cuda_available() -> bool:
    # Importing torch costs ~180 MB of RSS and a second per render process; a machine
    # without the NVIDIA driver's device node cannot have CUDA, so skip the import there.
    if not os.path.exists("/dev/nvidiactl") and not os.path.exists("/proc/driver/nvidia"):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())
