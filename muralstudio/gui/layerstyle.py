"""How the mask layers are drawn: their order, colours, opacities and visibility."""

from __future__ import annotations

from dataclasses import dataclass

from muralstudio.core.damage import STYLES, DamageClass

GUIDE_KEY = "guide"
GUIDE_COLOR = (0, 215, 230)
#: Drawing order, bottom to top: broad layers first, thin cracks and guide lines on top.
LAYER_ORDER: tuple[str, ...] = tuple(
    f"mask:{c.value}"
    for c in (DamageClass.FADING, DamageClass.STAIN, DamageClass.LOSS, DamageClass.FLAKING, DamageClass.CRACK)
) + (GUIDE_KEY,)
DEFAULT_OPACITY = 0.5


@dataclass(frozen=True)
class LayerStyle:
    """How one mask layer is drawn: colour (RGB), opacity 0..1 (fill mode) and visibility."""

    color: tuple[int, int, int]
    opacity: float = DEFAULT_OPACITY
    visible: bool = True


def default_styles() -> dict[str, LayerStyle]:
    """A fresh style per layer: the damage classes' colours, the guide in cyan, nearly opaque."""
    styles = {f"mask:{c.value}": LayerStyle(tuple(STYLES[c].color)) for c in DamageClass}
    styles[GUIDE_KEY] = LayerStyle(GUIDE_COLOR, 0.9)
    return styles
