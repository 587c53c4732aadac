"""Project bundles (``.mural``): one ZIP file holding a whole document.

A bundle holds ``project.json`` (the description of everything else), one PNG per non-empty
mask or guide layer, a TIFF and a PNG per candidate patch, and optionally the original scan
as ``original.tif``. Without the original embedded the bundle refers to the scan by path and
SHA-256, and loading finds it again at its old absolute path, at its path relative to the
project, or beside the project. ``docs/project-format.md`` describes the format for readers
that do not use this code.

Big entries (TIFF, PNG) are stored without ZIP compression: they are compressed already or
too big to deflate quickly, and a stored TIFF can be read in place. Saving is atomic.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tifffile
from PIL import Image

from muralstudio import __version__
from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import GUIDE, Mural, mask_key
from muralstudio.core.errors import (
    ImageTooLargeError,
    ImageWriteError,
    MaskMismatchError,
    MuralStudioError,
    ProjectError,
)
from muralstudio.core.raster import RasterImage
from muralstudio.io import tiff
from muralstudio.io.atomic import atomic_output
from muralstudio.io.images import available_memory, read_image, read_image_header

__all__ = [
    "EXTENSION",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "OriginalChangedError",
    "OriginalMissingError",
    "ProjectInfo",
    "file_sha256",
    "load_project",
    "read_project_json",
    "save_project",
]

EXTENSION = ".mural"
FORMAT_NAME = "muralstudio-project"
FORMAT_VERSION = (1, 0)
MANIFEST = "project.json"
ORIGINAL_ENTRY = "original.tif"
_MANIFEST_LIMIT = 64 * 2**20  # a larger project.json is not one of ours
_IN_MEMORY_TIFF = 64 * 2**20  # bigger TIFF entries go through a temporary file
_COMPRESS_PATCH_BELOW = 64 * 2**20  # bigger patches are stored uncompressed, for speed
_BIGTIFF_ABOVE = 2**32 - 2**25
_CHUNK = 16 * 2**20
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
if hasattr(cv2, "IMWRITE_PNG_FILTER"):  # OpenCV >= 4.10: skip libpng's per-row filter search
    _PNG_PARAMS += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE]


class OriginalMissingError(ProjectError):
    """The scan a project refers to is at none of the places it was looked for."""

    def __init__(self, message: str, name: str = "", stored_path: str | None = None,
                 sha256: str | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.stored_path = stored_path
        self.sha256 = sha256


class OriginalChangedError(ProjectError):
    """The scan a project refers to was found but its content is not what was saved."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


@dataclass
class ProjectInfo:
    """What :func:`load_project` knows besides the document itself."""

    path: Path  # the project file
    source: Path | None  # the original scan file used (resolved), None when embedded
    embedded: bool
    extras: dict[str, Any]  # free-form data saved with the project ("ratings", ...)
    history_labels: list[str]  # undo steps at save time, for the record only
    history_position: int
    created: str  # ISO 8601, UTC
    modified: str
    software: str = ""
    format_version: str = ""
    original_name: str | None = None  # file name of the original scan, when known
    notices: list[str] = field(default_factory=list)  # things skipped or repaired on loading


_RECOVERY_NAMES = ("RecoveryEntry", "RecoverySlot", "discard", "find_recoverable", "recovery_dir")


def __getattr__(name: str) -> Any:
    """The recovery API lives in :mod:`muralstudio.io.recovery`; reachable from here too."""
    if name in _RECOVERY_NAMES:
        from muralstudio.io import recovery

        return getattr(recovery, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ----------------------------------------------------------------------------- helpers


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be saved in a project")


def _dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1, default=_json_default).encode("utf-8")


_hash_cache: dict[tuple[str, int, int, int], str] = {}
_hash_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in chunks; remembered while its size and mtime stay the same,
    so repeated saves of one document do not hash a large scan again. Raises OSError."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    with _hash_lock:
        known = _hash_cache.get(key)
    if known is not None:
        return known
    digest = hashlib.sha256()
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    with open(path, "rb") as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            digest.update(view[:n])
    value = digest.hexdigest()
    with _hash_lock:
        if len(_hash_cache) > 64:
            _hash_cache.clear()
        _hash_cache[key] = value
    return value


