"""Fine-tuning the PConv model on the mural in front of the conservator.

Only intact regions teach: training patches never touch the damage mask (grown by a
margin), and a set of patches spread over the intact area is kept out of training so the
gain is measured on pixels the model has not seen (before = the first validation, on the
starting weights).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Generator

import cv2
import numpy as np

from muralstudio.core.errors import MaskMismatchError, TrainingError
from muralstudio.core.progress import Progress
from muralstudio.io.images import read_image
from muralstudio.io.masks import read_mask
from muralstudio.nets.weights import load_weights, shipped
from muralstudio.nets.pconv import ARCH
from muralstudio.train.inpaint import PConvRun, PConvTrainConfig
from muralstudio.train.loop import LoopState
from muralstudio.train.patches import far_apart

HELD_OUT = 16
DAMAGE_MARGIN = 16


def held_out_patches(image: np.ndarray, blocked: np.ndarray, size: int, count: int, seed: int = 7
                     ) -> tuple[list[np.ndarray], np.ndarray]:
    """Up to ``count`` intact patches far apart, and ``blocked`` grown to cover them."""
    rng = np.random.default_rng(seed)
    h, w = blocked.shape
    integral = cv2.integral(blocked.astype(np.uint8))
    budget = 0.25 * (~blocked).sum()  # most of the intact area stays open to training
    picked: list[np.ndarray] = []
    out = blocked.copy()
    for cy, cx in far_apart(h - size, w - size, 8 * count, rng, candidates=max(64, 16 * count)):
        y, x = int(cy), int(cx)
        if integral[y + size, x + size] - integral[y, x + size] - integral[y + size, x] + integral[y, x]:
            continue
        if out[y : y + size, x : x + size].any():
            continue
        picked.append(np.ascontiguousarray(image[y : y + size, x : x + size]))
        out[y : y + size, x : x + size] = True
        if len(picked) == count or (len(picked) + 1) * size * size > budget:
            break
    return picked, out


def finetune_pconv(image_path: Path, mask_path: Path | None, out: Path, minutes: float, *,
                   init: Path | None = None, masks: list[Path] | None = None, options: dict[str, Any] | None = None,
                   log: Callable[[str], None] = print) -> Generator[Progress, None, LoopState]:
    """Fine-tune on the files ``image_path`` (and its damage ``mask_path``); see :func:`finetune_on`."""
    yield Progress(0.0, f"Reading {image_path.name}")
    image = read_image(image_path).pixels
    damage = None
    if mask_path is not None:
        damage = read_mask(mask_path)
        if damage.shape != image.shape[:2]:
            raise MaskMismatchError(f"The mask is {damage.shape[1]} × {damage.shape[0]} but the image is "
                                    f"{image.shape[1]} × {image.shape[0]}.")
    return (yield from finetune_on(image, damage, out, minutes, name=image_path.name, init=init, masks=masks,
                                   options=options, log=log))


def finetune_on(image: np.ndarray, damage: np.ndarray | None, out: Path, minutes: float, *, name: str = "the mural",
                init: Path | None = None, masks: list[Path] | None = None, options: dict[str, Any] | None = None,
                log: Callable[[str], None] = print) -> Generator[Progress, None, LoopState]:
    """Fine-tune on ``image`` (H, W, C) uint8/uint16 away from ``damage``; yields progress.

    Returns the loop state: ``history[0]`` holds the starting weights' figures on the
    held-out patches, ``best`` those of the weights written to ``out``.
    """
    rgb = image if image.dtype == np.uint8 else (image >> 8).astype(np.uint8)
    rgb = np.ascontiguousarray(np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb[:, :, :3])
    h, w = rgb.shape[:2]
    blocked = np.zeros((h, w), bool)
    if damage is not None:
        blocked = cv2.dilate(damage.astype(np.uint8),
                             cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * DAMAGE_MARGIN + 1,) * 2)) > 0
    if init is None:
        init = shipped("pconv")
    load_weights(init, ARCH)  # a missing or foreign file fails now, not after preparing the data
    opts = {"patch": 128, "lr": 5e-5, "freeze_encoder_norm": True, "per_image": 64, "min_scale": 0.8, "validate_every": 60.0,
            "validation_patches": HELD_OUT, **(options or {})}
    size = int(opts["patch"])
    if min(h, w) < 2 * size:
        raise TrainingError(f"{name} is too small to fine-tune on ({w} × {h}; at least {2 * size} px a side).")
    val, blocked = held_out_patches(rgb, blocked, size, int(opts["validation_patches"]))
    if len(val) < 4:
        raise TrainingError(f"{name} has too little intact area to fine-tune on and measure the result.")
    cfg = PConvTrainConfig(data=[name], out=str(out), minutes=minutes, masks=[str(m) for m in masks or []],
                           init=str(init), loss_weights={"perceptual": 0.0, "style": 0.0}, **opts)
    log(f"fine-tuning on {name}: {len(val)} held-out patches; "
        f"{100 * (1 - blocked.mean()):.0f} % of the mural open to training")
    yield Progress(0.0, "Preparing")
    run = PConvRun(cfg, [rgb], val, avoid=[blocked], log=log)
    state = yield from run.run()
    run.files.checkpoint.unlink(missing_ok=True)  # a fine-tuning is not resumed: keep the weights only
    return state

