"""Inpainting losses: S0's combined loss and S2's full PConv loss, as weighted named terms.

Terms (each a scalar; ``out`` is the raw network output, ``comp`` the composite with the
known pixels, ``hole`` 1 in the hole):
valid / hole  mean L1 over known / hole pixels (S0's L1 split so small holes count)
ssim          1 − SSIM(out, truth), Gaussian window 11, σ 1.5 (Wang et al. 2004)
edge          L1 between Sobel edge magnitudes of out and truth (S0)
perceptual    L1 between feature maps of out and comp and those of the truth (S2)
style         L1 between Gram matrices of those feature maps (S2, out + comp)
tv            total variation of comp on the one-pixel ring around the hole (S2)
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

PRESETS: dict[str, dict[str, float]] = {
    # S0: 1.0·L1 + 0.5·(1 − SSIM) + 0.1·perceptual + 0.2·edge
    "s0": {"valid": 1.0, "hole": 1.0, "ssim": 0.5, "perceptual": 0.1, "edge": 0.2},
    # S2: L_valid + 6·L_hole + 0.05·L_perc + 120·L_style + 0.1·L_tv + 5·(1 − SSIM)
    "s2": {"valid": 1.0, "hole": 6.0, "perceptual": 0.05, "style": 120.0, "tv": 0.1, "ssim": 5.0},
}
TERMS = ("valid", "hole", "ssim", "edge", "perceptual", "style", "tv")
NEEDS_FEATURES = ("perceptual", "style")


def _gauss_window(channels: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    x = torch.arange(11, dtype=dtype, device=device) - 5
    g = torch.exp(-(x * x) / (2 * 1.5**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, 11, 11).contiguous()


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of images in [0, 1] (valid-window, per channel)."""
    c = a.shape[1]
    w = _gauss_window(c, a.dtype, a.device)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, w, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    saa = blur(a * a) - mu_a * mu_a
    sbb = blur(b * b) - mu_b * mu_b
    sab = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a * mu_a + mu_b * mu_b + c1) * (saa + sbb + c2))
    return s.mean()


def sobel_magnitude(x: torch.Tensor) -> torch.Tensor:
    """Per-channel Sobel gradient magnitude."""
    k = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], dtype=x.dtype, device=x.device)
    c = x.shape[1]
    kx = k.expand(c, 1, 3, 3)
    ky = k.t().expand(c, 1, 3, 3)
    xp = F.pad(x, (1, 1, 1, 1), mode="replicate")
    gx, gy = F.conv2d(xp, kx, groups=c), F.conv2d(xp, ky, groups=c)
    return torch.sqrt(gx * gx + gy * gy + 1e-6)


def gram(f: torch.Tensor) -> torch.Tensor:
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def _masked_mean(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return (x * m).sum() / (m.sum() * x.shape[1]).clamp(min=1.0)


FeatureFn = Callable[[torch.Tensor], list[torch.Tensor]]


class InpaintLoss:
    """A weighted sum of named terms; returns the total and each weighted term for logging."""

    def __init__(self, weights: dict[str, float], features: FeatureFn | None = None) -> None:
        unknown = set(weights) - set(TERMS)
        if unknown:
            raise ValueError(f"unknown loss terms: {', '.join(sorted(unknown))}")
        if any(weights.get(t) for t in NEEDS_FEATURES) and features is None:
            raise ValueError("perceptual and style terms need a feature network")
        self.weights = {k: v for k, v in weights.items() if v}
        self.features = features

    def __call__(self, out: torch.Tensor, truth: torch.Tensor, known: torch.Tensor
                 ) -> tuple[torch.Tensor, dict[str, float]]:
        w = self.weights
        hole = 1.0 - known
        comp = known * truth + hole * out
        terms: dict[str, torch.Tensor] = {}
        diff = (out - truth).abs()
        if "valid" in w:
            terms["valid"] = _masked_mean(diff, known)
        if "hole" in w:
            terms["hole"] = _masked_mean(diff, hole)
        if "ssim" in w:
            terms["ssim"] = 1.0 - ssim(out, truth)
        if "edge" in w:
            terms["edge"] = (sobel_magnitude(out) - sobel_magnitude(truth)).abs().mean()
        if "tv" in w:
            ring = (F.max_pool2d(hole, 3, 1, 1) > 0).to(out.dtype)
            dy = (comp[:, :, 1:] - comp[:, :, :-1]).abs() * ring[:, :, 1:]
            dx = (comp[:, :, :, 1:] - comp[:, :, :, :-1]).abs() * ring[:, :, :, 1:]
            terms["tv"] = dy.mean() + dx.mean()
        if self.features is not None and ("perceptual" in w or "style" in w):
            with torch.no_grad():
                f_truth = self.features(truth)
            f_out, f_comp = self.features(out), self.features(comp)
            if "perceptual" in w:
                terms["perceptual"] = sum((a - t).abs().mean() + (b - t).abs().mean()
                                          for a, b, t in zip(f_out, f_comp, f_truth))
            if "style" in w:
                terms["style"] = sum((gram(a) - gram(t)).abs().mean() + (gram(b) - gram(t)).abs().mean()
                                     for a, b, t in zip(f_out, f_comp, f_truth))
        total = sum(w[k] * v for k, v in terms.items())
        return total, {k: float(w[k] * v.detach()) for k, v in terms.items()}
