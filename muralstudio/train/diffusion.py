"""Training the conditional denoiser of the diffusion engine.

Each sample is a mural patch (taken at a random shrink, since the engine's coarse scale sees
damage shrunk to its working size) with a hole from the PConv trainer's mix, weighted towards
the large losses diffusion is for. The condition is the patch with its hole smoothly filled
(``ops.fill``), the hole, and, for most samples, guide lines: the true image's edges near the
hole, with some lines left out at random, as a user draws only the lines that matter. Line
drawings (``--drawings``, e.g. ``murals/dunhuang-line-drawings``, which are not registered to
any photograph) are mixed in as images whose guides are their own strokes, so the network
learns to put a line wherever a guide runs. The loss is the mean squared error of v, in the
hole and, less, around it.

What is validated and saved is an exponential moving average of the weights (``--ema``, as
diffusion models are usually sampled): the weights of any one step swing with the noise of
the last batches, which showed as validation PSNR jumping by a decibel between checks.
Validation samples held-out patches with the engine's sampler (a fixed seed, few steps) and
reports PSNR, hole sharpness and GMSD over the hole beside Telea's; the weights kept are those
with the lowest GMSD (reported as ``gms`` = 1 − GMSD, higher is better), the structural
measure that penalises both blur and invented noise.
"""

from __future__ import annotations

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
from muralstudio.nets.ddim import ddim_sample
from muralstudio.nets.diffusion import ARCH, DenoiserUNet, DiffusionConfig, alpha_sigma, pack_condition
from muralstudio.nets.weights import choose_device, load_state, load_weights
from muralstudio.ops.fill import smooth_fill
from muralstudio.ops.guides import edge_map, near_hole
from muralstudio.ops.metrics import gmsd, hole_sharpness, psnr
from muralstudio.train.holes import DEFAULT_KINDS, HoleSampler, mask_files
from muralstudio.train.inpaint import validation_patches
from muralstudio.train.loop import (
    LoopState, RunFiles, WeightAverage, save_checkpoint, save_weights, shuffled_batches, start_state, timed_loop,
)
from muralstudio.train.patches import PatchConfig, PatchSource, image_files, load_rgb8
from muralstudio.train.stream import batch_stream

RATIOS = {(0.01, 0.10): 0.15, (0.10, 0.30): 0.45, (0.30, 0.50): 0.40}
VALIDATION_RATIO = (0.10, 0.50)
VALIDATION_STEPS = 10


@dataclass
class DiffusionTrainConfig:
    """Everything a run depends on; saved beside the weights."""

    data: list[str]
    out: str
    minutes: float
    masks: list[str] = field(default_factory=list)
    drawings: list[str] = field(default_factory=list)
    drawing_share: float = 0.1
    guide_share: float = 0.6  # samples given guide lines
    init: str | None = None
    net: dict[str, int] = field(default_factory=lambda: DiffusionConfig().to_dict())
    patch: int = 128
    batch: int = 12
    lr: float = 3e-4
    ema: float = 0.999  # decay of the weight average that is validated and saved; 0: the raw weights
    known_weight: float = 0.25  # loss weight of known pixels relative to the hole
    bf16: bool = False  # steps under bfloat16 autocast; validation and saved weights stay float32
    device: str | None = None
    seed: int = 0
    max_side: int = 2048
    per_image: int = 25
    min_scale: float = 0.25
    validate_every: float = 300.0
    checkpoint_every: float = 300.0
    validation_patches: int = 32
    resume: bool = False
    workers: int = 0  # processes making batches (0: inline)


def training_guide(truth: np.ndarray, hole: np.ndarray, rng: np.random.Generator, keep: float = 1.0) -> np.ndarray:
    """Guide lines for a training sample: edges of ``truth`` near ``hole``, each connected line
    kept with probability ``keep``."""
    lines = edge_map(truth) & near_hole(hole)
    if keep >= 1.0 or not lines.any():
        return lines
    n, labels = cv2.connectedComponents(lines.astype(np.uint8), connectivity=8)
    kept = np.concatenate([[False], rng.random(n - 1) < keep])
    return kept[labels]


def _to_nchw(arr: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(arr)).to(device).permute(0, 3, 1, 2).float()


