"""Partial convolution (Liu et al. 2018) and the PConv U-Net built from it.

A partial convolution sees only valid pixels: the window's response is rescaled by the
window size over the number of valid pixels under it, and the output is valid wherever any
input pixel was. Hole values therefore never reach the output. Borders count as valid (zero
padding, as in a plain convolution), so with an all-ones mask the layer is exactly a plain
convolution.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

ARCH = "pconv-unet"  # the architecture name in weight files



def all_valid(*masks: torch.Tensor) -> bool:
    """Whether every pixel of every mask is valid (1): a partial convolution over such
    inputs is a plain one."""
    return all(bool(m.min() >= 1.0) for m in masks)


class PartialConv2d(nn.Module):
    """Conv2d over valid pixels only.

    Takes the input as parts, each (features, mask) with a one-channel mask (1 = valid), so
    a decoder can join upsampled features and a skip without widening the masks. Returns
    (features, updated one-channel mask).
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, bias: bool = True,
                 min_valid: float = 0.0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.cin, self.kernel, self.stride = cin, kernel, stride
        self.min_count = max(1.0, min_valid * cin * kernel * kernel)
        self.register_buffer("ones", torch.ones(1, 1, kernel, kernel), persistent=False)

    def renormalisation(self, masks: list[tuple[int, torch.Tensor]], dtype: torch.dtype
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-pixel rescaling (window size over valid count, the count bounded below by
        ``min_count``; 0 where nothing is valid) and the updated mask, for input parts given
        as (channels, one-channel mask)."""
        with torch.no_grad():
            pad = (self.kernel // 2,) * 4
            if all_valid(*(m for _, m in masks)):  # every window full: nothing to rescale
                n, _, h, w = masks[0][1].shape
                size = [(side + 2 * pad[0] - self.kernel) // self.stride + 1 for side in (h, w)]
                valid = masks[0][1].new_ones(n, 1, *size, dtype=dtype)
                return valid, valid
            ones = self.ones.to(dtype)
            count = sum(  # borders count as valid, as zero padding does in a plain convolution
                F.conv2d(F.pad(m.to(dtype), pad, value=1.0), ones, stride=self.stride) * channels
                for channels, m in masks
            )
        return self.rescaling(count)

    def rescaling(self, count: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The rescaling and the updated mask for windows with ``count`` valid input values."""
        valid = (count > 0.5).to(count.dtype)
        return (self.cin * self.kernel * self.kernel) / count.clamp(min=self.min_count) * valid, valid

    def forward(self, *parts: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.training and all_valid(*(m for _, m in parts)):
            # nothing to renormalise: a plain convolution, as the class docstring says
            out = self.conv(parts[0][0] if len(parts) == 1 else torch.cat([x for x, _ in parts], dim=1))
            if self.bias is not None:
                out = out + self.bias.view(1, -1, 1, 1).to(out.dtype)
            return out, out.new_ones(out.shape[0], 1, *out.shape[2:])
        xs = [x * m for x, m in parts]
        out = self.conv(xs[0] if len(xs) == 1 else torch.cat(xs, dim=1))
        scale, valid = self.renormalisation([(x.shape[1], m) for x, m in parts], out.dtype)
        bias = None if self.bias is None else self.bias.view(1, -1, 1, 1).to(out.dtype)
        if torch.is_grad_enabled():
            out = out * scale
            return (out if bias is None else out + bias * valid), valid
        out.mul_(scale)  # in place: spares two passes over the output when inferring
        return (out if bias is None else out.addcmul_(bias, valid)), valid


@dataclass(frozen=True)
class PConvConfig:
    """Shape of a PConv U-Net: ``depth`` stride-2 levels, widths ``base * mult`` capped;
    ``min_valid`` bounds every layer's rescaling (0 = the paper's unbounded one)."""

    base: int = 32
    depth: int = 6
    max_mult: int = 8
    min_valid: float = 0.07

    def widths(self) -> list[int]:
        return [self.base * min(2**i, self.max_mult) for i in range(self.depth)]

    def kernels(self) -> list[int]:
        return [7, 5, 5][: self.depth] + [3] * max(0, self.depth - 3)

    @property
    def multiple(self) -> int:
        """Input height and width must be multiples of this."""
        return 2**self.depth

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, norm: bool, min_valid: float) -> None:
        super().__init__()
        self.pconv = PartialConv2d(cin, cout, kernel, stride=2, bias=not norm, min_valid=min_valid)
        self.norm = nn.BatchNorm2d(cout) if norm else nn.Identity()

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, m = self.pconv((x, m))
        return F.relu(self.norm(x), inplace=not torch.is_grad_enabled()), m


class _Up(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int, last: bool, min_valid: float) -> None:
        super().__init__()
        self.pconv = PartialConv2d(cin + cskip, cout, 3, bias=last, min_valid=min_valid)
        self.norm = nn.Identity() if last else nn.BatchNorm2d(cout)
        self.last = last

    def forward(self, x: torch.Tensor, m: torch.Tensor, skip: torch.Tensor, mskip: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        m = F.interpolate(m, scale_factor=2.0, mode="nearest")
        x, m = self.pconv((x, m), (skip, mskip))
        if self.last:
            return x, m
        return F.leaky_relu(self.norm(x), 0.2), m


class PConvUNet(nn.Module):
    """PConv encoder, nearest-neighbour decoder with skips; RGB in [0, 1] in and out."""

    def __init__(self, config: PConvConfig = PConvConfig(), channels: int = 3) -> None:
        super().__init__()
        self.config = config
        widths, kernels = config.widths(), config.kernels()
        self.down = nn.ModuleList(
            _Down(cin, cout, k, norm=i > 0, min_valid=config.min_valid)
            for i, (cin, cout, k) in enumerate(zip([channels, *widths[:-1]], widths, kernels))
        )
        skips = [channels, *widths[:-1]]
        ups = []
        cin = widths[-1]
        for i in reversed(range(config.depth)):
            cout = skips[i] if i > 0 else channels
            ups.append(_Up(cin, skips[i], cout, last=i == 0, min_valid=config.min_valid))
            cin = cout
        self.up = nn.ModuleList(ups)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``image`` (N, C, H, W) in [0, 1]; ``mask`` (N, 1, H, W), 1 = known. Returns the raw output."""
        x, m = image - 0.5, mask
        feats = [(x, m)]
        for layer in self.down:
            x, m = layer(x, m)
            feats.append((x, m))
        feats.pop()
        for layer in self.up:
            skip, mskip = feats.pop()
            x, m = layer(x, m, skip, mskip)
        return x + 0.5


def composite(image: torch.Tensor, mask: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """Known pixels from ``image``, the network's output in the hole."""
    return mask * image + (1 - mask) * output


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
