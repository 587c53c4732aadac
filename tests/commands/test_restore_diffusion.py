"""``muralstudio restore --engine diffusion``: several candidates written beside the output,
guide lines from a file, clear messages on bad guides."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from muralstudio.cli import main
from muralstudio.nets.diffusion import ARCH, DenoiserUNet, DiffusionConfig
from muralstudio.nets.weights import weights_bytes


@pytest.fixture
def files(tmp_path):
    torch.manual_seed(0)
    cfg = DiffusionConfig(base=8, depth=2, max_width=16, time_dim=16)
    weights = tmp_path / "tiny.pt"
    weights.write_bytes(weights_bytes(ARCH, cfg.to_dict(), DenoiserUNet(cfg).state_dict(), {}))
    yy, xx = np.mgrid[0:64, 0:80]
    img = np.stack([xx * 3, yy * 3, (xx + yy) * 2], axis=2).astype(np.uint8)
    mask = np.zeros((64, 80), np.uint8)
    mask[20:40, 30:50] = 255
    guide = np.zeros((64, 80), np.uint8)
    guide[30, 20:60] = 255
    Image.fromarray(img).save(tmp_path / "scan.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    Image.fromarray(guide).save(tmp_path / "guide.png")
    Image.fromarray(guide[:32]).save(tmp_path / "small-guide.png")
    return tmp_path, weights


def restore(tmp_path, weights, *extra):
    return main(["restore", str(tmp_path / "scan.png"), "--mask", str(tmp_path / "mask.png"), "--engine", "diffusion",
                 "--out", str(tmp_path / "out.png"), "--param", f"weights={weights}", "--param", "steps=2",
                 "--param", "device=cpu", "-q", *extra])


def test_every_candidate_is_written_with_its_seed(files):
    tmp_path, weights = files
    assert restore(tmp_path, weights, "--param", "candidates=3", "--param", "seed=4", "--guide",
                   str(tmp_path / "guide.png")) == 0
    outs = [tmp_path / n for n in ("out.png", "out-seed5.png", "out-seed6.png")]
    assert all(p.is_file() for p in outs)
    seeds = [json.loads(Image.open(p).info["MuralStudio"])["provenance"]["seed"] for p in outs]
    assert seeds == [4, 5, 6]
    scan = np.asarray(Image.open(tmp_path / "scan.png"))
    known = np.asarray(Image.open(tmp_path / "mask.png")) == 0
    for p in outs:
        assert np.array_equal(np.asarray(Image.open(p))[known], scan[known])


def test_bad_guides_are_refused_before_anything_is_written(files, capsys):
    tmp_path, weights = files
    assert restore(tmp_path, weights, "--guide", str(tmp_path / "small-guide.png")) != 0
    assert "80 × 64" in capsys.readouterr().err and not (tmp_path / "out.png").exists()
    code = main(["restore", str(tmp_path / "scan.png"), "--mask", str(tmp_path / "mask.png"), "--out",
                 str(tmp_path / "out.png"), "--guide", str(tmp_path / "guide.png"), "-q"])
    assert code != 0 and "only the diffusion engine follows" in capsys.readouterr().err
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    assert restore(tmp_path, weights, "--guide", str(tmp_path / "broken.png")) != 0
    assert "broken.png" in capsys.readouterr().err and not (tmp_path / "out.png").exists()
