"""Colour hints: points where the conservator states the colour a faded region should have.

A hint is a point in image pixels and an sRGB colour (floats in [0, 1]), with a note of
where the colour came from (a named pigment, or a spot of intact paint). The colour
restoration engine takes hints as extra input; only their chroma counts, since lightness
is always kept from the scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ColourHint:
    y: float
    x: float
    rgb: tuple[float, float, float]
    source: str = ""  # e.g. "pigment: malachite" or "picked at 120, 348"

    def to_dict(self) -> dict[str, Any]:
        return {"x": round(self.x, 2), "y": round(self.y, 2), "rgb": [round(c, 5) for c in self.rgb],
                "source": self.source}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ColourHint":
        """A hint from :meth:`to_dict`'s form; raises ValueError or KeyError on bad content."""
        rgb = tuple(float(c) for c in d["rgb"])
        if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
            raise ValueError("a hint colour needs three values between 0 and 1")
        return cls(float(d["y"]), float(d["x"]), (rgb[0], rgb[1], rgb[2]), str(d.get("source", "")))

    def hex(self) -> str:
        return "#" + "".join(f"{round(c * 255):02x}" for c in self.rgb)
