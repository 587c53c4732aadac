"""The ZIP container of project bundles: writing and reading entries, and their encodings.

Masks are 8-bit grey PNGs (0 and 255), candidate patches and an embedded original are
one-page TIFFs. Big entries (TIFF, PNG) are stored without ZIP compression: they are
compressed already or too big to deflate quickly, and a stored TIFF can be read in place.
Encoders run on a few threads while the entries are written in a fixed order. Errors are
reported as ProjectError (and its kin) naming the project file.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tifffile
from PIL import Image

from muralstudio.core.errors import ImageTooLargeError, MaskMismatchError, MuralStudioError, ProjectError
from muralstudio.core.raster import RasterImage
from muralstudio.io import tiff
from muralstudio.io.images import available_memory

_IN_MEMORY_TIFF = 64 * 2**20  # bigger TIFF entries go through a temporary file
_BIGTIFF_ABOVE = 2**32 - 2**25
CHUNK = 16 * 2**20
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
if hasattr(cv2, "IMWRITE_PNG_FILTER"):  # OpenCV >= 4.10: skip libpng's per-row filter search
    _PNG_PARAMS += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]


# ----------------------------------------------------------------------------- writing


def _zip_info(name: str, size: int, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.file_size = size
    return info


def put_entry(zf: zipfile.ZipFile, name: str, data: bytes | memoryview | Path,
              compress: bool = False) -> None:
    """Add an entry from bytes or (copied in chunks) from a file."""
    if isinstance(data, Path):
        info = _zip_info(name, data.stat().st_size, compress)
        with open(data, "rb") as src, zf.open(info, "w") as dest:
            while chunk := src.read(CHUNK):
                dest.write(chunk)
        return
    view = memoryview(data).cast("B")
    info = _zip_info(name, view.nbytes, compress)
    with zf.open(info, "w") as dest:
        dest.write(view)


def encode_mask(mask: np.ndarray) -> bytes:
    """A bool (H, W) mask as an 8-bit grey PNG holding 0 and 255, compressed fast."""
    grey = np.multiply(mask.view(np.uint8), np.uint8(255))
    try:
        ok, buf = cv2.imencode(".png", grey, _PNG_PARAMS)
    except cv2.error:
        ok = False
    if ok:
        return buf.tobytes()
    out = io.BytesIO()  # OpenCV refuses some sizes; Pillow has no such limit
    Image.fromarray(grey).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _write_tiff(target: Path | io.BytesIO, data: np.ndarray, *, has_alpha: bool = False,
                image: RasterImage | None = None, compress: bool = False) -> None:
    """(H, W, C) samples as a one-page TIFF; Deflate level 1 with predictor when ``compress``."""
    colours = data.shape[2] - (1 if has_alpha else 0)
    kwargs: dict[str, Any] = {"photometric": "rgb" if colours == 3 else "minisblack", "metadata": None}
    if has_alpha:
        kwargs["extrasamples"] = ["unassalpha"]
    if compress:
        row_bytes = data.shape[1] * data.shape[2] * data.dtype.itemsize
        kwargs.update(compression="zlib", compressionargs={"level": 1}, predictor=True,
                      rowsperstrip=max(1, 2**20 // max(1, row_bytes)))
    if image is not None:
        if image.icc_profile:
            kwargs["iccprofile"] = image.icc_profile
        if image.resolution is not None:
            kwargs["resolution"] = (image.resolution.x, image.resolution.y)
            units = {"none": "NONE", "cm": "CENTIMETER"}
            kwargs["resolutionunit"] = units.get(image.resolution.unit, "INCH")
        text = image.metadata.get("MuralStudio")
        if text:
            kwargs["software"] = tiff.SOFTWARE
        text = text or image.metadata.get("description")
        if text:
            kwargs["description"] = text.encode("utf-8")
    samples = data[:, :, 0] if data.shape[2] == 1 else data
    tifffile.imwrite(target, samples, bigtiff=data.nbytes > _BIGTIFF_ABOVE, **kwargs)


class TempFiles:
    """Temporary files of one save, beside the project (same disk), removed at the end."""

    def __init__(self, folder: Path, stem: str) -> None:
        self.folder, self.stem = folder, stem
        self.paths: list[Path] = []
        self._lock = threading.Lock()

    def new(self, suffix: str) -> Path:
        fd, name = tempfile.mkstemp(dir=self.folder, prefix=f".{self.stem}.", suffix=suffix)
        os.close(fd)
        with self._lock:
            self.paths.append(Path(name))
        return Path(name)

    def remove_all(self) -> None:
        for path in self.paths:
            try:
                os.unlink(path)
            except OSError:
                pass


def tiff_job(data: np.ndarray, temps: TempFiles, **kwargs: Any) -> Callable[[], bytes | Path]:
    """A job encoding ``data`` as a TIFF: bytes when small, else a temporary file of ``temps``."""
    def run() -> bytes | Path:
        if data.nbytes <= _IN_MEMORY_TIFF:
            buf = io.BytesIO()
            _write_tiff(buf, data, **kwargs)
            return buf.getbuffer()
        path = temps.new(".tif")
        _write_tiff(path, data, **kwargs)
        return path

    return run


def run_jobs(jobs: list[tuple[str, Callable[[], Any]]]) -> Iterator[tuple[str, Any]]:
    """Run the encoders on a few threads (OpenCV, zlib and tifffile release the GIL) and
    yield their results in order, so entries are written in a fixed order."""
    workers = max(1, min(4, os.cpu_count() or 1, len(jobs)))
    if workers == 1:
        for entry, job in jobs:
            yield entry, job()
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="project-save")
    try:
        # keep at most `workers` results ahead of the writer, so memory stays bounded
        pending = []
        for entry, job in jobs:
            pending.append((entry, pool.submit(job)))
            if len(pending) > workers:
                done_entry, future = pending.pop(0)
                yield done_entry, future.result()
        for entry, future in pending:
            yield entry, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ----------------------------------------------------------------------------- reading


def damaged(name: str, detail: str) -> ProjectError:
    """The error for a project ``name`` that cannot be opened because of ``detail``."""
    return ProjectError(f"The project {name} is damaged and cannot be opened ({detail}).")


def open_zip(path: Path) -> zipfile.ZipFile:
    """The bundle at ``path`` opened for reading; ProjectError saying why it cannot be."""
    name = path.name
    try:
        return zipfile.ZipFile(path, "r")
    except FileNotFoundError:
        raise ProjectError(f"The project {name} does not exist ({path}).") from None
    except IsADirectoryError:
        raise ProjectError(f"{name} is a folder, not a Mural Studio project.") from None
    except PermissionError:
        raise ProjectError(f"The project {name} cannot be read: permission denied.") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        if path.stat().st_size == 0:
            raise ProjectError(f"{name} is empty (0 bytes); it is not a Mural Studio project.") from None
        raise ProjectError(
            f"{name} is not a Mural Studio project, or it is damaged or incomplete ({exc})."
        ) from exc
    except OSError as exc:
        raise ProjectError(f"The project {name} cannot be read: {exc.strerror or exc}.") from exc


def read_entry(zf: zipfile.ZipFile, entry: str, name: str, limit: int | None = None) -> bytes:
    """The bytes of ``entry``, refused when larger than ``limit``; zipfile checks its CRC-32."""
    try:
        info = zf.getinfo(entry)
    except KeyError:
        raise ProjectError(f"The project {name} is incomplete: it has no {entry}.") from None
    if limit is not None and info.file_size > limit:
        raise damaged(name, f"{entry} is far too large")
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise damaged(name, f"{entry}: {exc}") from exc
    except MemoryError as exc:
        raise ImageTooLargeError(f"There is not enough memory to open {name}.") from exc


def _png_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) from a PNG's IHDR, or None when it is not a PNG."""
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[20:24], "big"), int.from_bytes(data[16:20], "big")


