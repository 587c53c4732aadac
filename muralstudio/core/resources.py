"""Where the app's own files are: the icons in ``resources/`` and the shipped weights in ``models/``.

Three layouts are found, in this order:

- the frozen app (PyInstaller): ``sys._MEIPASS/resources`` and ``sys._MEIPASS/models``;
- a wheel (``pip install .``): ``muralstudio/_data/resources`` and ``muralstudio/_data/models``,
  which setup.py maps from the repository's top-level folders;
- a source checkout or an editable install: the repository's ``resources/`` and ``models/``.

Standard library only, so every layer may ask.
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
KINDS = ("resources", "models")


def roots() -> list[Path]:
    """The folders that may hold ``resources/`` and ``models/``, most specific first."""
    found: list[Path] = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        found.append(Path(frozen))
    found.append(PACKAGE_DIR / "_data")
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file():
        found.append(checkout)
    return found


def data_dir(kind: str) -> Path:
    """The folder of one kind of data (``resources`` or ``models``); it may not exist when
    the installation is incomplete (callers raise a clear error then)."""
    if kind not in KINDS:
        raise ValueError(f"unknown data kind {kind!r}; expected one of {KINDS}")
    candidates = roots()
    for root in candidates:
        if (root / kind).is_dir():
            return root / kind
    return candidates[-1] / kind


def resource_path(*parts: str) -> Path:
    """A file under ``resources/``, e.g. ``resource_path("icons", "muralstudio.svg")``."""
    return data_dir("resources").joinpath(*parts)


def models_dir() -> Path:
    """The folder of the shipped weights and their ``manifest.json``."""
    return data_dir("models")


def app_icon_files() -> list[Path]:
    """The application icon's files that exist: the SVG first, then the PNG sizes."""
    icons = resource_path("icons")
    sizes = sorted(int(p.stem[len("muralstudio-"):]) for p in icons.glob("muralstudio-*.png")
                   if p.stem[len("muralstudio-"):].isdigit())
    files = [icons / "muralstudio.svg"] + [icons / f"muralstudio-{n}.png" for n in sizes]
    return [f for f in files if f.is_file()]
