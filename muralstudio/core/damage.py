"""The damage classes a conservator marks, with the names and colours every view shares."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class DamageClass(str, Enum):
    """Kinds of damage on a wall painting (S1, S3): each has its own mask layer."""

    CRACK = "crack"
    FLAKING = "flaking"
    LOSS = "loss"
    STAIN = "stain"
    FADING = "fading"

    @classmethod
    def parse(cls, name: str) -> "DamageClass":
        """The class named ``name`` (case-insensitive); ValueError listing the valid names."""
        try:
            return cls(name.strip().lower())
        except ValueError:
            valid = ", ".join(c.value for c in cls)
            raise ValueError(f"Unknown damage class '{name}'; use one of: {valid}.") from None


@dataclass(frozen=True)
class ClassStyle:
    """How a damage class is shown: a label and an RGB overlay colour."""

    label: str
    color: tuple[int, int, int]
    description: str


STYLES: dict[DamageClass, ClassStyle] = {
    DamageClass.CRACK: ClassStyle("Crack", (230, 40, 40), "Cracks and fissures in the plaster or paint."),
    DamageClass.FLAKING: ClassStyle("Flaking", (250, 170, 20), "Paint layer lifted or flaked off; ground shows."),
    DamageClass.LOSS: ClassStyle("Loss", (40, 120, 240), "Large losses: plaster or paint gone."),
    DamageClass.STAIN: ClassStyle("Stain", (150, 60, 200), "Water tide lines, soot and other stains."),
    DamageClass.FADING: ClassStyle("Fading", (40, 190, 120), "Faded or discoloured pigment."),
}

#: Classes whose pixels are missing and get filled by an inpainting engine by default.
FILL_CLASSES: tuple[DamageClass, ...] = (DamageClass.CRACK, DamageClass.FLAKING, DamageClass.LOSS)
