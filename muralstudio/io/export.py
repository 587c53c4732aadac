"""Export a document with its layers and provenance: layered TIFF, multi-page TIFF, OpenRaster.

Every format holds the same layers (:func:`document_layers`): the original scan, the composite
(the original with the chosen candidate), the restoration alone (only the machine-made pixels,
transparent elsewhere), one layer per damage class that has marked pixels and the guide lines;
all of the original's bit depth. Each file also carries the provenance record
(:func:`provenance_dict`) as XMP, so every machine-made pixel stays documented.

The visible stack (original, with the restoration over it) looks exactly like the composite;
the composite layer, the masks and the guide are hidden, ready to be switched on.

Exporters are generators: they yield :class:`Progress` and return the written path. The file
is written through :func:`atomic_output` and takes the target's place only when the caller
asks past the final Progress(1.0); closing the generator before (or an error) stops the
export and leaves no file behind, and an existing target keeps its content.

Memory: no layer is ever held whole. Rows of every layer are computed band by band from the
original, the masks and the candidate's patches (:class:`DocumentPixels`), compressed and
written at once; layers that must come before their data (Photoshop layer records) are
compressed into anonymous temporary files beside the target first. The writing itself runs
on a helper thread (libraries such as tifffile pull the rows from us), while the generator
passes its progress on and stops it when closed.
"""

from __future__ import annotations

import os
import queue
import threading
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from muralstudio.core import masks as maskops
from muralstudio.core.candidate import Candidate
from muralstudio.core.damage import STYLES, DamageClass
from muralstudio.core.document import GUIDE, Mural, mask_key
from muralstudio.core.errors import ImageWriteError, MuralStudioError
from muralstudio.core.progress import Progress
from muralstudio.io.atomic import atomic_output
from muralstudio.io.xmp import provenance_record, xmp_packet

__all__ = [
    "DocumentPixels",
    "Layer",
    "document_layers",
    "export_layered_tiff",
    "export_multipage_tiff",
    "export_ora",
    "provenance_dict",
]

BAND_BYTES = 32 * 2**20  # rows of a layer computed at once
STREAM_LEVEL = 2  # zlib level of PNG and Photoshop channel streams: nearly level 6's size, 5x faster
GUIDE_COLOUR = (0, 215, 230)
#: Bottom to top, as the canvas draws them: broad damage first, thin cracks on top.
MASK_ORDER = (DamageClass.FADING, DamageClass.STAIN, DamageClass.LOSS, DamageClass.FLAKING, DamageClass.CRACK)
MASK_OPACITY = 0.5
GUIDE_OPACITY = 0.9
Box = tuple[int, int, int, int]  # y0, x0, y1, x1 (end exclusive)


@dataclass(frozen=True)
class Layer:
    """One exported layer: what it is, where it has content and how it is shown."""

    key: str  # "original", "composite", "restored", "mask:<class>" or "guide"
    name: str
    description: str
    box: Box  # the whole image for original and composite
    colour: tuple[int, int, int] | None = None  # masks and guide: the colour they are drawn in
    visible: bool = True
    opacity: float = 1.0

    @property
    def is_picture(self) -> bool:
        """Original and composite: opaque images of the wall."""
        return self.key in ("original", "composite")

    @property
    def is_marking(self) -> bool:
        """Masks and guide: marked pixels, drawn in a colour (or grey 0/max)."""
        return self.colour is not None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.box[2] - self.box[0], self.box[3] - self.box[1])


def _intersect(a: Box, b: Box) -> Box | None:
    y0, x0, y1, x1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    return (y0, x0, y1, x1) if y0 < y1 and x0 < x1 else None


