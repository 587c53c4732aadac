"""Training the PConv U-Net on mural patches.

``train_pconv`` learns from folders of murals (optionally pre-training on other paintings
first); :class:`PConvRun` holds one run's data, network, loss and steps and is shared with
fine-tuning (``train.finetune``).
"""

from __future__ import annotations

import math
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Generator, Iterator

import cv2
import numpy as np
import torch

from muralstudio import __version__
from muralstudio.core.errors import TrainingError
from muralstudio.core.progress import Progress
from muralstudio.nets.features import feature_function
from muralstudio.nets.pconv import ARCH, PConvConfig, PConvUNet, composite
from muralstudio.nets.weights import choose_device, load_state, load_weights
from muralstudio.ops.metrics import hole_sharpness, psnr
from muralstudio.train.holes import DEFAULT_KINDS, DEFAULT_RATIOS, HoleSampler, mask_files
from muralstudio.train.losses import NEEDS_FEATURES, PRESETS, TERMS, FeatureFn, InpaintLoss
from muralstudio.train.loop import (
    LoopState, RunFiles, WeightAverage, save_checkpoint, save_weights, shuffled_batches, start_state, timed_loop,
    to_tensor,
)
from muralstudio.train.patches import PatchConfig, PatchSource, far_apart, image_files, load_rgb8
from muralstudio.train.stream import batch_stream

VALIDATION_RATIO = (0.10, 0.30)


@dataclass
class PConvTrainConfig:
    """Everything a run depends on; saved beside the weights."""

    data: list[str]
    out: str
    minutes: float
    masks: list[str] = field(default_factory=list)
    pretrain: list[str] = field(default_factory=list)
    pretrain_share: float = 0.25
    init: str | None = None
    features: str | None = None
    net: dict[str, float] = field(default_factory=lambda: PConvConfig().to_dict())
    patch: int = 256
    batch: int = 8
    lr: float = 2e-4
    loss: str = "s0"
    loss_weights: dict[str, float] = field(default_factory=dict)
    ratios: list[tuple[float, float, float]] = field(  # (low, high, weight) of the hole-ratio mix
        default_factory=lambda: [(lo, hi, w) for (lo, hi), w in DEFAULT_RATIOS.items()])
    kinds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_KINDS))
    bf16: bool = False
    device: str | None = None
    seed: int = 0
    max_side: int = 2048
    per_image: int = 25
    min_scale: float = 0.5  # patches are taken from the source shrunk by up to this factor
    validate_every: float = 120.0
    checkpoint_every: float = 300.0
    validation_patches: int = 24
    resume: bool = False
    freeze_encoder_norm: bool = False
    workers: int = 0  # processes making batches (0: inline)
    ema: float = 0.0  # decay of the weight average that is validated and saved; 0: the raw weights


def _hole_sampler(cfg: PConvTrainConfig, seed: int, validation: bool = False) -> HoleSampler:
    files = mask_files([Path(m) for m in cfg.masks], validation=validation)
    ratios = {(lo, hi): w for lo, hi, w in cfg.ratios}
    if validation:
        ratios = {VALIDATION_RATIO: 1.0}
    return HoleSampler(cfg.patch, files, ratios, dict(cfg.kinds), seed=seed)


