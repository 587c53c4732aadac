"""``muralstudio eval``: score restorations against the truth inside their masks.

Two forms: ``--gt/--mask/--pred`` scores images restored elsewhere; ``--engine/--data`` runs
engines on a data set (``gt/``, ``mask/``, optional ``masked/``) and scores each of them on
the same pairs, optionally with a contact sheet to compare them by eye.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, TextIO

import numpy as np

from muralstudio.commands.contact_sheet import ROW_HEIGHT, ContactSheet
from muralstudio.commands.pairing import UsageError, find_partner, list_images
from muralstudio.commands.restore import resolve_engine_params, restore_pixels
from muralstudio.core.errors import MaskMismatchError
from muralstudio.io.images import read_image, read_image_header
from muralstudio.io.masks import read_mask
from muralstudio.ops.metrics import METRIC_INFO, all_metrics
from muralstudio.progressbar import ProgressBar

PSNR_CAP = 100.0  # identical images count as 100 dB so that means stay finite


def _folder(path: Path, what: str) -> dict[str, Path]:
    if not path.is_dir():
        raise UsageError(f"The {what} folder {path} does not exist or is not a folder.")
    return {p.stem: p for p in list_images(path)}


Rows = list[tuple[str, dict[str, float]]]


def score(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """``all_metrics`` with infinite PSNRs (identical pixels) capped at PSNR_CAP."""
    scores = all_metrics(pred, gt, mask)
    for key in ("psnr", "hole_psnr"):
        if math.isinf(scores[key]):
            scores[key] = PSNR_CAP
    return scores


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
        rows.append((stem, score(pred.pixels, gt.pixels, mask)))
    if not rows:
        raise UsageError(f"No image in {gt_dir} has both a mask in {mask_dir} and a prediction in {pred_dir}.")
    return rows, missing


def mean_metrics(rows: Rows) -> dict[str, float]:
    return {k: sum(r[k] for _, r in rows) / len(rows) for k in METRIC_INFO}


def _table(first: str, rows: Rows, out: TextIO, mean: bool = True, seconds: list[float] | None = None) -> None:
    """Rows of metrics under headed columns (arrows say which way is better), then the mean."""
    keys = list(METRIC_INFO)
    heads = [METRIC_INFO[k][0] + (" ↑" if METRIC_INFO[k][1] else " ↓") for k in keys]
    widths = [max(11, len(h)) + 2 for h in heads]
    name_w = max(8, *(len(n) for n, _ in rows))
    head = first.ljust(name_w) + "".join(h.rjust(w) for h, w in zip(heads, widths))
    if seconds is not None:
        head += "seconds".rjust(10)
    print(head, file=out)
    print("-" * len(head), file=out)
    for i, (name, r) in enumerate(rows + ([("mean", mean_metrics(rows))] if mean else [])):
        if i == len(rows):
            print("-" * len(head), file=out)
        line = name.ljust(name_w) + "".join(f"{r[k]:.4f}".rjust(w) for k, w in zip(keys, widths))
        print(line + ("" if seconds is None else f"{seconds[i]:.2f}".rjust(10)), file=out)


def print_table(rows: Rows, skipped: list[str], out: TextIO) -> None:
    """A plain-text table: one row per image and the mean, arrows saying which way is better."""
    _table("image", rows, out)
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


# ---------------------------------------------------------------- --engine/--data


def check_form(
    folders: Sequence[Path | None], engines: Sequence[str], data: Path | None, params: dict[str, Any],
    sheet: Path | None,
) -> str:
    """"folders" (--gt/--mask/--pred) or "engines" (--engine/--data); UsageError for a mix."""
    engine_form = bool(engines) or data is not None
    if engine_form and any(f is not None for f in folders):
        raise UsageError("eval takes either --gt/--mask/--pred (score existing results) "
                         "or --engine/--data (run engines), not both.")
    if engine_form:
        if not engines or data is None:
            raise UsageError("eval --engine needs --data DIR (with gt/ and mask/), and --data needs --engine.")
        return "engines"
    if any(f is None for f in folders):
        raise UsageError("eval needs --gt, --mask and --pred, or --engine and --data.")
    if params or sheet is not None:
        raise UsageError("--param and --sheet go with --engine/--data.")
    return "folders"


@dataclass(frozen=True)
class Sample:
    """One image of a data set: its truth, mask, optional damaged input and size (H, W)."""

    stem: str
    gt: Path
    mask: Path
    masked: Path | None
    size: tuple[int, int]


@dataclass
class EngineScores:
    """What one engine reached: per-image metrics and the seconds its runs took."""

    rows: Rows = field(default_factory=list)
    seconds: float = 0.0


def _header_size(path: Path) -> tuple[int, int]:
    info = read_image_header(path)
    return info.height, info.width


def plan_data(data: Path) -> tuple[list[Sample], list[str]]:
    """Pair ``data/gt`` with ``data/mask`` (and ``data/masked`` when present) by file stem.

    Sizes are checked from the headers, so a mismatch is reported before any engine runs.
    Returns the samples and the stems of truth images without a mask (skipped).
    """
    if not data.is_dir():
        raise UsageError(f"The data folder {data} does not exist or is not a folder.")
    gt_dir, mask_dir, masked_dir = data / "gt", data / "mask", data / "masked"
    gts, masks = _folder(gt_dir, "truth"), _folder(mask_dir, "mask")
    maskeds = _folder(masked_dir, "masked-input") if masked_dir.is_dir() else None
    if not gts:
        raise UsageError(f"The truth folder {gt_dir} holds no images.")
    samples: list[Sample] = []
    skipped: list[str] = []
    for stem, gt_path in sorted(gts.items()):
        mask_path = find_partner(stem, masks)
        if mask_path is None:
            skipped.append(stem)
            continue
        size = _header_size(gt_path)
        msize = _header_size(mask_path)
        if msize != size:
            raise MaskMismatchError(f"The mask {mask_path.name} is {msize[1]} × {msize[0]} but the truth "
                                    f"{gt_path.name} is {size[1]} × {size[0]}.")
        masked_path = None
        if maskeds is not None:
            masked_path = find_partner(stem, maskeds)
            if masked_path is None:
                raise UsageError(f"{masked_dir} has no damaged input for {gt_path.name}; "
                                 "give every truth image one, or remove masked/.")
            isize = _header_size(masked_path)
            if isize != size:
                raise MaskMismatchError(f"The masked input {masked_path.name} is {isize[1]} × {isize[0]} but the "
                                        f"truth {gt_path.name} is {size[1]} × {size[0]}.")
        samples.append(Sample(stem, gt_path, mask_path, masked_path, size))
    if not samples:
        raise UsageError(f"No image in {gt_dir} has a mask in {mask_dir}.")
    return samples, skipped


def engine_input(sample: Sample, gt: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The damaged image an engine is given: ``masked/`` or the truth, hole set to mid-grey.

    The hole is always blanked, so no truth can leak into a result whatever ``masked/`` holds.
    """
    if sample.masked is None:
        pixels = gt.copy()
    else:
        pixels = read_image(sample.masked).pixels.copy()
        if pixels.shape != gt.shape or pixels.dtype != gt.dtype:
            raise UsageError(f"The masked input {sample.masked.name} differs from its truth in bit depth or "
                             "channels (grey vs RGB).")
    pixels[mask] = np.iinfo(pixels.dtype).max // 2
    return pixels


