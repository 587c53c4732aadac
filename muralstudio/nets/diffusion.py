"""The conditional denoiser of the diffusion engine and its noise schedule.

The network sees the noisy image, the damaged image with its hole pre-filled smoothly (the
known pixels exactly, the hole's low frequencies as a starting point), the hole mask and a
map of guide lines, plus the noise level; it predicts v (Salimans & Ho 2022), from which both
the clean image and the noise follow. Residual blocks use group norm (statistics that do not
depend on the batch, since a run samples one region at a time) and a scale-and-shift from
the noise-level embedding. No attention: the receptive field comes from depth, and the
network stays fast on a laptop CPU (about 10 GMAC for a 256² input with the default shape).

Images are in [-1, 1]. Time is continuous in [0, 1] with a cosine schedule: at ``t`` the
noisy image is ``alpha(t) * x0 + sigma(t) * noise`` with ``alpha² + sigma² = 1``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

ARCH = "diffusion-unet"  # the architecture name in weight files
COND_CHANNELS = 5  # pre-filled image (3), hole (1), guide lines (1)
T_MIN, T_MAX = 0.002, 0.998  # the schedule's ends are kept away from alpha = 0 and sigma = 0


@dataclass(frozen=True)
class DiffusionConfig:
    base: int = 32  # channels at full resolution, doubled per level up to max_width
    depth: int = 3  # downsamplings; inputs must be multiples of 2 ** depth
    max_width: int = 128
    time_dim: int = 128  # width of the noise-level embedding

    def widths(self) -> list[int]:
        return [min(self.base * 2**i, self.max_width) for i in range(self.depth + 1)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def alpha_sigma(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Signal and noise scales of the cosine schedule at times ``t`` (any shape, in [0, 1])."""
    t = t.clamp(T_MIN, T_MAX)
    return torch.cos(t * math.pi / 2), torch.sin(t * math.pi / 2)


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features (N, dim) of times ``t`` (N,)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = (t.float() * 1000.0)[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class ResBlock(nn.Module):
    """Two 3 × 3 convolutions with group norm and SiLU; the noise level scales and shifts
    the features between them; a 1 × 1 convolution matches the shortcut's width."""

    def __init__(self, cin: int, cout: int, time_dim: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.film = nn.Linear(time_dim, 2 * cout)
        self.norm2, self.conv2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return self.skip(x) + h


class DenoiserUNet(nn.Module):
    """(noisy image (N, 3, H, W), condition (N, 5, H, W), times (N,)) → v (N, 3, H, W)."""

    def __init__(self, config: DiffusionConfig = DiffusionConfig()) -> None:
        super().__init__()
        self.config = config
        w, td = config.widths(), config.time_dim
        self.time = nn.Sequential(nn.Linear(td, td), nn.SiLU(), nn.Linear(td, td))
        self.stem = nn.Conv2d(3 + COND_CHANNELS, w[0], 3, padding=1)
        self.down = nn.ModuleList([ResBlock(w[i], w[i], td) for i in range(len(w) - 1)])
        self.pool = nn.ModuleList([nn.Conv2d(w[i], w[i + 1], 3, stride=2, padding=1) for i in range(len(w) - 1)])
        self.middle = nn.ModuleList([ResBlock(w[-1], w[-1], td), ResBlock(w[-1], w[-1], td)])
        self.lift = nn.ModuleList([nn.Conv2d(w[i + 1], w[i], 3, padding=1) for i in range(len(w) - 1)])
        self.up = nn.ModuleList([ResBlock(2 * w[i], w[i], td) for i in range(len(w) - 1)])
        self.head = nn.Sequential(_norm(w[0]), nn.SiLU(), nn.Conv2d(w[0], 3, 3, padding=1))

    @property
    def multiple(self) -> int:
        return 2**self.config.depth

    def forward(self, x: torch.Tensor, cond: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = self.time(time_embedding(t, self.config.time_dim))
        y = self.stem(torch.cat([x, cond], dim=1))
        skips = []
        for block, pool in zip(self.down, self.pool):
            y = block(y, emb)
            skips.append(y)
            y = pool(y)
        for block in self.middle:
            y = block(y, emb)
        for i in range(len(self.up) - 1, -1, -1):
            y = self.lift[i](F.interpolate(y, scale_factor=2.0, mode="nearest"))
            y = self.up[i](torch.cat([y, skips[i]], dim=1), emb)
        return self.head(y)


def pack_condition(prefilled: torch.Tensor, hole: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """The condition from the pre-filled image (N, 3, H, W) in [-1, 1], the hole (N, 1, H, W)
    and the guide lines (N, 1, H, W), both 0/1."""
    return torch.cat([prefilled, hole * 2 - 1, guide * 2 - 1], dim=1)
