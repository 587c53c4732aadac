"""Help ▸ About: version, libraries, compute device, shipped models, settings and autosaves."""

from __future__ import annotations

import json

import PySide6
import torch
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox

from muralstudio import __version__
from muralstudio.gui.about import about_facts, about_html
from muralstudio.nets.weights import MODELS_DIR


def test_about_names_version_libraries_device_models_and_folders(qapp, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    facts = dict(about_facts(settings))
    assert facts["Version"].startswith(__version__)
    assert facts["torch"] == torch.__version__
    assert facts["Qt"] == f"{qVersion()} (PySide6 {PySide6.__version__})"
    assert facts["Compute device"].startswith(("CUDA: ", "Apple GPU", "CPU, "))
    if not torch.cuda.is_available():
        assert facts["Compute device"].startswith(f"CPU, {torch.get_num_threads()} thread")
    entry = json.loads((MODELS_DIR / "manifest.json").read_text())["models"]["pconv"]
    assert f"pconv: {entry['file']}, sha256 {entry['sha256'][:12]}" in facts["Models"]
    assert facts["Settings"] == settings.fileName()
    assert facts["Autosaves"] == str(tmp_path / "data" / "muralstudio" / "recovery")
    text = about_html(settings)
    for word in (__version__, "torch", torch.__version__, "Qt", qVersion(), "Compute device"):
        assert word in text


def test_a_bad_device_setting_is_shown_not_raised(qapp, settings, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("MURALSTUDIO_DEVICE", "quantum")
    assert dict(about_facts(settings))["Compute device"].startswith("not usable: Unknown device")


def test_help_about_shows_the_dialog(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append((parent, title, text)))
    window.about()
    assert shown and shown[0][0] is window and shown[0][1] == "About Mural Studio"
    assert f"Mural Studio {__version__}" in shown[0][2] and "Autosaves" in shown[0][2]
