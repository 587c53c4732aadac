"""Project bundles (``.mural``): one ZIP file holding a whole document.

A bundle holds ``project.json`` (the description of everything else), one PNG per non-empty
mask or guide layer, a TIFF and a PNG per candidate patch, and optionally the original scan
as ``original.tif``. Without the original embedded the bundle refers to the scan by path and
SHA-256 (:mod:`muralstudio.io.original`). ``docs/project-format.md`` describes the format
for readers that do not use this code.

This module saves and loads whole documents; the entries are written and read by
:mod:`muralstudio.io.bundle`, ``project.json`` is checked by :mod:`muralstudio.io.manifest`.
Saving is atomic. Autosave and crash recovery are in :mod:`muralstudio.io.recovery`.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from muralstudio import __version__
from muralstudio.core.assessment import Rating
from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import GUIDE, Mural, mask_key
from muralstudio.core.errors import ImageWriteError, MuralStudioError
from muralstudio.core.hints import ColourHint
from muralstudio.io import bundle
from muralstudio.io.atomic import atomic_output
from muralstudio.io.manifest import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MANIFEST,
    MANIFEST_LIMIT,
    dumps,
    parse_manifest,
    read_project_json,
)
from muralstudio.io.original import (
    ORIGINAL_ENTRY,
    OriginalChangedError,
    OriginalMissingError,
    describe_original,
    file_sha256,
    load_original,
    original_reference,
)

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
_COMPRESS_PATCH_BELOW = 64 * 2**20  # bigger patches are stored uncompressed, for speed


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


def _now() -> str:
    """The time now in UTC, to the second, in ISO 8601."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


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
        extras_json = json.loads(dumps(dict(extras or {})))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"extras cannot be saved: {exc}") from exc

    if embed_original:
        original: dict[str, Any] = {"mode": "embedded", "entry": ORIGINAL_ENTRY,
                                    "name": (src or img.source or Path("")).name or None}
    else:
        assert src is not None
        original = original_reference(src, doc, target)
    original.update(describe_original(img))

    if created is None:
        try:
            created = str(read_project_json(target).get("created") or "") or None
        except (MuralStudioError, OSError):
            created = None
    temps = bundle.TempFiles(target.parent, target.stem)
    jobs: list[tuple[str, Callable[[], bytes | memoryview | Path]]] = []
    if embed_original:

        def embed() -> bytes | Path:
            data = img.pixels
            if img.alpha is not None:
                data = np.concatenate([data, img.alpha[:, :, None]], axis=2)
            return bundle.tiff_job(data, temps, has_alpha=img.alpha is not None, image=img)()

        jobs.append((ORIGINAL_ENTRY, embed))

    layers = []
    keys = [mask_key(c) for c in DamageClass] + [GUIDE]
    for key in keys:
        arr = doc.layer_array(key)
        marked = int(np.count_nonzero(arr))
        entry = None
        if marked:
            entry = f"layers/{key.replace(':', '-')}.png"
            jobs.append((entry, lambda a=arr: bundle.encode_mask(a)))
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
            jobs.append((base + ".tif", bundle.tiff_job(px, temps, compress=small)))
            jobs.append((base + "-mask.png", lambda m=patch.mask: bundle.encode_mask(np.asarray(m, bool))))
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
        "ratings": {c.id: [r.to_dict() for r in doc.ratings_of(c.id)] for c in doc.candidates if doc.ratings_of(c.id)},
        "hints": [h.to_dict() for h in doc.hints],
        "notes": doc.notes,
        "history": {"labels": list(doc.history.labels), "position": doc.history.position},
        "extras": extras_json,
    }
    if recovery is not None:
        manifest["recovery"] = json.loads(dumps(recovery))
    try:
        manifest_bytes = dumps(manifest)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the document cannot be saved: {exc}") from exc

    try:
        with atomic_output(target) as temp:
            with zipfile.ZipFile(temp, "w", allowZip64=True) as zf, closing(bundle.run_jobs(jobs)) as results:
                bundle.put_entry(zf, MANIFEST, manifest_bytes, compress=True)
                for entry, data in results:
                    bundle.put_entry(zf, entry, data)
                    if isinstance(data, Path):
                        os.unlink(data)
    except MemoryError as exc:
        raise ImageWriteError(f"Cannot save {name}: there is not enough memory.") from exc
    except cv2.error as exc:
        raise ImageWriteError(f"Cannot save {name}: a layer could not be encoded ({exc}).") from exc
    finally:
        temps.remove_all()


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (False when either cannot be checked)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _provenance(d: Any, name: str, notices: list[str]) -> Provenance:
    if not isinstance(d, dict):
        raise bundle.damaged(name, "a candidate has no provenance")
    known = {f.name for f in fields(Provenance)}
    unknown = sorted(set(d) - known)
    if unknown:
        notices.append(f"Provenance fields of a newer version were left out: {', '.join(unknown)}.")
    try:
        return Provenance.from_dict({k: v for k, v in d.items() if k in known})
    except TypeError as exc:
        raise bundle.damaged(name, f"a candidate's provenance is incomplete ({exc})") from exc


