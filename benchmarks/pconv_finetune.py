"""Fine-tuning PConv on one mural: held-out patches and the damaged zone, before and after.

    python benchmarks/pconv_finetune.py [--image FILE] [--minutes 15] [--weights pconv|FILE]

The mural is a validation image (never trained on; by default the largest one). A damaged
zone is simulated on it: a held-out irregular mask with 10-30 % holes over one 512² area,
so the truth under the damage is known. Fine-tuning learns only from patches clear of that
zone and of 16 held-out intact patches. Printed, for the starting weights and the
fine-tuned ones, with Telea beside them: PSNR on the held-out patches (holes drawn from the
validation masks) and PSNR/SSIM of the damaged zone itself restored by the engine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from muralstudio.cli import report_errors
from muralstudio.engines import InpaintRequest, drive, get_engine
from muralstudio.core.candidate import apply_patches
from muralstudio.nets.weights import shipped
from muralstudio.ops.metrics import psnr, ssim
from muralstudio.train.finetune import finetune_on
from muralstudio.train.holes import load_mask_file
from muralstudio.train.patches import image_files, load_rgb8

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def zone_scores(image: np.ndarray, hole: np.ndarray, engine: str, params: dict) -> tuple[float, float]:
    damaged = image.copy()
    damaged[hole] = 0
    out = apply_patches(damaged, drive(get_engine(engine).run(InpaintRequest(damaged, hole, params))).patches)
    ys, xs = np.nonzero(hole)
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    return psnr(out[box], image[box]), ssim(out[box], image[box])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path)
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--weights", default="pconv")
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    if args.image is None:
        candidates = image_files([args.data / "murals"], validation=True)
        args.image = max(candidates, key=lambda p: load_rgb8(p).size)
    image = load_rgb8(args.image)
    h, w = image.shape[:2]
    zone = load_mask_file(args.data / "masks" / "irregular" / "04000.png")  # held out of training
    hole = np.zeros((h, w), bool)
    y0, x0 = (h - 512) // 2, (w - 512) // 2
    hole[y0 : y0 + 512, x0 : x0 + 512] = zone
    init = shipped("pconv") if args.weights == "pconv" else Path(args.weights)
    print(f"{args.image.name}: {w} × {h}, damaged zone {100 * zone.mean():.0f} % of a 512² area")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tuned.pt"
        state = drive(finetune_on(image, hole, out, args.minutes, name=args.image.name, init=init,
                                  masks=[args.data / "masks" / "irregular"], log=lambda m: print("  " + m)))
        before, after = state.history[0], state.best
        print(f"\nheld-out patches ({before['patch']}², 10-30 % holes), PSNR: starting weights "
              f"{before['psnr']:.2f} dB, fine-tuned {after['psnr']:.2f} dB ({after['psnr'] - before['psnr']:+.2f}), "
              f"Telea {after['telea_psnr']:.2f} dB")
        rows = [("Telea", "telea", {}), ("PConv, starting weights", "pconv", {"weights": str(init)}),
                ("PConv, fine-tuned", "pconv", {"weights": str(out)})]
        print("damaged zone restored (PSNR dB / SSIM over its bounding box):")
        for label, engine, params in rows:
            p, s = zone_scores(image, hole, engine, params)
            print(f"  {label:26s} {p:6.2f} / {s:.4f}")
    return 0 if after["psnr"] > before["psnr"] else 1


if __name__ == "__main__":
    sys.exit(report_errors(main, __file__))
