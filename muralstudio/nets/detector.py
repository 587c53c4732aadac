"""The damage detector: a U-Net giving one probability map per damage class.

Classes may overlap (a crack through a stain), so each has its own sigmoid output rather
than one softmax. The full-resolution level is kept narrow, since a 100-megapixel scan is
run through it tile by tile on a CPU; context for large losses comes from the deep levels
(about 300 px of receptive field at the default depth).

The network may run in bfloat16 (about 1.6x faster on CPUs that compute it natively),
except its two finest encoder levels: they read the faint texture that tells bare plaster
from paint, and rounding them moved the loss probability inside a wide loss by 30 levels of
255 (4 levels on average over the tile); kept in float32, by 0.1 level on average.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from muralstudio.nets.blocks import conv_block

ARCH = "damage-unet"  # the architecture name in weight files
EXACT_LEVELS = 2  # encoder levels that stay in float32 when the rest runs in a lower precision


@dataclass(frozen=True)
class DetectorConfig:
    classes: int = 5
    base: int = 16  # channels at full resolution, doubled per level up to max_width
    depth: int = 5  # number of downsamplings; inputs must be multiples of 2**depth
    max_width: int = 128

    def widths(self) -> list[int]:
        return [min(self.base * 2**i, self.max_width) for i in range(self.depth + 1)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DamageUNet(nn.Module):
    """RGB in [0, 1] (N, 3, H, W) → logits (N, classes, H, W); H and W multiples of 2**depth."""

    def __init__(self, config: DetectorConfig = DetectorConfig()) -> None:
        super().__init__()
        self.config = config
        w = config.widths()
        self.down = nn.ModuleList([conv_block(3, w[0])] + [conv_block(w[i - 1], w[i]) for i in range(1, len(w))])
        self.up = nn.ModuleList([conv_block(w[i + 1] + w[i], w[i]) for i in range(len(w) - 1)])
        self.head = nn.Conv2d(w[0], config.classes, 1)

    @property
    def multiple(self) -> int:
        return 2**self.config.depth

    def encoder_features(self, image: torch.Tensor, levels: int = 3) -> list[torch.Tensor]:
        """The first ``levels`` encoder outputs for RGB ``image`` in [0, 1]: the "deep features"
        a perceptual or style loss compares (trained on murals, so they answer to strokes,
        texture and damage rather than to photographs)."""
        x = (image - 0.5) / 0.25
        out = []
        for i, block in enumerate(self.down[:levels]):
            if i:
                x = F.max_pool2d(x, 2)
            x = block(x)
            out.append(x)
        return out

    def forward(self, image: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Float32 logits; the layers past the first ``EXACT_LEVELS`` computed in ``dtype``."""
        lower = dtype != torch.float32
        x = (image - 0.5) / 0.25
        skips = []
        for i, block in enumerate(self.down):
            if i:
                x = F.max_pool2d(x, 2)
            with torch.autocast(image.device.type, dtype, enabled=lower and i >= EXACT_LEVELS):
                x = block(x)
            skips.append(x)
        with torch.autocast(image.device.type, dtype, enabled=lower):
            for i in range(len(self.up) - 1, -1, -1):
                x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
                x = self.up[i](torch.cat([x, skips[i].to(x.dtype)], dim=1))  # concatenated in x's dtype
            return self.head(x).float()
