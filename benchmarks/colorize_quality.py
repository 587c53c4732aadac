"""Colour-restoration quality on held-out murals, against the issue's targets.

    python benchmarks/colorize_quality.py [--weights FILE] [--out benchmarks/out] [--per-image 2]
                                          [--work-side PX]

The seven validation murals (``train.patches.VALIDATION_IMAGES``, never trained on), at a
long side of 1024 px, are faded with the training's own synthetic fading from fixed seeds:
``--per-image`` soft faded regions each, plus one fully grey copy of each. For every case the
mean CIEDE2000 to the truth inside the region (pooled over all region pixels of the group):

- the faded input;
- the colour-statistics baseline: for faded regions, a and b matched to the mean and spread
  of a 32-px ring around each region (``ops.colour.match_surroundings``); for a whole grey
  image, which has no surroundings, the training murals' mean a and b per lightness;
- the network without hints, and with 5 hints per region (points drawn at random in each
  connected region of at least 200 px, coloured from the truth's 3 × 3 mean there).

All methods start from the same 8-bit faded image and are scored on their 8-bit results, the
network through the ``colorize`` engine as the app and CLI run it. Writes
``colorize-quality.json`` and ``colorize-contact-sheet.png`` (faded | baseline | network |
with hints | truth, region outlined, hints marked) into --out. Exit status 1 when a target is
missed: the network without hints at least 20 % below the baseline in both groups, and hints
lowering it further.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from muralstudio.cli import report_errors
from muralstudio.commands.contact_sheet import ContactSheet
from muralstudio.core.hints import ColourHint
from muralstudio.engines import InpaintRequest, drive, get_engine
from muralstudio.nets.colorize import PRIOR_BINS
from muralstudio.ops.colour import (
    ciede2000,
    lab_to_rgb_in_gamut,
    lightness_prior,
    match_surroundings,
    prior_ab,
    rgb_to_lab,
)
from muralstudio.train.fading import FadedSample, faded_sample
from muralstudio.train.patches import image_files, load_rgb8

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SIDE = 1024
HINTS = 5
MIN_REGION = 200
METHODS = ("faded", "baseline", "network", "hints5")


def to_u8(lab: np.ndarray) -> np.ndarray:
    return np.rint(lab_to_rgb_in_gamut(lab) * 255).astype(np.uint8)


def apply_prior(lab: np.ndarray, prior: np.ndarray) -> np.ndarray:
    out = lab.copy()
    out[..., 1:] = prior_ab(lab[..., 0], prior)
    return out


def truth_hints(truth_rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> list[ColourHint]:
    """5 hints per connected region of at least MIN_REGION px, coloured from the truth."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    hints = []
    for i in range(1, count):
        if stats[i, cv2.CC_STAT_AREA] < MIN_REGION:
            continue
        ys, xs = np.nonzero(labels == i)
        for j in rng.choice(len(ys), HINTS, replace=False):
            y, x = int(ys[j]), int(xs[j])
            rgb = truth_rgb[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2].reshape(-1, 3).mean(axis=0) / 255
            hints.append(ColourHint(y, x, (float(rgb[0]), float(rgb[1]), float(rgb[2])), "truth"))
    return hints


@dataclass
class Case:
    """One benchmark case: a held-out mural faded (or made grey) from a fixed seed."""

    name: str
    group: str  # "fading" or "grey"
    truth_rgb: np.ndarray
    sample: FadedSample  # the float Lab fading, its region and the true Lab
    faded: np.ndarray  # the faded image as 8-bit RGB, what every method starts from
    hints: list[ColourHint]
    first_or_grey: bool  # the cases the contact sheet shows


