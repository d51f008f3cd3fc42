"""Alpha-blending a pre-rendered patch into a picture, in place, with 8-bit integer arithmetic.

The CPU compositor blends captions and labels into every frame it makes, RGB or one plane
of YUV 4:2:0, so the patch is prepared once per scene: colour times alpha and 255 - alpha
as uint16. A blend is then a multiply, two adds and two shifts over the patch's area, the
same rounding as Pillow's paste with a mask: out = (colour * a + picture * (255 - a)) / 255.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class BlendPatch:
    """A patch placed at (x, y) of a picture: (h, w) for one plane, (h, w, 3) for RGB."""

    weighted: np.ndarray  # uint16: colour * alpha + 128 (the rounding term)
    inverse_alpha: np.ndarray  # uint16: 255 - alpha, (h, w) or (h, w, 1)
    x: int
    y: int

    @classmethod
    def of(cls, colour: np.ndarray, alpha: np.ndarray, x: int, y: int) -> BlendPatch:
        """colour (h, w) or (h, w, 3) and alpha (h, w), both uint8."""
        alpha = alpha.astype(np.uint16)
        if colour.ndim == 3:
            alpha = alpha[..., None]
        return cls(colour.astype(np.uint16) * alpha + 128, 255 - alpha, x, y)

    def blend_into(self, picture: np.ndarray) -> None:
        """out = colour * alpha + picture * (1 - alpha), in place, rounded as Pillow does."""
        height, width = self.inverse_alpha.shape[:2]
        region = picture[self.y : self.y + height, self.x : self.x + width]
        mixed = region * self.inverse_alpha  # uint8 * uint16 -> uint16, at most 65025
        mixed += self.weighted
        mixed += mixed >> 8
        mixed >>= 8
        region[...] = mixed