def pconv_batches(cfg: PConvTrainConfig, images: list[np.ndarray], avoid: list[np.ndarray | None] | None,
                  seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless training batches: patches (n, h, w, 3) uint8 and their holes (n, h, w)."""
    rng = np.random.default_rng(seed)
    pc = PatchConfig(size=cfg.patch, per_image=cfg.per_image, scale=(cfg.min_scale, 1.0))
    source = shuffled_batches(iter(PatchSource(images, pc, seed, avoid)), cfg.batch, rng,
                              buffer=min(256, max(cfg.batch * 4, 16 * len(images))))
    holes = _hole_sampler(cfg, seed)
    for patches in source:
        yield patches, np.stack([holes.sample() for _ in range(len(patches))])


def validation_set(patches: list[np.ndarray], sampler: HoleSampler) -> tuple[np.ndarray, np.ndarray, float]:
    """Fixed patches with holes and Telea's PSNR on them (the baseline printed beside ours)."""
    holes = np.stack([sampler.sample() for _ in patches])
    truth = np.stack(patches)
    telea = []
    for img, hole in zip(truth, holes):
        filled = cv2.inpaint(img, hole.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
        telea.append(psnr(filled, img))
    return truth, holes, float(np.mean(telea))


def loss_weights(cfg: PConvTrainConfig) -> dict[str, float]:
    """The run's loss terms and weights, checked before any data is loaded."""
    if cfg.loss not in PRESETS:
        raise TrainingError(f"Unknown loss preset '{cfg.loss}'; choose {', '.join(PRESETS)}.")
    weights = {**PRESETS[cfg.loss], **cfg.loss_weights}
    unknown = set(weights) - set(TERMS)
    if unknown:
        raise TrainingError(f"Unknown loss term {', '.join(sorted(unknown))}; terms are {', '.join(TERMS)}.")
    if any(weights.get(t) for t in NEEDS_FEATURES) and not cfg.features:
        raise TrainingError("The perceptual and style terms need --features (a feature network from "
                            "'muralstudio train features', or a damage detector), or turn them off with "
                            "--term perceptual=0.")
    return weights


class PConvRun:
    """One training or fine-tuning run: data, network, loss and the steps of the loop."""

    def __init__(self, cfg: PConvTrainConfig, images: list[np.ndarray], val_patches: list[np.ndarray],
                 avoid: list[np.ndarray | None] | None = None, pretrain: list[np.ndarray] | None = None,
                 log: Callable[[str], None] = print, features: tuple[FeatureFn, str] | None = None) -> None:
        """``features``: the feature maps and their file's sha256 when the caller has loaded
        them already; otherwise they are loaded from ``cfg.features`` where the loss needs them."""
        self.cfg, self.log = cfg, log
        self.device = choose_device(cfg.device)
        torch.manual_seed(cfg.seed)
        self.source = batch_stream(lambda seed: pconv_batches(cfg, images, avoid, seed), cfg.seed, cfg.workers)
        self.pre_source = (batch_stream(lambda seed: pconv_batches(cfg, pretrain, None, seed), cfg.seed + 1,
                                        cfg.workers) if pretrain else None)
        self.val_truth, self.val_holes, self.telea_psnr = validation_set(val_patches, _hole_sampler(cfg, 12345, True))
        net_cfg = PConvConfig(**cfg.net)
        self.model = PConvUNet(net_cfg).to(self.device).to(memory_format=torch.channels_last)
        self.init_sha = None
        if cfg.init:
            w = load_weights(cfg.init, ARCH)
            if PConvConfig(**w.config) != net_cfg:
                self.model = PConvUNet(PConvConfig(**w.config)).to(self.device).to(memory_format=torch.channels_last)
                cfg.net = dict(w.config)
            load_state(self.model, w)
            self.init_sha = w.sha256
        weights = loss_weights(cfg)
        if any(weights.get(t) for t in NEEDS_FEATURES):
            fn, self.feature_sha = features or feature_function(cfg.features, self.device)
        else:
            fn, self.feature_sha = None, None
        self.loss = InpaintLoss(weights, fn)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.average = WeightAverage(self.model, cfg.ema) if cfg.ema > 0 else None
        self.files = RunFiles(Path(cfg.out))

    @property
    def sampled(self) -> PConvUNet:
        """The network that is validated and saved: the weight average when there is one."""
        return self.model if self.average is None else self.average.model

    def _train_mode(self) -> None:
        self.model.train()
        if self.cfg.freeze_encoder_norm:  # as in the published fine-tuning: encoder statistics fixed
            for layer in self.model.down:
                layer.norm.eval()

    def step(self, elapsed_share: float) -> tuple[float, int]:
        self._train_mode()
        use_pre = self.pre_source is not None and elapsed_share < self.cfg.pretrain_share
        patches, holes = next(self.pre_source if use_pre else self.source)  # type: ignore[arg-type]
        truth = to_tensor(patches, self.device)
        known = torch.from_numpy(~holes).to(self.device).float()[:, None].contiguous(memory_format=torch.channels_last)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16):
            out = self.model(truth * known, known)
        total, _ = self.loss(out.float(), truth, known)
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        if self.average is not None:
            self.average.update(self.model)
        return float(total.detach()), len(patches)

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        model = self.sampled.eval()
        scores: list[float] = []
        sharp: list[float] = []
        for i in range(0, len(self.val_truth), 8):
            truth = to_tensor(self.val_truth[i : i + 8], self.device)
            known = torch.from_numpy(~self.val_holes[i : i + 8]).to(self.device).float()[:, None]
            comp = composite(truth, known, model(truth * known, known).clamp(0, 1))
            pred = (comp * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()
            scores += [psnr(p, t) for p, t in zip(pred, self.val_truth[i : i + 8])]
            sharp += [hole_sharpness(p, t, h) for p, t, h in zip(pred, self.val_truth[i : i + 8],
                                                                 self.val_holes[i : i + 8])]
        mean = float(np.mean(scores))
        return {"patch": self.cfg.patch, "psnr": round(mean, 3), "telea_psnr": round(self.telea_psnr, 3),
                "gain_db": round(mean - self.telea_psnr, 3), "sharpness": round(float(np.mean(sharp)), 3)}

    def meta(self, state: LoopState) -> dict[str, Any]:
        return {"software": f"muralstudio {__version__}", "torch": str(torch.__version__),
                "machine": platform.machine(), "device": str(self.device), "steps": state.step,
                "images_seen": state.images, "minutes": round(state.elapsed / 60, 2),
                "validation": state.best, "init_sha256": self.init_sha, "features_sha256": self.feature_sha,
                "loss_weights": self.loss.weights}

    def run(self) -> Generator[Progress, None, LoopState]:
        cfg = self.cfg
        state = start_state(self.files, self.model, self.optimizer, cfg.resume, cfg.lr, self.log, self.average)
        if state.step and state.best.get("patch") != cfg.patch:  # figures on other patch sizes do not compare
            state.best = {}
        seconds = cfg.minutes * 60

        def on_best(s: LoopState) -> None:
            save_weights(self.files, ARCH, cfg.net, self.sampled, self.meta(s), asdict(cfg))

        return (yield from timed_loop(
            seconds, lambda: self.step(state.elapsed / seconds), self.validate, on_best,
            lambda s: save_checkpoint(self.files, self.model, self.optimizer, s, self.average), state, "psnr", self.log,
            cfg.validate_every, cfg.checkpoint_every,
        ))


def validation_patches(paths: list[Path], size: int, count: int, max_side: int) -> list[np.ndarray]:
    rng = np.random.default_rng(777)
    per = max(1, math.ceil(count / max(1, len(paths))))
    out: list[np.ndarray] = []
    for p in paths:
        img = load_rgb8(p, max_side)
        h, w = img.shape[:2]
        if h < size or w < size:
            continue
        for cy, cx in far_apart(h - size, w - size, per, rng):
            out.append(np.ascontiguousarray(img[int(cy) : int(cy) + size, int(cx) : int(cx) + size]))
    return out[:count]


def train_pconv(cfg: PConvTrainConfig, log: Callable[[str], None] = print) -> Generator[Progress, None, LoopState]:
    """Train on ``cfg.data`` (validation images excluded) for ``cfg.minutes``."""
    features = None
    if any(loss_weights(cfg).get(t) for t in NEEDS_FEATURES):  # a wrong or damaged file fails before the data loads
        features = feature_function(cfg.features, choose_device(cfg.device))
    folders = [Path(d) for d in cfg.data]
    for d in folders + [Path(p) for p in cfg.pretrain + cfg.masks]:
        if not d.exists():
            raise TrainingError(f"The folder {d} does not exist.")
    paths = image_files(folders)
    val_paths = image_files(folders, validation=True)
    if not paths:
        raise TrainingError("No training images found in " + ", ".join(cfg.data) + ".")
    yield Progress(0.0, f"Loading {len(paths)} images")
    images = [load_rgb8(p, cfg.max_side) for p in paths]
    images = [im for im in images if min(im.shape[:2]) >= cfg.patch]
    pretrain = [load_rgb8(p, cfg.max_side) for p in image_files([Path(d) for d in cfg.pretrain])]
    val = validation_patches(val_paths or paths[:3], cfg.patch, cfg.validation_patches, cfg.max_side)
    log(f"{len(images)} training images, {len(pretrain)} pre-training images, "
        f"{len(val)} validation patches from {len(val_paths)} held-out images")
    run = PConvRun(cfg, images, val, pretrain=[p for p in pretrain if min(p.shape[:2]) >= cfg.patch], log=log,
                   features=features)
    return (yield from run.run())
