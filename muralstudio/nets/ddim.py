"""A deterministic DDIM sampler (Song et al. 2021) for the conditional denoiser, inpainting
style: known pixels are re-imposed on the clean estimate at every step.

Sampling is a generator that yields after every network evaluation, with the current clean
estimate, so the engine can show a preview and stop within one step. The only randomness is
the starting noise, which the caller draws from the seed. The network may run in bfloat16
(autocast); the sampler's own arithmetic stays in float32.
"""

from __future__ import annotations

from typing import Generator

import torch

from muralstudio.nets.diffusion import DenoiserUNet, alpha_sigma


def step_times(steps: int, start: float = 1.0) -> list[float]:
    """``steps`` + 1 times from ``start`` down to 0, evenly spaced."""
    if steps < 1:
        raise ValueError("at least one sampling step is needed")
    return [start * (1.0 - i / steps) for i in range(steps + 1)]


@torch.inference_mode()
def ddim_sample(model: DenoiserUNet, cond: torch.Tensor, known: torch.Tensor, hole: torch.Tensor,
                noise: torch.Tensor, steps: int, start: float = 1.0, init: torch.Tensor | None = None,
                dtype: torch.dtype = torch.float32) -> Generator[tuple[int, torch.Tensor], None, torch.Tensor]:
    """Sample the hole of ``known`` (N, 3, H, W) in [-1, 1] where ``hole`` (N, 1, H, W) is 1.

    From pure noise when ``start`` is 1; from ``init`` (a clean image, e.g. a coarser scale's
    result enlarged) noised to time ``start`` otherwise. Yields (step, clean estimate) after
    each of the ``steps`` evaluations; returns the final clean image, known pixels exact.
    The network is evaluated in ``dtype``.
    """
    base = known if init is None else init
    base = torch.where(hole > 0.5, base, known)
    a, s = alpha_sigma(torch.tensor(start, device=known.device))
    x = a * base + s * noise
    times = step_times(steps, start)
    x0 = base
    for i in range(steps):
        t = torch.full((x.shape[0],), times[i], device=x.device)
        a, s = alpha_sigma(t[:1])
        with torch.autocast(x.device.type, dtype, enabled=dtype != torch.float32):
            v = model(x, cond, t)
        v = v.float()
        x0 = (a * x - s * v).clamp(-1.0, 1.0)
        x0 = torch.where(hole > 0.5, x0, known)
        eps = (x - a * x0) / s
        a_next, s_next = alpha_sigma(torch.tensor(times[i + 1], device=x.device))
        x = a_next * x0 + s_next * eps
        yield i + 1, x0
    return x0
