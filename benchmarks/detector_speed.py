"""Damage-detector speed and peak memory on a large scan, against a classical baseline.

    python benchmarks/detector_speed.py [--weights FILE] [--size 4096] [--device auto] [--precision auto]

A ``--size`` × ``--size`` 8-bit RGB wall (the demo mural with its synthetic damage, painted
at 2048 px and scaled up) is detected end to end through the engine (loading the weights,
tiles with margins, 8-bit probability maps). Each measurement runs in a child process that
reports its own peak resident memory (VmHWM), next to its memory before the work began; the
baseline is OpenCV's Canny edges (dilated) filled by Telea on the same image, a classical
"find and fill" pass. Prints seconds, peak memory, the image's size in bytes and the ratio
detector / baseline. Target: under 60 s on the CPU, with memory bounded by a few times the
image (one tile's activations, not the whole scan's). Exit status 1 when the time is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from muralstudio.cli import report_errors
from muralstudio.engines.precision import PRECISIONS

TARGET_S = 60.0


def vm_kib(field: str) -> int:
    """A VmHWM/VmRSS figure of this process in KiB (0 where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def make_wall(size: int, seed: int = 7) -> np.ndarray:
    """A textured, damaged 8-bit RGB wall of ``size`` × ``size``."""
    import cv2

    from muralstudio.demo.damage import apply_damage
    from muralstudio.demo.mural import make_clean_mural

    base = min(size, 2048)
    damaged, _ = apply_damage(make_clean_mural(base, base, seed=seed), seed)
    rgb = ((damaged.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if base != size:
        rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(rgb)


def child(kind: str, image_path: str, weights: str, device: str, precision: str) -> dict:
    """Run one measurement in this (child) process and return its figures."""
    import torch  # noqa: F401  (imported before the baseline memory figure, as the app has it loaded)

    from muralstudio.engines.base import drive
    from muralstudio.engines.detect import DetectRequest, detect

    image = np.load(image_path)
    before = vm_kib("VmRSS")
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    if kind == "detect":
        result = drive(detect(DetectRequest(image, weights, device, precision=precision)))
        info = {"tiles_meta": result.meta, "damage_share": {c: round(float(result.mask(c).mean()), 4)
                                                             for c in result.classes}}
    else:
        import cv2

        edges = cv2.Canny(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), 60, 180)
        mask = cv2.dilate(edges, np.ones((3, 3), np.uint8))
        cv2.inpaint(image, mask, 3, cv2.INPAINT_TELEA)
        info = {"mask_share": round(float((mask > 0).mean()), 4)}
    seconds = time.perf_counter() - t
    end = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = end.ru_utime - cpu.ru_utime + end.ru_stime - cpu.ru_stime
    return {"seconds": seconds, "cpu_seconds": cpu_s, "rss_before_kib": before, "peak_kib": vm_kib("VmHWM"),
            "threads": torch.get_num_threads(), **info}


def measure(kind: str, image_path: str, weights: str, device: str, precision: str) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--image", image_path, "--weights", weights, "--device", device,
           "--precision", precision]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{kind} failed:\n{done.stderr.strip()}")
    res = json.loads(done.stdout.strip().splitlines()[-1])
    res["children_maxrss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # all children so far
    return res


def mb(kib: float) -> str:
    return f"{kib / 1024:.0f} MB"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="", help="detector weights (default: the shipped detector)")
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="auto", choices=PRECISIONS,
                    help="the detector's precision (auto: bfloat16 on a CPU that computes it natively)")
    ap.add_argument("--child", choices=("detect", "baseline"), help=argparse.SUPPRESS)
    ap.add_argument("--image", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.image, args.weights, args.device, args.precision)))
        return 0

    wall = make_wall(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "wall.npy")
        np.save(path, wall)
        det = measure("detect", path, args.weights, args.device, args.precision)
        base = measure("baseline", path, args.weights, args.device, args.precision)
    nbytes = wall.nbytes
    print(f"{args.size} × {args.size} RGB 8-bit wall: {nbytes / 2**20:.0f} MB of pixels "
          f"(probability maps: {5 * args.size**2 / 2**20:.0f} MB); torch threads {det['threads']}, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"detector  {det['seconds']:7.1f} s ({det['cpu_seconds']:.0f} CPU-s)   peak {mb(det['peak_kib'])} "
          f"({mb(det['peak_kib'] - det['rss_before_kib'])} above the {mb(det['rss_before_kib'])} before detecting; "
          f"{(det['peak_kib'] - det['rss_before_kib']) * 1024 / nbytes:.1f}× the image); "
          f"device {det['tiles_meta'].get('device')} ({det['tiles_meta'].get('precision')}), "
          f"tile {det['tiles_meta'].get('tile')}")
    print(f"baseline  {base['seconds']:7.1f} s ({base['cpu_seconds']:.0f} CPU-s)   peak {mb(base['peak_kib'])} "
          f"({mb(base['peak_kib'] - base['rss_before_kib'])} above; Canny+Telea over {100 * base['mask_share']:.1f} % "
          f"of the image)")
    print(f"ratio detector / baseline: {det['seconds'] / max(base['seconds'], 1e-9):.2f} "
          f"(time), {det['peak_kib'] / max(base['peak_kib'], 1):.2f} (peak memory); "
          f"peak RSS of the children (getrusage): {mb(det['children_maxrss_kib'])}")
    print("detected damage share: " + ", ".join(f"{c} {100 * v:.1f} %" for c, v in det["damage_share"].items()))
    print(f"target: detector under {TARGET_S:.0f} s: {'met' if det['seconds'] < TARGET_S else 'MISSED'}")
    return 0 if det["seconds"] < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(report_errors(main, __file__))
