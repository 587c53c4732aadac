"""Diffusion speed in each precision, against OpenCV Telea, measured in one run.

    python benchmarks/diffusion_speed.py [--weights diffusion|FILE] [--repeats 2]

Two cases through the engine protocol with the default settings (PConv anchor, detail
balance, 20 steps):
- one candidate of a 256 × 256 region with a 140² loss in its middle (issue 6 asks for at
  most 20 s on this CPU);
- three candidates of a 400² loss in a 1024² demo mural: what a conservator waits for on a
  large loss.
Float32, ``auto`` (bfloat16 on a CPU with native bfloat16, float32 elsewhere) and Telea run
in turns; prints the median seconds of each and the ratio float32 / auto.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np

from pconv_speed import timed

from muralstudio.cli import report_errors
from muralstudio.demo.mural import make_clean_mural
from muralstudio.engines.precision import compute_dtype, dtype_name


def case(name: str, image: np.ndarray, hole: np.ndarray, params: dict, repeats: int) -> None:
    """Prints the median seconds of float32, auto and Telea, run in turns."""
    runs: dict[str, list[float]] = {"float32": [], "auto": [], "telea": []}
    timed("diffusion", image, hole, params)  # loads both networks once
    for _ in range(repeats):
        for precision in ("float32", "auto"):
            runs[precision].append(timed("diffusion", image, hole, {**params, "precision": precision}))
        runs["telea"].append(timed("telea", image, hole, {}))
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"{name}: float32 {med['float32']:.2f} s, auto {med['auto']:.2f} s "
          f"({med['float32'] / med['auto']:.2f}× faster), Telea {med['telea'] * 1000:.0f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="diffusion", help="shipped name or weight file")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error(f"--repeats must be at least 1, not {args.repeats}")
    import torch

    print(f"auto runs {dtype_name(compute_dtype('auto', torch.device('cpu')))} on this CPU; "
          f"torch threads {torch.get_num_threads()}")
    region = (make_clean_mural(256, 256, seed=3) >> 8).astype(np.uint8)
    hole = np.zeros((256, 256), bool)
    hole[58:198, 58:198] = True
    case("256² region, one candidate", region, hole, {"weights": args.weights, "candidates": 1}, args.repeats)
    wall = (make_clean_mural(1024, 1024, seed=3) >> 8).astype(np.uint8)
    loss = np.zeros((1024, 1024), bool)
    loss[312:712, 312:712] = True
    case("400² loss in a 1024² mural, three candidates", wall, loss, {"weights": args.weights}, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main, __file__))
