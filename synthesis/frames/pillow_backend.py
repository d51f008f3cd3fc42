"""The CPU compositor: Pillow crops and enlarges the slide per frame, then pastes overlays.

`Image.resize(size, box=..., resample=BILINEAR)` does the crop and the zoom in one C pass
over only the pixels it needs. Measured with bench/compositor_fps.py on the 2-core
development machine (shared with other jobs, so a range): a moving 1280x720 scene with a
caption and the labels at 80-110 fps (about 30 fps at 1920x1080), held stills at thousands
of fps; the torch backend on the same CPU made 12-19 fps. So `auto` picks this backend
when there is no GPU.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from PIL import Image

from synthesis.frames.compositor import (
    DEFAULT_BATCH_SIZE,
    PreparedScene,
    ScenePlan,
    held_batches,
    prepare_scene,
)
from synthesis.frames.yuv import planar_overlay, rgb_to_planes, write_planes


class PillowCompositor:
    """Frames on the CPU with Pillow."""

    name = "pillow"

    def scene_frames(
        self,
        plan: ScenePlan,
        batch_size: int = DEFAULT_BATCH_SIZE,
        frame_range: range | None = None,
    ) -> Iterator[np.ndarray]:
        """Batches of frames, each (B, H, W, 3) uint8: the frames of the range (default all)."""
        scene = prepare_scene(plan, frame_range)
        if plan.motion is None:
            yield from held_batches(scene, batch_size, lambda active: _still(scene, active))
            return
        width, height = plan.size_px
        for start in range(0, scene.frame_count, batch_size):
            stop = min(start + batch_size, scene.frame_count)
            batch = np.empty((stop - start, height, width, 3), dtype=np.uint8)
            for slot, index in enumerate(range(start, stop)):
                frame = scene.base.resize(
                    plan.size_px, Image.Resampling.BILINEAR, box=tuple(scene.boxes[index])
                )
                _paste_overlays(frame, scene, scene.active[index])
                batch[slot] = np.asarray(frame)
            yield batch

    def scene_frames_yuv420(
        self,
        plan: ScenePlan,
        batch_size: int = DEFAULT_BATCH_SIZE,
        frame_range: range | None = None,
    ) -> Iterator[np.ndarray]:
        """A moving scene as batches of planar YUV 4:2:0 frames (B, H * 3 // 2, W) uint8.

        The same crop boxes as scene_frames, applied to each plane (chroma at half scale),
        so x264 gets its own pixel format without an RGB -> YUV conversion per frame.
        """
        scene = prepare_scene(plan, frame_range)
        planes = rgb_to_planes(scene.base)
        overlays = [planar_overlay(overlay) for overlay in scene.overlays]
        width, height = plan.size_px
        half_size = (width // 2, height // 2)
        previous = None  # the last frame made, and its index
        for start in range(0, scene.frame_count, batch_size):
            stop = min(start + batch_size, scene.frame_count)
            batch = np.empty((stop - start, height * 3 // 2, width), dtype=np.uint8)
            for slot, index in enumerate(range(start, stop)):
                if previous is not None and _same_picture(scene, previous[1], index):
                    batch[slot] = previous[0]  # a held step of a slow move
                    previous = (batch[slot], index)
                    continue
                box = tuple(scene.boxes[index])
                half_box = tuple(value / 2 for value in box)
                frame = (
                    planes[0].resize(plan.size_px, Image.Resampling.BILINEAR, box=box),
                    planes[1].resize(half_size, Image.Resampling.BILINEAR, box=half_box),
                    planes[2].resize(half_size, Image.Resampling.BILINEAR, box=half_box),
                )
                for overlay, shown in zip(overlays, scene.active[index], strict=True):
                    if shown:
                        overlay.paste_onto(frame)
                write_planes(batch[slot], frame)
                previous = (batch[slot], index)
            previous = (previous[0].copy(), previous[1])  # let the batch go once sent
            yield batch


def _same_picture(scene: PreparedScene, earlier: int, later: int) -> bool:
    return bool(
        (scene.boxes[earlier] == scene.boxes[later]).all()
        and (scene.active[earlier] == scene.active[later]).all()
    )


def _paste_overlays(frame: Image.Image, scene: PreparedScene, active: np.ndarray) -> None:
    for overlay, shown in zip(scene.overlays, active, strict=True):
        if shown:
            # The RGBA patch is its own mask: out = patch * alpha + frame * (1 - alpha).
            frame.paste(overlay.image, (overlay.x, overlay.y), overlay.image)


def _still(scene: PreparedScene, active: np.ndarray) -> np.ndarray:
    frame = scene.base.copy()
    _paste_overlays(frame, scene, active)
    return np.asarray(frame)  # (H, W, 3) uint8
