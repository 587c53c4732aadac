"""What the two sides of a comparison can show, and their pixels, without Qt.

A side is the original scan, the current composite (the original with the chosen candidate)
or one candidate. Pixels are read box by box (:class:`DocumentPixels`), so maps of a
100-megapixel scan never need a second full-size copy of it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from muralstudio.core.candidate import Candidate
from muralstudio.core.document import Mural
from muralstudio.io.export import DocumentPixels

ORIGINAL = "original"
COMPOSITE = "composite"
Box = tuple[int, int, int, int]  # y0, x0, y1, x1 (end exclusive)
Getter = Callable[[Box], np.ndarray]


def side_candidate(doc: Mural, side: str) -> Candidate | None:
    """The candidate a side shows over the original (None: the original itself).

    Raises KeyError for a candidate that is no longer in the document.
    """
    if side == ORIGINAL:
        return None
    if side == COMPOSITE:
        return doc.chosen
    return doc.candidate(side)


def side_label(doc: Mural, side: str) -> str:
    if side == ORIGINAL:
        return "Original scan"
    if side == COMPOSITE:
        chosen = doc.chosen
        return "Composite (" + (chosen.name if chosen is not None else "nothing chosen") + ")"
    return doc.candidate(side).name


def sides(doc: Mural) -> list[tuple[str, str]]:
    """(side, label) for every side the document offers, original first."""
    return [(s, side_label(doc, s)) for s in [ORIGINAL, COMPOSITE] + [c.id for c in doc.candidates]]


def side_key(doc: Mural, side: str) -> str:
    """A key that changes when what a side shows changes (the composite follows the choice)."""
    cand = side_candidate(doc, side)
    return ORIGINAL if cand is None else f"cand:{cand.id}"


def pixels_getter(doc: Mural, side: str) -> Getter:
    """Full-resolution pixels of a side, box by box."""
    cand = side_candidate(doc, side)
    if cand is None:
        original = doc.original.pixels
        return lambda box: original[box[0] : box[2], box[1] : box[3]]
    return DocumentPixels(doc, cand).composite
