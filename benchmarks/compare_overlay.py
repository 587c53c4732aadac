"""The compare window on a 50-megapixel scan: time to the first SSIM overlay, and whether the
window's event loop keeps running while the map is computed.

    python benchmarks/compare_overlay.py [--width 8660 --height 5774] [--depth 8|16] [--kind ssim]

Builds a textured scan in memory with 400 restored patches (a candidate), opens the Compare
and assess window offscreen (1600 × 1000) on original against candidate, switches the
overlay on and measures:
1. time from switching it on to the first tile painted in the view, and to the whole map;
2. the event loop meanwhile: a 10 ms timer's ticks and the longest gap between two of them
   (a window that blocks shows one long gap as long as the computation);
and, as a baseline in the same run, the whole-image SSIM of ops.metrics computed directly
(blocking) on the same pair.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from muralstudio.cli import report_errors
from muralstudio.core.candidate import Candidate, Patch, Provenance  # noqa: E402
from muralstudio.core.damage import DamageClass  # noqa: E402
from muralstudio.core.document import Mural, mask_key  # noqa: E402
from muralstudio.core.raster import RasterImage  # noqa: E402
from muralstudio.gui.compare.sources import ORIGINAL  # noqa: E402
from muralstudio.gui.compare.window import CompareWindow  # noqa: E402
from muralstudio.ops.metrics import ssim  # noqa: E402


def make_document(width: int, height: int, depth: int, seed: int = 0) -> Mural:
    """A textured scan with 400 restored square patches, their area marked as loss."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 220, (height // 64 + 2, width // 64 + 2, 3), dtype=np.uint8)
    px = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.integers(-12, 13, (height, width), dtype=np.int16)
    px = np.clip(px.astype(np.int16) + grain[:, :, None], 0, 255).astype(np.uint8)
    if depth == 16:
        px = px.astype(np.uint16) * 257
    mask = np.zeros((height, width), bool)
    patches = []
    for _ in range(400):
        s = int(rng.integers(20, 160))
        y, x = int(rng.integers(0, height - s)), int(rng.integers(0, width - s))
        made = np.ones((s, s), bool)
        fill = px[y : y + s, x : x + s].copy()
        fill[:] = np.median(fill.reshape(-1, 3), axis=0).astype(px.dtype)
        patches.append(Patch(y, x, fill, made))
        mask[y : y + s, x : x + s] = True
    doc = Mural(RasterImage(px))
    doc.set_layer(mask_key(DamageClass.LOSS), mask, "mark")
    doc.add_candidate(Candidate(Provenance("benchmark", {}), patches))
    return doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=8660)
    ap.add_argument("--height", type=int, default=5774)
    ap.add_argument("--depth", type=int, choices=(8, 16), default=8)
    ap.add_argument("--kind", choices=("ssim", "edges", "diff"), default="ssim")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    t = time.perf_counter()
    doc = make_document(args.width, args.height, args.depth)
    mp = args.width * args.height / 1e6
    print(f"scan: {args.width} × {args.height} ({mp:.1f} MP), {args.depth}-bit RGB, "
          f"{len(doc.candidates[0].patches)} patches; built in {time.perf_counter() - t:.1f} s")

    win = CompareWindow(QSettings("/dev/null", QSettings.Format.IniFormat))
    win.resize(1600, 1000)
    win.show()
    win.set_document(doc)
    win.view.set_sides(ORIGINAL, doc.candidates[0].id)
    app.processEvents()
    win.maps.want([])  # nothing in flight before the clock starts
    while win.maps.is_busy() or win.measurer.is_running():
        app.processEvents()
        time.sleep(0.005)

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    first_tile: list[float] = []
    first_paint: list[float] = []
    pane = win.view.panes[0]
    original_paint = pane.paintEvent

    def paint_and_note(event: object) -> None:
        original_paint(event)  # type: ignore[arg-type]
        store = win.maps.store(args.kind)
        if store is not None and store.tiles_added and not first_paint:
            first_paint.append(time.perf_counter())

    pane.paintEvent = paint_and_note  # type: ignore[method-assign]
    win.maps.tileArrived.connect(lambda _k: first_tile or first_tile.append(time.perf_counter()))
    timer.start()
    t0 = time.perf_counter()
    win.set_maps([args.kind])
    while True:
        app.processEvents()
        store = win.maps.store(args.kind)
        if store is not None and store.complete:
            break
        time.sleep(0.002)
    done = time.perf_counter()
    for _ in range(5):
        app.processEvents()
    timer.stop()
    gaps = np.diff([t0] + ticks)
    a, b = doc.original.pixels, doc.candidates[0].render(doc.original.pixels)
    t = time.perf_counter()
    whole = ssim(a, b)
    baseline = time.perf_counter() - t
    figures = win.maps.figures()
    print(f"map: {args.kind}, tiles of 1024 px")
    print(f"first tile arrived     {1000 * (first_tile[0] - t0):8.0f} ms")
    print(f"first overlay painted  {1000 * (first_paint[0] - t0):8.0f} ms" if first_paint else "first overlay painted  never")
    print(f"whole map              {done - t0:8.2f} s")
    print(f"event loop: {len(ticks)} ticks of 10 ms in {done - t0:.2f} s, longest gap {1000 * gaps.max():.0f} ms, "
          f"median {1000 * np.median(gaps):.0f} ms")
    print(f"baseline, ops.metrics.ssim on the whole pair (blocking): {baseline:.2f} s "
          f"(SSIM {whole:.4f}; from the tiles {figures.ssim() if figures else float('nan'):.4f})")
    print(f"ratios: first overlay / baseline {(first_paint[0] - t0) / baseline:.3f}; "
          f"longest gap / baseline {gaps.max() / baseline:.3f}")
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main, __file__))
