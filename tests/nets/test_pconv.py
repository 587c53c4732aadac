"""Partial convolution and the PConv U-Net: hole blindness, plain-conv equivalence, shapes."""

import pytest
import torch
import torch.nn.functional as F

from muralstudio.nets.pconv import PartialConv2d, PConvConfig, PConvUNet, composite, parameter_count


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def hole_mask(n: int, h: int, w: int) -> torch.Tensor:
    m = torch.ones(n, 1, h, w)
    m[:, :, 10:22, 5:30] = 0
    m[:, :, 30:34, 20:60] = 0
    return m


def tiny_net(seed: int = 0, **config) -> PConvUNet:
    torch.manual_seed(seed)
    return PConvUNet(PConvConfig(**{"base": 4, "depth": 3, **config})).eval()


def test_unet_output_does_not_depend_on_pixels_under_the_hole():
    net = tiny_net()
    img = torch.rand(2, 3, 48, 64, generator=seeded(1))
    m = hole_mask(2, 48, 64)
    other = torch.where(m.bool(), img, torch.rand(img.shape, generator=seeded(2)) * 100)
    with torch.no_grad():
        a, b = net(img, m), net(other, m)
    assert torch.equal(a, b)
    assert torch.equal(composite(img, m, a), composite(other, m, b))


