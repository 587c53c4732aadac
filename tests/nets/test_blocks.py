"""Folding batch norms into the convolutions before them: same function, fewer layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from muralstudio.nets.blocks import conv_block, fold_batch_norm
from muralstudio.nets.colorize import ColorizeConfig, ColorizeUNet
from muralstudio.nets.detector import DamageUNet, DetectorConfig


def _with_statistics(model: nn.Module) -> nn.Module:
    """``model`` with batch norms whose statistics and affine parameters are far from identity."""
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g))
            m.running_var.copy_(torch.rand(n, generator=g) * 3 + 0.1)
            m.weight.data.copy_(torch.randn(n, generator=g))
            m.bias.data.copy_(torch.randn(n, generator=g))
    return model.eval()


def _count(model: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in model.modules())


@pytest.mark.parametrize("make, inputs", [
    (lambda: DamageUNet(DetectorConfig(base=8, depth=3, max_width=16)), 3),
    (lambda: ColorizeUNet(ColorizeConfig(base=8, depth=3, max_width=16)), 11),
])
def test_folded_network_computes_the_same(make, inputs):
    model = _with_statistics(make())
    x = torch.rand(2, inputs, 64, 64)
    with torch.no_grad():
        before = model(x)
        folded = fold_batch_norm(model)
        after = folded(x)
    assert folded is model and _count(model, nn.BatchNorm2d) == 0
    assert torch.allclose(before, after, atol=1e-4, rtol=1e-4)


def test_refuses_a_network_in_training_and_leaves_other_layers():
    with pytest.raises(ValueError, match="eval mode"):
        fold_batch_norm(conv_block(3, 4))
    seq = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4)).eval()  # norm not after a conv
    fold_batch_norm(seq)
    assert isinstance(seq[2], nn.BatchNorm2d)


def test_engines_run_folded_networks():
    from muralstudio.engines import detect, models

    models.clear_cache()
    model, _, _ = detect.MODEL.load("", "cpu")
    assert _count(model, nn.BatchNorm2d) == 0 and not model.training
