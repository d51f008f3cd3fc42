"""The CPU compositor: OpenCV warps the slide per frame, overlays are blended with integers.

`cv2.warpAffine` (bilinear, SIMD, fixed point at 1/32 px) crops and enlarges the base
straight into the frame's memory, RGB or each plane of YUV 4:2:0. On the 2-core
development machine, composing a moving 720p YUV frame (three planes, a caption, the
labels) took 45-60% of the CPU time of the Pillow `resize(box=...)` backend it replaced
(bench/README.md). OpenCV runs single-threaded here: the render already keeps every core
busy with one encode per worker.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from synthesis.frames.blend import BlendPatch
from synthesis.frames.compositor import (
    DEFAULT_BATCH_SIZE,
    PreparedScene,
    ScenePlan,
    held_batches,
    prepare_scene,
)
from synthesis.frames.overlays import Overlay
from synthesis.frames.yuv import planar_overlay, plane_views, rgb_to_yuv420

cv2.setNumThreads(1)


class CpuCompositor:
    """Frames on the CPU with OpenCV and numpy."""

    name = "cpu"

    def scene_frames(
        self,
        plan: ScenePlan,
        batch_size: int = DEFAULT_BATCH_SIZE,
        frame_range: range | None = None,
    ) -> Iterator[np.ndarray]:
        """Batches of frames, each (B, H, W, 3) uint8: the frames of the range (default all)."""
        scene = prepare_scene(plan, frame_range)
        base = np.asarray(scene.base)  # (H, W, 3)
        overlays = [(rgb_overlay(overlay),) for overlay in scene.overlays]
        if plan.motion is None:

            def still(active: np.ndarray) -> np.ndarray:
                frame = base.copy()
                _blend(overlays, active, [frame])
                return frame

            yield from held_batches(scene, batch_size, still)
            return
        width, height = plan.size_px
        for start in range(0, scene.frame_count, batch_size):
            stop = min(start + batch_size, scene.frame_count)
            batch = np.empty((stop - start, height, width, 3), dtype=np.uint8)
            for slot, index in enumerate(range(start, stop)):
                warp_crop(base, scene.boxes[index], out=batch[slot])
                _blend(overlays, scene.active[index], [batch[slot]])
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
        base = plane_views(rgb_to_yuv420(np.asarray(scene.base)))
        overlays = [planar_overlay(overlay) for overlay in scene.overlays]
        width, height = plan.size_px
        previous = None  # the last frame made, and its index
        for start in range(0, scene.frame_count, batch_size):
            stop = min(start + batch_size, scene.frame_count)
            batch = np.empty((stop - start, height * 3 // 2, width), dtype=np.uint8)
            for slot, index in enumerate(range(start, stop)):
                if previous is not None and _same_picture(scene, previous[1], index):
                    batch[slot] = previous[0]  # a held step of a slow move
                else:
                    planes = plane_views(batch[slot])
                    box = scene.boxes[index]
                    warp_crop(base[0], box, out=planes[0])
                    warp_crop(base[1], box / 2, out=planes[1])
                    warp_crop(base[2], box / 2, out=planes[2])
                    _blend(overlays, scene.active[index], planes)
                previous = (batch[slot], index)
            previous = (previous[0].copy(), previous[1])  # let the batch go once sent
            yield batch


def warp_crop(source: np.ndarray, box: np.ndarray, *, out: np.ndarray) -> None:
    """Write the crop box (x0, y0, x1, y1) of source, scaled to out's size, into out.

    Output pixel i samples source position x0 + (i + 0.5) * (x1 - x0) / W, as the torch
    backend (and Pillow's resize(box=...)) do; OpenCV puts pixel centres on whole numbers,
    hence the half-pixel terms. Bilinear, with edge pixels repeated at the border.
    """
    x0, y0, x1, y1 = (float(value) for value in box)
    height, width = out.shape[:2]
    scale_x, scale_y = (x1 - x0) / width, (y1 - y0) / height
    matrix = np.array(
        [
            [scale_x, 0.0, x0 + 0.5 * scale_x - 0.5],
            [0.0, scale_y, y0 + 0.5 * scale_y - 0.5],
        ]
    )
    cv2.warpAffine(
        source,
        matrix,
        (width, height),
        dst=out,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def rgb_overlay(overlay: Overlay) -> BlendPatch:
    """An RGBA overlay as a patch for RGB frames."""
    rgba = overlay.rgba
    return BlendPatch.of(rgba[..., :3], rgba[..., 3], overlay.x, overlay.y)


def _blend(overlays, active: np.ndarray, pictures) -> None:
    """Blend each shown overlay (one patch per picture or plane) into them, in order."""
    for patches, shown in zip(overlays, active, strict=True):
        if shown:
            for patch, picture in zip(patches, pictures, strict=True):
                patch.blend_into(picture)


def _same_picture(scene: PreparedScene, earlier: int, later: int) -> bool:
    return bool(
        (scene.boxes[earlier] == scene.boxes[later]).all()
        and (scene.active[earlier] == scene.active[later]).all()
    )
