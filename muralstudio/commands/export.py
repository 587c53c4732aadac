"""``muralstudio export``: archive a project, or a command-line restoration, as layered files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Generator

import numpy as np

from muralstudio.commands.pairing import UsageError
from muralstudio.core import masks as maskops
from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import Mural, mask_key
from muralstudio.core.errors import MaskMismatchError
from muralstudio.core.progress import Progress
from muralstudio.engines.base import drive
from muralstudio.io.export import export_layered_tiff, export_multipage_tiff, export_ora
from muralstudio.io.images import read_image
from muralstudio.io.masks import read_mask
from muralstudio.io.report import export_report
from muralstudio.ops.context import with_context_metrics
from muralstudio.progressbar import ProgressBar

Exporter = Callable[..., Generator[Progress, None, Path]]
FORMATS: dict[str, tuple[Exporter, tuple[str, ...]]] = {
    "layered-tiff": (export_layered_tiff, (".tif", ".tiff")),
    "multipage-tiff": (export_multipage_tiff, (".tif", ".tiff")),
    "ora": (export_ora, (".ora",)),
    "report": (export_report, (".html", ".pdf")),
}
COMPRESSIONS = ("none", "lzw", "deflate")


def document_from_restoration(image: Path, mask: Path, restored: Path, mask_class: str) -> Mural:
    """A document for a command-line restoration: the scan, its mask and the restored file.

    The restored pixels become the chosen candidate; its provenance comes from the metadata
    that ``muralstudio restore`` wrote into the file, when it is there.
    """
    cls = DamageClass.parse(mask_class)
    original = read_image(image)
    shape = (original.height, original.width)
    marked = read_mask(mask, shape)
    result = read_image(restored)
    if result.pixels.shape != original.pixels.shape or result.dtype != original.dtype:
        raise MaskMismatchError(
            f"The restored image {restored.name} ({result.describe()}) does not match the scan "
            f"{image.name} ({original.describe()})."
        )
    doc = Mural(original)
    doc.set_layer(mask_key(cls), marked, f"Import {mask.name}")
    changed = np.any(result.pixels != original.pixels, axis=2) | marked
    box = maskops.bbox(changed)
    if box is not None:
        y0, x0, y1, x1 = box
        patch = Patch(y0, x0, result.pixels[y0:y1, x0:x1].copy(), changed[y0:y1, x0:x1].copy())
        cand = Candidate(_provenance(result.metadata.get("MuralStudio"), cls), [patch], name=restored.stem)
        doc.add_candidate(cand)
        doc.choose(cand.id)
    return doc


def _provenance(text: str | None, cls: DamageClass) -> Provenance:
    recorded: dict[str, Any] = {}
    if text:
        try:
            recorded = json.loads(text).get("provenance", {})
        except (ValueError, AttributeError):
            recorded = {}
    keys = ("engine", "params", "seed", "weights_sha256", "elapsed_s", "created", "software", "other_weights")
    known = {k: recorded[k] for k in keys if k in recorded}
    known.setdefault("engine", "unknown (not recorded in the restored file)")
    known.setdefault("params", {})
    return Provenance(classes=(cls.value,), **known)


def run_export(
    fmt: str,
    out: Path,
    *,
    project: Path | None = None,
    image: Path | None = None,
    mask: Path | None = None,
    restored: Path | None = None,
    mask_class: str = "loss",
    compression: str | None = None,
    force: bool = False,
    quiet: bool = False,
    pdf_exporter: Exporter | None = None,
) -> Path:
    """Export a project (or a scan + mask + restored file) to ``out`` in format ``fmt``.

    A report ending in .pdf is written by ``pdf_exporter`` (Qt renders it; the caller, which
    may use the GUI layer, passes it in).
    """
    exporter, suffixes = FORMATS[fmt]
    if fmt == "report" and out.suffix.lower() == ".pdf":
        if pdf_exporter is None:
            raise UsageError("PDF reports are not available here; write an .html report.")
        exporter = pdf_exporter
    if out.suffix.lower() not in suffixes:
        raise UsageError(f"A {fmt} export needs a file name ending in {' or '.join(suffixes)}, not {out.name}.")
    if out.exists() and not force:
        raise UsageError(f"{out.name} already exists; use --force to replace it.")
    if project is not None:
        from muralstudio.io.project import load_project

        doc, _info = load_project(project)
    elif image is not None and mask is not None and restored is not None:
        doc = document_from_restoration(image, mask, restored, mask_class)
    else:
        raise UsageError("Give a project file, or --image, --mask and --restored together.")
    kwargs: dict[str, Any] = {"force": force}
    if compression is not None:
        if fmt == "ora":
            raise UsageError("OpenRaster layers are PNG; --compression applies to TIFF exports only.")
        if fmt == "report":
            raise UsageError("--compression applies to TIFF exports only, not to a report.")
        kwargs["compression"] = compression
    if fmt == "report":
        exporter = with_context_metrics(exporter)
    bar = ProgressBar(f"export {out.name}", enabled=not quiet)
    try:
        path = drive(exporter(out, doc, **kwargs), bar.update)
    except BaseException:
        bar.abort()
        raise
    bar.finish(f"written ({fmt})")
    return path
