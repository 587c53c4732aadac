"""Self-supervised training of the feature network used by perceptual and style losses.

The network learns to recognise a patch's rotation (0/90/180/270°) on mural patches; its
convolution stages then serve as the "deep features" of S0 and S2.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Generator

import numpy as np
import torch
import torch.nn.functional as F

from muralstudio import __version__
from muralstudio.core.errors import TrainingError
from muralstudio.core.progress import Progress
from muralstudio.nets.features import ARCH, FEATURE_WIDTHS, FeatureNet, rotation_batch
from muralstudio.nets.weights import choose_device
from muralstudio.train.loop import (
    LoopState, RunFiles, save_checkpoint, save_weights, shuffled_batches, timed_loop, to_tensor,
)
from muralstudio.train.patches import PatchConfig, PatchSource, image_files, load_rgb8


@dataclass
class FeatureTrainConfig:
    data: list[str]
    out: str
    minutes: float
    widths: list[int] = field(default_factory=lambda: list(FEATURE_WIDTHS))
    patch: int = 96
    batch: int = 32
    lr: float = 1e-3
    device: str | None = None
    seed: int = 0
    max_side: int = 1024
    validate_every: float = 60.0
    checkpoint_every: float = 300.0


def train_features(cfg: FeatureTrainConfig, log: Callable[[str], None] = print
                   ) -> Generator[Progress, None, LoopState]:
    folders = [Path(d) for d in cfg.data]
    paths, val_paths = image_files(folders), image_files(folders, validation=True)
    if not paths:
        raise TrainingError("No training images found in " + ", ".join(cfg.data) + ".")
    yield Progress(0.0, f"Loading {len(paths)} images")
    device = choose_device(cfg.device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    pc = PatchConfig(size=cfg.patch, per_image=8, scale=(0.25, 1.0))
    images = [load_rgb8(p, cfg.max_side) for p in paths]
    source = shuffled_batches(iter(PatchSource(images, pc, cfg.seed)), cfg.batch, rng)
    val_src = iter(PatchSource([load_rgb8(p, cfg.max_side) for p in (val_paths or paths[:3])], pc, 99))
    torch.manual_seed(99)
    val_x, val_y = rotation_batch(to_tensor(np.stack([next(val_src) for _ in range(256)]), device))
    torch.manual_seed(cfg.seed)
    model = FeatureNet(tuple(cfg.widths)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    files = RunFiles(Path(cfg.out))

    def step() -> tuple[float, int]:
        model.train()
        x, y = rotation_batch(to_tensor(next(source), device))
        loss = F.cross_entropy(model(x), y.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.detach()), len(y)

    @torch.no_grad()
    def validate() -> dict[str, float]:
        model.eval()
        acc = (model(val_x).argmax(1).cpu() == val_y).float().mean()
        return {"rotation_accuracy": round(float(acc), 4)}

    def on_best(s: LoopState) -> None:
        meta = {"software": f"muralstudio {__version__}", "task": "rotation prediction (4 classes)",
                "steps": s.step, "images_seen": s.images, "validation": s.best}
        save_weights(files, ARCH, {"widths": list(cfg.widths)}, model, meta, asdict(cfg))

    state = LoopState()
    return (yield from timed_loop(cfg.minutes * 60, step, validate, on_best,
                                  lambda s: save_checkpoint(files, model, opt, s), state,
                                  "rotation_accuracy", log, cfg.validate_every, cfg.checkpoint_every))
