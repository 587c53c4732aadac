"""The PConv forward pass computed only where its output is used: same values as the full pass."""

import numpy as np
import pytest
import torch

from muralstudio.nets.pconv import PartialConv2d, PConvConfig, PConvUNet
from muralstudio.nets.pconv_sparse import forward_where, wanted_sets


def random_net(seed: int, **config) -> PConvUNet:
    """A net with random weights and batch-norm statistics, in eval mode."""
    torch.manual_seed(seed)
    net = PConvUNet(PConvConfig(**{"base": 4, "depth": 4, **config}))
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.normal_()
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.normal_()
                mod.bias.normal_()
    return net.eval()


def holes(kind: str, h: int = 96, w: int = 128) -> np.ndarray:
    rng = np.random.default_rng(3)
    hole = np.zeros((h, w), bool)
    if kind == "scattered":
        hole = rng.random((h, w)) < 0.03
        hole[40:44, :] = True  # a crack right across, to the borders
    elif kind == "block":
        hole[20:70, 30:100] = True
    elif kind == "nearly all":  # masks stay partly invalid deep into the decoder
        hole[:, :] = True
        hole[:6, :6] = False
    elif kind == "corners":
        hole[0, 0] = hole[-1, -1] = hole[0, -1] = hole[-1, 0] = True
    return hole


@pytest.mark.parametrize("kind", ["scattered", "block", "nearly all", "corners"])
@pytest.mark.parametrize("dense_above", [0.0, 0.3, 1.1])  # all dense, mixed, all sparse
@pytest.mark.parametrize("min_valid", [0.0, 0.07])
def test_wanted_outputs_equal_the_full_pass(kind, dense_above, min_valid):
    net = random_net(1, min_valid=min_valid)
    hole = holes(kind)
    image = torch.rand(1, 3, *hole.shape, generator=torch.Generator().manual_seed(2))
    mask = torch.from_numpy(~hole).float()[None, None]
    with torch.inference_mode():
        full = net(image, mask)
        part = forward_where(net, image, mask, hole, dense_above)
    assert part.shape == full.shape
    torch.testing.assert_close(part[0][:, torch.from_numpy(hole)], full[0][:, torch.from_numpy(hole)],
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["scattered", "block", "nearly all"])
@pytest.mark.parametrize("dense_above", [0.0, 0.3, 1.1])
def test_bfloat16_features_stay_close_and_never_see_the_hole(kind, dense_above):
    net = random_net(1, min_valid=0.07)
    hole = holes(kind)
    image = torch.rand(1, 3, *hole.shape, generator=torch.Generator().manual_seed(2))
    mask = torch.from_numpy(~hole).float()[None, None]
    at = torch.from_numpy(hole)
    with torch.inference_mode():
        full = net(image, mask)[0][:, at]
        half = forward_where(net, image.clone(), mask, hole, dense_above, torch.bfloat16)
        other = image.clone()
        other[:, :, at] = 1.0 - other[:, :, at]  # different values under the hole
        again = forward_where(net, other, mask, hole, dense_above, torch.bfloat16)
    assert half.dtype == torch.float32
    assert torch.equal(half[0][:, at], again[0][:, at])
    scale = float(full.abs().max())
    assert float((half[0][:, at] - full).abs().max()) < 0.05 * scale  # bfloat16 keeps 8 bits of mantissa


def test_channels_last_inputs_and_a_deeper_net():
    net = random_net(4, base=8, depth=5)
    hole = holes("scattered", 64, 96)
    image = torch.rand(1, 3, 64, 96).contiguous(memory_format=torch.channels_last)
    mask = torch.from_numpy(~hole).float()[None, None].contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        full, part = net(image, mask), forward_where(net, image, mask, hole, 1.1)
    torch.testing.assert_close(part[0][:, torch.from_numpy(hole)], full[0][:, torch.from_numpy(hole)],
                               rtol=1e-4, atol=1e-5)


def test_changed_weights_are_picked_up():
    # the folded kernels are cached per layer; changing the weights must not reuse them
    net = random_net(5)
    hole = holes("block")
    image, mask = torch.rand(1, 3, *hole.shape), torch.from_numpy(~hole).float()[None, None]
    with torch.inference_mode():
        before = forward_where(net, image, mask, hole, 1.1)
    with torch.no_grad():
        for layer in net.up:
            layer.pconv.conv.weight.mul_(1.5)
    with torch.inference_mode():
        after, full = forward_where(net, image, mask, hole, 1.1), net(image, mask)
    where = torch.from_numpy(hole)
    assert not torch.allclose(before[0][:, where], after[0][:, where])
    torch.testing.assert_close(after[0][:, where], full[0][:, where], rtol=1e-4, atol=1e-5)


def test_nothing_wanted_runs_and_keeps_the_shape():
    net = random_net(6)
    hole = np.zeros((32, 48), bool)
    with torch.inference_mode():
        out = forward_where(net, torch.rand(1, 3, 32, 48), torch.ones(1, 1, 32, 48), hole)
    assert out.shape == (1, 3, 32, 48)


def test_one_image_at_a_time():
    net = random_net(7)
    with pytest.raises(ValueError, match="one image"):
        forward_where(net, torch.rand(2, 3, 32, 32), torch.ones(2, 1, 32, 32), np.zeros((32, 32), bool))


def test_wanted_sets_by_hand():
    # one wanted pixel at (2, 5) of 8 x 8: its 3 x 3 window covers rows 1-3 and columns 4-6,
    # which lie on the coarse rows 0-1 and columns 2-3
    want = np.zeros((8, 8), bool)
    want[2, 5] = True
    fine, coarse, coarser = wanted_sets(want, 3)
    assert np.array_equal(fine, want)
    expected = np.zeros((4, 4), bool)
    expected[0:2, 2:4] = True
    assert np.array_equal(coarse, expected)
    # the coarse window reaches rows 0-2 and columns 1-3 there: every cell of the 2 x 2 level
    assert coarser.shape == (2, 2) and coarser.all()
    want = np.zeros((16, 16), bool)
    want[0, 0] = True
    assert [int(s.sum()) for s in wanted_sets(want, 4)] == [1, 1, 1, 1]


def test_all_valid_masks_take_the_plain_convolution_in_eval():
    # the eval shortcut (no renormalisation when every pixel is valid) changes nothing
    torch.manual_seed(8)
    layer = PartialConv2d(4, 6, 5, stride=2, min_valid=0.07)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(1, 4, 20, 24)
    ones = torch.ones(1, 1, 20, 24)
    train_out, train_valid = layer((x, ones))
    layer.eval()
    eval_out, eval_valid = layer((x, ones))
    torch.testing.assert_close(eval_out, train_out, rtol=1e-5, atol=1e-6)
    assert torch.equal(eval_valid, train_valid)
