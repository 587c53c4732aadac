"""Loss terms: zero for a perfect output, presets weigh what S0 and S2 say."""

from __future__ import annotations

import pytest
import torch

from muralstudio.train.losses import PRESETS, InpaintLoss, ssim


def _batch():
    torch.manual_seed(0)
    truth = torch.rand(2, 3, 32, 32)
    known = (torch.rand(2, 1, 32, 32) > 0.3).float()
    return truth, known


def test_perfect_output_costs_nothing_but_total_variation():
    truth, known = _batch()
    feats = lambda x: [x, torch.nn.functional.avg_pool2d(x, 2)]  # noqa: E731
    total, terms = InpaintLoss({**PRESETS["s2"]}, feats)(truth.clone(), truth, known)
    assert set(terms) == {"valid", "hole", "perceptual", "style", "tv", "ssim"}
    assert terms["tv"] > 0  # a regulariser, not a distance: the truth has texture
    assert float(total) - terms["tv"] == pytest.approx(0.0, abs=1e-4)


def test_hole_errors_cost_more_than_known_errors_with_s2():
    truth, known = _batch()
    loss = InpaintLoss({"valid": 1.0, "hole": 6.0})
    hole_err = truth + (1 - known) * 0.2
    known_err = truth + known * 0.2
    assert float(loss(hole_err, truth, known)[0]) > float(loss(known_err, truth, known)[0])


def test_ssim_of_identical_images_is_one():
    truth, _ = _batch()
    assert float(ssim(truth, truth)) == pytest.approx(1.0, abs=1e-5)
    assert float(ssim(truth, torch.rand_like(truth))) < 0.2


def test_presets_match_the_references():
    assert PRESETS["s0"] == {"valid": 1.0, "hole": 1.0, "ssim": 0.5, "perceptual": 0.1, "edge": 0.2}
    assert PRESETS["s2"]["hole"] == 6.0 and PRESETS["s2"]["style"] == 120.0 and PRESETS["s2"]["ssim"] == 5.0


def test_feature_terms_need_a_feature_network():
    with pytest.raises(ValueError):
        InpaintLoss(PRESETS["s0"])
    with pytest.raises(ValueError):
        InpaintLoss({"colour": 1.0})


def test_loss_gradients_flow():
    truth, known = _batch()
    out = torch.rand_like(truth, requires_grad=True)
    total, _ = InpaintLoss({**PRESETS["s0"], "perceptual": 0.0})(out, truth, known)
    total.backward()
    assert out.grad is not None and float(out.grad.abs().sum()) > 0
