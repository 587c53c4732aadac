"""Damage-detector quality on held-out data, against the issue's targets.

    python benchmarks/detector_quality.py [--weights FILE] [--out benchmarks/out]
                                          [--patches 200] [--large 100] [--precision auto]

- Synthetic damage (``validation_set``, fixed seed) over the held-out validation murals, which
  no training run sees: ``--patches`` patches of 256 px and ``--large`` of 512 px (more context
  than training's 256; murals smaller than a patch give none, so fewer may come). Per class
  IoU and F1 at threshold 0.5, summed over the set; then the best threshold per class found on
  this same set (optimistic, reported apart), and crack F1 with a 2-px tolerance.
- The held-out CrackForest photographs (every 6th): crack F1 pixel-exact and with the usual
  2-px tolerance (a predicted crack pixel is right when a true one lies within 2 px, a true
  one is found when a predicted one lies within 2 px), next to a classical baseline
  (morphological black-hat at its best threshold on the same images).

Everything runs through the detection engine (tiles, margins), as the app and CLI do. Writes
``detector-quality.json`` and ``detector-quality.png`` (damaged | truth | prediction) into --out.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from muralstudio.cli import report_errors
from muralstudio.commands.contact_sheet import ContactSheet
from muralstudio.core.damage import STYLES, DamageClass
from muralstudio.engines.base import drive
from muralstudio.engines.detect import CLASSES, MODEL, DetectRequest, detect
from muralstudio.engines.precision import PRECISIONS, compute_dtype, dtype_name
from muralstudio.train.detector import crack_pairs, load_crack_pairs, validation_set
from muralstudio.train.patches import image_files

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TOLERANCE = 2  # pixels, the CrackForest protocol
AT_HALF = 128  # threshold 0.5 on the 0-255 probability maps, as Detection.mask rounds it
CI = CLASSES.index("crack")
TARGETS = (  # (figure, target, what)
    ("crackforest_f1_tol2", 0.60, "crack F1 on CrackForest (2-px tolerance, t=0.5)"),
    ("synthetic_crack_f1", 0.70, "crack F1 on synthetic cracks (256 px, pixel-exact, t=0.5)"),
    ("synthetic_loss_iou", 0.75, "loss IoU (256 px, t=0.5)"),
    ("synthetic_flaking_iou", 0.75, "flaking IoU (256 px, t=0.5)"),
)


class Tally:
    """Histograms of probabilities (0-255) over true and false pixels, per class: TP/FP/FN at
    every threshold from two cumulative sums."""

    def __init__(self, classes: int) -> None:
        self.pos = np.zeros((classes, 256), np.int64)
        self.neg = np.zeros((classes, 256), np.int64)

    def add(self, prob: np.ndarray, truth: np.ndarray) -> None:
        for c in range(len(prob)):
            self.pos[c] += np.bincount(prob[c][truth[c]], minlength=256)
            self.neg[c] += np.bincount(prob[c][~truth[c]], minlength=256)

    def at(self, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """TP, FP, FN of class ``c`` for every threshold index t (pixel is positive if p >= t)."""
        tp = self.pos[c][::-1].cumsum()[::-1]
        fp = self.neg[c][::-1].cumsum()[::-1]
        return tp, fp, self.pos[c].sum() - tp


def f1_iou(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tp, fp, fn = (np.asarray(a, np.float64) for a in (tp, fp, fn))
    return 2 * tp / np.maximum(2 * tp + fp + fn, 1), tp / np.maximum(tp + fp + fn, 1)


def class_figures(tally: Tally, names: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Per class: IoU and F1 at 0.5, and the threshold (1..255) with the best F1 and its figures."""
    out: dict[str, dict[str, float]] = {}
    for c, name in enumerate(names):
        if tally.pos[c].sum() == 0:
            continue
        f1, iou = f1_iou(*tally.at(c))
        best = 1 + int(np.argmax(f1[1:]))
        out[name] = {"iou": round(float(iou[AT_HALF]), 4), "f1": round(float(f1[AT_HALF]), 4),
                     "best_threshold": round(best / 255, 3), "best_iou": round(float(iou[best]), 4),
                     "best_f1": round(float(f1[best]), 4), "truth_share": round(float(
                         tally.pos[c].sum() / (tally.pos[c].sum() + tally.neg[c].sum())), 5)}
    return out


