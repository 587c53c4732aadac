"""The original scan of a project: referring to it by path and SHA-256, and finding it again.

A bundle without the original embedded refers to the scan by path and SHA-256; loading
looks for it at its old absolute path, at its path relative to the project, and beside the
project, and takes the first file whose checksum matches. An embedded original is read
from the bundle instead.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from muralstudio.core.document import Mural
from muralstudio.core.errors import MuralStudioError, ProjectError
from muralstudio.core.raster import RasterImage
from muralstudio.io import bundle
from muralstudio.io.images import read_image, read_image_header

ORIGINAL_ENTRY = "original.tif"


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
    buf = bytearray(bundle.CHUNK)
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


def original_reference(source: Path, doc: Mural, project: Path) -> dict[str, Any]:
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


def describe_original(img: RasterImage) -> dict[str, Any]:
    """The size and sample format of the original, saved to check the scan found on loading."""
    return {"width": img.width, "height": img.height, "channels": img.channels,
            "dtype": img.dtype.name, "has_alpha": img.alpha is not None}


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
    """Refuse an original whose size or sample format differs from the saved description."""
    want = (spec.get("width"), spec.get("height"), spec.get("channels"), spec.get("dtype"))
    have = (img.width, img.height, img.channels, img.dtype.name)
    if all(w is not None for w in want) and want != have:
        if path is not None:
            raise OriginalChangedError(
                f"The original scan {path.name} has changed since the project was saved "
                f"(it is {img.describe()} now).", path)
        raise bundle.damaged(name, "the embedded original does not match its description")


def load_original(zf: zipfile.ZipFile, path: Path, spec: dict[str, Any],
                  override: Path | None) -> tuple[RasterImage, Path | None]:
    """The original of a project, embedded or found on disk, and the file used (None: embedded)."""
    mode = spec.get("mode")
    if mode == "embedded":
        entry = str(spec.get("entry") or ORIGINAL_ENTRY)
        colour, alpha, meta = bundle.read_tiff_entry(zf, path, entry)
        img = RasterImage(pixels=colour, icc_profile=bytes(meta["icc"]) if meta["icc"] else None,
                          resolution=meta["resolution"], alpha=alpha, format="TIFF",
                          metadata=meta["metadata"], bigtiff=meta["bigtiff"])
        _check_shape(img, spec, None, path.name)
        return img, None
    if mode != "reference":
        raise bundle.damaged(path.name, f"unknown original mode '{mode}'")
    img, found = _read_original(spec, path, override)
    _check_shape(img, spec, found, path.name)
    return img, found
