"""The batched compositor: affine_grid + grid_sample on a GPU (or the CPU, for tests).

Each batch of B frames is one sampling call: a (B, 2, 3) affine matrix per frame maps
output pixels into the base slide's crop box, with the same box coordinates the cpu
backend uses, so the two agree. Overlays are blended on the device and only uint8
frames travel back to the host: for a moving scene in the encoder's planar YUV 4:2:0,
converted on the device, so the host receives half the bytes of RGB and converts nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from synthesis.frames.compositor import (
    DEFAULT_BATCH_SIZE,
    PreparedScene,
    ScenePlan,
    held_batches,
    prepare_scene,
)


class TorchCompositor:
    """Frames with torch on a device ("cuda" or "cpu")."""

    def __init__(self, device: str = "cuda") -> None:
        self.device = torch.device(device)
        self.name = f"torch-{self.device.type}"

    @torch.inference_mode()
    def scene_frames(
        self,
        plan: ScenePlan,
        batch_size: int = DEFAULT_BATCH_SIZE,
        frame_range: range | None = None,
    ) -> Iterator[np.ndarray]:
        """Batches of frames, each (B, H, W, 3) uint8: the frames of the range (default all)."""
        scene = prepare_scene(plan, frame_range)
        if plan.motion is not None:
            for frames in self._moving_batches(plan, scene, batch_size):
                yield _to_host(frames)
            return
        base = self._base(scene)
        overlays = self._overlays(scene)

        def compose(state: np.ndarray) -> np.ndarray:
            frames = base.clone()  # (1, 3, H, W)
            _blend_overlays(frames, scene, overlays, torch.from_numpy(state[None]).to(self.device))
            return _to_host(frames)[0]

        yield from held_batches(scene, batch_size, compose)

    @torch.inference_mode()
    def scene_frames_yuv420(
        self,
        plan: ScenePlan,
        batch_size: int = DEFAULT_BATCH_SIZE,
        frame_range: range | None = None,
    ) -> Iterator[np.ndarray]:
        """A moving scene as batches of planar YUV 4:2:0 frames (B, H * 3 // 2, W) uint8."""
        scene = prepare_scene(plan, frame_range)
        for frames in self._moving_batches(plan, scene, batch_size):
            yield _yuv420_to_host(frames)

    def _base(self, scene: PreparedScene) -> torch.Tensor:
        base = torch.from_numpy(np.array(scene.base)).to(self.device)  # (H, W, 3) uint8
        return base.permute(2, 0, 1).unsqueeze(0).float()  # (1, 3, H, W)

    def _overlays(self, scene: PreparedScene) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [_overlay_tensors(overlay.rgba, self.device) for overlay in scene.overlays]

    def _moving_batches(
        self, plan: ScenePlan, scene: PreparedScene, batch_size: int
    ) -> Iterator[torch.Tensor]:
        """(B, 3, H, W) float frames 0..255 on the device, overlays blended in."""
        base = self._base(scene)
        overlays = self._overlays(scene)
        active = torch.from_numpy(scene.active).to(self.device)  # (n, k) bool
        height, width = plan.size_px[1], plan.size_px[0]
        boxes = torch.from_numpy(scene.boxes).to(self.device, torch.float32)  # (n, 4)
        for start in range(0, scene.frame_count, batch_size):
            stop = min(start + batch_size, scene.frame_count)
            theta = _crop_theta(boxes[start:stop], width, height)  # (B, 2, 3)
            # affine_grid is a batched matmul: with TF32 matmuls switched on (torch's default
            # is off) sample positions would drift by up to a pixel at 1080p.
            grid = F.affine_grid(theta, [stop - start, 3, height, width], align_corners=False)
            # grid: (B, H, W, 2) sample positions in the base, in [-1, 1]
            frames = F.grid_sample(
                base.expand(stop - start, -1, -1, -1),  # (B, 3, H, W) without a copy
                grid,
                mode="bilinear",
                padding_mode="border",
                align_corners=False,
            )  # (B, 3, H, W) float, 0..255
            _blend_overlays(frames, scene, overlays, active[start:stop])
            yield frames


def _crop_theta(boxes: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """(B, 2, 3) affine maps from output coordinates to the crop boxes (B, 4) in the base.

    With align_corners=False, output pixel i has normalised x = (2i + 1) / W - 1 and
    should sample base pixel position x0 + (i + 0.5) * (x1 - x0) / W, which is
    normalised x * (x1 - x0) / W + (x0 + x1) / W - 1: a scale and an offset per axis.
    The cpu backend's warp samples the same positions.
    """
    x0, y0, x1, y1 = boxes.unbind(dim=1)  # each (B,)
    theta = torch.zeros(len(boxes), 2, 3, device=boxes.device)
    theta[:, 0, 0] = (x1 - x0) / width
    theta[:, 0, 2] = (x0 + x1) / width - 1
    theta[:, 1, 1] = (y1 - y0) / height
    theta[:, 1, 2] = (y0 + y1) / height - 1
    return theta


def _overlay_tensors(rgba: np.ndarray, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """An RGBA patch (h, w, 4) uint8 as colour (3, h, w) 0..255 and alpha (1, h, w) 0..1."""
    patch = torch.from_numpy(np.array(rgba)).to(device).permute(2, 0, 1).float()  # (4, h, w)
    return patch[:3], patch[3:] / 255


def _blend_overlays(
    frames: torch.Tensor,
    scene: PreparedScene,
    overlays: list[tuple[torch.Tensor, torch.Tensor]],
    active: torch.Tensor,
) -> None:
    """Alpha-blend each overlay into frames (B, 3, H, W) in place where active (B, k) says."""
    for k, (overlay, (color, alpha)) in enumerate(zip(scene.overlays, overlays, strict=True)):
        shown = active[:, k]  # (B,)
        if not bool(shown.any()):
            continue
        height, width = color.shape[1:]
        region = frames[:, :, overlay.y : overlay.y + height, overlay.x : overlay.x + width]
        weight = alpha * shown.view(-1, 1, 1, 1)  # (B, 1, h, w)
        # Round the frame first, as the cpu backend blends into an already 8-bit picture.
        region.round_()
        region.add_((color - region) * weight)


# BT.709 luma weights; limited range: Y in 16..235, U and V in 16..240 (as the encoder's).
_KR, _KB = 0.2126, 0.0722


def _yuv420_to_host(frames: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) float RGB 0..255 to (B, H * 3 // 2, W) uint8 planar BT.709 YUV 4:2:0.

    Chroma is the mean of each 2x2 block (the conversion is linear, so averaging RGB first
    is the same), the rounding done once, on the device.
    """
    count, _, height, width = frames.shape
    red, green, blue = frames.unbind(dim=1)  # each (B, H, W)
    luma = _KR * red + (1 - _KR - _KB) * green + _KB * blue  # 0..255
    half = F.avg_pool2d(frames, 2)  # (B, 3, H/2, W/2)
    half_luma = _KR * half[:, 0] + (1 - _KR - _KB) * half[:, 1] + _KB * half[:, 2]
    u = 128 + (224 / 255) * (half[:, 2] - half_luma) / (2 * (1 - _KB))
    v = 128 + (224 / 255) * (half[:, 0] - half_luma) / (2 * (1 - _KR))
    y = 16 + (219 / 255) * luma
    planes = [plane.reshape(count, -1) for plane in (y, u, v)]
    yuv = torch.cat(planes, dim=1).round_().clamp_(0, 255).to(torch.uint8)
    return yuv.reshape(count, height * 3 // 2, width).cpu().numpy()


def _to_host(frames: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) float 0..255 to (B, H, W, 3) uint8 on the host."""
    frames = frames.round_().clamp_(0, 255).to(torch.uint8)  # (B, 3, H, W)
    return frames.permute(0, 2, 3, 1).contiguous().cpu().numpy()  # (B, H, W, 3)
