"""Maps of the compared pair, computed on a worker thread and cached per pair.

A request for a map of the current pair starts a job (one at a time) whose tiles arrive in
the order the view needs them, tiles in view first. Finished and partly finished maps are
kept per (kind, side A, side B, edge method) in a cache bounded in bytes, so switching back
to a pair or an overlay shows it at once. Changing a side never blocks: the running job is
cancelled and the next one starts when it has stopped.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Generator
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from muralstudio.core.document import Mural
from muralstudio.core.progress import Progress
from muralstudio.core.raster import RasterImage
from muralstudio.gui.compare.mapstore import MapStore
from muralstudio.gui.compare.sources import REFERENCE, Box, pixels_getter, side_key
from muralstudio.gui.worker import JobRunner
from muralstudio.ops.compare import MapTile, PairSums, map_tiles, mask_outline, order_tiles, tile_boxes

MAP_TILE = 1024
CACHE_BYTES = 768 << 20
Key = tuple[str, ...]


def outline_tiles(mask: np.ndarray, boxes: list[Box]) -> Generator[Progress, None, PairSums]:
    """The damage mask's outline tile by tile (1-px halo, so tiles join seamlessly)."""
    h, w = mask.shape
    for i, (y0, x0, y1, x1) in enumerate(boxes):
        a0, b0, a1, b1 = max(0, y0 - 1), max(0, x0 - 1), min(h, y1 + 1), min(w, x1 + 1)
        ring = mask_outline(mask[a0:a1, b0:b1])[y0 - a0 : y1 - a0, x0 - b0 : x1 - b0]
        tile = MapTile((y0, x0, y1, x1), ring.astype(np.uint8) * 255, PairSums())
        yield Progress((i + 1) / len(boxes), f"Outlining the damage: tile {i + 1} of {len(boxes)}", preview=tile)
    return PairSums()


