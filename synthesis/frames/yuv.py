"""Planar YUV 4:2:0 pictures (BT.709, limited range), the encoder's own pixel format.

A frame is a (H * 3 // 2, W) uint8 array: the Y plane (H x W) followed by U and V
(H/2 x W/2 each), flat, the layout PyAV's VideoFrame.from_ndarray takes for "yuv420p".
Composing a moving scene in this format zooms a third of the bytes of RGB (Y at full
size, U and V at a quarter) and skips the RGB -> YUV conversion before x264: on a
moving 720p frame 17 ms of RGB resize and conversion became 8 ms (bench/README.md).
Blending is affine, so alpha-blending in YUV equals blending in RGB then converting,
up to rounding and the chroma subsampling of soft edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace
from PIL import Image

from synthesis.frames.overlays import Overlay


def rgb_to_planes(picture: Image.Image) -> tuple[Image.Image, Image.Image, Image.Image]:
    """Y (W x H), U and V (W/2 x H/2) as Pillow "L" images of an RGB picture (even size)."""
    frame = av.VideoFrame.from_ndarray(np.asarray(picture.convert("RGB")), format="rgb24")
    yuv = frame.reformat(
        format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
    ).to_ndarray()  # (H * 3 // 2, W)
    return split_planes(yuv, picture.size)


def split_planes(
    yuv: np.ndarray, size_px: tuple[int, int]
) -> tuple[Image.Image, Image.Image, Image.Image]:
    """The three planes of one frame (H * 3 // 2, W) as "L" images."""
    width, height = size_px
    flat = yuv.reshape(-1)
    luma, chroma = width * height, (width // 2) * (height // 2)
    y = flat[:luma].reshape(height, width)
    u = flat[luma : luma + chroma].reshape(height // 2, width // 2)
    v = flat[luma + chroma :].reshape(height // 2, width // 2)
    return Image.fromarray(y), Image.fromarray(u), Image.fromarray(v)


def write_planes(out: np.ndarray, planes: tuple[Image.Image, Image.Image, Image.Image]) -> None:
    """Copy Y, U, V images into one frame's slot (H * 3 // 2, W) of a batch."""
    flat = out.reshape(-1)
    position = 0
    for plane in planes:
        values = np.asarray(plane).reshape(-1)
        flat[position : position + values.size] = values
        position += values.size


def yuv420_to_rgb(yuv: np.ndarray) -> np.ndarray:
    """One frame (H * 3 // 2, W) back to RGB (H, W, 3), e.g. for a crossfade's end frame."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(yuv), format="yuv420p")
    return frame.reformat(
        format="rgb24", src_colorspace=Colorspace.ITU709, src_color_range=ColorRange.MPEG
    ).to_ndarray()


@dataclass(frozen=True, eq=False)
class PlanarOverlay:
    """An overlay as Y, U, V patches with their masks, placed on even coordinates."""

    planes: tuple[Image.Image, Image.Image, Image.Image]
    masks: tuple[Image.Image, Image.Image]  # alpha at full and at half size
    x: int  # even
    y: int  # even

    def paste_onto(self, frame: tuple[Image.Image, Image.Image, Image.Image]) -> None:
        """Blend into the frame's planes in place: out = patch * alpha + frame * (1 - alpha)."""
        y_plane, u_plane, v_plane = frame
        full, half = self.masks
        y_plane.paste(self.planes[0], (self.x, self.y), full)
        u_plane.paste(self.planes[1], (self.x // 2, self.y // 2), half)
        v_plane.paste(self.planes[2], (self.x // 2, self.y // 2), half)


def planar_overlay(overlay: Overlay) -> PlanarOverlay:
    """Convert an RGBA overlay once per scene; odd edges get a transparent pixel of padding.

    Chroma is averaged over each 2x2 block weighted by alpha, so transparent pixels lend
    no colour to a soft edge.
    """
    left, top = overlay.x % 2, overlay.y % 2
    width = overlay.image.width + left
    height = overlay.image.height + top
    padded = Image.new("RGBA", (width + width % 2, height + height % 2), (0, 0, 0, 0))
    padded.paste(overlay.image, (left, top))
    rgba = np.asarray(padded)
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
    alpha_half = alpha_blocks.mean(axis=2)
    weight = np.maximum(alpha_blocks.sum(axis=2), 1e-6)
    chroma = [(_blocks(yuv444[c] * alpha)).sum(axis=2) / weight for c in (1, 2)]
    return PlanarOverlay(
        planes=(
            Image.fromarray(yuv444[0].round().astype(np.uint8)),
            Image.fromarray(np.clip(chroma[0].round(), 0, 255).astype(np.uint8)),
            Image.fromarray(np.clip(chroma[1].round(), 0, 255).astype(np.uint8)),
        ),
        masks=(
            Image.fromarray(rgba[..., 3]),
            Image.fromarray((alpha_half * 255).round().astype(np.uint8)),
        ),
        x=overlay.x - left,
        y=overlay.y - top,
    )


def _blocks(plane: np.ndarray) -> np.ndarray:
    """(h, w) -> (h/2, w/2, 4): the four pixels of each 2x2 block."""
    height, width = plane.shape
    return (
        plane.reshape(height // 2, 2, width // 2, 2)
        .transpose(0, 2, 1, 3)
        .reshape(height // 2, width // 2, 4)
    )