def _zip_info(name: str, size: int, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.file_size = size
    return info


def _put(zf: zipfile.ZipFile, name: str, data: bytes | memoryview | Path, compress: bool = False
         ) -> None:
    """Add an entry from bytes or (copied in chunks) from a file."""
    if isinstance(data, Path):
        info = _zip_info(name, data.stat().st_size, compress)
        with open(data, "rb") as src, zf.open(info, "w") as dest:
            while chunk := src.read(_CHUNK):
                dest.write(chunk)
        return
    view = memoryview(data).cast("B")
    info = _zip_info(name, view.nbytes, compress)
    with zf.open(info, "w") as dest:
        dest.write(view)


# ----------------------------------------------------------------------------- encoding


def _encode_mask(mask: np.ndarray) -> bytes:
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


class _Temps:
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


def _tiff_job(data: np.ndarray, temps: _Temps, **kwargs: Any) -> Callable[[], bytes | Path]:
    def run() -> bytes | Path:
        if data.nbytes <= _IN_MEMORY_TIFF:
            buf = io.BytesIO()
            _write_tiff(buf, data, **kwargs)
            return buf.getbuffer()
        path = temps.new(".tif")
        _write_tiff(path, data, **kwargs)
        return path

    return run


# ----------------------------------------------------------------------------- saving


def _original_reference(source: Path, doc: Mural, project: Path) -> dict[str, Any]:
    """The "original" object of a referenced scan; checks the file still matches the document."""
    name = source.name
    try:
        digest = file_sha256(source)
        size = source.stat().st_size
        header = read_image_header(source)
    except FileNotFoundError:
        raise ProjectError(
            f"Cannot save the project: the original scan {name} is no longer at {source}. "
            "Save with the original embedded instead."
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ProjectError(
            f"Cannot save the project: the original scan {name} cannot be read ({reason})."
        ) from exc
    img = doc.original
    if (header.width, header.height, header.channels, np.dtype(header.dtype), header.has_alpha) != (
        img.width, img.height, img.channels, img.dtype, img.alpha is not None
    ):
        raise ProjectError(
            f"Cannot save the project: the file {name} is no longer the image open in the document "
            f"({header.width} × {header.height} on disk, {img.width} × {img.height} open). "
            "Save with the original embedded instead."
        )
    try:
        relative: str | None = Path(os.path.relpath(source, project.parent)).as_posix()
    except ValueError:  # another drive (Windows)
        relative = None
    return {"mode": "reference", "name": name, "path": str(source), "relative": relative,
            "sha256": digest, "size": size}


def _describe_original(img: RasterImage) -> dict[str, Any]:
    return {"width": img.width, "height": img.height, "channels": img.channels,
            "dtype": img.dtype.name, "has_alpha": img.alpha is not None}


def save_project(
    path: str | os.PathLike[str],
    doc: Mural,
    *,
    embed_original: bool = False,
    source: str | os.PathLike[str] | None = None,
    extras: dict[str, Any] | None = None,
    created: str | None = None,
    recovery: dict[str, Any] | None = None,
) -> None:
    """Save ``doc`` as a ``.mural`` bundle at ``path``, atomically.

    ``source`` is the scan file the document's original came from (default: the original's
    own ``source``); it is referenced by path and SHA-256 unless ``embed_original``, which
    writes the pixels into the bundle. The source file is only ever read. ``extras`` is saved
    as is (JSON-serialisable values). ``created`` keeps the creation date of a loaded project
    (default: that of the project being overwritten, else now). ``recovery`` is for autosaves.
    Raises ProjectError (original gone or changed), ImageWriteError (cannot write); ValueError
    when there is no source to refer to or ``extras`` is not JSON-serialisable.
    """
    target = Path(path).absolute()
    name = target.name
    img = doc.original
    if source is None and not embed_original:
        source = img.source
        if source is None:
            raise ValueError("save_project needs `source` or embed_original=True for this document")
    src = Path(source).resolve() if source is not None else None
    if src is not None and (src == target.resolve() or (target.exists() and _same_file(src, target))):
        raise ImageWriteError(
            f"Cannot save {name}: it is the original scan, which is never overwritten."
        )
    try:
        extras_json = json.loads(_dumps(dict(extras or {})))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"extras cannot be saved: {exc}") from exc

    if embed_original:
        original: dict[str, Any] = {"mode": "embedded", "entry": ORIGINAL_ENTRY,
                                    "name": (src or img.source or Path("")).name or None}
    else:
        assert src is not None
        original = _original_reference(src, doc, target)
    original.update(_describe_original(img))

    if created is None:
        try:
            created = str(read_project_json(target).get("created") or "") or None
        except (MuralStudioError, OSError):
            created = None
    temps = _Temps(target.parent, target.stem)
    jobs: list[tuple[str, Callable[[], bytes | memoryview | Path]]] = []
    if embed_original:

        def embed() -> bytes | Path:
            data = img.pixels
            if img.alpha is not None:
                data = np.concatenate([data, img.alpha[:, :, None]], axis=2)
            return _tiff_job(data, temps, has_alpha=img.alpha is not None, image=img)()

        jobs.append((ORIGINAL_ENTRY, embed))

    layers = []
    keys = [mask_key(c) for c in DamageClass] + [GUIDE]
    for key in keys:
        arr = doc.layer_array(key)
        marked = int(np.count_nonzero(arr))
        entry = None
        if marked:
            entry = f"layers/{key.replace(':', '-')}.png"
            jobs.append((entry, lambda a=arr: _encode_mask(a)))
        layer: dict[str, Any] = {"key": key, "kind": "guide" if key == GUIDE else "mask"}
        if key != GUIDE:
            layer["class"] = key.split(":", 1)[1]
        layer.update(entry=entry, marked_pixels=marked)
        layers.append(layer)

    candidates = []
    for ci, cand in enumerate(doc.candidates):
        patches = []
        for pi, patch in enumerate(cand.patches):
            base = f"candidates/{ci:03d}/patch-{pi:03d}"
            px = patch.pixels if patch.pixels.ndim == 3 else patch.pixels[:, :, None]
            h, w = patch.mask.shape
            patches.append({"y": int(patch.y), "x": int(patch.x), "height": h, "width": w,
                            "channels": int(px.shape[2]), "dtype": px.dtype.name,
                            "pixels": base + ".tif", "mask": base + "-mask.png"})
            small = px.nbytes <= _COMPRESS_PATCH_BELOW
            jobs.append((base + ".tif", _tiff_job(px, temps, compress=small)))
            jobs.append((base + "-mask.png", lambda m=patch.mask: _encode_mask(np.asarray(m, bool))))
        candidates.append({"id": cand.id, "name": cand.name, "notes": cand.notes,
                           "provenance": cand.provenance.to_dict(), "patches": patches})

    manifest: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": "%d.%d" % FORMAT_VERSION,
        "software": f"muralstudio {__version__}",
        "created": created or _now(),
        "modified": _now(),
        "original": original,
        "layers": layers,
        "candidates": candidates,
        "chosen_id": doc.chosen_id,
        "notes": doc.notes,
        "history": {"labels": list(doc.history.labels), "position": doc.history.position},
        "extras": extras_json,
    }
    if recovery is not None:
        manifest["recovery"] = json.loads(_dumps(recovery))
    try:
        manifest_bytes = _dumps(manifest)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the document cannot be saved: {exc}") from exc

    try:
        with atomic_output(target) as temp:
            with zipfile.ZipFile(temp, "w", allowZip64=True) as zf, closing(_run_jobs(jobs)) as results:
                _put(zf, MANIFEST, manifest_bytes, compress=True)
                for entry, data in results:
                    _put(zf, entry, data)
                    if isinstance(data, Path):
                        os.unlink(data)
    except MemoryError as exc:
        raise ImageWriteError(f"Cannot save {name}: there is not enough memory.") from exc
    except cv2.error as exc:
        raise ImageWriteError(f"Cannot save {name}: a layer could not be encoded ({exc}).") from exc
    finally:
        temps.remove_all()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _run_jobs(jobs: list[tuple[str, Callable[[], Any]]]) -> Iterator[tuple[str, Any]]:
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


