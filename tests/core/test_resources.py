"""Finding the icons and the shipped weights: source checkout, wheel and frozen layouts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from muralstudio.core import resources

REPO = Path(__file__).resolve().parents[2]


def test_checkout_finds_icon_and_models():
    assert resources.resource_path("icons", "muralstudio.svg") == REPO / "resources" / "icons" / "muralstudio.svg"
    assert resources.resource_path("icons", "muralstudio.svg").is_file()
    assert resources.models_dir() == REPO / "models"
    assert (resources.models_dir() / "manifest.json").is_file()


def test_weights_use_the_same_models_folder():
    from muralstudio.nets.weights import MODELS_DIR

    assert MODELS_DIR == resources.models_dir()


def test_icon_files_svg_first_then_every_size_ascending():
    files = resources.app_icon_files()
    assert files[0].name == "muralstudio.svg"
    assert [f.name for f in files[1:]] == [f"muralstudio-{n}.png" for n in (16, 32, 48, 64, 128, 256, 512)]


def _layout(root: Path) -> Path:
    (root / "resources" / "icons").mkdir(parents=True)
    (root / "models").mkdir()
    return root


def test_frozen_app_folder_comes_first(tmp_path, monkeypatch):
    frozen = _layout(tmp_path / "_internal")
    monkeypatch.setattr(sys, "_MEIPASS", str(frozen), raising=False)
    assert resources.models_dir() == frozen / "models"
    assert resources.resource_path("icons") == frozen / "resources" / "icons"


def test_wheel_layout_without_checkout(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "muralstudio"
    _layout(package / "_data")
    monkeypatch.setattr(resources, "PACKAGE_DIR", package)
    assert resources.models_dir() == package / "_data" / "models"
    assert resources.roots() == [package / "_data"]  # site-packages is no checkout: never searched


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        resources.data_dir("fonts")
