"""``muralstudio FILE --self-test``: the smoke test that packaging runs inside the frozen app."""

from __future__ import annotations

import numpy as np
import pytest

from muralstudio.cli import main
from muralstudio.gui import selftest


@pytest.fixture
def quick(monkeypatch, tmp_path, qapp):
    monkeypatch.setattr(selftest, "SECONDS", 0.3)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def test_self_test_opens_the_file_and_runs_every_shipped_model(quick, scan, tmp_path, capsys):
    from muralstudio.io.masks import write_mask

    masks = tmp_path / "masks"
    masks.mkdir()
    crack = np.zeros((240, 320), bool)
    crack[100:104, 20:300] = True
    write_mask(masks / "crack.png", crack)
    assert main([str(scan), "--masks", str(masks), "--self-test"]) == 0
    out = capsys.readouterr().out
    assert "self-test: opened wall.tif (320 x 240, 1 damage classes marked)" in out
    for name in ("pconv", "diffusion", "detector"):
        assert f"self-test: {name} model loaded (sha256 " in out
    assert out.rstrip().splitlines()[-1].startswith("self-test: ok")
    assert not list((tmp_path / "data" / "muralstudio" / "recovery").iterdir())  # no autosave left


def test_self_test_reports_a_broken_model(quick, scan, monkeypatch, capsys):
    real = selftest._check_model

    def broken(name: str, expected: str) -> str:
        if name == "diffusion":
            raise RuntimeError("weights damaged")
        return real(name, expected)

    monkeypatch.setattr(selftest, "_check_model", broken)
    assert main([str(scan), "--self-test"]) == 1
    captured = capsys.readouterr()
    assert "self-test: FAILED: diffusion check failed: weights damaged" in captured.err
    assert "self-test: pconv model loaded" in captured.out


def test_self_test_needs_a_file_and_a_readable_one(quick, tmp_path, capsys):
    assert main(["gui", "--self-test"]) == 2
    assert "--self-test needs a scan" in capsys.readouterr().err
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff")
    assert main([str(bad), "--self-test"]) == 2
