"""Training the colorization network on clean mural patches with synthetic fading.

A window of a mural, the size of a scan at the engine's working size, is faded over soft
regions (or made fully grey) and its colour-statistics estimate is made over the whole
window, as the engine makes it over a scan; the network then learns on patches of that
window to correct the estimate towards the true a, b inside the region from L, the faded
colour, the estimate, and hints sampled from the truth for half of the samples. So faded
regions in training are as large, relative to the network's view, as in use (training on
patches faded by themselves gave small regions and did not carry over to whole scans).
The loss is L1 on a and b inside the region, in Lab units.

The colour prior (the training murals' mean a, b per lightness) is measured at the start and
kept in the network: it is the estimate for regions with no intact colour around them.

Validation uses whole windows of the held-out validation murals faded from a fixed seed: the
mean CIEDE2000 inside the region of the faded input, of the colour-statistics baseline (the
prior for grey windows), of the network without hints and with 5 hints (spread over the
result as the engine spreads them). The weights kept are
those with the largest improvement over the baseline.
"""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Generator, Iterator

import numpy as np
import torch

from muralstudio import __version__
from muralstudio.core.errors import TrainingError
from muralstudio.core.progress import Progress
from muralstudio.nets.colorize import ARCH, PRIOR_BINS, ColorizeConfig, ColorizeUNet, pack_inputs
from muralstudio.nets.weights import choose_device, load_state, load_weights
from muralstudio.ops.colour import ciede2000, lightness_prior, match_surroundings, region_depth, rgb_to_lab
from muralstudio.ops.hints import hint_maps, spread_hints
from muralstudio.train.fading import FadedSample, faded_sample, sample_hints
from muralstudio.train.loop import LoopState, RunFiles, save_checkpoint, save_weights, start_state, timed_loop
from muralstudio.train.patches import PatchConfig, PatchSource, far_apart, image_files, load_rgb8
from muralstudio.train.stream import batch_stream

VALIDATION_HINTS = 5


@dataclass
class ColorizeTrainConfig:
    """Everything a run depends on; saved beside the weights."""

    data: list[str]
    out: str
    minutes: float
    init: str | None = None
    net: dict[str, int] = field(default_factory=lambda: ColorizeConfig().to_dict())
    patch: int = 192
    window: int = 512  # side of the faded window patches are cut from (the engine's working size)
    crops_per_window: int = 3
    batch: int = 12
    lr: float = 5e-4
    grey_share: float = 0.2  # samples made fully grey
    hint_share: float = 0.5  # samples given hints
    max_hints: int = 10
    bf16: bool = False  # steps under bfloat16 autocast; validation and saved weights stay float32
    device: str | None = None
    seed: int = 0
    max_side: int = 1024
    validate_every: float = 180.0
    checkpoint_every: float = 300.0
    validation_patches: int = 24  # whole windows
    resume: bool = False
    workers: int = 0  # processes making batches (0: inline)


@dataclass
class Batch:
    """Network inputs and targets as tensors: Lab, estimated a and b, region and its depth,
    hints, true a and b."""

    lab: torch.Tensor
    estimate_ab: torch.Tensor
    region: torch.Tensor
    depth: torch.Tensor
    hint_ab: torch.Tensor
    hint_map: torch.Tensor
    truth_ab: torch.Tensor

    def inputs(self) -> torch.Tensor:
        return pack_inputs(self.lab, self.estimate_ab, self.region, self.depth, self.hint_ab, self.hint_map)


@dataclass
class Sample:
    """A faded sample with its colour-statistics estimate of a, b (H, W, 2) and the depth of
    its region (H, W, 2), both made over the whole window as the engine makes them."""

    faded: FadedSample
    estimate: np.ndarray
    depth: np.ndarray


def estimate(faded: FadedSample, prior: np.ndarray) -> Sample:
    """``faded`` with the estimate the engine would start from."""
    return Sample(faded, match_surroundings(faded.faded, faded.mask, prior=prior)[..., 1:], region_depth(faded.mask))


