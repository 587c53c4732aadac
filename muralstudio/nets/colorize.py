"""The colorization network: chroma (Lab a, b) from lightness, the colour around a region
and optional colour hints.

Inputs, all at one size: L, the input's a and b (faded colour is still a clue; zero for a
grey photograph), an estimate of a and b (the colour-statistics baseline, which already
brings each region to the mean and spread of the intact colour around it), the region to
recolour, its depth (:func:`muralstudio.ops.colour.region_depth`: fading is uneven, usually
strongest deep inside a region, and a convolution cannot see how far the edge is on its
own), and hint a, b with a map of where hints are. The network works at half resolution
after a strided stem, since chroma varies more slowly than lightness, and corrects the
estimate (where the fading was uneven, which pigment is where, what the hints say) with four
smooth maps, upsampled to full size: a gain and a turn of its a, b about grey, and a shift.
Fading scales chroma and turns hue, so a smooth gain undoes it where an additive correction
would have to follow every brush stroke (measured over training steps 125-225: the loss
6.8 % below the estimate's, against 2.9-3.4 % with an additive head). It starts from a sound
answer rather than learning the region-wide statistics again. A region with no intact colour
around it (a whole grey photograph) is estimated from the network's colour prior, the
training murals' mean a and b per lightness, kept in the weights as the buffer ``prior``.
Lightness is never predicted, so no structure can be invented. Outside the region the
input's colour is kept by the caller.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from muralstudio.nets.blocks import conv_block

ARCH = "colorize-unet4"  # the architecture name in weight files (4: takes the region's depth)
IN_CHANNELS = 11  # L, a, b, estimate a, estimate b, region, relative depth, depth, hint a, hint b, hint map
PRIOR_BINS = 50  # lightness bins of the colour prior, 2 L units each
AB_SCALE = 64.0  # a and b are divided by this on the way in and multiplied on the way out


@dataclass(frozen=True)
class ColorizeConfig:
    base: int = 24  # channels at half resolution, doubled per level up to max_width
    depth: int = 4  # downsamplings after the stem; inputs must be multiples of 2 ** (depth + 1)
    max_width: int = 192

    def widths(self) -> list[int]:
        return [min(self.base * 2**i, self.max_width) for i in range(self.depth + 1)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ColorizeUNet(nn.Module):
    """(N, 11, H, W) inputs (see :func:`pack_inputs`) → (N, 2, H, W) a and b in Lab units."""

    def __init__(self, config: ColorizeConfig = ColorizeConfig()) -> None:
        super().__init__()
        self.config = config
        w = config.widths()
        self.stem = nn.Sequential(nn.Conv2d(IN_CHANNELS, w[0], 3, stride=2, padding=1), nn.ReLU(inplace=True))
        self.down = nn.ModuleList([conv_block(w[0], w[0])] + [conv_block(w[i - 1], w[i]) for i in range(1, len(w))])
        self.up = nn.ModuleList([conv_block(w[i + 1] + w[i], w[i]) for i in range(len(w) - 1)])
        self.head = nn.Conv2d(w[0], 4, 1)
        nn.init.zeros_(self.head.weight)  # an untrained network returns the estimate unchanged
        nn.init.zeros_(self.head.bias)
        self.register_buffer("prior", torch.zeros(PRIOR_BINS, 2))  # set by training from its murals

    def prior_table(self) -> np.ndarray:
        """The colour prior (bins, 2) as float32 numpy, for the estimate of grey regions."""
        return self.prior.detach().float().cpu().numpy()

    @property
    def multiple(self) -> int:
        return 2 ** (self.config.depth + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        y = self.stem(x)
        skips = []
        for i, block in enumerate(self.down):
            if i:
                y = F.max_pool2d(y, 2)
            y = block(y)
            skips.append(y)
        for i in range(len(self.up) - 1, -1, -1):
            y = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False)
            y = self.up[i](torch.cat([y, skips[i]], dim=1))
        gain, turn, shift_a, shift_b = F.interpolate(self.head(y), size=size, mode="bilinear",
                                                     align_corners=False).unbind(1)
        a, b = x[:, 3], x[:, 4]
        return torch.stack([a * (1 + gain) - b * turn + shift_a, b * (1 + gain) + a * turn + shift_b], 1) * AB_SCALE


def pack_inputs(lab: torch.Tensor, estimate_ab: torch.Tensor, region: torch.Tensor, depth: torch.Tensor,
                hint_ab: torch.Tensor, hint_map: torch.Tensor) -> torch.Tensor:
    """The network's input from Lab (N, 3, H, W), the estimated a, b (N, 2, H, W), region
    (N, 1, H, W), its depth (N, 2, H, W), hint a, b (N, 2, H, W) and hint map (N, 1, H, W):
    each scaled to about unit range."""
    return torch.cat([lab[:, :1] / 50.0 - 1.0, lab[:, 1:] / AB_SCALE, estimate_ab / AB_SCALE, region, depth,
                      hint_ab / AB_SCALE, hint_map], dim=1)
