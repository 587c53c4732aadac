"""Diffusion against OpenCV Telea and PConv on the validation murals, by hole ratio, in one run;
and the time one candidate of a 256 × 256 region takes.

    python benchmarks/diffusion_quality.py [--weights diffusion|FILE] [--per-image 2] [--seed 2026] [--out DIR]
                                           [--precision auto|float32|bfloat16]

Validation split: the whole images of ``muralstudio.train.patches.VALIDATION_IMAGES``, never
trained on. From each, ``--per-image`` 512 × 512 crops (far apart, seed ``--seed``) each get one
held-out NVIDIA irregular mask (every 20th file, never trained on) of the 10-30 % and of the
30-50 % group, at the 512-px scale they were drawn for. Every engine restores exactly the
same crop/hole pairs through the engine protocol with its default settings (diffusion:
candidate seed 0; also with the guide lines it finds itself, ``guide=drawn+found``), PConv and
diffusion in ``--precision``. Prints
whole-crop PSNR and SSIM, GMSD over the hole and hole sharpness (1.0 = as sharp as the truth)
side by side, the targets of issue 6, and writes a contact sheet per group (masked | Telea |
PConv | three diffusion candidates | truth) and a JSON of all figures.

Exit status 1 when diffusion (default settings) misses a target: sharpness within 0.85-1.15,
GMSD below Telea's and PSNR at most 0.5 dB below Telea's in both groups, or one candidate of
a 256 × 256 region in more than 20 s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from pconv_quality import held_out_masks, restore, score, tile_view

from muralstudio.cli import report_errors
from muralstudio.core.candidate import apply_patches
from muralstudio.engines import InpaintRequest, drive, get_engine
from muralstudio.engines.precision import PRECISIONS
from muralstudio.train.holes import load_mask_file
from muralstudio.train.patches import far_apart, image_files, load_rgb8

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
GROUPS = {"10-30%": (2000, 6000), "30-50%": (6000, 10000)}
METRICS = ("psnr", "ssim", "gmsd", "sharpness")
CROP = 512
SHEET_ROWS = 3  # pairs per group shown with three candidates


def crops(image: np.ndarray, n: int, rng: np.random.Generator) -> list[np.ndarray]:
    h, w = image.shape[:2]
    if min(h, w) < CROP:
        return []
    return [np.ascontiguousarray(image[int(y) : int(y) + CROP, int(x) : int(x) + CROP])
            for y, x in far_apart(h - CROP + 1, w - CROP + 1, n, rng)]


def draw_pairs(data: Path, per_image: int, seed: int) -> tuple[list[Path], dict[str, list[tuple[np.ndarray, Path]]]]:
    """The validation images, and per hole group the (512² crop, held-out mask file) pairs
    that ``seed`` draws: ``per_image`` crops of each image, one mask of the group each."""
    images = image_files([data / "murals"], validation=True)
    rng = np.random.default_rng(seed)
    truths = [c for p in images for c in crops(load_rgb8(p), per_image, rng)]
    pairs = {}
    for group, (lo, hi) in GROUPS.items():
        pool = held_out_masks(data / "masks" / "irregular", lo, hi)
        pairs[group] = list(zip(truths, rng.choice(pool, len(truths), replace=False)))
    return images, pairs


def speed(weights: str, precision: str) -> tuple[float, float]:
    """Seconds for one diffusion candidate (default settings) and for Telea, on a 256² region
    with a 30 % loss in its middle; the best of two runs each."""
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur((rng.random((256, 256, 3)) * 255).astype(np.uint8), (0, 0), 3)
    hole = np.zeros((256, 256), bool)
    hole[58:198, 58:198] = True
    times = {}
    for engine, params in (("diffusion", {"weights": weights, "candidates": 1, "precision": precision}),
                           ("telea", {})):
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            drive(get_engine(engine).run(InpaintRequest(img, hole, params)))
            best = min(best, time.perf_counter() - t)
        times[engine] = best
    return times["diffusion"], times["telea"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--weights", default="diffusion", help="shipped name or weight file")
    ap.add_argument("--pconv", default="pconv", help="PConv weights (shipped name or file); 'none' leaves it out")
    ap.add_argument("--per-image", type=int, default=2, help="512² crops per image and group")
    ap.add_argument("--seed", type=int, default=2026, help="draws the crops and masks; change it for a fresh set")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    ap.add_argument("--precision", default="auto", choices=PRECISIONS,
                    help="PConv's and diffusion's (auto: bfloat16 on a CPU that computes it natively)")
    ap.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                    help="a diffusion setting other than its default, e.g. detail=0.85 (repeatable)")
    args = ap.parse_args()
    if args.per_image < 1:
        ap.error(f"--per-image must be at least 1, not {args.per_image}")
    try:
        settings = {k: float(v) for k, v in (p.split("=", 1) for p in args.param)}
    except ValueError:
        print("--param takes NAME=NUMBER, e.g. detail=0.85", file=sys.stderr)
        return 2
    images, pairs = draw_pairs(args.data, args.per_image, args.seed)
    if not images:
        print(f"no validation images under {args.data / 'murals'}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    engines = [("telea", "telea", {})]
    net = {"precision": args.precision}
    if args.pconv != "none":
        engines.append(("pconv", "pconv", {"weights": args.pconv, **net}))
    diffusion = {"weights": args.weights, "candidates": 1, **net, **settings}
    engines += [("diffusion", "diffusion", diffusion),
                ("diffusion+found", "diffusion", {**diffusion, "guide": "drawn+found"})]
    names = [n for n, _, _ in engines]
    n_pairs = len(pairs[next(iter(GROUPS))])
    results = {g: {n: [] for n in names} for g in GROUPS}
    seconds = {n: 0.0 for n in names}
    for group in GROUPS:
        sheet = []
        for k, (truth, mpath) in enumerate(pairs[group]):
            hole = load_mask_file(mpath)
            damaged = truth.copy()
            damaged[hole] = 0  # the engines must not look under the hole
            row = [tile_view(truth, hole, (0, 0, CROP), masked=True)]
            for name, engine, params in engines:
                pred, dt = restore(engine, damaged, hole, params)
                seconds[name] += dt
                results[group][name].append(score(pred, truth, hole))
                if name != "diffusion+found":
                    row.append(tile_view(pred, hole, (0, 0, CROP)))
            if k < SHEET_ROWS:
                more = drive(get_engine("diffusion").run(InpaintRequest(
                    damaged, hole, {**diffusion, "candidates": 2, "seed": 1})))
                row += [tile_view(apply_patches(damaged, r.patches), hole, (0, 0, CROP)) for r in more.all_results()]
                row.append(tile_view(truth, hole, (0, 0, CROP)))
                sheet.append(np.concatenate(row, axis=1))
            print(f"  {group} pair {k + 1}/{n_pairs} done", file=sys.stderr, flush=True)
        cv2.imwrite(str(args.out / f"diffusion-contact-{group.replace('%', 'pc')}.png"),
                    cv2.cvtColor(np.concatenate(sheet, axis=0), cv2.COLOR_RGB2BGR))
    failed = False
    summary: dict[str, dict[str, dict[str, float]]] = {}
    print(f"{n_pairs} crops of {CROP}² from {len(images)} validation images per group; columns: " + " | ".join(names))
    for group in GROUPS:
        summary[group] = {n: {m: float(np.mean([r[m] for r in results[group][n]])) for m in METRICS} for n in names}
        t = summary[group]["telea"]
        print(f"\n{group} holes ({len(results[group]['telea'])} pairs)")
        for m in METRICS:
            print(f"  {m:10s} " + "  ".join(f"{summary[group][n][m]:8.4f}" for n in names))
        for name in names[1:]:
            d = summary[group][name]
            ok = 0.85 <= d["sharpness"] <= 1.15 and d["gmsd"] < t["gmsd"] and d["psnr"] >= t["psnr"] - 0.5
            print(f"  {name}: {d['psnr'] - t['psnr']:+.2f} dB PSNR, GMSD {d['gmsd'] / t['gmsd']:.3f}× Telea's, "
                  f"sharpness {d['sharpness']:.3f} (Telea {t['sharpness']:.3f})"
                  + ("" if name.startswith("pconv") else f" -> targets {'met' if ok else 'MISSED'}"))
            if name == "diffusion" and not ok:
                failed = True
    one, telea = speed(args.weights, args.precision)
    print(f"\n256² region, default settings ({args.precision}): one diffusion candidate {one:.1f} s "
          f"(target ≤ 20 s), Telea {telea * 1000:.0f} ms ({one / telea:.0f}× Telea)")
    failed |= one > 20.0
    print("seconds in all: " + ", ".join(f"{n} {s:.1f}" for n, s in seconds.items()))
    (args.out / "diffusion-quality.json").write_text(json.dumps(
        {"summary": summary, "seconds": seconds, "speed_256": {"diffusion_s": one, "telea_s": telea}}, indent=2))
    print(f"contact sheets and JSON in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(report_errors(main, __file__))
