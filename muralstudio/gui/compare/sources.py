"""What the two sides of a comparison can show, and their pixels, without Qt.

A side is the original scan, the current composite (the original with the chosen candidate),
one candidate, or a reference image the user loaded (the undamaged truth of a synthetic test,
or an earlier photograph) so that PSNR and SSIM measure quality. Pixels are read box by box (:class:`DocumentPixels`), so maps of a
100-megapixel scan never need a second full-size copy of it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from muralstudio.core.candidate import Candidate
from muralstudio.core.document import Mural
from muralstudio.core.raster import RasterImage
from muralstudio.io.export import DocumentPixels

ORIGINAL = "original"
COMPOSITE = "composite"
REFERENCE = "reference"
Box = tuple[int, int, int, int]  # y0, x0, y1, x1 (end exclusive)
Getter = Callable[[Box], np.ndarray]


def side_candidate(doc: Mural, side: str) -> Candidate | None:
    """The candidate a side shows over the original (None: the original itself).

    Raises KeyError for a candidate that is no longer in the document.
    """
    if side in (ORIGINAL, REFERENCE):
        return None
    if side == COMPOSITE:
        return doc.chosen
    return doc.candidate(side)


def side_label(doc: Mural, side: str, reference: RasterImage | None = None) -> str:
    if side == ORIGINAL:
        return "Original scan"
    if side == REFERENCE:
        name = reference.source.name if reference is not None and reference.source is not None else "none loaded"
        return f"Reference ({name})"
    if side == COMPOSITE:
        chosen = doc.chosen
        return "Composite (" + (chosen.name if chosen is not None else "nothing chosen") + ")"
    return doc.candidate(side).name


def sides(doc: Mural, reference: RasterImage | None = None) -> list[tuple[str, str]]:
    """(side, label) for every side there is: original, composite, the candidates, the reference."""
    names = [ORIGINAL, COMPOSITE] + [c.id for c in doc.candidates] + ([REFERENCE] if reference is not None else [])
    return [(s, side_label(doc, s, reference)) for s in names]


def side_key(doc: Mural, side: str) -> str:
    """A key that changes when what a side shows changes (the composite follows the choice)."""
    if side == REFERENCE:
        return REFERENCE
    cand = side_candidate(doc, side)
    return ORIGINAL if cand is None else f"cand:{cand.id}"


def pixels_getter(doc: Mural, side: str, reference: RasterImage | None = None) -> Getter:
    """Full-resolution pixels of a side, box by box."""
    if side == REFERENCE:
        if reference is None:
            raise KeyError(REFERENCE)
        ref = reference.pixels
        return lambda box: ref[box[0] : box[2], box[1] : box[3]]
    cand = side_candidate(doc, side)
    if cand is None:
        original = doc.original.pixels
        return lambda box: original[box[0] : box[2], box[1] : box[3]]
    return DocumentPixels(doc, cand).composite


def check_reference(doc: Mural, image: RasterImage) -> None:
    """ValueError with a message for a dialog when ``image`` cannot be compared with ``doc``."""
    if image.pixels.shape[:2] != doc.shape:
        raise ValueError(f"The reference is {image.width} × {image.height} but the scan is "
                         f"{doc.original.width} × {doc.original.height}; they must match pixel for pixel.")
    if image.channels != doc.original.channels:
        kinds = {1: "grey", 3: "colour"}
        raise ValueError(f"The reference is {kinds.get(image.channels, image.channels)} but the scan is "
                         f"{kinds.get(doc.original.channels, doc.original.channels)}.")
