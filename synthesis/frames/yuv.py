"""Planar YUV 4:2:0 pictures (BT.709, limited range), the encoder's own pixel format.

A frame is a (H * 3 // 2, W) uint8 array: the Y plane (H x W) followed by U and V
(H/2 x W/2 each), flat, the layout PyAV's VideoFrame.from_ndarray takes for "yuv420p".
Composing a moving scene in this format zooms half the bytes of RGB (Y at full size, U
and V at a quarter) and skips the RGB -> YUV conversion before x264 (bench/README.md).
Blending is affine, so alpha-blending in YUV equals blending in RGB then converting,
up to rounding and the chroma subsampling of soft edges.
"""

from __future__ import annotations

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from synthesis.frames.blend import BlendPatch
from synthesis.frames.overlays import Overlay


def rgb_to_yuv420(rgb: np.ndarray) -> np.ndarray:
    """An RGB picture (H, W, 3) uint8, even sides, as one planar frame (H * 3 // 2, W)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return frame.reformat(
        format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
    ).to_ndarray()


def yuv420_to_rgb(yuv: np.ndarray) -> np.ndarray:
    """One frame (H * 3 // 2, W) back to RGB (H, W, 3), e.g. for a poster or a test."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(yuv), format="yuv420p")
    return frame.reformat(
        format="rgb24", src_colorspace=Colorspace.ITU709, src_color_range=ColorRange.MPEG
    ).to_ndarray()


def plane_views(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y (H, W), U and V (H/2, W/2) of one contiguous frame (H * 3 // 2, W), as views."""
    rows, width = frame.shape
    height = rows * 2 // 3
    flat = frame.reshape(-1)  # a view: the frame is contiguous
    luma, chroma = width * height, (width // 2) * (height // 2)
    return (
        flat[:luma].reshape(height, width),
        flat[luma : luma + chroma].reshape(height // 2, width // 2),
        flat[luma + chroma :].reshape(height // 2, width // 2),
    )


def planar_overlay(overlay: Overlay) -> tuple[BlendPatch, BlendPatch, BlendPatch]:
    """An RGBA overlay as Y, U and V patches, converted once per scene.

    Patches sit on even coordinates (an odd edge gets a transparent pixel of padding), and
    chroma is averaged over each 2x2 block weighted by alpha, so transparent pixels lend no
    colour to a soft edge.
    """
    left, top = overlay.x % 2, overlay.y % 2
    width = overlay.image.width + left
    height = overlay.image.height + top
    rgba = np.zeros((height + height % 2, width + width % 2, 4), np.uint8)
    rgba[top:height, left:width] = overlay.rgba
    alpha = rgba[..., 3].astype(np.float32) / 255  # (h, w)
    yuv444 = (
        av.VideoFrame.from_ndarray(np.ascontiguousarray(rgba[..., :3]), format="rgb24")
        .reformat(
            format="yuv444p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
        )
        .to_ndarray()
        .astype(np.float32)
    )  # (3, h, w)
    alpha_blocks = _blocks(alpha)  # (h/2, w/2, 4)
    alpha_half = (alpha_blocks.mean(axis=2) * 255).round().astype(np.uint8)
    weight = np.maximum(alpha_blocks.sum(axis=2), 1e-6)
    chroma = [(_blocks(yuv444[c] * alpha)).sum(axis=2) / weight for c in (1, 2)]
    x, y = overlay.x - left, overlay.y - top
    return (
        BlendPatch.of(yuv444[0].round().astype(np.uint8), rgba[..., 3], x, y),
        BlendPatch.of(_to_uint8(chroma[0]), alpha_half, x // 2, y // 2),
        BlendPatch.of(_to_uint8(chroma[1]), alpha_half, x // 2, y // 2),
    )


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(values.round(), 0, 255).astype(np.uint8)


def _blocks(plane: np.ndarray) -> np.ndarray:
    """(h, w) -> (h/2, w/2, 4): the four pixels of each 2x2 block."""
    height, width = plane.shape
    return (
        plane.reshape(height // 2, 2, width // 2, 2)
        .transpose(0, 2, 1, 3)
        .reshape(height // 2, width // 2, 4)
    )
