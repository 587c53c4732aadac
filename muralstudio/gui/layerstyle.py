"""How the mask layers are drawn: their order, colours, opacities and visibility.

Besides the document's masks, the canvas can show *proposal* layers (``proposal:<class>``):
damage a detector suggests but nobody has accepted yet. They are drawn above every mask, in
a lighter tint of their class colour with an opaque edge in the class colour itself, so a
proposal reads as "outlined, not yet painted" next to the flat fill of a marked mask, even
where the two overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

from muralstudio.core.damage import STYLES, DamageClass

GUIDE_KEY = "guide"
GUIDE_COLOR = (0, 215, 230)
PROPOSAL_PREFIX = "proposal:"
#: Drawing order of the document's layers, bottom to top: broad layers first, thin cracks
#: and guide lines on top.
MASK_ORDER: tuple[DamageClass, ...] = (
    DamageClass.FADING, DamageClass.STAIN, DamageClass.LOSS, DamageClass.FLAKING, DamageClass.CRACK,
)
LAYER_ORDER: tuple[str, ...] = tuple(f"mask:{c.value}" for c in MASK_ORDER) + (GUIDE_KEY,)
#: Detection proposals, drawn over the document's layers in the same order.
PROPOSAL_ORDER: tuple[str, ...] = tuple(f"{PROPOSAL_PREFIX}{c.value}" for c in MASK_ORDER)
DEFAULT_OPACITY = 0.5
PROPOSAL_OPACITY = 0.45
PROPOSAL_TINT = 0.45  # how far a proposal's fill colour is moved towards white


@dataclass(frozen=True)
class LayerStyle:
    """How one layer is drawn: colour (RGB), opacity 0..1 (fill mode) and visibility.

    ``edge`` (RGB or None) also draws the layer's boundary, opaque, in that colour over the
    fill (the global outline mode draws only boundaries, in ``color``).
    """

    color: tuple[int, int, int]
    opacity: float = DEFAULT_OPACITY
    visible: bool = True
    edge: tuple[int, int, int] | None = None


def proposal_key(cls: DamageClass | str) -> str:
    """The canvas layer key of the detection proposal of ``cls``."""
    return f"{PROPOSAL_PREFIX}{DamageClass(cls).value}"


def tint(color: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    """``color`` moved ``amount`` (0..1) of the way towards white."""
    return tuple(int(round(c + (255 - c) * amount)) for c in color)  # type: ignore[return-value]


def default_styles() -> dict[str, LayerStyle]:
    """A fresh style per layer: the damage classes' colours, the guide in cyan, nearly opaque;
    proposal layers tinted and edged, hidden until a detection is shown."""
    styles = {f"mask:{c.value}": LayerStyle(tuple(STYLES[c].color)) for c in DamageClass}
    styles[GUIDE_KEY] = LayerStyle(GUIDE_COLOR, 0.9)
    for c in DamageClass:
        color = tuple(STYLES[c].color)
        styles[proposal_key(c)] = LayerStyle(tint(color, PROPOSAL_TINT), PROPOSAL_OPACITY, False, color)
    return styles
