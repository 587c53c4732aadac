"""Help ▸ About: the version, the libraries and compute device in use, the shipped models
found, and where settings and autosaves live (what a conservator quotes in a support request)."""

from __future__ import annotations

import html
import platform
import sys
from typing import Any

from PySide6.QtCore import QSettings, qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from muralstudio import __version__
from muralstudio.core.errors import MuralStudioError


def device_description(torch: Any) -> str:
    """The compute device the engines pick (CUDA name, MPS or CPU threads), or why none."""
    from muralstudio.nets.weights import choose_device

    try:
        device = choose_device()
    except MuralStudioError as exc:
        return f"not usable: {exc}"
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    threads = torch.get_num_threads()
    return f"CPU, {threads} thread{'s' if threads != 1 else ''}"


def model_lines() -> list[str]:
    """One line per model in the shipped manifest: name, file, sha256 prefix, found or not."""
    from muralstudio.nets.weights import MODELS_DIR, manifest

    try:
        models = manifest(MODELS_DIR).get("models", {})
    except MuralStudioError as exc:
        return [str(exc)]
    if not models:
        return [f"none found in {MODELS_DIR}"]
    lines = []
    for name, entry in sorted(models.items()):
        present = "" if (MODELS_DIR / entry.get("file", "")).is_file() else " (file missing)"
        lines.append(f"{name}: {entry.get('file', '?')}, sha256 {str(entry.get('sha256', ''))[:12]}{present}")
    return lines


def about_facts(settings: QSettings | None = None) -> list[tuple[str, str]]:
    """The About dialog's facts as (label, value) pairs, plain text."""
    import PySide6
    import torch

    from muralstudio.io.recovery import recovery_dir
    from muralstudio.nets.weights import MODELS_DIR

    settings = settings or QSettings()
    build = "frozen app" if getattr(sys, "frozen", False) else "Python package"
    return [
        ("Version", f"{__version__} ({build})"),
        ("Python", f"{platform.python_version()} on {platform.system()} {platform.machine()}"),
        ("torch", torch.__version__),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("Compute device", device_description(torch)),
        ("Models", "; ".join(model_lines())),
        ("Models folder", str(MODELS_DIR)),
        ("Settings", settings.fileName()),
        ("Autosaves", str(recovery_dir())),
    ]


def about_html(settings: QSettings | None = None) -> str:
    """The About dialog's rich text."""
    rows = "".join(f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(v)}</td></tr>"
                   for k, v in about_facts(settings))
    return (f"<h3>Mural Studio {html.escape(__version__)}</h3>"
            "<p>Digital restoration of damaged wall paintings.</p>"
            f"<table>{rows}</table>")


def show_about(parent: QWidget, settings: QSettings | None = None) -> None:
    """Show the About dialog (modal)."""
    QMessageBox.about(parent, "About Mural Studio", about_html(settings))