def per_image_count(text: str) -> int:
    """``--per-image``: at least one faded case per mural, else the fading group is empty."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got '{text}'")
    return int(text)


def work_side(text: str) -> int:
    """``--work-side``: a size the engine takes (64 px or more)."""
    if not text.isdigit() or int(text) < 64:
        raise argparse.ArgumentTypeError(f"expected a whole number of pixels, at least 64, got '{text}'")
    return int(text)


def validation_murals(data: Path) -> list[Path]:
    """The held-out murals under ``data``; none (with a message) where there are none."""
    val = image_files([data], validation=True)
    if not val:
        print(f"No validation murals under {data}.", file=sys.stderr)
    return val


def benchmark_cases(paths: list[Path], per_image: int) -> Iterator[Case]:
    """``per_image`` faded cases and one grey case per mural, the same on every run (seed
    2026), for this benchmark and ``colorize_headroom.py``."""
    rng = np.random.default_rng(2026)
    for path in paths:
        truth_rgb = load_rgb8(path, SIDE)
        for k in range(per_image + 1):
            group = "grey" if k == per_image else "fading"
            sample = faded_sample(truth_rgb, rng, grey_share=1.0 if group == "grey" else 0.0)
            faded = to_u8(sample.faded) if group == "fading" else np.repeat(
                np.rint(lab_to_rgb_in_gamut(sample.faded)[..., :1] * 255).astype(np.uint8), 3, 2)
            hints = truth_hints(truth_rgb, sample.mask, rng)
            yield Case(path.name, group, truth_rgb, sample, faded, hints, k in (0, per_image))


def run_engine(image: np.ndarray, mask: np.ndarray, weights: str, hints: list[ColourHint],
               work_side: int | None = None) -> np.ndarray:
    params = {"method": "network", "weights": weights}
    if work_side is not None:
        params["work_side"] = work_side
    result = drive(get_engine("colorize").run(InpaintRequest(image, mask, params, hints=hints)))
    out = image.copy()
    for p in result.patches:
        view = out[p.y : p.y + p.pixels.shape[0], p.x : p.x + p.pixels.shape[1]]
        view[p.mask] = p.pixels[p.mask]
    return out


def outlined(rgb: np.ndarray, mask: np.ndarray, hints: list[ColourHint] = ()) -> np.ndarray:
    out = rgb.copy()
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (255, 255, 255), 2)
    for h in hints:
        centre = (int(h.x), int(h.y))
        cv2.circle(out, centre, 6, (0, 0, 0), 3)
        cv2.circle(out, centre, 6, (255, 255, 255), 1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="colorize", help="weights file or shipped name")
    ap.add_argument("--data", type=Path, default=DATA / "murals")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    ap.add_argument("--per-image", type=per_image_count, default=2, help="faded cases per mural")
    ap.add_argument("--work-side", type=work_side, default=None,
                    help="the engine's working size in pixels (default: its own, 512)")
    args = ap.parse_args()
    val = validation_murals(args.data)
    if not val:
        return 2
    prior = lightness_prior([rgb_to_lab(load_rgb8(p, 256)) for p in image_files([args.data])], PRIOR_BINS)
    totals = {g: {m: [0.0, 0] for m in METHODS} for g in ("fading", "grey")}
    per_case, shown = [], []
    t_net = 0.0
    for case in benchmark_cases(val, args.per_image):
        mask, faded = case.sample.mask, case.faded
        faded_lab = rgb_to_lab(faded)
        base_lab = match_surroundings(faded_lab, mask) if case.group == "fading" else apply_prior(faded_lab, prior)
        t0 = time.perf_counter()
        net = run_engine(faded, mask, args.weights, [], args.work_side)
        t_net += time.perf_counter() - t0
        hinted = run_engine(faded, mask, args.weights, case.hints, args.work_side)
        results = {"faded": faded, "baseline": to_u8(base_lab), "network": net, "hints5": hinted}
        row = {"image": case.name, "group": case.group, "region": round(float(mask.mean()), 3)}
        for m, rgb in results.items():
            de = ciede2000(rgb_to_lab(rgb), case.sample.truth)[mask]
            totals[case.group][m][0] += float(de.sum())
            totals[case.group][m][1] += int(de.size)
            row[m] = round(float(de.mean()), 3)
        per_case.append(row)
        print(" ".join(f"{v}" for v in row.values()), flush=True)
        if case.first_or_grey and len(shown) < 10:
            shown.append((case.name, case.group, mask, case.hints, results, case.truth_rgb))
    figures = {g: {m: round(s / max(n, 1), 3) for m, (s, n) in ms.items()} for g, ms in totals.items()}
    print(f"\nMean CIEDE2000 inside the region (pooled over pixels), {len(val)} held-out murals at {SIDE} px:")
    print(f"{'group':8} " + " ".join(f"{m:>9}" for m in METHODS) + "   net vs baseline   hints vs net")
    ok = True
    for g, f in figures.items():
        gain = 1 - f["network"] / f["baseline"]
        hint_gain = 1 - f["hints5"] / f["network"]
        f["network_vs_baseline"] = round(gain, 4)
        f["hints_vs_network"] = round(hint_gain, 4)
        ok &= gain >= 0.20 and hint_gain > 0
        print(f"{g:8} " + " ".join(f"{f[m]:9.3f}" for m in METHODS) + f"   {gain:+15.1%}   {hint_gain:+12.1%}")
    print(f"network time: {t_net:.1f} s for {len(per_case)} images of {SIDE} px "
          "(target: network ≥ 20 % below baseline, hints lower still): " + ("met" if ok else "MISSED"))
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"weights": args.weights, "side": SIDE, "hints_per_region": HINTS, "figures": figures,
              "cases": per_case, "target_met": ok}
    (args.out / "colorize-quality.json").write_text(json.dumps(report, indent=2))
    sheet = ContactSheet([s[2].shape for s in shown], 5, row_height=320)
    for row, (name, group, mask, hints, res, truth_rgb) in enumerate(shown):
        sheet.put(row, 0, outlined(res["faded"], mask), f"{name} {group}: faded")
        sheet.put(row, 1, res["baseline"], "statistics baseline")
        sheet.put(row, 2, res["network"], "network")
        sheet.put(row, 3, outlined(res["hints5"], np.zeros_like(mask), hints), f"network + {len(hints)} hints")
        sheet.put(row, 4, truth_rgb, "truth")
    print(f"contact sheet: {sheet.write(args.out / 'colorize-contact-sheet.png')}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(report_errors(main, __file__))
