"""The desktop integration and build files in packaging/ (the build itself: packaging/build.sh)."""

from __future__ import annotations

import configparser
import importlib.util
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

import muralstudio

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging"
DESKTOP = PACKAGING / "muralstudio.desktop"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def _script(name: str) -> ModuleType:
    """A packaging/ script as a module (the folder is no package: ``packaging`` is PyPI's name)."""
    spec = importlib.util.spec_from_file_location(f"_ms_packaging_{name}", PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate not installed (apt-get install desktop-file-utils)")
def test_desktop_entry_passes_desktop_file_validate():
    done = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": error:" not in done.stdout and ": warning:" not in done.stdout


def test_desktop_entry_starts_muralstudio_on_files_with_our_icon_and_types():
    entry = _desktop_entry()
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    assert entry["Exec"] == "muralstudio %f"  # the app opens one file; install-linux.sh makes the path absolute
    assert entry["Icon"] == "muralstudio"
    assert set(entry["MimeType"].rstrip(";").split(";")) == {"image/tiff", "application/x-muralstudio-project"}
    assert entry["Categories"] == "Graphics;2DGraphics;RasterGraphics;"  # one main category: listed once


def test_mime_type_describes_mural_projects():
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    root = ET.parse(PACKAGING / "muralstudio-mime.xml").getroot()
    (kind,) = root.findall("m:mime-type", ns)
    assert kind.get("type") == "application/x-muralstudio-project"
    assert [g.get("pattern") for g in kind.findall("m:glob", ns)] == ["*.mural"]
    assert kind.find("m:sub-class-of", ns).get("type") == "application/zip"


def test_rendered_icons_exist_at_every_size():
    from PIL import Image

    assert _script("render_icons").main(["--check"]) == 0
    for n in SIZES:
        with Image.open(REPO / "resources" / "icons" / f"muralstudio-{n}.png") as im:
            assert im.size == (n, n) and im.mode == "RGBA"


def test_build_files_parse_and_name_our_version():
    compile((PACKAGING / "muralstudio.spec").read_text(encoding="utf-8"), "muralstudio.spec", "exec")
    assert _script("check_build").source_version() == muralstudio.__version__
    for script in ("build.sh", "install-linux.sh"):
        assert subprocess.run(["bash", "-n", str(PACKAGING / script)]).returncode == 0
    pins = (PACKAGING / "requirements-build.txt").read_text(encoding="utf-8")
    assert "pyinstaller==" in pins and "torchvision" not in pins


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="freedesktop integration is for Linux")
def test_install_linux_installs_idempotently_and_uninstalls(tmp_path):
    program = tmp_path / "My Apps" / "muralstudio"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "share"))
    run = [str(PACKAGING / "install-linux.sh")]
    for _ in range(2):
        done = subprocess.run(run + ["--exec", str(program)], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    share = tmp_path / "share"
    desktop = share / "applications" / "muralstudio.desktop"
    assert f'Exec="{program}" %f' in desktop.read_text().splitlines()
    assert (share / "mime" / "packages" / "muralstudio.xml").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / "muralstudio.svg").is_file()
    for n in SIZES:
        assert (share / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "muralstudio.png").is_file()
    done = subprocess.run(run + ["--uninstall"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    left = [p for p in share.rglob("*muralstudio*") if p.is_file()]
    assert not left


def test_install_linux_refuses_a_missing_program(tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "share"))
    done = subprocess.run([str(PACKAGING / "install-linux.sh"), "--exec", str(tmp_path / "nothing")],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "not an executable program" in done.stderr
    assert not (tmp_path / "share" / "applications").exists()