class Tolerant:
    """Crack precision and recall with a distance tolerance, at every threshold."""

    def __init__(self, radius: int = TOLERANCE) -> None:
        r = radius
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
        self.disk = (yy**2 + xx**2 <= r * r).astype(np.uint8)
        self.radius = radius
        self.near = np.zeros(256, np.int64)  # predicted pixels within r of a true crack, by probability
        self.far = np.zeros(256, np.int64)
        self.found = np.zeros(256, np.int64)  # true crack pixels by the best probability within r
        self.truth = 0

    def add(self, prob: np.ndarray, truth: np.ndarray) -> None:
        dist = cv2.distanceTransform((~truth).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        near = dist <= self.radius + 1e-6
        self.near += np.bincount(prob[near], minlength=256)
        self.far += np.bincount(prob[~near], minlength=256)
        self.found += np.bincount(cv2.dilate(prob, self.disk)[truth], minlength=256)
        self.truth += int(truth.sum())

    def figures(self) -> dict[str, float]:
        near, far, found = (a[::-1].cumsum()[::-1].astype(np.float64) for a in (self.near, self.far, self.found))
        precision = near / np.maximum(near + far, 1)
        recall = found / max(self.truth, 1)
        f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
        best = 1 + int(np.argmax(f1[1:]))
        return {"f1": round(float(f1[AT_HALF]), 4), "precision": round(float(precision[AT_HALF]), 4),
                "recall": round(float(recall[AT_HALF]), 4), "best_threshold": round(best / 255, 3),
                "best_f1": round(float(f1[best]), 4)}


def probabilities(image: np.ndarray, weights: str, device: str, precision: str) -> np.ndarray:
    """(C, H, W) uint8 probabilities of one image through the detection engine."""
    tile = max(image.shape[:2])
    request = DetectRequest(image, weights, device, tile=-(-tile // 64) * 64, precision=precision)
    return drive(detect(request)).probabilities


def blackhat(image: np.ndarray) -> np.ndarray:
    """Classical crack map: dark thin lines by a morphological black-hat, stretched to 0-255."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    hat = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    return np.clip(hat.astype(np.int32) * 4, 0, 255).astype(np.uint8)


def overlay(image: np.ndarray, masks: np.ndarray, names: tuple[str, ...] = CLASSES) -> np.ndarray:
    """Masks (C, H, W) painted over the image in each class's colour, half opaque."""
    out = image.astype(np.float32)
    for c in reversed(range(len(names))):  # cracks last, on top
        colour = np.array(STYLES[DamageClass(names[c])].color, np.float32)
        out[masks[c]] = 0.45 * out[masks[c]] + 0.55 * colour
    return np.rint(out).astype(np.uint8)


def synthetic(size: int, n: int, weights: str, device: str, precision: str, shown: list) -> dict:
    """Figures on ``n`` damaged patches of ``size`` px from the held-out murals."""
    images, labels = validation_set(image_files([DATA / "murals"], validation=True), size, n, 2048)
    tally, tol = Tally(len(CLASSES)), Tolerant()
    for i, (img, truth) in enumerate(zip(images, labels)):
        prob = probabilities(img, weights, device, precision)
        tally.add(prob, truth)
        tol.add(prob[CI], truth[CI])
        if i < 4 and len(shown) < 6 and truth.any():
            shown.append((f"synthetic {size} #{i}", img, truth, prob >= AT_HALF, CLASSES))
    return {"patches": len(images), "size": size, "classes": class_figures(tally, CLASSES),
            "crack_tolerant": tol.figures()}


def crackforest(weights: str, device: str, precision: str, shown: list) -> dict:
    """Crack figures on the held-out CrackForest photographs, with the black-hat baseline."""
    images, masks = load_crack_pairs(crack_pairs(DATA / "cracks" / "crackforest", held_out=True))
    exact, tol, base_exact, base_tol = Tally(1), Tolerant(), Tally(1), Tolerant()
    for i, (img, truth) in enumerate(zip(images, masks)):
        crack = probabilities(img, weights, device, precision)[CI]
        exact.add(crack[None], truth[None])
        tol.add(crack, truth)
        hat = blackhat(img)
        base_exact.add(hat[None], truth[None])
        base_tol.add(hat, truth)
        if i < 3:
            shown.append((f"CrackForest #{i}", img, truth[None], (crack >= AT_HALF)[None], ("crack",)))
    return {"images": len(images), "exact": class_figures(exact, ("crack",))["crack"], "tolerant": tol.figures(),
            "baseline_blackhat": {"exact": class_figures(base_exact, ("crack",))["crack"],
                                  "tolerant": base_tol.figures()}}


def contact_sheet(shown: list, path: Path) -> None:
    sheet = ContactSheet([s[1].shape[:2] for s in shown], 3)
    for row, (title, img, truth, pred, names) in enumerate(shown):
        sheet.put(row, 0, img, f"{title}: damaged")
        sheet.put(row, 1, overlay(img, truth, names), "truth")
        sheet.put(row, 2, overlay(img, pred, names), "prediction (t=0.5)")
    sheet.write(path)


def report(res: dict) -> list[str]:
    lines = []
    for key in ("synthetic_256", "synthetic_512"):
        s = res[key]
        lines.append(f"\nSynthetic damage, {s['patches']} patches of {s['size']} px from the held-out murals")
        lines.append(f"  {'class':8} {'IoU@0.5':>8} {'F1@0.5':>7} | best-t on this set: {'t':>5} {'IoU':>6} {'F1':>6}")
        for name, f in s["classes"].items():
            lines.append(f"  {name:8} {f['iou']:8.3f} {f['f1']:7.3f} | {'':19} {f['best_threshold']:5.2f} "
                         f"{f['best_iou']:6.3f} {f['best_f1']:6.3f}")
        t = s["crack_tolerant"]
        lines.append(f"  crack F1 with {TOLERANCE}-px tolerance: {t['f1']:.3f} at 0.5 (P {t['precision']:.3f}, "
                     f"R {t['recall']:.3f}); {t['best_f1']:.3f} at best t={t['best_threshold']:.2f}")
    c = res["crackforest"]
    b = c["baseline_blackhat"]
    lines.append(f"\nCrackForest, {c['images']} held-out photographs (crack class)")
    lines.append(f"  detector  pixel-exact F1 {c['exact']['f1']:.3f} at 0.5, {c['exact']['best_f1']:.3f} at best "
                 f"t={c['exact']['best_threshold']:.2f}; {TOLERANCE}-px F1 {c['tolerant']['f1']:.3f} at 0.5 "
                 f"(P {c['tolerant']['precision']:.3f}, R {c['tolerant']['recall']:.3f}), "
                 f"{c['tolerant']['best_f1']:.3f} at best t={c['tolerant']['best_threshold']:.2f}")
    lines.append(f"  black-hat baseline, best threshold on this set: pixel-exact F1 {b['exact']['best_f1']:.3f}, "
                 f"{TOLERANCE}-px F1 {b['tolerant']['best_f1']:.3f}")
    ratio = c["tolerant"]["f1"] / max(b["tolerant"]["best_f1"], 1e-9)
    lines.append(f"  ratio detector@0.5 / baseline@best ({TOLERANCE}-px F1): {ratio:.2f}")
    lines.append("\nTargets (at threshold 0.5)")
    for key, target, what in TARGETS:
        value = res["figures"].get(key, 0.0)
        lines.append(f"  {what:58} {value:.3f}  target ≥ {target:.2f}  {'met' if value >= target else 'MISSED'}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="", help="detector weights (default: the shipped detector)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="auto", choices=PRECISIONS,
                    help="the detector's precision (auto: bfloat16 on a CPU that computes it natively)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    ap.add_argument("--patches", type=int, default=200, help="synthetic patches of 256 px")
    ap.add_argument("--large", type=int, default=100, help="synthetic patches of 512 px")
    args = ap.parse_args()
    t0 = time.perf_counter()
    _, weights, device = MODEL.load(args.weights, args.device)
    run = (args.weights, args.device, args.precision)
    shown: list = []
    res: dict = {"weights": str(weights.path), "weights_sha256": weights.sha256, "device": str(device),
                 "precision": dtype_name(compute_dtype(args.precision, device)),
                 "synthetic_256": synthetic(256, args.patches, *run, shown),
                 "synthetic_512": synthetic(512, args.large, *run, shown),
                 "crackforest": crackforest(*run, shown)}
    cls = res["synthetic_256"]["classes"]
    res["figures"] = {"crackforest_f1_tol2": res["crackforest"]["tolerant"]["f1"],
                      "crackforest_f1_exact": res["crackforest"]["exact"]["f1"],
                      **{f"synthetic_{n}_{k}": f[k] for n, f in cls.items() for k in ("iou", "f1")}}
    res["targets"] = {key: {"target": target, "met": res["figures"].get(key, 0.0) >= target}
                      for key, target, _ in TARGETS}
    res["seconds"] = round(time.perf_counter() - t0, 1)
    print(f"detector {weights.path.name} on {device}, {res['precision']}")
    print("\n".join(report(res)))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "detector-quality.json").write_text(json.dumps(res, indent=2, ensure_ascii=False))
    contact_sheet(shown, args.out / "detector-quality.png")
    print(f"\n{res['seconds']:.0f} s; figures in {args.out / 'detector-quality.json'}, "
          f"sheet {args.out / 'detector-quality.png'}")
    return 0 if all(t["met"] for t in res["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(report_errors(main, __file__))