class MapService(QObject):
    """Computes and caches the maps of a document's pairs; the compare view draws from it."""

    tileArrived = Signal(str)  # kind
    mapFinished = Signal(str)  # kind
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, cache_bytes: int = CACHE_BYTES) -> None:
        super().__init__(parent)
        self.doc: Mural | None = None
        self.reference: RasterImage | None = None
        self.pair: tuple[str, str] = ("", "")
        self.edge_method = "sobel"
        self.focus: Callable[[], Box | None] = lambda: None
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[Key, MapStore] = OrderedDict()
        self._wanted: list[str] = []  # kinds of the current pair, most urgent first
        self._running: tuple[Key, MapStore] | None = None
        self._progress: dict[Key, float] = {}
        self.runner = JobRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_stopped)

    # -- what is wanted -----------------------------------------------------------------
    def set_document(self, doc: Mural | None) -> None:
        self.doc, self.reference = doc, None
        self._cache.clear()
        self._progress.clear()
        self._wanted = []
        self._cancel_running()

    def key(self, kind: str) -> Key:
        assert self.doc is not None
        if REFERENCE in self.pair and self.reference is None:
            raise KeyError(REFERENCE)
        a, b = (side_key(self.doc, s) for s in self.pair)
        if kind == "outline":
            return (kind,)
        return (kind, a, b, self.edge_method if kind == "edges" else "")

    def set_reference(self, image: RasterImage | None) -> None:
        """Use ``image`` as the reference side; maps made with an earlier one are dropped."""
        self.reference = image
        self.forget(lambda k: REFERENCE in k)

    def set_pair(self, a: str, b: str, edge_method: str) -> None:
        self.pair, self.edge_method = (a, b), edge_method
        self._schedule()

    def want(self, kinds: list[str]) -> None:
        """Compute these maps of the current pair (in this order) unless they are cached."""
        self._wanted = list(dict.fromkeys(kinds))
        self._schedule()

    def forget(self, predicate: Callable[[Key], bool]) -> None:
        """Drop cached maps, e.g. of a candidate that is gone or masks that changed."""
        for k in [k for k in self._cache if predicate(k)]:
            del self._cache[k]
            self._progress.pop(k, None)
        if self._running is not None and predicate(self._running[0]):
            self._cancel_running()
        self._schedule()

    # -- what the view reads ------------------------------------------------------------
    def store(self, kind: str) -> MapStore | None:
        if self.doc is None:
            return None
        try:
            store = self._cache.get(self.key(kind))
        except KeyError:  # a side's candidate is gone
            return None
        return store

    def status(self, kind: str) -> str:
        """'' when complete, else how far the map is."""
        store = self.store(kind)
        if store is not None and store.complete:
            return ""
        frac = self._progress.get(self.key(kind), 0.0) if self.doc is not None else 0.0
        return f"computing {100 * frac:.0f} %"

    def figures(self) -> PairSums | None:
        """Whole-image figures of the current pair, once its SSIM map is complete."""
        store = self.store("ssim")
        return store.sums if store is not None and store.complete else None

    def is_busy(self) -> bool:
        return self.runner.is_running()

    # -- jobs ---------------------------------------------------------------------------
    def _cancel_running(self) -> None:
        if self.runner.is_running():
            self.runner.cancel()

    def _schedule(self) -> None:
        if self.doc is None:
            return
        if self.runner.is_running():
            running = self._running[0] if self._running else None
            wanted_keys = {self._safe_key(k) for k in self._wanted}
            if running not in wanted_keys:
                self.runner.cancel()  # _on_stopped schedules again
            return
        for kind in self._wanted:
            key = self._safe_key(kind)
            if key is None:
                continue
            store = self._cache.get(key)
            if store is not None and store.complete:
                self._cache.move_to_end(key)
                continue
            self._start(kind, key, store)
            return

    def _safe_key(self, kind: str) -> Key | None:
        try:
            return self.key(kind)
        except KeyError:
            return None

    def _start(self, kind: str, key: Key, store: MapStore | None) -> None:
        doc = self.doc
        assert doc is not None
        shape = doc.shape
        if store is None:
            store = MapStore(kind, shape, channels=2 if kind == "edges" else 1)
            self._cache[key] = store
            self._trim(key)
        boxes = [b for b in tile_boxes(shape, MAP_TILE) if b not in store.done]  # resume a stopped map
        focus = self.focus()
        order = order_tiles(boxes, focus) if focus is not None else boxes
        if kind == "outline":
            union = doc.union_mask()
            factory: Callable[[], Generator[Progress, None, Any]] = lambda: outline_tiles(union, order)
        else:
            get_a, get_b = (pixels_getter(doc, s, self.reference) for s in self.pair)
            union = doc.union_mask() if kind == "ssim" else None
            mask = (lambda box: union[box[0] : box[2], box[1] : box[3]]) if union is not None else None
            method = self.edge_method
            factory = lambda: map_tiles(kind, get_a, get_b, shape, tile=MAP_TILE, order=order,
                                        edge_method=method, mask=mask)
        self._running = (key, store)
        self._progress[key] = 0.0
        self.runner.start(factory)

    def _trim(self, keep: Key) -> None:
        while sum(s.nbytes for s in self._cache.values()) > self.cache_bytes and len(self._cache) > 1:
            oldest = next(k for k in self._cache if k != keep)
            del self._cache[oldest]
            self._progress.pop(oldest, None)

    def _on_progress(self, fraction: float, message: str, left: object, preview: object) -> None:
        if self._running is None or not isinstance(preview, MapTile):
            return
        key, store = self._running
        store.add(preview.box, preview.data, preview.stats)
        self._progress[key] = fraction
        self.tileArrived.emit(key[0])

    def _on_finished(self, result: object) -> None:
        if self._running is not None:
            key, store = self._running
            store.complete = True
            self._progress.pop(key, None)
            self._running = None
            self.mapFinished.emit(key[0])
        self._schedule()

    def _on_failed(self, message: str) -> None:
        if self._running is not None:
            self._cache.pop(self._running[0], None)
            self._running = None
        self.failed.emit(message)

    def _on_stopped(self) -> None:
        self._running = None
        self._schedule()

    def shutdown(self) -> None:
        self._wanted = []
        self._cancel_running()
        self.runner.wait()
