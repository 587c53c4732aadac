"""Restoration candidates: machine-made pixels kept as patches with their provenance.

A candidate never holds a whole copy of the scan: it holds the patches an engine produced
(each with the exact pixels it made), so every machine-made pixel stays traceable and a
100-megapixel document can hold several candidates.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from muralstudio import __version__


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Provenance:
    """What made a candidate: enough to repeat it and to document it in the archive."""

    engine: str
    params: dict[str, Any]
    seed: int | None = None
    weights_sha256: str | None = None
    elapsed_s: float = 0.0
    created: str = field(default_factory=now_iso)
    other_weights: dict[str, str] = field(default_factory=dict)  # role → sha256 of further networks used
    software: str = f"muralstudio {__version__}"
    classes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["classes"] = list(self.classes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Provenance":
        d = dict(d)
        d["classes"] = tuple(d.get("classes", ()))
        return cls(**d)

    def short_name(self) -> str:
        """A layer name like 'telea radius=3 margin=24' or 'diffusion steps=20 seed=7'."""
        parts = [self.engine] + [f"{k}={v}" for k, v in sorted(self.params.items())]
        if self.seed is not None:
            parts.append(f"seed={self.seed}")
        return " ".join(parts)


@dataclass
class Patch:
    """Pixels an engine made in the box at (y, x); ``mask`` marks which of them it made."""

    y: int
    x: int
    pixels: np.ndarray  # (h, w, C), dtype of the original
    mask: np.ndarray  # (h, w) bool

    def __post_init__(self) -> None:
        if self.pixels.shape[:2] != self.mask.shape:
            raise ValueError("patch pixels and mask differ in size")

    @property
    def nbytes(self) -> int:
        return int(self.pixels.nbytes + self.mask.nbytes)

    def slices(self) -> tuple[slice, slice]:
        h, w = self.mask.shape
        return slice(self.y, self.y + h), slice(self.x, self.x + w)


def apply_patches(base: np.ndarray, patches: list[Patch]) -> np.ndarray:
    """A copy of ``base`` with the masked pixels of each patch pasted in, in order."""
    out = base.copy()
    for p in patches:
        region = out[p.slices()]
        region[p.mask] = p.pixels[p.mask]
    return out


@dataclass
class Candidate:
    """One restoration proposal in a document."""

    provenance: Provenance
    patches: list[Patch]
    name: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.provenance.short_name()

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.patches)

    def restored_mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Boolean (H, W): the pixels this candidate made."""
        out = np.zeros(shape, dtype=bool)
        for p in self.patches:
            out[p.slices()] |= p.mask
        return out

    def restored_area(self) -> int:
        """Number of pixels made (overlapping patches counted once per patch box)."""
        return int(sum(int(p.mask.sum()) for p in self.patches))

    def render(self, original: np.ndarray) -> np.ndarray:
        """The full image with this candidate applied over ``original``."""
        return apply_patches(original, self.patches)