def mismatch(entry: str, name: str, size: tuple[int, int], shape: tuple[int, int]) -> MaskMismatchError:
    """The error for a layer entry whose (height, width) ``size`` is not the image's ``shape``."""
    return MaskMismatchError(
        f"The layer {entry} in {name} is {size[1]} × {size[0]} "
        f"but the image is {shape[1]} × {shape[0]}."
    )


def decode_grey(data: bytes, entry: str, name: str, shape: tuple[int, int] | None,
                layer: bool) -> np.ndarray:
    """Decode a mask PNG to 8-bit grey (H, W); its size is checked against ``shape`` first."""
    size = _png_size(data)
    if size is None:
        raise damaged(name, f"{entry} is not a PNG image")
    if shape is not None and size != tuple(shape):
        if layer:
            raise mismatch(entry, name, size, shape)
        raise damaged(name, f"{entry} does not fit its patch")
    grey = None
    try:
        grey = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    except cv2.error:
        grey = None
    if grey is None:  # OpenCV refuses images above its pixel limit; Pillow has none here
        try:
            with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
                grey = np.asarray(im.convert("L") if im.mode not in ("L", "I;16") else im)
            if grey.dtype != np.uint8:
                grey = (grey >> 8).astype(np.uint8)
        except (OSError, ValueError, SyntaxError) as exc:
            raise damaged(name, f"{entry} cannot be decoded") from exc
    if grey.shape != size:
        raise damaged(name, f"{entry} cannot be decoded")
    return grey


