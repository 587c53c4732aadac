"""Short real training and fine-tuning runs with a tiny network (a few seconds each)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from muralstudio.cli import main
from muralstudio.core.errors import MaskMismatchError, TrainingError
from muralstudio.demo.mural import make_clean_mural
from muralstudio.engines.base import drive
from muralstudio.nets.weights import load_weights
from muralstudio.train.finetune import finetune_on
from muralstudio.train.inpaint import PConvTrainConfig, train_pconv

TINY = {"base": 4, "depth": 3, "max_mult": 2}


def _config(murals: Path, out: Path, **kw) -> PConvTrainConfig:
    opts = dict(net=TINY, patch=32, batch=4, loss_weights={"perceptual": 0.0}, validation_patches=4,
                validate_every=1.0, checkpoint_every=1.0, per_image=4)
    opts.update(kw)
    return PConvTrainConfig([str(murals)], str(out), 0.05, **opts)


def test_training_writes_weights_config_and_checkpoint(murals: Path, tmp_path: Path):
    out = tmp_path / "net.pt"
    state = drive(train_pconv(_config(murals, out), log=lambda m: None))
    assert state.step > 0 and state.best["psnr"] > 0 and state.best["sharpness"] > 0  # texture is reported too
    w = load_weights(out, "pconv-unet")
    assert w.config == TINY and w.meta["steps"] >= 0
    assert all(v.dtype.is_floating_point is False or str(v.dtype) == "torch.float16" for v in w.state_dict.values())
    cfg = json.loads(out.with_suffix(".json").read_text())
    assert cfg["patch"] == 32 and cfg["net"] == TINY
    assert out.with_suffix(".ckpt").is_file()


def test_resume_continues_from_the_checkpoint(murals: Path, tmp_path: Path):
    out = tmp_path / "net.pt"
    first = drive(train_pconv(_config(murals, out), log=lambda m: None))
    logs: list[str] = []
    cfg = _config(murals, out, resume=True, lr=1e-5)
    cfg.minutes = 0.1
    second = drive(train_pconv(cfg, log=logs.append))
    assert any(line.startswith(f"resumed at step {first.step}") for line in logs)
    assert second.step > first.step


def test_weight_average_is_what_validates_saves_and_resumes(murals: Path, tmp_path: Path):
    import torch

    out = tmp_path / "net.pt"
    drive(train_pconv(_config(murals, out, ema=0.9), log=lambda m: None))
    ckpt = torch.load(out.with_suffix(".ckpt"), weights_only=True)
    assert ckpt["average"].keys() == ckpt["model"].keys() and ckpt["average_updates"] > 0
    raw, avg = ckpt["model"], ckpt["average"]
    assert any(not torch.equal(raw[k], avg[k]) for k in raw if raw[k].is_floating_point())
    cfg = _config(murals, out, ema=0.9, resume=True)
    cfg.minutes = 0.1
    logs: list[str] = []
    drive(train_pconv(cfg, log=logs.append))
    assert any(line.startswith("resumed at step") for line in logs)
    assert torch.load(out.with_suffix(".ckpt"), weights_only=True)["average_updates"] > ckpt["average_updates"]


@pytest.mark.parametrize("source", ["features", "detector"])
def test_perceptual_and_style_terms_train_through_a_feature_source(murals: Path, tmp_path: Path, source: str):
    from muralstudio.nets.detector import ARCH as DETECTOR_ARCH
    from muralstudio.nets.detector import DamageUNet, DetectorConfig
    from muralstudio.nets.features import ARCH as FEATURE_ARCH
    from muralstudio.nets.features import FeatureNet
    from muralstudio.nets.weights import weights_bytes

    if source == "features":
        arch, config, net = FEATURE_ARCH, {"widths": [4, 8]}, FeatureNet((4, 8))
    else:
        cfg = DetectorConfig(base=4, depth=2, max_width=8)
        arch, config, net = DETECTOR_ARCH, cfg.to_dict(), DamageUNet(cfg)
    features = tmp_path / "features.pt"
    features.write_bytes(weights_bytes(arch, config, net.state_dict(), {}))
    out = tmp_path / "net.pt"
    cfg = _config(murals, out, features=str(features), loss_weights={"perceptual": 0.5, "style": 50.0})
    state = drive(train_pconv(cfg, log=lambda m: None))
    meta = load_weights(out, "pconv-unet").meta
    assert state.step > 0 and meta["features_sha256"] == load_weights(features).sha256
    assert meta["loss_weights"]["style"] == 50.0


def test_training_refuses_missing_folders(tmp_path: Path):
    with pytest.raises(TrainingError, match="does not exist"):
        drive(train_pconv(PConvTrainConfig([str(tmp_path / "nope")], str(tmp_path / "o.pt"), 1,
                                           loss_weights={"perceptual": 0.0})))


def test_finetune_learns_from_intact_regions_and_reports_before_and_after(murals: Path, tmp_path: Path):
    base = tmp_path / "base.pt"
    drive(train_pconv(_config(murals, base), log=lambda m: None))
    image = make_clean_mural(480, 400, seed=5)  # 16-bit, like a scan
    damage = np.zeros(image.shape[:2], bool)
    damage[:, :40] = True
    out = tmp_path / "tuned.pt"
    state = drive(finetune_on(image, damage, out, 0.05, init=base,
                              options={"patch": 32, "batch": 4, "validate_every": 1.0, "validation_patches": 6},
                              log=lambda m: None))
    assert len(state.history) >= 2 and "psnr" in state.history[0]
    assert load_weights(out, "pconv-unet").meta["init_sha256"] == load_weights(base).sha256


def test_finetune_refuses_a_mural_that_is_all_damage(tmp_path: Path, murals: Path):
    base = tmp_path / "base.pt"
    drive(train_pconv(_config(murals, base), log=lambda m: None))
    image = make_clean_mural(200, 200, seed=1)
    with pytest.raises(TrainingError, match="intact"):
        drive(finetune_on(image, np.ones((200, 200), bool), tmp_path / "t.pt", 0.05, init=base,
                          options={"patch": 32}))


def test_cli_train_and_finetune_give_one_line_errors(tmp_path: Path, murals: Path, capsys):
    assert main(["train", "pconv", "--data", str(tmp_path / "nope"), "--minutes", "1", "--out",
                 str(tmp_path / "o.pt"), "--term", "perceptual=0"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "pconv", "--data", str(murals), "--minutes", "1", "--out", str(tmp_path / "o.pt")]) == 2
    assert "--features" in capsys.readouterr().err
    (tmp_path / "bad.pt").write_bytes(b"not weights")
    assert main(["train", "pconv", "--data", str(murals), "--minutes", "1", "--out", str(tmp_path / "o.pt"),
                 "--features", str(tmp_path / "bad.pt")]) == 2
    assert "bad.pt is not a Mural Studio weights file" in capsys.readouterr().err
    assert main(["train", "pconv", "--data", str(murals), "--minutes", "1", "--out", str(tmp_path / "o.pt"),
                 "--term", "colour=1"]) == 2
    assert "Unknown loss term colour" in capsys.readouterr().err
    assert main(["train", "pconv", "--data", str(murals), "--minutes", "1", "--out", str(tmp_path / "o.pt"),
                 "--ema", "1"]) == 2
    assert "--ema must be" in capsys.readouterr().err
    assert main(["train", "colorize", "--data", str(murals), "--minutes", "1", "--out", str(tmp_path / "o.pt"),
                 "--ema", "0.9"]) == 2
    assert "--ema goes with" in capsys.readouterr().err
    (tmp_path / "exists.pt").write_bytes(b"x")
    assert main(["train", "pconv", "--data", str(murals), "--minutes", "1", "--out", str(tmp_path / "exists.pt")]) == 2
    assert "--force" in capsys.readouterr().err
    img = tmp_path / "wall.png"
    cv2.imwrite(str(img), np.zeros((600, 600, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "mask.png"), np.zeros((10, 10), np.uint8))
    assert main(["finetune", "pconv", str(img), "--mask", str(tmp_path / "mask.png"), "--minutes", "1",
                 "--out", str(tmp_path / "t.pt"), "--init", str(tmp_path / "exists.pt")]) == 2
    err = capsys.readouterr().err
    assert "mask" in err and "Traceback" not in err
    assert main(["finetune", "pconv", str(img), "--minutes", "1", "--out", str(tmp_path / "t.pt"),
                 "--init", str(tmp_path / "exists.pt")]) == 2
    assert "not a" in capsys.readouterr().err
    assert MaskMismatchError  # the mismatch is typed (raised before any training)
