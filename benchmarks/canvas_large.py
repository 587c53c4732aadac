"""The canvas on a 100-megapixel 16-bit scan: time to the first frame and per brush event.

    python benchmarks/canvas_large.py [--file SCAN.tif] [--width 12288 --height 8192]
                                      [--events 300] [--view 1600x1000] [--keep]

Without --file, a 12288 × 8192 16-bit RGB TIFF (576 MiB, uncompressed) is written to a
temporary folder with tifffile first. Runs offscreen (QT_QPA_PLATFORM=offscreen unless set).

Measures, in one run:
1. open to first painted frame: read_image + Mural(...) + canvas.set_document (fits the
   window) + one full repaint of the viewport, with the split;
2. brush events at 100 % and at fit zoom: a 40-pixel brush stroke on the crack layer along
   a path of --events pointer events; each event timed from ``add_point`` (which notifies
   the canvas, which invalidates the overlay tiles under the change) through a synchronous
   ``viewport().repaint()`` of the dirty rectangle. Median, 95th percentile and worst,
   against the 16 ms frame budget;
3. full-viewport repaints from cached tiles (panning) and right after a zoom step, at a
   1920 × 1080 viewport as well;
and, for context, a baseline measured in the same run: cv2.resize of the whole image to the
viewport size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from muralstudio.cli import report_errors
from muralstudio.core.brush import Brush  # noqa: E402
from muralstudio.core.document import Mural  # noqa: E402
from muralstudio.gui.canvas import CanvasView  # noqa: E402
from muralstudio.io.images import read_image  # noqa: E402

BUDGET_MS = 16.0


def make_scan(path: Path, width: int, height: int) -> None:
    """A textured 16-bit RGB test scan: smooth colour fields, fine grain and some lines."""
    import tifffile

    rng = np.random.default_rng(0)
    px = np.empty((height, width, 3), np.uint16)
    xs = np.arange(width, dtype=np.float32)
    band = 512
    for y0 in range(0, height, band):
        y1 = min(height, y0 + band)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None]
        base = 0.5 + 0.25 * np.sin(xs[None, :] / 700.0 + ys / 900.0)
        for c, phase in enumerate((0.0, 2.0, 4.0)):
            v = base + 0.15 * np.sin((xs[None, :] + ys) / 230.0 + phase)
            v = v + rng.normal(0, 0.02, v.shape).astype(np.float32)
            v[:, ::97] *= 0.4  # thin dark lines
            px[y0:y1, :, c] = np.clip(v * 65535, 0, 65535).astype(np.uint16)
    tifffile.imwrite(path, px, photometric="rgb", bigtiff=px.nbytes > 2**32 - 2**25)


def stats(ms: list[float]) -> str:
    ms_sorted = sorted(ms)
    p95 = ms_sorted[min(len(ms_sorted) - 1, int(round(0.95 * (len(ms_sorted) - 1))))]
    over = sum(1 for v in ms if v > BUDGET_MS)
    return (
        f"median {statistics.median(ms):6.2f} ms   p95 {p95:6.2f} ms   worst {max(ms):6.2f} ms   "
        f"over {BUDGET_MS:.0f} ms: {over}/{len(ms)}"
    )


def stroke_path(cx: float, cy: float, span: float, n: int) -> list[tuple[float, float]]:
    """A wavy stroke of ``n`` events across ``span`` image pixels centred on (cx, cy)."""
    t = np.linspace(0.0, 1.0, n)
    xs = cx - span / 2 + span * t
    ys = cy + span * 0.15 * np.sin(t * 4 * np.pi)
    return list(zip(xs.tolist(), ys.tolist()))


def brush_events(canvas: CanvasView, doc: Mural, path: list[tuple[float, float]]) -> list[float]:
    vp = canvas.viewport()
    stroke = doc.begin_stroke("mask:crack", Brush(40), False)
    times = []
    for x, y in path:
        t0 = time.perf_counter()
        rect = stroke.add_point(x, y)  # notifies the canvas: invalidation + update(rect)
        if rect is not None:
            vp.repaint(canvas.layer_change_screen_rect(rect))
        times.append((time.perf_counter() - t0) * 1000.0)
    stroke.end()
    QApplication.processEvents()
    return times


def repaint_ms(canvas: CanvasView, repeats: int = 20) -> list[float]:
    vp = canvas.viewport()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        vp.repaint()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--file", type=Path, help="an existing scan to open instead of a generated one")
    ap.add_argument("--width", type=int, default=12288)
    ap.add_argument("--height", type=int, default=8192)
    ap.add_argument("--events", type=int, default=300)
    ap.add_argument("--view", default="1600x1000", help="canvas size, WxH")
    ap.add_argument("--keep", action="store_true", help="keep the generated TIFF")
    args = ap.parse_args(argv)
    vw, vh = (int(v) for v in args.view.lower().split("x"))
    app = QApplication.instance() or QApplication(sys.argv[:1])

    tmp = None
    path = args.file
    if path is None:
        tmp = tempfile.mkdtemp(prefix="muralstudio-bench-")
        path = Path(tmp) / "scan.tif"
        t0 = time.perf_counter()
        make_scan(path, args.width, args.height)
        print(f"wrote {path} ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s")

    try:
        # -- 1. open to first frame ------------------------------------------------------
        canvas = CanvasView()
        canvas.resize(vw, vh)
        canvas.show()
        app.processEvents()
        t0 = time.perf_counter()
        raster = read_image(path)
        t1 = time.perf_counter()
        doc = Mural(raster)
        t2 = time.perf_counter()
        canvas.set_document(doc)
        canvas.fit()
        t3 = time.perf_counter()
        canvas.viewport().repaint()
        t4 = time.perf_counter()
        pyr = canvas.pyramid()
        assert pyr is not None
        print(f"\nimage: {raster.describe()}, canvas viewport {canvas.viewport().width()} × "
              f"{canvas.viewport().height()}, fit zoom {canvas.zoom():.4f} "
              f"(pyramid level {pyr.level_for_zoom(canvas.zoom())})")
        print(f"open to first frame: {t4 - t0:.2f} s")
        print(f"  read_image          {t1 - t0:6.2f} s")
        print(f"  Mural(...)          {t2 - t1:6.2f} s")
        print(f"  set_document + fit  {t3 - t2:6.2f} s")
        print(f"  first paint         {t4 - t3:6.2f} s  ({pyr.tiles_computed} pyramid tiles, "
              f"{canvas.base_tiles_rendered} screen tiles)")

        # -- 2. brush events -------------------------------------------------------------
        h, w = doc.shape
        print(f"\nbrush events ({args.events} per stroke, 40 px brush, crack layer), "
              "add_point + invalidation + repaint of the dirty rectangle:")
        canvas.fit()
        canvas.viewport().repaint()
        span_fit = w * 0.6
        fit_times = brush_events(canvas, doc, stroke_path(w * 0.5, h * 0.5, span_fit, args.events))
        print(f"  fit ({canvas.zoom():.3f})   {stats(fit_times)}")
        canvas.actual_size()
        canvas.center_on(w * 0.3, h * 0.3)
        canvas.viewport().repaint()
        span = min(vw, vh) * 0.8
        full_times = brush_events(canvas, doc, stroke_path(w * 0.3, h * 0.3, span, args.events))
        print(f"  100 %         {stats(full_times)}")

        # -- 3. full repaints --------------------------------------------------------------
        print("\nfull-viewport repaints:")
        for size in ((vw, vh), (1920, 1080)):
            canvas.resize(*size)
            app.processEvents()
            label = f"{canvas.viewport().width()}×{canvas.viewport().height()}"
            for name, setup in (
                ("fit", canvas.fit),
                ("100 %", lambda: (canvas.actual_size(), canvas.center_on(w * 0.5, h * 0.5))),
                ("73 %", lambda: canvas.set_zoom(0.73)),
                ("800 %", lambda: canvas.set_zoom(8.0)),
            ):
                setup()
                t0 = time.perf_counter()
                canvas.viewport().repaint()  # screen tiles made (pyramid tiles may be too)
                first = (time.perf_counter() - t0) * 1000.0
                cached = repaint_ms(canvas)
                canvas.set_zoom(canvas.zoom() * 1.15, QPointF(size[0] / 3, size[1] / 3))
                canvas.viewport().repaint()  # warm the pyramid level, then time a zoom step
                canvas.set_zoom(canvas.zoom() / 1.15, QPointF(size[0] / 3, size[1] / 3))
                t0 = time.perf_counter()
                canvas.viewport().repaint()
                step = (time.perf_counter() - t0) * 1000.0
                print(f"  {label} {name:6s} first {first:7.1f} ms   after a zoom step {step:6.1f} ms   "
                      f"cached (pan): {stats(cached)}")

        # -- baseline -----------------------------------------------------------------------
        print("\nbaseline, same run:")
        for interp, name in ((cv2.INTER_AREA, "INTER_AREA"), (cv2.INTER_LINEAR, "INTER_LINEAR")):
            t0 = time.perf_counter()
            cv2.resize(raster.pixels, (vw, vh), interpolation=interp)
            print(f"  cv2.resize of the whole image to {vw}×{vh} ({name}): {time.perf_counter() - t0:.3f} s")
        canvas.close()
    finally:
        if tmp is not None and not args.keep:
            try:
                (Path(tmp) / "scan.tif").unlink()
                os.rmdir(tmp)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main, __file__))