@pytest.mark.parametrize("kernel", [3, 5, 7])
@pytest.mark.parametrize("stride", [1, 2])
def test_all_ones_mask_is_a_plain_convolution(kernel, stride):
    torch.manual_seed(kernel * 10 + stride)
    layer = PartialConv2d(4, 6, kernel, stride=stride)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(2, 4, 17, 20)
    out, valid = layer((x, torch.ones(2, 1, 17, 20)))
    ref = F.conv2d(x, layer.conv.weight, layer.bias, stride=stride, padding=kernel // 2)
    assert out.shape == ref.shape and valid.shape == (2, 1, *ref.shape[2:])
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    assert torch.all(valid == 1)


def ones_layer(cin: int, kernel: int = 3, stride: int = 1) -> PartialConv2d:
    layer = PartialConv2d(cin, 1, kernel, stride=stride, bias=False)
    with torch.no_grad():
        layer.conv.weight.fill_(1.0)
    return layer


def test_mask_update_by_hand():
    # One valid pixel at (3, 3) of a 7 x 7 hole. Its 3 x 3 neighbourhood becomes valid, and
    # so does the border ring, whose windows reach the padding (borders count as valid).
    m = torch.zeros(1, 1, 7, 7)
    m[0, 0, 3, 3] = 1
    out, valid = ones_layer(1)((torch.ones(1, 1, 7, 7), m))
    expected = torch.zeros(7, 7)
    expected[2:5, 2:5] = 1
    expected[0, :] = expected[-1, :] = expected[:, 0] = expected[:, -1] = 1
    assert torch.equal(valid[0, 0], expected)
    # renormalised: a window with one valid pixel of nine gives 1 * 9 / 1
    assert out[0, 0, 3, 3].item() == pytest.approx(9.0)
    assert out[0, 0, 2, 2].item() == pytest.approx(9.0)
    assert torch.all(out[0, 0][expected == 0] == 0)


def test_min_valid_bounds_the_rescaling():
    # the same lone valid pixel: counted as at least half the window, 1 * 9 / 4.5
    m = torch.zeros(1, 1, 7, 7)
    m[0, 0, 3, 3] = 1
    layer = PartialConv2d(1, 1, 3, bias=False, min_valid=0.5)
    with torch.no_grad():
        layer.conv.weight.fill_(1.0)
    out, valid = layer((torch.ones(1, 1, 7, 7), m))
    assert out[0, 0, 3, 3].item() == pytest.approx(2.0)
    assert valid[0, 0, 3, 3] == 1
    # a window with most of its pixels valid is rescaled as before
    m = torch.ones(1, 1, 7, 7)
    m[0, 0, 3, 3] = 0
    out, _ = layer((torch.ones(1, 1, 7, 7), m))
    assert out[0, 0, 3, 3].item() == pytest.approx(9.0)


def test_every_layer_takes_the_configured_bound():
    net = PConvUNet(PConvConfig(base=4, depth=3, min_valid=0.25))
    layers = [m for m in net.modules() if isinstance(m, PartialConv2d)]
    assert len(layers) == 6
    assert all(m.min_count == max(1.0, 0.25 * m.cin * m.kernel**2) for m in layers)
    # weight files written before the bound existed carry no min_valid and get the default
    assert PConvConfig(**{"base": 32, "depth": 6, "max_mult": 8}).min_valid == PConvConfig().min_valid > 0


def test_mask_update_with_stride_two_by_hand():
    m = torch.zeros(1, 1, 8, 8)
    m[0, 0, 5, 2] = 1
    _, valid = ones_layer(1, stride=2)((torch.ones(1, 1, 8, 8), m))
    # output (i, j) looks at rows 2i-1..2i+1 and columns 2j-1..2j+1 (padding above/left)
    expected = torch.zeros(4, 4)
    expected[0, :] = expected[:, 0] = 1  # windows reaching the top/left padding
    expected[2:4, 1] = 1  # rows 3..5 and 5..7 with column 1..3 hold (5, 2)
    assert torch.equal(valid[0, 0], expected)


def test_two_parts_count_their_channels():
    torch.manual_seed(3)
    c1, c2, k = 2, 3, 3
    layer = PartialConv2d(c1 + c2, 4, k)
    x1, x2 = torch.randn(1, c1, 9, 11), torch.randn(1, c2, 9, 11)
    m1 = (torch.rand(1, 1, 9, 11) > 0.5).float()
    m2 = (torch.rand(1, 1, 9, 11) > 0.3).float()
    out, valid = layer((x1, m1), (x2, m2))
    # reference: one input whose mask is repeated per channel, counted channel by channel
    x = torch.cat([x1, x2], 1)
    mfull = torch.cat([m1.expand(-1, c1, -1, -1), m2.expand(-1, c2, -1, -1)], 1)
    raw = F.conv2d(x * mfull, layer.conv.weight, padding=k // 2)
    count = F.conv2d(F.pad(mfull, (1, 1, 1, 1), value=1.0), torch.ones(1, c1 + c2, k, k))
    ref_valid = (count > 0).float()
    ref = raw * (c1 + c2) * k * k / count.clamp(min=1) * ref_valid + layer.bias.view(1, -1, 1, 1) * ref_valid
    torch.testing.assert_close(out, ref)
    assert torch.equal(valid, ref_valid)


def test_two_parts_renormalise_to_the_whole_window():
    layer = ones_layer(5)
    h = w = 6
    x1, x2 = torch.ones(1, 2, h, w), torch.ones(1, 3, h, w)
    out, _ = layer((x1, torch.ones(1, 1, h, w)), (x2, torch.zeros(1, 1, h, w)))
    # inside, 2 * 9 valid values of one are rescaled to the full 5 * 9 window
    assert out[0, 0, 2, 2].item() == pytest.approx(45.0)


def test_no_state_between_calls_and_ones_kernel_not_saved():
    net = tiny_net()
    img, m = torch.rand(1, 3, 32, 40, generator=seeded(4)), hole_mask(1, 32, 40)
    with torch.no_grad():
        a = net(img, m)
        net(torch.rand(1, 3, 32, 40), torch.ones(1, 1, 32, 40))
        b = net(img, m)
    assert torch.equal(a, b)
    layer = PartialConv2d(3, 4, 5)
    assert "ones" in dict(layer.named_buffers())
    assert not any(k.endswith("ones") for k in layer.state_dict())
    assert not any(k.endswith("ones") for k in net.state_dict())


@pytest.mark.parametrize("config,size", [
    (PConvConfig(4, 3), (24, 40)),
    (PConvConfig(4, 4, 2), (32, 48)),
    (PConvConfig(8, 2), (12, 8)),
    (PConvConfig(2, 5, 4), (64, 32)),
])
def test_unet_output_shape_equals_input_shape(config, size):
    torch.manual_seed(0)
    net = PConvUNet(config).eval()
    assert config.multiple == 2**config.depth
    img = torch.rand(2, 3, *size)
    with torch.no_grad():
        out = net(img, hole_mask(2, *size) if size[0] > 34 and size[1] > 60 else torch.ones(2, 1, *size))
    assert out.shape == img.shape


def expected_parameters(cfg: PConvConfig, channels: int = 3) -> int:
    """Parameters counted from the architecture: pconv weights, first-layer/last-layer bias, BN."""
    widths, kernels = cfg.widths(), cfg.kernels()
    n = 0
    for i, (cin, cout, k) in enumerate(zip([channels, *widths[:-1]], widths, kernels)):
        n += cin * cout * k * k + (cout if i == 0 else 2 * cout)
    skips, cin = [channels, *widths[:-1]], widths[-1]
    for i in reversed(range(cfg.depth)):
        cout = skips[i] if i > 0 else channels
        n += (cin + skips[i]) * cout * 9 + (cout if i == 0 else 2 * cout)
        cin = cout
    return n


def test_parameter_count():
    assert parameter_count(PConvUNet(PConvConfig(4, 3))) == 7016  # counted by hand
    for cfg in (PConvConfig(4, 3), PConvConfig(8, 4, 2), PConvConfig()):
        assert parameter_count(PConvUNet(cfg)) == expected_parameters(cfg)
    assert 1_000_000 < parameter_count(PConvUNet()) < 20_000_000
