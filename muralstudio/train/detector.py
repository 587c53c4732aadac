"""Training the damage detector on clean mural patches with synthetic damage, plus labelled
crack photographs (CrackForest) for the crack class.

Validation uses patches of the held-out validation murals with damage drawn from a fixed
seed, and the held-out crack photographs (every ``CRACK_HOLDOUT``-th, never trained on):
per class IoU and F1 at threshold 0.5, summed over the whole set.
"""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Generator

import numpy as np
import torch
import torch.nn.functional as F

from muralstudio import __version__
from muralstudio.core.errors import TrainingError
from muralstudio.core.progress import Progress
from muralstudio.demo.mural import make_clean_mural
from muralstudio.io.masks import read_mask
from muralstudio.nets.detector import ARCH, DamageUNet, DetectorConfig
from muralstudio.nets.weights import choose_device, load_state, load_weights
from muralstudio.train.damage import CLASSES, SamplePool, crack_photo_samples, damage_patch, synthetic_samples
from muralstudio.train.loop import LoopState, RunFiles, save_checkpoint, save_weights, start_state, timed_loop
from muralstudio.train.patches import PatchConfig, PatchSource, far_apart, image_files, load_rgb8

CRACK_HOLDOUT = 6  # every 6th CrackForest image (sorted by name) is held out: 20 of 118
CRACK_POS_WEIGHT = 4.0  # cracks are thin: their positives weigh more in the cross-entropy
KEY_FIGURES = ("crack_f1", "crackforest_f1", "loss_iou", "flaking_iou")


@dataclass
class DetectorTrainConfig:
    """Everything a run depends on; saved beside the weights."""

    data: list[str]
    out: str
    minutes: float
    cracks: str | None = None  # a CrackForest-like folder with image/ and mask/
    init: str | None = None
    net: dict[str, int] = field(default_factory=lambda: DetectorConfig().to_dict())
    patch: int = 256
    batch: int = 8
    lr: float = 1e-3
    crack_share: float = 0.25  # share of samples from the crack photographs
    demo_share: float = 0.15  # share from synthetic demo murals
    pool: int = 384  # samples kept and reused with new flips and turns
    refresh: int = 3  # samples replaced per batch
    bf16: bool = False  # steps as the engine's bfloat16 (finest levels float32); validation in float32
    device: str | None = None
    seed: int = 0
    max_side: int = 2048
    validate_every: float = 180.0
    checkpoint_every: float = 300.0
    validation_patches: int = 64
    resume: bool = False


def crack_pairs(folder: Path, held_out: bool) -> list[tuple[Path, Path]]:
    """(image, mask) pairs of a CrackForest-like folder: the training ones or the held-out ones."""
    images = sorted(p for p in (folder / "image").iterdir() if p.is_file())
    masks = {p.stem: p for p in (folder / "mask").iterdir() if p.is_file()}
    pairs = [(p, masks[p.stem]) for p in images if p.stem in masks]
    return [pr for i, pr in enumerate(pairs) if (i % CRACK_HOLDOUT == CRACK_HOLDOUT - 1) == held_out]