# ----------------------------------------------------------------------------- loading


def _damaged(name: str, detail: str) -> ProjectError:
    return ProjectError(f"The project {name} is damaged and cannot be opened ({detail}).")


def _open_zip(path: Path) -> zipfile.ZipFile:
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


def _read_entry(zf: zipfile.ZipFile, entry: str, name: str, limit: int | None = None) -> bytes:
    try:
        info = zf.getinfo(entry)
    except KeyError:
        raise ProjectError(f"The project {name} is incomplete: it has no {entry}.") from None
    if limit is not None and info.file_size > limit:
        raise _damaged(name, f"{entry} is far too large")
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise _damaged(name, f"{entry}: {exc}") from exc
    except MemoryError as exc:
        raise ImageTooLargeError(f"There is not enough memory to open {name}.") from exc


def _parse_manifest(raw: bytes, name: str) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _damaged(name, f"{MANIFEST} is not valid JSON") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ProjectError(
            f"{name} is not a Mural Studio project (its {MANIFEST} names another format)."
        )
    version = str(data.get("format_version", ""))
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise _damaged(name, f"unreadable format version '{version}'") from None
    if major > FORMAT_VERSION[0]:
        raise ProjectError(
            f"The project {name} was saved by a newer Mural Studio (project format {version}); "
            f"this version reads format {FORMAT_VERSION[0]}.x. Update Mural Studio to open it."
        )
    if major < 1:
        raise _damaged(name, f"unknown format version '{version}'")
    return data


