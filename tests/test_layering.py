"""The import rules of ARCHITECTURE.md, checked on the source (imports anywhere in a file)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "muralstudio"

# Which muralstudio layers each layer may import (besides itself and the top-level package).
ALLOWED_LAYERS: dict[str, set[str]] = {
    "core": set(),
    "io": {"core"},
    "ops": {"core"},
    "nets": {"core"},
    "demo": {"core", "ops"},
    "engines": {"core", "ops", "io", "nets"},
    "train": {"core", "ops", "io", "nets", "demo"},
    # gui uses train only to run the fine-tuning job generator (gui/finetune.py), never a model directly
    "gui": {"core", "ops", "io", "nets", "engines", "demo", "train"},
    "cli": {"core", "ops", "io", "engines", "train", "demo", "commands", "gui", "progressbar"},
}
ALLOWED_LAYERS["commands"] = ALLOWED_LAYERS["cli"] - {"gui"}
ALLOWED_LAYERS["progressbar"] = {"engines"}
ALLOWED_LAYERS["__main__"] = {"cli"}

# Third-party packages each layer must not import.
FORBIDDEN_THIRD_PARTY: dict[str, set[str]] = {
    "core": {"torch", "PySide6", "qtawesome", "cv2", "PIL", "tifffile", "imagecodecs"},
    "io": {"torch", "PySide6", "qtawesome"},
}
QT = {"PySide6", "qtawesome", "shiboken6"}


def layer_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.stem != "__init__" else "__init__"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    rel_pkg = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(rel_pkg[: len(rel_pkg) - node.level + 1])
                found.add(f"{base}.{node.module}" if node.module else base)
            else:
                found.add(node.module or "")
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_sources_found():
    assert len(SOURCES) > 10


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_respects_layering(path: Path):
    layer = layer_of(path)
    if layer == "__init__":
        return
    problems = []
    for mod in imports_of(path):
        top = mod.split(".")[0]
        if top == "muralstudio":
            parts = mod.split(".")
            if len(parts) == 1:
                continue  # the version string
            target = parts[1]
            if target != layer and target not in ALLOWED_LAYERS.get(layer, set()):
                problems.append(f"{layer} must not import {mod}")
        else:
            if top in FORBIDDEN_THIRD_PARTY.get(layer, set()):
                problems.append(f"{layer} must not import {top}")
            if top in QT and layer != "gui":
                problems.append(f"only gui may import {top} ({layer} does)")
    assert not problems, "; ".join(problems)


def test_core_imports_only_numpy_scipy_and_stdlib():
    import sys

    allowed = {"numpy", "scipy", "muralstudio"} | set(sys.stdlib_module_names)
    for path in (PACKAGE / "core").rglob("*.py"):
        bad = {m.split(".")[0] for m in imports_of(path)} - allowed
        assert not bad, f"{path.name} imports {bad}"
