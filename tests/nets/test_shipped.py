"""The shipped weights (PConv, detector, colorization): intact, documented, loadable, measured."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from muralstudio.core.candidate import apply_patches
from muralstudio.engines import InpaintRequest, drive, get_engine
from muralstudio.engines.pconv import restore_array
from muralstudio.nets.pconv import ARCH, PConvConfig, PConvUNet, parameter_count
from muralstudio.nets.weights import MODELS_DIR, load_state, load_weights, manifest, sha256_of, shipped
from muralstudio.ops.metrics import psnr

ENTRY = manifest().get("models", {}).get("pconv", {})
DOCUMENTED = ("file", "sha256", "bytes", "architecture", "config", "parameters", "training", "data", "figures")


def documented_model(name: str, arch: str, net: type, config: type, keys: tuple[str, ...] = DOCUMENTED
                     ) -> torch.nn.Module:
    """The shipped model ``name``, checked against its manifest entry: documented by ``keys``,
    intact (size under 16 MiB, sha256), fp16, loaded strictly, with the parameters it lists."""
    entry = manifest().get("models", {}).get(name, {})
    for key in keys:
        assert key in entry, key
    path = shipped(name)
    assert path == MODELS_DIR / entry["file"]
    assert path.stat().st_size == entry["bytes"] < 16 * 2**20
    assert sha256_of(path) == entry["sha256"]
    w = load_weights(path, arch)
    assert all(t.dtype == torch.float16 for t in w.state_dict.values() if t.is_floating_point())
    model = load_state(net(config(**w.config)), w)
    assert sum(p.numel() for p in model.parameters()) == entry["parameters"]
    return model


def test_shipped_pconv_is_documented_and_loads_strictly_in_fp16():
    model = documented_model("pconv", ARCH, PConvUNet, PConvConfig)
    assert parameter_count(model) == ENTRY["parameters"]


@pytest.mark.data
def test_shipped_model_against_telea_on_a_validation_mural(shared_data: Path):
    image = cv2.cvtColor(cv2.imread(str(shared_data / "murals/dunhuang/xunmeng/九色鹿3.jpg")), cv2.COLOR_BGR2RGB)
    truth = np.ascontiguousarray(image[:512, :512])
    hole = cv2.imread(str(shared_data / "masks/irregular/03000.png"), cv2.IMREAD_GRAYSCALE) > 127
    damaged = truth.copy()
    damaged[hole] = 0
    scores = {}
    for engine in ("telea", "pconv"):
        result = drive(get_engine(engine).run(InpaintRequest(damaged, hole)))
        out = apply_patches(damaged, result.patches)
        assert np.array_equal(out[~hole], truth[~hole])
        scores[engine] = psnr(out, truth)
    # the network as trained, with the paper's unbounded rescaling and no dot removal
    w = load_weights(shipped("pconv"), ARCH)
    unbounded = load_state(PConvUNet(PConvConfig(**{**w.config, "min_valid": 0.0})), w)
    rgb = damaged.astype(np.float32) / 255
    raw = restore_array(unbounded, rgb, hole, despeckle=False)
    scores["unbounded"] = psnr((np.clip(raw, 0, 1) * 255 + 0.5).astype(np.uint8), truth)
    # measured (13 % holes), v3: unbounded 29.78 dB, as the engine runs it 30.43 dB, Telea 28.38 dB
    # (v2: 28.68 and 29.11 dB). v1, trained without the rescaling bound, lost 0.6 dB to it here
    # (28.73 -> 28.17 dB); v2 and v3 trained with the bound and gain from it (models/README.md).
    assert scores["unbounded"] == pytest.approx(29.78, abs=0.25), scores
    assert scores["pconv"] == pytest.approx(30.43, abs=0.25), scores
    assert scores["pconv"] > scores["telea"] - 0.5, scores


def test_manifest_documents_the_shipped_detector():
    from muralstudio.nets.detector import ARCH as DET_ARCH
    from muralstudio.nets.detector import DamageUNet, DetectorConfig

    documented_model("detector", DET_ARCH, DamageUNet, DetectorConfig, DOCUMENTED + ("classes",))


@pytest.mark.data
def test_shipped_detector_finds_held_out_cracks(shared_data: Path):
    from muralstudio.engines.detect import DetectRequest, detect
    from muralstudio.train.detector import count, crack_pairs, load_crack_pairs, scores

    images, masks = load_crack_pairs(crack_pairs(shared_data / "cracks/crackforest", held_out=True)[:6])
    counts = np.zeros((5, 3), np.int64)
    for img, mask in zip(images, masks):
        det = drive(detect(DetectRequest(img)))
        counts[0] += count(det.probabilities[None, :1] / 255.0, mask[None, None])[0]
    f1 = scores(counts)["crack_f1"]
    # measured when the weights were shipped: pixel-exact F1 0.45 over all 19 held-out photographs
    assert 0.3 < f1 < 0.7, f1


def test_manifest_documents_the_shipped_colorization_network():
    from muralstudio.nets.colorize import ARCH as COL_ARCH
    from muralstudio.nets.colorize import ColorizeConfig, ColorizeUNet

    model = documented_model("colorize", COL_ARCH, ColorizeUNet, ColorizeConfig)
    assert np.abs(model.prior_table()).max() > 1  # the training murals' colour per lightness came along