def read_project_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Only the ``project.json`` of a bundle (cheap: nothing else is decoded), checked for the
    format name and version. Raises ProjectError."""
    path = Path(path)
    with _open_zip(path) as zf:
        return _parse_manifest(_read_entry(zf, MANIFEST, path.name, _MANIFEST_LIMIT), path.name)


def _png_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) from a PNG's IHDR, or None when it is not a PNG."""
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[20:24], "big"), int.from_bytes(data[16:20], "big")


def _mismatch(entry: str, name: str, size: tuple[int, int], shape: tuple[int, int]) -> MaskMismatchError:
    return MaskMismatchError(
        f"The layer {entry} in {name} is {size[1]} × {size[0]} "
        f"but the image is {shape[1]} × {shape[0]}."
    )


def _decode_grey(data: bytes, entry: str, name: str, shape: tuple[int, int] | None,
                 layer: bool) -> np.ndarray:
    """Decode a mask PNG to 8-bit grey (H, W); its size is checked against ``shape`` first."""
    size = _png_size(data)
    if size is None:
        raise _damaged(name, f"{entry} is not a PNG image")
    if shape is not None and size != tuple(shape):
        if layer:
            raise _mismatch(entry, name, size, shape)
        raise _damaged(name, f"{entry} does not fit its patch")
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
            raise _damaged(name, f"{entry} cannot be decoded") from exc
    if grey.shape != size:
        raise _damaged(name, f"{entry} cannot be decoded")
    return grey


def _decode_mask(data: bytes, entry: str, name: str, shape: tuple[int, int]) -> np.ndarray:
    return _decode_grey(data, entry, name, shape, False) >= 128


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
        while fh.read(_CHUNK):
            pass


