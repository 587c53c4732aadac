"""``muralstudio eval``: score restored images against the truth inside their masks."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TextIO

from muralstudio.commands.pairing import UsageError, find_partner, list_images
from muralstudio.core.errors import MaskMismatchError
from muralstudio.io.images import read_image
from muralstudio.io.masks import read_mask
from muralstudio.ops.metrics import METRIC_INFO, all_metrics

PSNR_CAP = 100.0  # identical images count as 100 dB so that means stay finite


def _folder(path: Path, what: str) -> dict[str, Path]:
    if not path.is_dir():
        raise UsageError(f"The {what} folder {path} does not exist or is not a folder.")
    return {p.stem: p for p in list_images(path)}


Rows = list[tuple[str, dict[str, float]]]


def evaluate_folders(gt_dir: Path, mask_dir: Path, pred_dir: Path) -> tuple[Rows, list[str]]:
    """Per-image metrics for every truth image with a mask and a prediction, and the skipped."""
    gts, masks, preds = _folder(gt_dir, "truth"), _folder(mask_dir, "mask"), _folder(pred_dir, "prediction")
    if not gts:
        raise UsageError(f"The truth folder {gt_dir} holds no images.")
    rows: Rows = []
    missing: list[str] = []
    for stem, gt_path in sorted(gts.items()):
        mask_path, pred_path = find_partner(stem, masks), preds.get(stem)
        if mask_path is None or pred_path is None:
            missing.append(stem)
            continue
        gt, pred = read_image(gt_path), read_image(pred_path)
        if pred.pixels.shape[:2] != gt.pixels.shape[:2]:
            raise MaskMismatchError(
                f"The prediction {pred_path.name} is {pred.width} × {pred.height} but the truth is "
                f"{gt.width} × {gt.height}."
            )
        if pred.channels != gt.channels:
            raise UsageError(f"{pred_path.name} and {gt_path.name} differ in channels (grey vs RGB).")
        mask = read_mask(mask_path, (gt.height, gt.width))
        if not mask.any():
            raise UsageError(f"The mask {mask_path.name} is empty; hole metrics need a hole.")
        scores = all_metrics(pred.pixels, gt.pixels, mask)
        if math.isinf(scores["psnr"]):
            scores["psnr"] = PSNR_CAP
        if math.isinf(scores["hole_psnr"]):
            scores["hole_psnr"] = PSNR_CAP
        rows.append((stem, scores))
    if not rows:
        raise UsageError(f"No image in {gt_dir} has both a mask in {mask_dir} and a prediction in {pred_dir}.")
    return rows, missing


def mean_metrics(rows: Rows) -> dict[str, float]:
    return {k: sum(r[k] for _, r in rows) / len(rows) for k in METRIC_INFO}


def print_table(rows: Rows, skipped: list[str], out: TextIO) -> None:
    """A plain-text table: one row per image and the mean, arrows saying which way is better."""
    keys = list(METRIC_INFO)
    heads = [METRIC_INFO[k][0] + (" ↑" if METRIC_INFO[k][1] else " ↓") for k in keys]
    widths = [max(11, len(h)) + 2 for h in heads]
    name_w = max(8, *(len(n) for n, _ in rows))
    head = "image".ljust(name_w) + "".join(h.rjust(w) for h, w in zip(heads, widths))
    print(head, file=out)
    print("-" * len(head), file=out)
    for name, r in rows + [("mean", mean_metrics(rows))]:
        if name == "mean":
            print("-" * len(head), file=out)
        print(name.ljust(name_w) + "".join(f"{r[k]:.4f}".rjust(w) for k, w in zip(keys, widths)), file=out)
    if skipped:
        print(f"skipped (no mask or prediction): {', '.join(skipped)}", file=out)


def run_eval(gt: Path, mask: Path, pred: Path, as_json: bool, out: TextIO) -> None:
    rows, skipped = evaluate_folders(gt, mask, pred)
    if as_json:
        summary: dict[str, float | int] = {k: round(v, 6) for k, v in mean_metrics(rows).items()}
        summary["images"] = len(rows)
        summary["skipped"] = len(skipped)
        print(json.dumps(summary), file=out)
    else:
        print_table(rows, skipped, out)