def prefills(truth: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """The smooth fills (n, h, w, 3) in [0, 1] that the condition carries, as the engine makes them."""
    return np.stack([smooth_fill(t.astype(np.float32) / 255.0, h) for t, h in zip(truth, holes)])


def diffusion_batches(cfg: DiffusionTrainConfig, images: list[np.ndarray], drawings: list[np.ndarray],
                      mask_paths: list[Path], seed: int
                      ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Endless training batches as numpy arrays: truth (n, h, w, 3) uint8, holes and guides
    (n, h, w) and the smooth fills."""
    rng = np.random.default_rng(seed)
    pc = PatchConfig(size=cfg.patch, per_image=cfg.per_image, scale=(cfg.min_scale, 1.0))
    source = shuffled_batches(iter(PatchSource(images, pc, seed)), cfg.batch, rng,
                              buffer=min(256, max(cfg.batch * 4, 16 * len(images))))
    drawn_source = (iter(PatchSource(drawings, PatchConfig(size=cfg.patch, per_image=8, scale=(0.35, 1.0)),
                                     seed + 1)) if drawings else None)
    sampler = HoleSampler(cfg.patch, mask_paths, dict(RATIOS), dict(DEFAULT_KINDS), seed=seed)
    for patches in source:
        truth = list(patches)
        drawn = [False] * len(truth)
        if drawn_source is not None:
            for i in range(len(truth)):
                if rng.random() < cfg.drawing_share:
                    truth[i], drawn[i] = next(drawn_source), True
        holes = [sampler.sample() for _ in truth]
        guides = [training_guide(t, h, rng, 1.0 if d else rng.uniform(0.4, 1.0))
                  if d or rng.random() < cfg.guide_share else np.zeros_like(h)
                  for t, h, d in zip(truth, holes, drawn)]
        stacked, hole_stack = np.stack(truth), np.stack(holes)
        yield stacked, hole_stack, np.stack(guides), prefills(stacked, hole_stack)


class DiffusionRun:
    """One training run: data, network, loss and the steps of the loop."""

    def __init__(self, cfg: DiffusionTrainConfig, images: list[np.ndarray], drawings: list[np.ndarray],
                 val_patches: list[np.ndarray], log: Callable[[str], None] = print) -> None:
        self.cfg, self.log = cfg, log
        self.device = choose_device(cfg.device)
        torch.manual_seed(cfg.seed)
        files = mask_files([Path(m) for m in cfg.masks])
        self.batches = batch_stream(lambda seed: diffusion_batches(cfg, images, drawings, files, seed),
                                    cfg.seed, cfg.workers)
        val_holes = HoleSampler(cfg.patch, mask_files([Path(m) for m in cfg.masks], validation=True),
                                {VALIDATION_RATIO: 1.0}, dict(DEFAULT_KINDS), seed=12345)
        self._validation_set(val_patches, val_holes)
        net_cfg = DiffusionConfig(**cfg.net)
        self.init_sha = None
        if cfg.init:
            w = load_weights(cfg.init, ARCH)
            net_cfg = DiffusionConfig(**{k: int(v) for k, v in w.config.items()})
            cfg.net = net_cfg.to_dict()
        self.model = DenoiserUNet(net_cfg).to(self.device).to(memory_format=torch.channels_last)
        if cfg.init:
            load_state(self.model, w)
            self.init_sha = w.sha256
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=1e-4)
        self.average = WeightAverage(self.model, cfg.ema) if cfg.ema > 0 else None
        self.files = RunFiles(Path(cfg.out))

    @property
    def sampled(self) -> DenoiserUNet:
        """The network that is validated and saved: the weight average when there is one."""
        return self.model if self.average is None else self.average.model

    def _validation_set(self, patches: list[np.ndarray], sampler: HoleSampler) -> None:
        rng = np.random.default_rng(54321)
        self.val_truth = np.stack(patches)
        self.val_holes = np.stack([sampler.sample() for _ in patches])
        self.val_guides = np.stack([training_guide(t, h, rng) if i % 2 else np.zeros_like(h)
                                    for i, (t, h) in enumerate(zip(self.val_truth, self.val_holes))])
        self.val_filled = prefills(self.val_truth, self.val_holes)
        self.val_noise = torch.from_numpy(rng.standard_normal(self.val_truth.shape, np.float32)).permute(0, 3, 1, 2)
        telea = [cv2.inpaint(t, h.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
                 for t, h in zip(self.val_truth, self.val_holes)]
        self.telea = self._figures(np.stack(telea))

    def _figures(self, preds: np.ndarray) -> dict[str, float]:
        t, h = self.val_truth, self.val_holes
        return {"psnr": float(np.mean([psnr(p, x) for p, x in zip(preds, t)])),
                "sharpness": float(np.mean([hole_sharpness(p, x, m) for p, x, m in zip(preds, t, h)])),
                "gmsd": float(np.mean([gmsd(p, x, m) for p, x, m in zip(preds, t, h)]))}

    def tensors(self, truth: np.ndarray, holes: np.ndarray, guides: np.ndarray, filled: np.ndarray
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Clean images in [-1, 1], conditions (as the engine builds them) and holes as
        (n, c, h, w) tensors."""
        x0 = _to_nchw(truth.astype(np.float32) / 127.5 - 1.0, self.device)
        hole = torch.from_numpy(holes).to(self.device).float()[:, None]
        guide = torch.from_numpy(guides).to(self.device).float()[:, None]
        cond = pack_condition(_to_nchw(filled * 2.0 - 1.0, self.device), hole, guide)
        return (x0.contiguous(memory_format=torch.channels_last),
                cond.contiguous(memory_format=torch.channels_last), hole)

    def step(self) -> tuple[float, int]:
        self.model.train()
        x0, cond, hole = self.tensors(*next(self.batches))
        n = x0.shape[0]
        t = torch.rand(n, device=self.device)
        a, s = (v.view(n, 1, 1, 1) for v in alpha_sigma(t))
        noise = torch.randn_like(x0)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16):
            v_pred = self.model(a * x0 + s * noise, cond, t)
        target = a * noise - s * x0
        weight = hole + self.cfg.known_weight * (1 - hole)
        loss = ((v_pred.float() - target) ** 2 * weight).sum() / (weight.sum() * 3)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        if self.average is not None:
            self.average.update(self.model)
        return float(loss.detach()), n

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        model = self.sampled
        model.eval()
        preds = []
        for i in range(0, len(self.val_truth), 16):
            sl = slice(i, i + 16)
            x0, cond, hole = self.tensors(self.val_truth[sl], self.val_holes[sl], self.val_guides[sl],
                                          self.val_filled[sl])
            run = ddim_sample(model, cond, x0, hole, self.val_noise[sl].to(self.device), VALIDATION_STEPS)
            while True:
                try:
                    next(run)
                except StopIteration as stop:
                    out = stop.value
                    break
            preds.append(((out.float() + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy())
        ours = self._figures(np.concatenate(preds))
        return {"patch": self.cfg.patch, "psnr": round(ours["psnr"], 3), "telea_psnr": round(self.telea["psnr"], 3),
                "sharpness": round(ours["sharpness"], 3), "telea_sharpness": round(self.telea["sharpness"], 3),
                "gmsd": round(ours["gmsd"], 4), "telea_gmsd": round(self.telea["gmsd"], 4),
                "gms": round(1.0 - ours["gmsd"], 4)}

    def meta(self, state: LoopState) -> dict[str, Any]:
        return {"software": f"muralstudio {__version__}", "torch": str(torch.__version__),
                "machine": platform.machine(), "device": str(self.device), "steps": state.step,
                "images_seen": state.images, "minutes": round(state.elapsed / 60, 2),
                "validation": state.best, "init_sha256": self.init_sha}

    def run(self) -> Generator[Progress, None, LoopState]:
        cfg = self.cfg
        state = start_state(self.files, self.model, self.optimizer, cfg.resume, cfg.lr, self.log, self.average)
        if state.step and state.best.get("patch") != cfg.patch:
            state.best = {}
        seconds = cfg.minutes * 60

        def on_best(s: LoopState) -> None:
            save_weights(self.files, ARCH, cfg.net, self.sampled, self.meta(s), asdict(cfg))

        return (yield from timed_loop(
            seconds, self.step, self.validate, on_best,
            lambda s: save_checkpoint(self.files, self.model, self.optimizer, s, self.average), state, "gms", self.log,
            cfg.validate_every, cfg.checkpoint_every,
        ))


def train_diffusion(cfg: DiffusionTrainConfig, log: Callable[[str], None] = print
                    ) -> Generator[Progress, None, LoopState]:
    """Train on ``cfg.data`` (validation images excluded) for ``cfg.minutes``."""
    multiple = 2 ** DiffusionConfig(**cfg.net).depth
    if cfg.patch % multiple:
        raise TrainingError(f"--patch must be a multiple of {multiple} for this network.")
    folders = [Path(d) for d in cfg.data]
    for d in folders + [Path(p) for p in cfg.masks + cfg.drawings]:
        if not d.exists():
            raise TrainingError(f"The folder {d} does not exist.")
    paths = image_files(folders)
    val_paths = image_files(folders, validation=True)
    if not paths:
        raise TrainingError("No training images found in " + ", ".join(cfg.data) + ".")
    drawing_paths = [p for d in cfg.drawings for p in sorted(Path(d).rglob("*")) if p.is_file()
                     and p.suffix.lower() in (".jpg", ".jpeg", ".png", ".tif", ".tiff")]
    yield Progress(0.0, f"Loading {len(paths)} images")
    images = [im for im in (load_rgb8(p, cfg.max_side) for p in paths) if min(im.shape[:2]) >= cfg.patch]
    drawings = [im for im in (load_rgb8(p, cfg.max_side) for p in drawing_paths) if min(im.shape[:2]) >= cfg.patch]
    val = validation_patches(val_paths or paths[:3], cfg.patch, cfg.validation_patches, cfg.max_side)
    log(f"{len(images)} training images, {len(drawings)} line drawings, "
        f"{len(val)} validation patches from {len(val_paths)} held-out images")
    run = DiffusionRun(cfg, images, drawings, val, log=log)
    return (yield from run.run())