def _read_tiff_entry(zf: zipfile.ZipFile, path: Path, entry: str
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
        raise _damaged(name, f"{entry}: {exc or type(exc).__name__}") from exc


def _read_original(spec: dict[str, Any], project: Path, override: Path | None
                   ) -> tuple[RasterImage, Path]:
    """Find and read the scan of a referenced project: the first place where a file exists
    and hashes right (old absolute path, path relative to the project, beside the project).
    The file is hashed on another thread while it is read, which nearly halves the time."""
    stored = spec.get("path")
    name = Path(str(spec.get("name") or "")).name or (Path(stored).name if stored else "the original scan")
    sha = spec.get("sha256")
    if override is not None:
        places = [Path(override)]
    else:
        places = [Path(stored)] if stored else []
        if spec.get("relative"):
            places.append(project.parent / spec["relative"])
        places.append(project.parent / name)
    seen: set[Path] = set()
    changed: Path | None = None
    for place in places:
        try:
            resolved = place.resolve()
        except OSError:
            continue
        if resolved in seen or not resolved.is_file():
            continue
        seen.add(resolved)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="project-hash") as pool:
            digest = pool.submit(file_sha256, resolved) if sha else None
            img: RasterImage | None = None
            failure: MuralStudioError | None = None
            try:
                img = read_image(resolved)
            except MuralStudioError as exc:
                failure = exc
            try:
                matches = digest is None or digest.result() == sha
            except OSError:
                continue
        if not matches:
            changed = changed or resolved
            continue
        if failure is not None:
            raise failure
        assert img is not None
        return img, resolved
    if changed is not None:
        raise OriginalChangedError(
            f"The original scan {name} has changed since the project was saved (its checksum differs).",
            changed,
        )
    where = f"at {override}" if override is not None else (
        f"next to the project or at {stored}" if stored else "next to the project"
    )
    raise OriginalMissingError(f"The original scan {name} was not found {where}.", name, stored, sha)


def _check_shape(img: RasterImage, spec: dict[str, Any], path: Path | None, name: str) -> None:
    want = (spec.get("width"), spec.get("height"), spec.get("channels"), spec.get("dtype"))
    have = (img.width, img.height, img.channels, img.dtype.name)
    if all(w is not None for w in want) and want != have:
        if path is not None:
            raise OriginalChangedError(
                f"The original scan {path.name} has changed since the project was saved "
                f"(it is {img.describe()} now).", path)
        raise _damaged(name, "the embedded original does not match its description")


def _load_original(zf: zipfile.ZipFile, path: Path, spec: dict[str, Any],
                   override: Path | None) -> tuple[RasterImage, Path | None]:
    mode = spec.get("mode")
    if mode == "embedded":
        entry = str(spec.get("entry") or ORIGINAL_ENTRY)
        colour, alpha, meta = _read_tiff_entry(zf, path, entry)
        img = RasterImage(pixels=colour, icc_profile=bytes(meta["icc"]) if meta["icc"] else None,
                          resolution=meta["resolution"], alpha=alpha, format="TIFF",
                          metadata=meta["metadata"], bigtiff=meta["bigtiff"])
        _check_shape(img, spec, None, path.name)
        return img, None
    if mode != "reference":
        raise _damaged(path.name, f"unknown original mode '{mode}'")
    img, found = _read_original(spec, path, override)
    _check_shape(img, spec, found, path.name)
    return img, found


def _provenance(d: Any, name: str, notices: list[str]) -> Provenance:
    if not isinstance(d, dict):
        raise _damaged(name, "a candidate has no provenance")
    known = {f.name for f in fields(Provenance)}
    unknown = sorted(set(d) - known)
    if unknown:
        notices.append(f"Provenance fields of a newer version were left out: {', '.join(unknown)}.")
    try:
        return Provenance.from_dict({k: v for k, v in d.items() if k in known})
    except TypeError as exc:
        raise _damaged(name, f"a candidate's provenance is incomplete ({exc})") from exc