def _load_ratings(raw: Any, ids: set[str], notices: list[str]) -> dict[str, list[Rating]]:
    """The ratings of a manifest; malformed records and unknown candidates are left out with a notice."""
    out: dict[str, list[Rating]] = {}
    if not isinstance(raw, dict):
        return out
    dropped = 0
    for cid, records in raw.items():
        if cid not in ids or not isinstance(records, list):
            dropped += 1 if not isinstance(records, list) else len(records)
            continue
        for rec in records:
            try:
                rating = Rating.from_dict(rec)
            except (KeyError, TypeError, ValueError, AttributeError):
                dropped += 1
                continue
            kept = [r for r in out.get(cid, []) if r.rater != rating.rater]  # one rating per rater
            out[cid] = kept + [rating]
    if dropped:
        notices.append(f"{dropped} rating(s) could not be read and were left out.")
    return out


def _load_hints(raw: Any, shape: tuple[int, int], notices: list[str]) -> list[ColourHint]:
    """The colour hints of a manifest; malformed ones and ones outside the image are left out with a notice."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        notices.append("The colour hints could not be read and were left out.")
        return []
    h, w = shape
    out: list[ColourHint] = []
    for rec in raw:
        try:
            hint = ColourHint.from_dict(rec)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if 0.0 <= hint.x < w and 0.0 <= hint.y < h:  # also false for NaN
            out.append(hint)
    if len(out) < len(raw):
        notices.append(f"{len(raw) - len(out)} colour hint(s) could not be read and were left out.")
    return out


def _load_candidate(zf: zipfile.ZipFile, path: Path, c: dict[str, Any], shape: tuple[int, int],
                    dtype: np.dtype, notices: list[str]) -> Candidate:
    name = path.name
    patches = []
    for p in c.get("patches", []):
        y, x = int(p["y"]), int(p["x"])
        pixels, _alpha, _meta = bundle.read_tiff_entry(zf, path, str(p["pixels"]))
        h, w = pixels.shape[:2]
        if y < 0 or x < 0 or y + h > shape[0] or x + w > shape[1]:
            raise bundle.damaged(name, f"{p['pixels']} lies outside the image")
        if pixels.dtype != dtype:
            raise bundle.damaged(name, f"{p['pixels']} is {pixels.dtype.name}, the image {dtype.name}")
        mask = bundle.decode_mask(bundle.read_entry(zf, str(p["mask"]), name), str(p["mask"]), name, (h, w))
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
    with bundle.open_zip(path) as zf:
        data = parse_manifest(bundle.read_entry(zf, MANIFEST, name, MANIFEST_LIMIT), name)
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
                layers.append((key, str(entry), bundle.read_entry(zf, str(entry), name)))
            expected = None
            if isinstance(spec.get("height"), int) and isinstance(spec.get("width"), int):
                expected = (spec["height"], spec["width"])
            # layers decode on other threads while the original is checked and read
            with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                    thread_name_prefix="project-load") as pool:
                decoded = [(key, entry, pool.submit(bundle.decode_grey, raw, entry, name, expected, True))
                           for key, entry, raw in layers]
                del layers
                try:
                    located = Path(original) if original is not None else None
                    img, found = load_original(zf, path, spec, located)
                    doc = Mural(img)
                    while decoded:
                        key, entry, future = decoded.pop(0)
                        grey = future.result()
                        del future  # let each decoded layer go as soon as it is used
                        if grey.shape != doc.shape:
                            raise bundle.mismatch(entry, name, grey.shape, doc.shape)
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
            doc.ratings = _load_ratings(data.get("ratings"), {c.id for c in doc.candidates}, notices)
            doc.load_hints(_load_hints(data.get("hints"), doc.shape, notices))
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
            raise bundle.damaged(name, f"{MANIFEST} is incomplete: {detail}") from exc
    return doc, info