def crops_of(sample: Sample, size: int, count: int, rng: np.random.Generator) -> list[Sample]:
    """``count`` patches of ``size`` from ``sample``, each centred on a random region pixel."""
    s = sample.faded
    h, w = s.mask.shape
    ys, xs = np.nonzero(s.mask)
    out = []
    for _ in range(count):
        i = int(rng.integers(len(ys))) if len(ys) else None
        cy, cx = (ys[i], xs[i]) if i is not None else (h // 2, w // 2)
        y = int(np.clip(cy - size // 2, 0, h - size))
        x = int(np.clip(cx - size // 2, 0, w - size))
        box = (slice(y, y + size), slice(x, x + size))
        strength = None if s.strength is None else s.strength[box]
        out.append(Sample(FadedSample(s.faded[box], s.mask[box], s.truth[box], strength), sample.estimate[box],
                          sample.depth[box]))
    return out


def make_batch(samples: list[Sample], hints: list[list[tuple[int, int, float, float]]],
               device: torch.device) -> Batch:
    def t(arrays: list[np.ndarray]) -> torch.Tensor:
        x = torch.from_numpy(np.stack(arrays)).to(device)
        return (x.permute(0, 3, 1, 2) if x.ndim == 4 else x[:, None]).float().contiguous()

    faded = [s.faded for s in samples]
    maps = [hint_maps(f.mask.shape, h) for f, h in zip(faded, hints)]
    return Batch(t([f.faded for f in faded]), t([s.estimate for s in samples]),
                 t([f.mask.astype(np.float32) for f in faded]), t([s.depth for s in samples]),
                 t([m[0] for m in maps]), t([m[1] for m in maps]),
                 t([f.truth[..., 1:] for f in faded]))


def predict_ab(model: ColorizeUNet, batch: Batch) -> torch.Tensor:
    """a, b (N, 2, H, W): the network's inside the region, the input's outside."""
    out = model(batch.inputs())
    return torch.where(batch.region > 0.5, out, batch.lab[:, 1:])


def region_de(pred_ab: np.ndarray, sample: FadedSample) -> float:
    """Mean CIEDE2000 to the truth inside the region, lightness from the faded input."""
    lab = np.concatenate([sample.faded[..., :1], pred_ab], -1)
    return float(ciede2000(lab, sample.truth)[sample.mask].mean())


def colorize_batches(cfg: ColorizeTrainConfig, murals: list[np.ndarray], prior: np.ndarray, seed: int
                     ) -> Iterator[tuple[list[Sample], list[list[tuple[int, int, float, float]]]]]:
    """Endless training batches: samples cut from faded windows and the hints of each."""
    rng = np.random.default_rng(seed)
    windows = iter(PatchSource(murals, PatchConfig(size=cfg.window, per_image=4, scale=(0.5, 1.0)), seed))
    queue: list[Sample] = []
    while True:
        samples, hints = [], []
        for _ in range(cfg.batch):
            if not queue:
                window = estimate(faded_sample(next(windows), rng, cfg.grey_share), prior)
                queue = crops_of(window, cfg.patch, cfg.crops_per_window, rng)
            s = queue.pop()
            n = int(rng.integers(1, cfg.max_hints + 1)) if rng.random() < cfg.hint_share else 0
            samples.append(s)
            hints.append(sample_hints(s.faded.truth, s.faded.mask, n, rng))
        yield samples, hints


class ColorizeRun:
    """One training run: samples, network, loss and the steps of the loop."""

    def __init__(self, cfg: ColorizeTrainConfig, murals: list[np.ndarray], val: list[FadedSample],
                 log: Callable[[str], None] = print) -> None:
        self.cfg, self.log = cfg, log
        self.device = choose_device(cfg.device)
        torch.manual_seed(cfg.seed)
        net_cfg = ColorizeConfig(**cfg.net)
        self.model = ColorizeUNet(net_cfg).to(self.device)
        self.init_sha = None
        if cfg.init:
            w = load_weights(cfg.init, ARCH)
            if ColorizeConfig(**w.config) != net_cfg:
                raise TrainingError("The --init weights were made for another network size.")
            load_state(self.model, w)
            self.init_sha = w.sha256
        self.prior = lightness_prior([rgb_to_lab(m) for m in murals], PRIOR_BINS)
        self.batches = batch_stream(lambda seed: colorize_batches(cfg, murals, self.prior, seed), cfg.seed,
                                    cfg.workers)
        self.model.prior.copy_(torch.from_numpy(self.prior))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.files = RunFiles(Path(cfg.out))
        self.val = [estimate(s, self.prior) for s in val]
        hint_rng = np.random.default_rng(777)
        self.val_hints = [sample_hints(s.truth, s.mask, VALIDATION_HINTS, hint_rng) for s in val]
        self.baseline = [region_de(s.estimate, s.faded) for s in self.val]
        self.faded_de = [region_de(s.faded[..., 1:], s) for s in val]

    def step(self) -> tuple[float, int]:
        self.model.train()
        samples, hints = next(self.batches)
        batch = make_batch(samples, hints, self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16):
            pred = self.model(batch.inputs()).float()
        err = (pred - batch.truth_ab).abs().sum(dim=1, keepdim=True) * batch.region
        loss = err.sum() / batch.region.sum().clamp(min=1)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach()), len(samples)

    @torch.no_grad()
    def _val_ab(self, hints: list[list[tuple[int, int, float, float]]]) -> list[np.ndarray]:
        self.model.eval()
        out = []
        for i in range(0, len(self.val), 8):
            batch = make_batch(self.val[i : i + 8], hints[i : i + 8], self.device)
            out.extend(predict_ab(self.model, batch).permute(0, 2, 3, 1).float().cpu().numpy())
        return out

    def validate(self) -> dict[str, float]:
        plain = self._val_ab([[] for _ in self.val])
        hinted = [spread_hints(ab, s.faded.faded[..., 0], s.faded.mask, h)  # as the engine does
                  for ab, s, h in zip(self._val_ab(self.val_hints), self.val, self.val_hints)]
        de_net = float(np.mean([region_de(p, s.faded) for p, s in zip(plain, self.val)]))
        de_hints = float(np.mean([region_de(p, s.faded) for p, s in zip(hinted, self.val)]))
        de_base = float(np.mean(self.baseline))
        return {"de_faded": round(float(np.mean(self.faded_de)), 3), "de_baseline": round(de_base, 3),
                "de_net": round(de_net, 3), "de_hints5": round(de_hints, 3),
                "improvement": round(1 - de_net / de_base, 4)}

    def meta(self, state: LoopState) -> dict[str, Any]:
        return {"software": f"muralstudio {__version__}", "torch": str(torch.__version__),
                "machine": platform.machine(), "device": str(self.device), "steps": state.step,
                "images_seen": state.images, "minutes": round(state.elapsed / 60, 2),
                "validation": state.best, "init_sha256": self.init_sha}

    def run(self) -> Generator[Progress, None, LoopState]:
        cfg = self.cfg
        state = start_state(self.files, self.model, self.optimizer, cfg.resume, cfg.lr, self.log)

        def on_best(s: LoopState) -> None:
            save_weights(self.files, ARCH, cfg.net, self.model, self.meta(s), asdict(cfg))

        return (yield from timed_loop(
            cfg.minutes * 60, self.step, self.validate, on_best,
            lambda s: save_checkpoint(self.files, self.model, self.optimizer, s), state, "improvement", self.log,
            cfg.validate_every, cfg.checkpoint_every,
        ))


def validation_samples(paths: list[Path], size: int, count: int, max_side: int) -> list[FadedSample]:
    """Windows of held-out murals, each faded as a whole from a fixed seed (a third of them
    fully grey)."""
    rng = np.random.default_rng(4243)
    per = max(1, -(-count // max(1, len(paths))))
    out: list[FadedSample] = []
    for p in paths:
        img = load_rgb8(p, max_side)
        h, w = img.shape[:2]
        if h < size or w < size:
            continue
        for cy, cx in far_apart(h - size, w - size, per, rng):
            window = np.ascontiguousarray(img[int(cy) : int(cy) + size, int(cx) : int(cx) + size])
            out.append(faded_sample(window, rng, grey_share=1 / 3))
    return out[:count]


def train_colorize(cfg: ColorizeTrainConfig, log: Callable[[str], None] = print
                   ) -> Generator[Progress, None, LoopState]:
    """Train on ``cfg.data`` (validation murals excluded) for ``cfg.minutes``."""
    folders = [Path(d) for d in cfg.data]
    for d in folders:
        if not d.exists():
            raise TrainingError(f"The folder {d} does not exist.")
    multiple = 2 ** (ColorizeConfig(**cfg.net).depth + 1)
    for name, size in (("patch", cfg.patch), ("faded window", cfg.window)):
        if size % multiple:
            raise TrainingError(f"The {name} size must be a multiple of {multiple}.")
    if cfg.window < cfg.patch:
        raise TrainingError("The faded window must be at least as large as the patch.")
    paths, val_paths = image_files(folders), image_files(folders, validation=True)
    if not paths:
        raise TrainingError("No training images found in " + ", ".join(cfg.data) + ".")
    yield Progress(0.0, f"Loading {len(paths)} images")
    murals = [im for im in (load_rgb8(p, cfg.max_side) for p in paths) if min(im.shape[:2]) >= cfg.window]
    if not murals:
        raise TrainingError(f"No training image is at least {cfg.window} px on its short side.")
    val = validation_samples(val_paths or paths[:3], cfg.window, cfg.validation_patches, cfg.max_side)
    log(f"{len(murals)} training murals, {len(val)} validation windows of {cfg.window} px from "
        f"{len(val_paths)} held-out murals")
    run = ColorizeRun(cfg, murals, val, log=log)
    return (yield from run.run())