def _load_candidate(zf: zipfile.ZipFile, path: Path, c: dict[str, Any], shape: tuple[int, int],
                    dtype: np.dtype, notices: list[str]) -> Candidate:
    name = path.name
    patches = []
    for p in c.get("patches", []):
        y, x = int(p["y"]), int(p["x"])
        pixels, _alpha, _meta = _read_tiff_entry(zf, path, str(p["pixels"]))
        h, w = pixels.shape[:2]
        if y < 0 or x < 0 or y + h > shape[0] or x + w > shape[1]:
            raise _damaged(name, f"{p['pixels']} lies outside the image")
        if pixels.dtype != dtype:
            raise _damaged(name, f"{p['pixels']} is {pixels.dtype.name}, the image {dtype.name}")
        mask = _decode_mask(_read_entry(zf, str(p["mask"]), name), str(p["mask"]), name, (h, w))
        patches.append(Patch(y=y, x=x, pixels=pixels, mask=mask))
    return Candidate(provenance=_provenance(c.get("provenance"), name, notices), patches=patches,
                     name=str(c.get("name") or ""), id=str(c["id"]), notes=str(c.get("notes") or ""))


def load_project(path: str | os.PathLike[str], *, original: str | os.PathLike[str] | None = None
                 ) -> tuple[Mural, ProjectInfo]:
    """Open a ``.mural`` bundle; returns the document (with an empty undo history) and info.

    ``original`` points to the scan when the user located it by hand (it must still match
    the saved checksum). Raises ProjectError (OriginalMissingError, OriginalChangedError:
    subclasses) for damaged, foreign or newer files; MaskMismatchError when a layer does not
    fit the image; the errors of :func:`read_image` for an unreadable scan.
    """
    path = Path(path).absolute()
    name = path.name
    notices: list[str] = []
    with _open_zip(path) as zf:
        data = _parse_manifest(_read_entry(zf, MANIFEST, name, _MANIFEST_LIMIT), name)
        version = str(data["format_version"])
        if version != "%d.%d" % FORMAT_VERSION:
            notices.append(f"The project was saved in format {version}; parts this version "
                           "does not know were left out.")
        try:
            spec = data["original"]
            known = {mask_key(c) for c in DamageClass} | {GUIDE}
            layers = []
            for layer in data.get("layers", []):
                key, entry = layer["key"], layer.get("entry")
                if not entry:
                    continue
                if key not in known:
                    notices.append(f"The layer '{key}' is not known to this version and was left out.")
                    continue
                layers.append((key, str(entry), _read_entry(zf, str(entry), name)))
            expected = None
            if isinstance(spec.get("height"), int) and isinstance(spec.get("width"), int):
                expected = (spec["height"], spec["width"])
            # layers decode on other threads while the original is checked and read
            with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                    thread_name_prefix="project-load") as pool:
                decoded = [(key, entry, pool.submit(_decode_grey, raw, entry, name, expected, True))
                           for key, entry, raw in layers]
                del layers
                try:
                    located = Path(original) if original is not None else None
                    img, found = _load_original(zf, path, spec, located)
                    doc = Mural(img)
                    while decoded:
                        key, entry, future = decoded.pop(0)
                        grey = future.result()
                        del future  # let each decoded layer go as soon as it is used
                        if grey.shape != doc.shape:
                            raise _mismatch(entry, name, grey.shape, doc.shape)
                        np.greater_equal(grey, 128, out=doc.layer_array(key))
                        del grey
                finally:
                    for _key, _entry, future in decoded:
                        future.cancel()
                    del decoded
            for c in data.get("candidates", []):
                doc.candidates.append(_load_candidate(zf, path, c, doc.shape, img.dtype, notices))
            chosen = data.get("chosen_id")
            if chosen is not None and all(c.id != chosen for c in doc.candidates):
                notices.append("The chosen result was not found among the candidates; none is chosen.")
                chosen = None
            doc.chosen_id = chosen
            doc.notes = str(data.get("notes") or "")
            history = data.get("history") or {}
            extras = data.get("extras") or {}
            info = ProjectInfo(
                path=path,
                source=found,
                embedded=found is None,
                extras=dict(extras) if isinstance(extras, dict) else {},
                history_labels=[str(s) for s in history.get("labels", [])],
                history_position=int(history.get("position", 0)),
                created=str(data.get("created") or ""),
                modified=str(data.get("modified") or ""),
                software=str(data.get("software") or ""),
                format_version=version,
                original_name=spec.get("name"),
                notices=notices,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise _damaged(name, f"{MANIFEST} is incomplete: {detail}") from exc
    return doc, info

