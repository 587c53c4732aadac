"""The mineral pigments of the Dunhuang wall paintings, as a palette for colour hints.

Each pigment has an sRGB colour and a one-line note. The colours are *approximate colours
of the fresh pigment*, chosen to give the colour restoration a plausible hue to aim for;
they are not measurements of any painting, and ground, binder, particle size and age all
change how a pigment really looks. A conservator who has a spot of intact paint should pick
its colour from the scan instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from muralstudio.core.hints import ColourHint


@dataclass(frozen=True)
class Pigment:
    key: str  # short lower-case name, used in a hint's source ("pigment: malachite")
    name: str
    rgb: tuple[int, int, int]  # approximate sRGB of the fresh pigment, 0-255
    note: str  # one line: what it is and where it shows up

    @property
    def unit_rgb(self) -> tuple[float, float, float]:
        """The colour as floats in [0, 1], as colour hints hold it."""
        r, g, b = self.rgb
        return (r / 255.0, g / 255.0, b / 255.0)

    @property
    def source(self) -> str:
        return f"pigment: {self.key}"

    def hex(self) -> str:
        return "#%02x%02x%02x" % self.rgb

    def hint(self, y: float, x: float) -> ColourHint:
        """A hint of this pigment's colour at image point (y, x)."""
        return ColourHint(y, x, self.unit_rgb, self.source)


PIGMENTS: tuple[Pigment, ...] = (
    # reds and oranges
    Pigment("cinnabar", "Cinnabar (vermilion)", (196, 46, 36),
            "Mercury sulphide; the brightest red, used sparingly for robes and lips; may darken."),
    Pigment("red lead", "Red lead (minium)", (232, 96, 48),
            "Lead oxide; orange-red, widely used, often darkened to brown or black by age."),
    Pigment("red ochre", "Red ochre (iron oxide red)", (152, 62, 44),
            "Earth red; outlines, grounds and flesh tones in every period."),
    Pigment("realgar", "Realgar", (226, 110, 42),
            "Arsenic sulphide; orange, rare, fades to a pale yellow in light."),
    # yellows
    Pigment("orpiment", "Orpiment", (236, 190, 64),
            "Arsenic sulphide; lemon to golden yellow, light-sensitive and prone to fading."),
    Pigment("yellow ochre", "Yellow ochre", (198, 150, 72),
            "Earth yellow; muted yellow for garments, haloes and grounds."),
    # greens
    Pigment("malachite", "Malachite", (62, 146, 104),
            "Basic copper carbonate; green, coarser grains give a deeper tone."),
    Pigment("atacamite", "Atacamite (copper chloride green)", (92, 158, 132),
            "Bluish green; the most common green at Dunhuang, with paratacamite."),
    # blues
    Pigment("azurite", "Azurite", (44, 86, 158),
            "Basic copper carbonate; blue, may turn green where it alters to malachite."),
    Pigment("lapis lazuli", "Lapis lazuli (ultramarine)", (40, 62, 156),
            "Natural ultramarine; deep violet-blue, costly, mostly from the Sui dynasty on."),
    Pigment("indigo", "Indigo", (46, 56, 92),
            "Organic blue from plants; dark blue, fades in light."),
    # whites, black and gold
    Pigment("lead white", "Lead white", (240, 237, 226),
            "Basic lead carbonate; bright white, can darken to brown or black."),
    Pigment("kaolin", "Kaolin (white clay)", (232, 225, 208),
            "White clay; grounds and whites, slightly warm."),
    Pigment("gypsum", "Gypsum white", (238, 234, 222),
            "Calcium sulphate; the usual white ground layer."),
    Pigment("carbon black", "Carbon black (ink)", (36, 34, 32),
            "Soot or ink; outlines, hair and inscriptions."),
    Pigment("gold leaf", "Gold leaf", (212, 172, 64),
            "Beaten gold on haloes, jewellery and ornaments; often lost or robbed."),
)

_BY_KEY = {p.key: p for p in PIGMENTS}


def pigment(key: str) -> Pigment:
    """The pigment with this key (KeyError listing the keys otherwise)."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown pigment '{key}'; known: {', '.join(_BY_KEY)}") from None