class DocumentPixels:
    """Rows of every layer of a document, computed when asked from the original, the masks
    and a candidate's patches (by default the chosen one); nothing the size of the image is kept."""

    def __init__(self, doc: Mural, candidate: Candidate | None | Literal["chosen"] = "chosen") -> None:
        self.doc = doc
        self.original = doc.original.pixels
        self.height, self.width, self.channels = (int(n) for n in self.original.shape)
        self.dtype = self.original.dtype
        self.top = int(np.iinfo(self.dtype).max)
        self.candidate = doc.chosen if isinstance(candidate, str) else candidate
        self.patches = list(self.candidate.patches) if self.candidate is not None else []
        rows = [(p.y, p.x, p.y + p.mask.shape[0], p.x + p.mask.shape[1]) for p in self.patches]
        self._boxes = np.array(rows, dtype=np.int64).reshape(-1, 4)
        self._restored_box: Box | None = None
        self._stats: tuple[int, dict[str, int], int] | None = None

    @property
    def whole(self) -> Box:
        return (0, 0, self.height, self.width)

    def _touching(self, box: Box) -> Iterator[tuple[Any, Box]]:
        """Patches that overlap ``box``, in the order they are applied, with their overlap."""
        b = self._boxes
        hits = np.flatnonzero((b[:, 0] < box[2]) & (b[:, 2] > box[0]) & (b[:, 1] < box[3]) & (b[:, 3] > box[1]))
        for i in hits:
            overlap = _intersect(box, tuple(int(v) for v in b[i]))
            if overlap is not None:
                yield self.patches[i], overlap

    def composite(self, box: Box) -> np.ndarray:
        """The composite in ``box`` (a new array): the original with the patches pasted in."""
        y0, x0, y1, x1 = box
        out = np.array(self.original[y0:y1, x0:x1])
        for p, (oy0, ox0, oy1, ox1) in self._touching(box):
            src = (slice(oy0 - p.y, oy1 - p.y), slice(ox0 - p.x, ox1 - p.x))
            made = p.mask[src]
            region = out[oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0]
            region[made] = p.pixels[src][made]
        return out

    def restored(self, box: Box) -> np.ndarray:
        """Boolean: the pixels of ``box`` the chosen candidate made."""
        y0, x0, y1, x1 = box
        out = np.zeros((y1 - y0, x1 - x0), bool)
        for p, (oy0, ox0, oy1, ox1) in self._touching(box):
            out[oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0] |= p.mask[oy0 - p.y : oy1 - p.y, ox0 - p.x : ox1 - p.x]
        return out

    def restored_box(self) -> Box | None:
        """Bounding box of the machine-made pixels (None when there are none)."""
        if self._restored_box is None and self.patches:
            boxes = []
            for p in self.patches:
                inner = maskops.bbox(p.mask)
                if inner is not None:
                    box = (p.y + inner[0], p.x + inner[1], p.y + inner[2], p.x + inner[3])
                    box = _intersect(box, self.whole)
                    if box is not None:
                        boxes.append(box)
            if boxes:
                a = np.array(boxes)
                self._restored_box = (int(a[:, 0].min()), int(a[:, 1].min()), int(a[:, 2].max()), int(a[:, 3].max()))
        return self._restored_box

    def restored_stats(self) -> tuple[int, dict[str, int], int]:
        """(machine-made pixels, of them per damage class, of them outside every mask)."""
        if self._stats is None:
            total, outside = 0, 0
            per_class = {c.value: 0 for c in DamageClass}
            box = self.restored_box()
            if box is not None:
                for y0, y1 in bands(box[0], box[2], max(1, BAND_BYTES // (4 * (box[3] - box[1])))):
                    band = (y0, box[1], y1, box[3])
                    made = self.restored(band)
                    total += int(np.count_nonzero(made))
                    marked = np.zeros_like(made)
                    for c in DamageClass:
                        m = self.doc.mask(c)[y0:y1, box[1] : box[3]]
                        per_class[c.value] += int(np.count_nonzero(made & m))
                        marked |= m
                    outside += int(np.count_nonzero(made & ~marked))
            self._stats = (total, per_class, outside)
        return self._stats

    def rows(self, layer: Layer, y0: int, y1: int, *, rgb: bool = False, grey_marks: bool = False) -> np.ndarray:
        """Rows ``y0:y1`` (image coordinates) of ``layer`` within its box's columns.

        Pictures: (h, w, C). Restoration: (h, w, C + 1), colour 0 and alpha 0 where nothing
        was made. Masks and guide: (h, w, 4) in their colour with alpha = mask, or with
        ``grey_marks`` (h, w) 0/max. ``rgb`` turns grey pictures, and grey marks, into RGB
        (R = G = B).
        """
        x0, x1 = layer.box[1], layer.box[3]
        box = (y0, x0, y1, x1)
        if layer.is_marking:
            marks = self.doc.layer_array(layer.key)[y0:y1, x0:x1]
            if grey_marks:
                grey = marks.astype(self.dtype) * self.dtype.type(self.top)
                return np.repeat(grey[:, :, None], 3, axis=2) if rgb else grey
            out = np.empty((y1 - y0, x1 - x0, 4), self.dtype)
            scale = 257 if self.dtype == np.uint16 else 1
            out[:, :, :3] = np.array(layer.colour, self.dtype) * self.dtype.type(scale)
            np.multiply(marks, self.dtype.type(self.top), out=out[:, :, 3], casting="unsafe")
            return out
        pixels = self.original[y0:y1, x0:x1] if layer.key == "original" else self.composite(box)
        if rgb and self.channels == 1:
            pixels = np.repeat(pixels, 3, axis=2)
        if layer.key != "restored":
            return pixels
        made = self.restored(box)
        out = np.empty(pixels.shape[:2] + (pixels.shape[2] + 1,), self.dtype)
        np.multiply(pixels, made[:, :, None], out=out[:, :, :-1], casting="unsafe")
        np.multiply(made, self.dtype.type(self.top), out=out[:, :, -1], casting="unsafe")
        return out


def bands(start: int, stop: int, rows: int) -> Iterator[tuple[int, int]]:
    """(y0, y1) pairs of at most ``rows`` rows covering ``start:stop``."""
    for y in range(start, stop, rows):
        yield y, min(y + rows, stop)


def band_rows(width: int, bytes_per_pixel: int, multiple: int = 1) -> int:
    """Rows per band of about BAND_BYTES, rounded down to a multiple of ``multiple``."""
    rows = max(1, BAND_BYTES // max(1, width * bytes_per_pixel))
    return max(multiple, rows // multiple * multiple)


def document_layers(doc: Mural, px: DocumentPixels | None = None) -> list[Layer]:
    """The layers every format exports, bottom to top.

    Shown: the original and the restoration over it (together they are the composite).
    Hidden: the composite itself (kept so one layer holds the finished result), the masks and
    the guide. The visible stack therefore looks exactly like the composite.
    """
    px = px or DocumentPixels(doc)
    whole = px.whole
    source = f" {doc.original.source.name}" if doc.original.source is not None else ""
    cand = px.candidate
    total = px.restored_stats()[0] if cand is not None else 0
    layers = [Layer("original", "Original scan", f"The original scan{source}, unaltered.", whole)]
    if cand is None:
        text = "No restoration was chosen: identical to the original scan."
    else:
        text = (f"The original scan with the restoration '{cand.name}' applied; {total} pixels "
                f"were made by the {cand.provenance.engine} engine (see the provenance metadata).")
    layers.append(Layer("composite", "Restored composite", text, whole, visible=False))
    box = px.restored_box()
    if cand is not None and box is not None:
        layers.append(Layer(
            "restored", f"Restoration: {cand.name}",
            f"Only the {total} pixels made by the {cand.provenance.engine} engine for "
            f"'{cand.name}'; transparent where the original is kept.", box,
        ))
    for cls in MASK_ORDER:
        key = mask_key(cls)
        box = maskops.bbox(doc.mask(cls))
        if box is not None:
            style = STYLES[cls]
            count = int(np.count_nonzero(doc.mask(cls)))
            layers.append(Layer(
                key, f"Mask: {style.label}",
                f"Damage mask '{style.label}' ({style.description.rstrip('.')}): {count} pixels marked.",
                box, style.color, visible=False, opacity=MASK_OPACITY,
            ))
    box = maskops.bbox(doc.guide)
    if box is not None:
        count = int(np.count_nonzero(doc.guide))
        layers.append(Layer(GUIDE, "Guide lines", f"Guide lines the restoration follows: {count} pixels.",
                            box, GUIDE_COLOUR, visible=False, opacity=GUIDE_OPACITY))
    return layers


def provenance_dict(doc: Mural, px: DocumentPixels | None = None) -> dict[str, Any]:
    """What the exported files say about how the composite was made, as JSON-ready data.

    ``restoration`` is None when no candidate is chosen; otherwise it names the candidate and
    its engine, parameters, seed, weights hash, software and date, and counts the machine-made
    pixels: in all, per damage class (made pixels inside that class's mask) and outside
    every mask. ``digital_source_type`` is the IPTC term for the composite (None when no
    pixel was made). See :func:`muralstudio.io.xmp.provenance_record`.
    """
    px = px or DocumentPixels(doc)
    return provenance_record(doc, px.restored_stats() if px.candidate is not None else None)


# ------------------------------------------------------------------ compression streams


def _deflate_piece(data: Any, level: int) -> bytes:
    squeezer = zlib.compressobj(level, zlib.DEFLATED, -15)
    return squeezer.compress(data) + squeezer.flush(zlib.Z_SYNC_FLUSH)


class DeflateStream:
    """One zlib stream made of pieces compressed independently, several at a time.

    Each piece ends on a sync flush, so the pieces simply follow each other (as pigz does);
    the stream gets a zlib header, a final empty block and the Adler-32 of all the data.
    """

    PIECE = 4 * 2**20

    def __init__(self, write: Callable[[bytes], Any], pool: Executor | None, level: int = STREAM_LEVEL) -> None:
        self._write = write
        self._pool = pool
        self._level = level
        self._pending: deque[Future[bytes]] = deque()
        self._adler = 1
        self.raw_bytes = 0
        write(b"\x78\x01")  # deflate, 32 KiB window; (0x78 * 256 + 0x01) % 31 == 0

    def feed(self, data: Any) -> None:
        if isinstance(data, np.ndarray):  # any byte order: its bytes as they lie in memory
            data = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        view = memoryview(data).cast("B")
        self._adler = zlib.adler32(view, self._adler)
        self.raw_bytes += len(view)
        for start in range(0, len(view), self.PIECE):
            piece = view[start : start + self.PIECE]
            if self._pool is None:
                self._write(_deflate_piece(piece, self._level))
                continue
            self._pending.append(self._pool.submit(_deflate_piece, piece, self._level))
            while len(self._pending) > 4:
                self._write(self._pending.popleft().result())

    def close(self) -> None:
        while self._pending:
            self._write(self._pending.popleft().result())
        self._write(b"\x03\x00" + self._adler.to_bytes(4, "big"))  # empty final block, checksum


# ------------------------------------------------------------------------- running


class Stopped(BaseException):
    """Raised on the helper thread once the generator is closed (a request, not an error)."""


@dataclass
class ExportJob:
    """What a format writer gets: the document, its layers, the provenance, a pool for
    compression and a progress reporter that also stops the writer once the export is closed."""

    doc: Mural
    target: Path
    px: DocumentPixels = None  # type: ignore[assignment]  # set on the helper thread
    layers: list[Layer] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    pool: Executor | None = None
    # a short queue keeps the writer at most a few steps ahead of the progress the caller saw
    events: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=4))
    replies: queue.Queue = field(default_factory=queue.Queue)
    cancel: threading.Event = field(default_factory=threading.Event)
    total: float = 1.0
    done: float = 0.0
    message: str = ""

    def xmp(self, description: str = "") -> bytes:
        return xmp_packet(self.provenance, description)

    def plan(self, total: float) -> None:
        self.total, self.done = max(float(total), 1.0), 0.0

    def check(self) -> None:
        """Raise Stopped once the export is closed."""
        if self.cancel.is_set():
            raise Stopped

    def send(self, event: tuple[str, Any]) -> None:
        """Queue an event for the generator; raises Stopped once the export is closed."""
        while True:
            self.check()
            try:
                self.events.put(event, timeout=0.1)
                return
            except queue.Full:
                continue

    def advance(self, amount: float = 0.0, message: str | None = None) -> None:
        """Count ``amount`` units of work done; raises Stopped once the export is closed."""
        self.done += amount
        if message is not None:
            self.message = message
        self.send(("progress", Progress(min(self.done / self.total, 0.99), self.message)))


def check_target(path: str | os.PathLike[str], doc: Mural, force: bool) -> Path:
    """The target path, refused when it is the original scan, a folder or (without force) exists."""
    target = Path(path)
    if target.is_dir():
        raise ImageWriteError(f"Cannot save to {target}: it is a folder, not a file.")
    source = doc.original.source
    if source is not None:
        try:
            same = os.path.samefile(target, source)
        except OSError:
            same = target.resolve() == Path(source).resolve()
        if same:
            raise ImageWriteError("The original scan is never overwritten; choose another name.")
    if target.exists() and not force:
        raise ImageWriteError(f"{target.name} already exists; use --force to replace it.")
    return target


def run_export(
    path: str | os.PathLike[str],
    doc: Mural,
    force: bool,
    write: Callable[[Path, ExportJob], None],
) -> Generator[Progress, None, Path]:
    """Check the target, run ``write(temp_path, job)`` on a helper thread inside
    :func:`atomic_output` and pass its progress on.

    The finished file replaces the target only when the caller asks for more after the
    final Progress(1.0); closing the generator at any step before stops the writer and
    removes its temporary file, so the file exists exactly when the generator returned.
    """
    target = check_target(path, doc, force)
    job = ExportJob(doc, target)

    def work() -> None:
        outcome: tuple[str, Any] = ("done", None)
        try:
            workers = min(4, os.cpu_count() or 1)
            with ThreadPoolExecutor(workers, thread_name_prefix="export") as pool:
                job.pool = pool if workers > 1 else None
                job.px = DocumentPixels(doc)
                job.layers = document_layers(doc, job.px)
                job.provenance = provenance_dict(doc, job.px)
                with atomic_output(target) as temp:
                    write(temp, job)
                    job.send(("ready", None))
                    if job.replies.get() != "go":
                        raise Stopped
        except Stopped:
            outcome = ("stopped", None)
        except MuralStudioError as exc:
            outcome = ("error", exc)
        except MemoryError as exc:
            outcome = ("error", ImageWriteError(f"Cannot save {target.name}: there is not enough memory."))
            outcome[1].__cause__ = exc
        except Exception as exc:  # a library refusing the data: report it like a write error
            outcome = ("error", ImageWriteError(f"Cannot save {target.name}: {exc}."))
            outcome[1].__cause__ = exc
        try:
            job.send(outcome)
        except Stopped:
            pass  # nobody is listening any more

    thread = threading.Thread(target=work, name=f"export {target.name}", daemon=True)
    thread.start()
    try:
        yield Progress(0.0, f"Exporting {target.name}")
        while True:
            kind, value = job.events.get()
            if kind == "progress":
                yield value
            elif kind == "ready":
                yield Progress(1.0, f"Saved {target.name}")
                job.replies.put("go")
            elif kind == "error":
                raise value
            elif kind == "done":
                break
    except BaseException:
        job.cancel.set()
        job.replies.put("stop")
        while thread.is_alive():  # let a writer blocked on the queue see the cancel
            try:
                job.events.get(timeout=0.05)
            except queue.Empty:
                pass
        raise
    thread.join()
    return target


# ------------------------------------------------------------------------- public API


def export_layered_tiff(
    path: str | os.PathLike[str], doc: Mural, *, compression: str | None = None, force: bool = False
) -> Generator[Progress, None, Path]:
    """Write a Photoshop-layered TIFF: the composite as the image every reader shows (RGB,
    8 or 16 bit as the original, ICC profile and resolution kept), the layers in the
    ImageSourceData tag (37724), image resources in tag 34377, provenance XMP in tag 700.

    ``compression`` of the composite: None, "lzw" or "deflate" (layers are always
    zip-compressed with prediction, as Photoshop does). Grey scans are stored as RGB with
    R = G = B, so the masks keep their colours; a grey ICC profile cannot describe RGB and is
    then left out (the provenance says so). Raises ImageWriteError.
    """
    from muralstudio.io import export_tiff

    codec = export_tiff.tiff_codec(compression)
    return (yield from run_export(path, doc, force, lambda temp, job: export_tiff.write_layered(temp, job, codec)))


def export_multipage_tiff(
    path: str | os.PathLike[str], doc: Mural, *, compression: str | None = None, force: bool = False
) -> Generator[Progress, None, Path]:
    """Write a TIFF with one page per layer, composite first, each with its name (PageName)
    and what it is (ImageDescription). Pictures and the restoration (with alpha) keep the
    ICC profile; masks and guide are grey pages, 0 = not marked, maximum = marked. Same bit
    depth as the original; provenance XMP on the composite page. Raises ImageWriteError.
    """
    from muralstudio.io import export_tiff

    codec = export_tiff.tiff_codec(compression)
    return (yield from run_export(path, doc, force, lambda temp, job: export_tiff.write_multipage(temp, job, codec)))


def export_ora(path: str | os.PathLike[str], doc: Mural, *, force: bool = False) -> Generator[Progress, None, Path]:
    """Write an OpenRaster file (Krita, GIMP, MyPaint): PNG layers of the original's bit
    depth with names, visibility and opacity in ``stack.xml``, ``mergedimage.png`` (the
    composite), a thumbnail, and the provenance as ``metadata/provenance.xmp`` and
    ``metadata/provenance.json``. Masks and guide are hidden, colour layers. Raises
    ImageWriteError.
    """
    from muralstudio.io import export_ora as ora

    return (yield from run_export(path, doc, force, ora.write_ora))
