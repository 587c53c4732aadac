"""Built-in demo: a procedural Dunhuang-style mural with synthetic damage and its masks.

Lets the app show its main job (mark damage, restore it, compare with the truth) with no
data download: ``make_demo_mural()`` returns the clean painting, the damaged "scan" and a
bool mask per damage class.
"""

from .damage import CLASSES, DemoMural, apply_damage, make_demo_mural
from .mural import make_clean_mural

__all__ = ["CLASSES", "DemoMural", "apply_damage", "make_clean_mural", "make_demo_mural"]
