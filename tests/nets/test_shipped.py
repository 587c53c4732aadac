"""The shipped PConv weights: present, intact, documented, loadable, and better than Telea."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from muralstudio.core.candidate import apply_patches
from muralstudio.engines import InpaintRequest, drive, get_engine
from muralstudio.nets.pconv import ARCH, PConvConfig, PConvUNet, parameter_count
from muralstudio.nets.weights import MODELS_DIR, load_state, load_weights, manifest, sha256_of, shipped
from muralstudio.ops.metrics import psnr

ENTRY = manifest().get("models", {}).get("pconv", {})


def test_manifest_documents_the_shipped_model():
    for key in ("file", "sha256", "bytes", "architecture", "config", "parameters", "training", "data", "figures"):
        assert key in ENTRY, key
    path = MODELS_DIR / ENTRY["file"]
    assert path.stat().st_size == ENTRY["bytes"] < 16 * 2**20
    assert sha256_of(path) == ENTRY["sha256"]


def test_shipped_weights_load_strictly_in_fp16():
    w = load_weights(shipped("pconv"), ARCH)
    assert all(t.dtype == torch.float16 for t in w.state_dict.values() if t.is_floating_point())
    model = load_state(PConvUNet(PConvConfig(**w.config)), w)
    assert parameter_count(model) == ENTRY["parameters"]


@pytest.mark.data
def test_shipped_model_beats_telea_on_a_validation_mural(shared_data: Path):
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
    # measured when the weights were shipped: PConv 28.73 dB, Telea 28.38 dB (13 % holes)
    assert scores["pconv"] == pytest.approx(28.73, abs=0.25), scores
    assert scores["pconv"] > scores["telea"], scores