def load_crack_pairs(pairs: list[tuple[Path, Path]]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    images = [load_rgb8(p) for p, _ in pairs]
    masks = [read_mask(m, img.shape[:2]) for (_, m), img in zip(pairs, images)]
    return images, masks


def scores(counts: np.ndarray) -> dict[str, float]:
    """IoU and F1 per class from (C, 3) true-positive, false-positive, false-negative counts."""
    out: dict[str, float] = {}
    for name, (tp, fp, fn) in zip(CLASSES, counts):
        if tp + fn == 0:
            continue  # nothing of this class to find
        out[f"{name}_iou"] = round(float(tp / max(tp + fp + fn, 1)), 4)
        out[f"{name}_f1"] = round(float(2 * tp / max(2 * tp + fp + fn, 1)), 4)
    return out


def count(prob: np.ndarray, truth: np.ndarray, known: np.ndarray | None = None, threshold: float = 0.5) -> np.ndarray:
    """(C, 3) TP/FP/FN of probabilities (N, C, H, W) against bool truth; unknown classes count 0."""
    pred = prob >= threshold
    tp = (pred & truth).sum(axis=(0, 2, 3))
    fp = (pred & ~truth).sum(axis=(0, 2, 3))
    fn = (~pred & truth).sum(axis=(0, 2, 3))
    out = np.stack([tp, fp, fn], 1).astype(np.int64)
    if known is not None:
        out[~known] = 0
    return out


class DetectorRun:
    """One training run: samples, network, loss and the steps of the loop."""

    def __init__(self, cfg: DetectorTrainConfig, murals: list[np.ndarray], demo: list[np.ndarray],
                 cracks: tuple[list[np.ndarray], list[np.ndarray]] | None,
                 val: tuple[np.ndarray, np.ndarray], val_cracks: tuple[list[np.ndarray], list[np.ndarray]] | None,
                 log: Callable[[str], None] = print) -> None:
        self.cfg, self.log = cfg, log
        self.device = choose_device(cfg.device)
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        pc = PatchConfig(size=cfg.patch, per_image=12, scale=(0.35, 1.0))
        mural_share = 1.0 - cfg.demo_share - (cfg.crack_share if cracks else 0.0)
        sources = [(synthetic_samples(iter(PatchSource(murals, pc, cfg.seed)), rng), mural_share)]
        if demo:
            sources.append((synthetic_samples(iter(PatchSource(demo, pc, cfg.seed + 1)), rng), cfg.demo_share))
        if cracks:
            sources.append((crack_photo_samples(*cracks, cfg.patch, rng), cfg.crack_share))
        self.pool = SamplePool(sources, cfg.pool, rng)
        self.val, self.val_cracks = val, val_cracks
        net_cfg = DetectorConfig(**cfg.net)
        self.model = DamageUNet(net_cfg).to(self.device).to(memory_format=torch.channels_last)
        self.init_sha = None
        if cfg.init:
            w = load_weights(cfg.init, ARCH)
            if DetectorConfig(**w.config) != net_cfg:
                raise TrainingError("The --init weights were made for another detector size.")
            load_state(self.model, w)
            self.init_sha = w.sha256
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.pos_weight = torch.ones(len(CLASSES), device=self.device)
        self.pos_weight[CLASSES.index("crack")] = CRACK_POS_WEIGHT
        self.files = RunFiles(Path(cfg.out))

    def _tensor(self, images: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.require(images, requirements=["C", "W"])).to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
        return t.contiguous(memory_format=torch.channels_last)

    def loss(self, logits: torch.Tensor, labels: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """Cross-entropy plus soft Dice per class, each over the classes a sample's labels know."""
        w = known[:, :, None, None].float()
        bce = F.binary_cross_entropy_with_logits(logits, labels, pos_weight=self.pos_weight[None, :, None, None],
                                                 reduction="none")
        bce = (bce * w).sum() / (w.sum() * logits.shape[2] * logits.shape[3]).clamp(min=1)
        p = torch.sigmoid(logits) * w
        inter = (p * labels).sum(dim=(0, 2, 3))
        total = p.sum(dim=(0, 2, 3)) + (labels * w).sum(dim=(0, 2, 3))
        has = known.any(dim=0).float()
        dice = 1 - (2 * inter + 1) / (total + 1)
        return bce + (dice * has).sum() / has.sum().clamp(min=1)

    def step(self) -> tuple[float, int]:
        self.model.train()
        images, labels, known = self.pool.batch(self.cfg.batch, self.cfg.refresh)
        x = self._tensor(images)
        y = torch.from_numpy(labels).to(self.device).float()
        k = torch.from_numpy(known).to(self.device)
        total = self.loss(self.model(x, torch.bfloat16 if self.cfg.bf16 else torch.float32), y, k)
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        return float(total.detach()), len(images)

    @torch.no_grad()
    def predict(self, images: np.ndarray) -> np.ndarray:
        """(N, C, H, W) probabilities of (N, H, W, 3) uint8 images (sizes multiples of 2**depth)."""
        self.model.eval()
        out = [torch.sigmoid(self.model(self._tensor(images[i : i + 8]))).float().cpu().numpy()
               for i in range(0, len(images), 8)]
        return np.concatenate(out)

    def validate(self) -> dict[str, float]:
        images, labels = self.val
        figures = scores(count(self.predict(images), labels))
        if self.val_cracks:
            counts = np.zeros((len(CLASSES), 3), np.int64)
            ci = CLASSES.index("crack")
            for img, mask in zip(*self.val_cracks):
                h, w = (s // self.model.multiple * self.model.multiple for s in mask.shape)
                prob = self.predict(img[None, :h, :w])
                counts[ci] += count(prob[:, ci : ci + 1], mask[None, None, :h, :w])[0]
            figures["crackforest_f1"] = scores(counts).get("crack_f1", 0.0)
        figures["score"] = round(float(np.mean([figures.get(k, 0.0) for k in KEY_FIGURES])), 4)
        return figures

    def meta(self, state: LoopState) -> dict[str, Any]:
        return {"software": f"muralstudio {__version__}", "torch": str(torch.__version__),
                "machine": platform.machine(), "device": str(self.device), "steps": state.step,
                "images_seen": state.images, "minutes": round(state.elapsed / 60, 2), "classes": list(CLASSES),
                "validation": state.best, "init_sha256": self.init_sha}

    def run(self) -> Generator[Progress, None, LoopState]:
        cfg = self.cfg
        state = start_state(self.files, self.model, self.optimizer, cfg.resume, cfg.lr, self.log)
        seconds = cfg.minutes * 60

        def on_best(s: LoopState) -> None:
            save_weights(self.files, ARCH, cfg.net, self.model, self.meta(s), asdict(cfg))

        return (yield from timed_loop(
            seconds, self.step, self.validate, on_best,
            lambda s: save_checkpoint(self.files, self.model, self.optimizer, s), state, "score", self.log,
            cfg.validate_every, cfg.checkpoint_every,
        ))


def validation_set(paths: list[Path], size: int, count_: int, max_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Patches of held-out murals damaged from a fixed seed: (N, H, W, 3) uint8 and (N, C, H, W) bool."""
    rng = np.random.default_rng(4242)
    per = max(1, -(-count_ // max(1, len(paths))))
    images, labels = [], []
    for p in paths:
        img = load_rgb8(p, max_side)
        h, w = img.shape[:2]
        if h < size or w < size:
            continue
        for cy, cx in far_apart(h - size, w - size, per, rng):
            clean = np.ascontiguousarray(img[int(cy) : int(cy) + size, int(cx) : int(cx) + size])
            damaged, masks = damage_patch(clean, rng)
            images.append(damaged)
            labels.append(masks)
    return np.stack(images[:count_]), np.stack(labels[:count_])


def train_detector(cfg: DetectorTrainConfig, log: Callable[[str], None] = print) -> Generator[Progress, None, LoopState]:
    """Train on ``cfg.data`` (validation murals excluded) and ``cfg.cracks`` for ``cfg.minutes``."""
    folders = [Path(d) for d in cfg.data]
    for d in folders + ([Path(cfg.cracks)] if cfg.cracks else []):
        if not d.exists():
            raise TrainingError(f"The folder {d} does not exist.")
    if cfg.cracks and not ((Path(cfg.cracks) / "image").is_dir() and (Path(cfg.cracks) / "mask").is_dir()):
        raise TrainingError(f"The crack folder {cfg.cracks} needs image/ and mask/ sub-folders.")
    if cfg.patch % 2 ** DetectorConfig(**cfg.net).depth:
        raise TrainingError(f"The patch size must be a multiple of {2 ** DetectorConfig(**cfg.net).depth}.")
    paths, val_paths = image_files(folders), image_files(folders, validation=True)
    if not paths:
        raise TrainingError("No training images found in " + ", ".join(cfg.data) + ".")
    yield Progress(0.0, f"Loading {len(paths)} images")
    murals = [im for im in (load_rgb8(p, cfg.max_side) for p in paths) if min(im.shape[:2]) >= cfg.patch]
    yield Progress(0.0, "Painting demo murals")
    demo = [((make_clean_mural(1024, 768, seed=100 + i) >> 8).astype(np.uint8)) for i in range(4)] \
        if cfg.demo_share > 0 else []
    cracks = val_cracks = None
    if cfg.cracks:
        cracks = load_crack_pairs(crack_pairs(Path(cfg.cracks), held_out=False))
        val_cracks = load_crack_pairs(crack_pairs(Path(cfg.cracks), held_out=True))
    val = validation_set(val_paths or paths[:3], cfg.patch, cfg.validation_patches, cfg.max_side)
    log(f"{len(murals)} training murals, {len(demo)} demo murals, "
        f"{len(cracks[0]) if cracks else 0} crack photographs (+{len(val_cracks[0]) if val_cracks else 0} held out), "
        f"{len(val[0])} validation patches from {len(val_paths)} held-out murals")
    run = DetectorRun(cfg, murals, demo, cracks, val, val_cracks, log=log)
    return (yield from run.run())