def decode_mask(data: bytes, entry: str, name: str, shape: tuple[int, int]) -> np.ndarray:
    """A patch mask PNG as a bool (H, W) array of the patch's ``shape``."""
    return decode_grey(data, entry, name, shape, False) >= 128


def _member_offset(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> int | None:
    """Where a stored, unencrypted entry's bytes start in the ZIP file, or None."""
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 1:
        return None
    fp = zf.fp
    if fp is None:
        return None
    fp.seek(info.header_offset)
    head = fp.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        return None
    name_len = int.from_bytes(head[26:28], "little")
    extra_len = int.from_bytes(head[28:30], "little")
    return info.header_offset + 30 + name_len + extra_len


def _check_crc(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Stream an entry through zipfile, which raises BadZipFile when its CRC-32 differs."""
    with zf.open(info) as fh:
        while fh.read(CHUNK):
            pass


def read_tiff_entry(zf: zipfile.ZipFile, path: Path, entry: str
                    ) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """Decode a TIFF entry: (pixels (H, W, C), alpha or None, metadata dict of the page).

    A stored entry is read in place from the bundle (after checking its CRC); otherwise it is
    read into memory first."""
    name = path.name
    try:
        info = zf.getinfo(entry)
    except KeyError:
        raise ProjectError(f"The project {name} is incomplete: it has no {entry}.") from None
    try:
        offset = _member_offset(zf, info)
        if offset is not None:
            _check_crc(zf, info)
            tf = tifffile.TiffFile(str(path), offset=offset, size=info.file_size)
        else:
            tf = tifffile.TiffFile(io.BytesIO(zf.read(info)))
        with tf:
            page = tf.pages.first
            plan = tiff.plan_page(page, f"{entry} in {name}")
            avail = available_memory()
            if avail is not None and plan.estimate > avail:
                raise ImageTooLargeError(f"There is not enough memory to open {entry} of {name}.")
            arr = np.empty(page.shape, np.dtype(page.dtype).newbyteorder("="))
            page.asarray(out=arr)
            colour, alpha = tiff._convert(arr, page, plan)
            meta = {"icc": page.iccprofile, "resolution": tiff._resolution(page),
                    "metadata": tiff._metadata(page, tf), "bigtiff": bool(tf.is_bigtiff)}
            return colour, alpha, meta
    except MuralStudioError:
        raise
    except MemoryError as exc:
        raise ImageTooLargeError(f"There is not enough memory to open {entry} of {name}.") from exc
    except Exception as exc:  # zipfile, tifffile and the codecs report damage in many ways
        raise damaged(name, f"{entry}: {exc or type(exc).__name__}") from exc
