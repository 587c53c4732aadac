"""Multi-scale diffusion restoration with guide lines (S1), several candidates per run.

Each damaged region (crop-around-damage) is sampled coarse to fine (``diffusion_scale``) by
the conditional denoiser with a deterministic DDIM sampler; candidate k of a run starts from
noise drawn from seed + k, so the same seed gives the same result. The fill's broad colour
and shading are then drawn by ``anchor`` towards the PConv network's estimate of the region
(closer to the truth on average, while the candidates keep their own detail and part of their
own composition), and its detail bands are brought towards the texture energy of the intact
paint around the region by ``detail`` (``ops.texture``, S1's frequency balancing); marked
damage the run leaves unrestored (``InpaintRequest.damage``) is not intact paint. Guide
lines come from the document's guide layer, and optionally also from the damage's surroundings
(``ops.guides.auto_guide``). On CPUs with native bfloat16 arithmetic both networks run in
bfloat16 (``precision`` auto; the denoiser about 2.5x faster). Progress is reported after
every network evaluation with the current estimate as a preview, so a run stops within one
step when cancelled.

torch is imported only when the engine runs, so listing engines stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Generator

import numpy as np

from muralstudio.core.candidate import Patch
from muralstudio.engines import models, pconv
from muralstudio.engines.base import (
    Engine,
    EngineRun,
    InpaintRequest,
    InpaintResult,
    ParamSpec,
    Progress,
    Stopwatch,
    crop_patch,
    register,
)
from muralstudio.engines.diffusion_scale import Scale, fuse, pad_to, plan_scales, resize, scale_inputs
from muralstudio.engines.precision import PRECISIONS, compute_dtype, dtype_name
from muralstudio.ops.blend import to_float
from muralstudio.ops.crop import plan_crops
from muralstudio.ops.fill import smooth_fill
from muralstudio.ops.guides import auto_guide
from muralstudio.ops.texture import balance_detail, take_low

if TYPE_CHECKING:
    import torch

    from muralstudio.nets.diffusion import DenoiserUNet

SHIPPED = "diffusion"  # the manifest name of the shipped model
MODEL = models.NetworkSpec(SHIPPED, "The diffusion engine", "muralstudio.nets.diffusion", "DiffusionConfig",
                           "DenoiserUNet")
GUIDES = ("drawn", "drawn+found", "none")
DETAIL = 0.88  # default detail balance: see models/README.md for what it trades
ANCHOR = 0.8  # default share of the low frequencies taken from PConv's estimate (ditto)
ANCHOR_SIGMA = 4.0  # pixels: features broader than this count as colour and shading


def _nchw(arr: np.ndarray, device: torch.device) -> torch.Tensor:
    import torch

    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    t = t.permute(2, 0, 1)[None] if t.ndim == 3 else t[None, None]
    return t.to(device).contiguous(memory_format=torch.channels_last)


def _hwc(t: torch.Tensor, height: int, width: int) -> np.ndarray:
    return ((t[0, :, :height, :width].float().permute(1, 2, 0).cpu().numpy() + 1.0) / 2.0).clip(0.0, 1.0)


def sample_scale(model: DenoiserUNet, image: np.ndarray, hole: np.ndarray, guide: np.ndarray, scale: Scale,
                 seed: int, level: int, init: np.ndarray | None = None, dtype: torch.dtype | None = None
                 ) -> Generator[np.ndarray, None, np.ndarray]:
    """Sample one scale: ``image`` (h, w, 3) in [0, 1] with its hole pre-filled, ``hole`` and
    ``guide`` at this scale's size, from ``init`` (enlarged coarser result) or from noise, the
    network run in ``dtype`` (float32 when None). Yields the clean estimate after each step;
    returns the result, known pixels unchanged."""
    import torch

    from muralstudio.nets.ddim import ddim_sample
    from muralstudio.nets.diffusion import pack_condition

    device = next(model.parameters()).device
    mult = model.multiple
    img_p, (h, w) = pad_to(image * 2.0 - 1.0, mult)
    hole_p, _ = pad_to(hole.astype(np.float32), mult)
    guide_p, _ = pad_to(guide.astype(np.float32), mult)
    known, hole_t, guide_t = _nchw(img_p, device), _nchw(hole_p, device), _nchw(guide_p, device)
    cond = pack_condition(known, hole_t, guide_t).contiguous(memory_format=torch.channels_last)
    noise = np.random.default_rng([seed, level]).standard_normal(img_p.shape, np.float32)
    start = None if init is None else _nchw(pad_to(init * 2.0 - 1.0, mult)[0], device)
    run = ddim_sample(model, cond, known, hole_t, _nchw(noise, device), scale.steps, scale.start, start,
                      dtype or torch.float32)
    try:
        while True:
            try:
                _, estimate = next(run)
            except StopIteration as stop:
                out = _hwc(stop.value, h, w)
                break
            yield _hwc(estimate, h, w)
    finally:
        run.close()
    return np.where(hole[..., None], out, image).astype(np.float32)


def sample_region(model: DenoiserUNet, image: np.ndarray, hole: np.ndarray, guide: np.ndarray,
                  plan: list[Scale], seed: int, detail: float = 0.0, base: np.ndarray | None = None,
                  anchor: float = 0.0, unrestored: np.ndarray | None = None, dtype: torch.dtype | None = None
                  ) -> Generator[np.ndarray, None, np.ndarray]:
    """One candidate for a region: ``image`` (h, w, 3) float in [0, 1], sampled over ``plan``;
    its low frequencies then drawn by ``anchor`` towards those of ``base`` (another estimate
    of the region, same size) and its detail balanced against the surroundings by ``detail``
    (``ops.texture``), damage left ``unrestored`` not counted as surroundings; the network
    runs in ``dtype`` (float32 when None). Yields the
    current estimate at its working size after each step; returns the (h, w, 3) result with
    known pixels unchanged."""
    filled = smooth_fill(image, hole)
    prev: np.ndarray | None = None
    for level, scale in enumerate(plan):
        img_s, hole_s, guide_s = scale_inputs(filled, hole, guide, scale)
        init = None if prev is None else resize(prev, scale.height, scale.width)
        out = yield from sample_scale(model, img_s, hole_s, guide_s, scale, seed, level, init, dtype)
        if prev is not None and init is not None:
            out = fuse(init, out, hole_s, scale.width / prev.shape[1])
        prev = out
    assert prev is not None
    full = np.where(hole[..., None], np.clip(resize(prev, *hole.shape), 0.0, 1.0), image).astype(np.float32)
    if base is not None:
        full = take_low(full, base, hole, ANCHOR_SIGMA, anchor)
    return balance_detail(full, hole, detail, unrestored=unrestored)


def _anchor_estimate(net: Any, rgb: np.ndarray, hole: np.ndarray, fraction: float, index: int, regions: int,
                     dtype: torch.dtype | None = None) -> Generator[Progress, None, np.ndarray]:
    """PConv's fill of one region (features in ``dtype``), reporting each tile so that a cancel
    stops between tiles."""
    run = pconv.restore_tiles(net, rgb, hole, dtype=dtype)
    try:
        while True:
            yield Progress(fraction, f"PConv estimate of region {index + 1} of {regions}")
            try:
                next(run)
            except StopIteration as stop:
                return stop.value
    finally:
        run.close()


def preview_image(estimate: np.ndarray) -> np.ndarray:
    """An 8-bit RGB preview of a working-size estimate."""
    return (np.clip(estimate, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class DiffusionEngine(Engine):
    """The conditional denoiser behind the engine protocol."""

    name = "diffusion"
    label = "Diffusion, several candidates (learned)"
    takes_guide = True
    description = ("Proposes several different plausible fills for large losses, coarse to fine, "
                   "following the guide lines you draw; choose among the candidates.")
    params = (
        ParamSpec("candidates", "Candidates", "int", 3, 1, 16, in_name=False,
                  help="How many different fills to make (seeds seed, seed + 1, …)."),
        ParamSpec("seed", "Seed", "int", 0, 0, 2**31 - 1, in_name=False,
                  help="The same seed and settings give the same result."),
        ParamSpec("steps", "Steps", "int", 20, 2, 250,
                  help="Denoising steps at the coarsest scale; more are slower and a little cleaner."),
        ParamSpec("scales", "Scales", "int", 2, 1, 5,
                  help="Coarse-to-fine scales, each twice the size of the one before."),
        ParamSpec("size", "Coarse size", "int", 512, 64, 2048, in_name=False,
                  help="Long side in pixels of a region at the coarsest scale; regions up to this size "
                       "are sampled at full resolution in one scale (measured sharper and closer to the "
                       "truth than starting from half size)."),
        ParamSpec("strength", "Noise strength", "float", 0.5, 0.1, 1.0,
                  help="1: sample the coarsest scale from pure noise (most varied); less: start from a smooth "
                       "fill partly noised (closer to the surroundings' colours, less varied)."),
        ParamSpec("refine", "Refinement strength", "float", 0.5, 0.1, 1.0, in_name=False,
                  help="How much finer scales may change the coarser result (share of the noise re-added)."),
        ParamSpec("anchor", "Colour anchor", "float", ANCHOR, 0.0, 1.0,
                  help="How far each candidate's broad colour and shading are drawn towards the PConv "
                       "network's fill, which is closer to the truth on average: 0 keeps the diffusion's own "
                       "(most varied candidates), 1 takes PConv's; fine detail always stays the candidate's."),
        ParamSpec("detail", "Detail balance", "float", DETAIL, 0.0, 1.0,
                  help="Brings the fill's fine detail towards the texture of the intact paint around it "
                       "(S1's frequency balancing): 0 leaves the network's fill, 1 matches the surroundings; "
                       "more gives crisper texture at some cost in exact colour."),
        ParamSpec("guide", "Guide lines", "choice", "drawn", choices=GUIDES,
                  help="drawn: the guide layer's lines; drawn+found: also lines found around the damage; "
                       "none: no guidance."),
        ParamSpec("weights", "Weights", "path", SHIPPED, in_name=False,
                  help="'diffusion' for the shipped model, or a .pt weights file."),
        ParamSpec("anchor_weights", "Anchor weights", "path", pconv.SHIPPED, in_name=False,
                  help="'pconv' for the shipped PConv model, or a .pt weights file (fine-tuned)."),
        ParamSpec("margin", "Context margin", "int", 64, 0, 2048, in_name=False,
                  help="Pixels of context kept around each damaged region."),
        ParamSpec("device", "Device", "choice", "auto", choices=("auto", "cpu", "cuda", "mps"), in_name=False,
                  help="Where the network runs; auto takes CUDA, then MPS, then the CPU."),
        ParamSpec("precision", "Precision", "choice", "auto", choices=PRECISIONS, in_name=False,
                  help="auto: bfloat16 on a CPU that computes it natively (about 2.5x faster), float32 "
                       "elsewhere; the same seed and precision give the same result."),
    )

    def run(self, request: InpaintRequest) -> EngineRun:
        request.validate()
        params = self.resolve_params(request.params)
        clock = Stopwatch()
        model, weights, _ = MODEL.load(params["weights"], params["device"])
        dtype = compute_dtype(params["precision"], next(model.parameters()).device)
        params["precision"] = dtype_name(dtype)  # the provenance names what ran
        anchor_net, others = None, {}
        if params["anchor"] > 0:  # the PConv weights that shaped the colour are part of the provenance
            anchor_net, anchor_weights, _ = pconv.MODEL.load(params["anchor_weights"], params["device"])
            others["anchor"] = anchor_weights.sha256
        image, mask, unrestored = request.image, request.mask, request.unrestored()
        guide = request.guide if request.guide is not None and params["guide"] != "none" else np.zeros_like(mask)
        crops = plan_crops(mask, params["margin"])
        plans = [plan_scales(c.box.height, c.box.width, params["size"], params["scales"], params["steps"],
                             params["refine"], params["strength"]) for c in crops]
        n_cand, n_crops = params["candidates"], len(crops)
        total = n_cand * sum(s.steps for plan in plans for s in plan)
        done = 0
        yield Progress(0.0, f"Sampling {n_cand} candidate{'s' if n_cand > 1 else ''} of {n_crops} "
                            f"region{'s' if n_crops > 1 else ''}")
        # region by region, every candidate of a region in turn: PConv's estimate and the found
        # guide lines of one region are made once and dropped when the next region starts
        patches: list[list[Patch]] = [[] for _ in range(n_cand)]
        seeds = [params["seed"] + k for k in range(n_cand)]
        seconds = [0.0] * n_cand
        for i, (crop, plan) in enumerate(zip(crops, plans)):
            pixels = image[crop.box.slices]
            rgb = to_float(pixels)
            if rgb.shape[2] == 1:
                rgb = np.repeat(rgb, 3, axis=2)
            hole = mask[crop.box.slices]
            lines = guide[crop.box.slices]
            if params["guide"] == "drawn+found":
                lines = lines | auto_guide(rgb, hole)
            base = None
            if anchor_net is not None:
                base = yield from _anchor_estimate(anchor_net, rgb, hole, done / total, i, n_crops, dtype)
            for k in range(n_cand):
                cand_clock = Stopwatch()
                run = sample_region(model, rgb, hole, lines, plan, seeds[k], params["detail"], base,
                                    params["anchor"], None if unrestored is None else unrestored[crop.box.slices],
                                    dtype)
                try:
                    while True:
                        try:
                            estimate = next(run)
                        except StopIteration as stop:
                            restored: np.ndarray = stop.value
                            break
                        done += 1
                        where = f", region {i + 1} of {n_crops}" if n_crops > 1 else ""
                        yield Progress(done / total, f"Candidate {k + 1} of {n_cand}{where}",
                                       preview_image(estimate))
                finally:
                    run.close()
                patches[k].append(crop_patch(crop, pixels, restored, mask))
                seconds[k] += cand_clock.elapsed
        # each candidate's parameters reproduce exactly that candidate
        results = [InpaintResult(self.name, patches[k], dict(params, seed=seed, candidates=1), seed=seed,
                                 weights_sha256=weights.sha256, elapsed_s=seconds[k],
                                 name=self.candidate_name(params, seed), other_weights=dict(others))
                   for k, seed in enumerate(seeds)]
        first = results[0]
        first.alternatives = results[1:]
        first.elapsed_s = max(first.elapsed_s, clock.elapsed - sum(r.elapsed_s for r in results[1:]))
        return first

    def candidate_name(self, params: dict[str, Any], seed: int | None = None) -> str:
        """'diffusion' with steps, scales and guide, the weights file when not the shipped one, and the seed."""
        name = super().candidate_name(params, seed)
        w = str(params.get("weights", SHIPPED)).strip() or SHIPPED
        return name if w == SHIPPED else name.replace(self.name, f"{self.name} weights={Path(w).stem}", 1)


DIFFUSION = register(DiffusionEngine())