def evaluate_engines(
    data: Path, engines: Sequence[str], params: dict[str, Any], sheet: Path | None = None,
    quiet: bool = False, row_height: int | None = None,
) -> tuple[dict[str, EngineScores], list[str]]:
    """Run every engine on every image of ``data`` and score it; optionally write a contact sheet.

    Parameters and pairing are checked before any engine runs. Images are read one at a time
    and results are scored (and scaled into the sheet) as they come, so memory stays bounded.
    """
    engines = list(dict.fromkeys(engines))
    resolved = resolve_engine_params(engines, params)
    if sheet is not None and (sheet.suffix.lower() != ".png" or sheet.is_dir()):
        raise UsageError(f"The contact sheet {sheet} must be a .png file.")
    samples, skipped = plan_data(data)
    board = None
    if sheet is not None:
        board = ContactSheet([s.size for s in samples], len(engines) + 2, row_height or ROW_HEIGHT)
    results = {name: EngineScores() for name in engines}
    for i, sample in enumerate(samples):
        gt = read_image(sample.gt).pixels
        mask = read_mask(sample.mask, gt.shape[:2])
        if not mask.any():
            raise UsageError(f"The mask {sample.mask.name} is empty; hole metrics need a hole.")
        given = engine_input(sample, gt, mask)
        in_sheet = board is not None and i < board.rows
        if in_sheet:
            board.put(i, 0, given, f"{sample.stem} (input)", hole=mask)
        for col, name in enumerate(engines, start=1):
            label = f"[{i + 1}/{len(samples)}] {sample.stem} {name}"
            bar = ProgressBar(label, enabled=not quiet)
            t0 = time.perf_counter()
            restored, _ = restore_pixels(name, given, mask, resolved[name], bar)
            results[name].seconds += time.perf_counter() - t0
            scores = score(restored, gt, mask)
            results[name].rows.append((sample.stem, scores))
            bar.finish(f"hole PSNR {scores['hole_psnr']:.2f} dB")
            if in_sheet:
                board.put(i, col, restored, f"{name} {scores['hole_psnr']:.1f} dB")
            del restored
        if in_sheet:
            board.put(i, len(engines) + 1, gt, "truth")
    if board is not None and sheet is not None:
        board.write(sheet)
        if not quiet:
            print(f"Contact sheet written to {sheet}", file=sys.stderr)
        if board.rows < len(samples):
            print(f"note: the contact sheet shows the first {board.rows} of {len(samples)} images.", file=sys.stderr)
    return results, skipped


def run_engine_eval(
    data: Path, engines: Sequence[str], params: dict[str, Any], as_json: bool, out: TextIO,
    sheet: Path | None = None, quiet: bool = False,
) -> dict[str, EngineScores]:
    """Evaluate engines on ``data`` and print one table per engine and a summary, or JSON."""
    results, skipped = evaluate_engines(data, engines, params, sheet=sheet, quiet=quiet)
    if as_json:
        summary = {}
        for name, res in results.items():
            entry: dict[str, float | int] = {k: round(v, 6) for k, v in mean_metrics(res.rows).items()}
            entry["images"] = len(res.rows)
            entry["seconds"] = round(res.seconds, 3)
            summary[name] = entry
        print(json.dumps(summary), file=out)
    else:
        for name, res in results.items():
            print(f"engine {name}: {len(res.rows)} image(s) in {res.seconds:.2f} s", file=out)
            _table("image", res.rows, out)
            print(file=out)
        means = [(name, mean_metrics(res.rows)) for name, res in results.items()]
        _table("engine", means, out, mean=False, seconds=[res.seconds for res in results.values()])
    if skipped:
        print(f"skipped (no mask): {', '.join(skipped)}", file=sys.stderr if as_json else out)
    return results
