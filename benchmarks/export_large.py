"""Export a 100-megapixel 16-bit document to every format: time and peak memory.

    python benchmarks/export_large.py [--width 12288 --height 8192] [--formats layered,multipage,ora]
                                      [--compression none|lzw|deflate] [--out DIR] [--keep]

Each format runs in a fresh child process that builds the same document: a 12288 × 8192
16-bit RGB scan (576 MiB; smooth paint plus sensor noise, so it compresses like a real scan
does, to about three quarters), crack systems around a few centres and two losses (about
1 % of the wall), a guide line, and a chosen candidate whose patches fill every marked
pixel, tile by tile, as the crop-around-damage engines make them.

Memory is reported as multiples of the image size, two ways:
- tracemalloc peak: the most Python and numpy memory the export held at once;
- ru_maxrss growth: peak resident memory during the export minus the resident memory
  before it (the peak is reset first where Linux allows, /proc/self/clear_refs), which
  also counts libraries' own buffers (zlib, libdeflate, tifffile).
The target: no more than about three copies of the image at once.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np

from muralstudio.cli import report_errors
from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import Mural
from muralstudio.core.raster import RasterImage, Resolution
from muralstudio.io.export import export_layered_tiff, export_multipage_tiff, export_ora
from muralstudio.io.icc import srgb_profile

FORMATS = {"layered": (export_layered_tiff, ".tif"), "multipage": (export_multipage_tiff, ".tif"), "ora": (export_ora, ".ora")}
TILE = 512


def make_scan(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour fields plus noise, made band by band so building it stays cheap."""
    rng = np.random.default_rng(seed)
    out = np.empty((height, width, 3), np.uint16)
    x = np.arange(width, dtype=np.float32)
    for y0 in range(0, height, 256):
        y = np.arange(y0, min(y0 + 256, height), dtype=np.float32)[:, None]
        base = 30000 + 12000 * np.sin(x / 700)[None, :] * np.cos(y / 500)
        for c, shift in enumerate((0.0, 3000.0, -4000.0)):
            noise = rng.normal(0, 180, base.shape).astype(np.float32)
            out[y0 : y0 + len(y), :, c] = np.clip(base + shift + noise, 0, 65535)
    return out


def mark_damage(doc: Mural, seed: int = 1) -> None:
    """Crack systems around five centres and two losses, drawn crop by crop; a guide line."""
    rng = np.random.default_rng(seed)
    height, width = doc.shape
    crack = doc.mask(DamageClass.CRACK)
    for cy, cx in rng.uniform(0.1, 0.9, (5, 2)) * (height, width):
        y0, x0 = int(max(0, cy - 1200)), int(max(0, cx - 1200))
        y1, x1 = int(min(height, cy + 1200)), int(min(width, cx + 1200))
        canvas = np.zeros((y1 - y0, x1 - x0), np.uint8)
        for _ in range(40):
            angle = np.cumsum(rng.normal(0, 0.25, 80)) + rng.random() * 2 * np.pi
            start = np.array([cx - x0, cy - y0]) + rng.normal(0, 250, 2)
            pts = start + np.cumsum(5.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1), axis=0)
            cv2.polylines(canvas, [pts.astype(np.int32)], False, 255, int(rng.integers(2, 5)))
        crack[y0:y1, x0:x1] |= canvas > 0
    loss = doc.mask(DamageClass.LOSS)
    for cy, cx in rng.uniform(0.2, 0.8, (2, 2)) * (height, width):
        canvas = np.zeros((800, 800), np.uint8)
        cv2.ellipse(canvas, (400, 400), (300, 200), float(rng.uniform(0, 180)), 0, 360, 255, -1)
        y0, x0 = int(cy) - 400, int(cx) - 400
        loss[y0 : y0 + 800, x0 : x0 + 800] |= canvas > 0
    doc.guide[height // 2 : height // 2 + 3, width // 8 : 7 * width // 8] = True


def fill_candidate(doc: Mural) -> Candidate:
    """Patches over every tile with marked pixels (values: the tile's mean colour)."""
    patches = []
    union = doc.union_mask()
    height, width = doc.shape
    pixels = doc.original.pixels
    for y in range(0, height, TILE):
        for x in range(0, width, TILE):
            m = union[y : y + TILE, x : x + TILE]
            if m.any():
                fill = np.empty(m.shape + (3,), np.uint16)
                fill[:] = pixels[y : y + TILE, x : x + TILE].mean(axis=(0, 1)).astype(np.uint16)
                patches.append(Patch(y, x, fill, m.copy()))
    return Candidate(Provenance("telea", {"radius": 3, "margin": 24}, elapsed_s=1.0), patches)


def build(height: int, width: int) -> Mural:
    scan = RasterImage(make_scan(height, width), icc_profile=srgb_profile(), resolution=Resolution(600, 600))
    doc = Mural(scan)
    mark_damage(doc)
    cand = fill_candidate(doc)
    doc.add_candidate(cand)
    doc.choose(cand.id)
    return doc


def _rss() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def child(fmt: str, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    doc = build(args.height, args.width)
    image_bytes = doc.original.pixels.nbytes
    restored = sum(int(p.mask.sum()) for p in doc.chosen.patches)
    print(f"  document built in {time.perf_counter() - t0:.1f} s: {len(doc.chosen.patches)} patches, "
          f"{restored / (args.height * args.width):.2%} restored", flush=True)
    export, suffix = FORMATS[fmt]
    target = Path(args.out) / f"export_large_{fmt}{suffix}"
    kwargs = {"force": True}
    if fmt != "ora":
        kwargs["compression"] = None if args.compression == "none" else args.compression
    reset = _reset_peak()
    base_rss = _rss()
    base_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    t0 = time.perf_counter()
    steps = 0
    for _ in export(target, doc, **kwargs):
        steps += 1
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    growth = max_rss - (base_rss if reset else base_max)
    size = target.stat().st_size
    print(f"  {fmt:<10} {elapsed:7.1f} s  file {size / 2**20:7.0f} MiB ({size / image_bytes:.2f}× image)  "
          f"tracemalloc peak {peak / image_bytes:.2f}×  ru_maxrss growth {growth / image_bytes:.2f}×"
          f"{'' if reset else ' (peak not resettable: growth over the building peak)'}  "
          f"{steps} progress steps", flush=True)
    if not args.keep:
        target.unlink()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=12288)
    ap.add_argument("--height", type=int, default=8192)
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--compression", choices=("none", "lzw", "deflate"), default="none")
    ap.add_argument("--out", default=None, help="folder for the files (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the exported files")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args)
        return 0
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    with tempfile.TemporaryDirectory(prefix="export_large_") as tmp:
        out = args.out or tmp
        image = args.width * args.height * 3 * 2
        print(f"{args.width} × {args.height} 16-bit RGB ({image / 2**20:.0f} MiB), TIFF compression "
              f"{args.compression}, {os.cpu_count()} cores; memory in multiples of the image size")
        for fmt in formats:
            cmd = [sys.executable, __file__, "--child", fmt, "--width", str(args.width), "--height",
                   str(args.height), "--compression", args.compression, "--out", out]
            if args.keep:
                cmd.append("--keep")
            result = subprocess.run(cmd)
            if result.returncode:
                return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main, __file__))
