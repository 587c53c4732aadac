import pytest
import torch

from muralstudio.nets.detector import DamageUNet, DetectorConfig


def test_shapes_widths_and_multiple():
    cfg = DetectorConfig(base=4, depth=3, max_width=8)
    assert cfg.widths() == [4, 8, 8, 8]
    net = DamageUNet(cfg).eval()
    assert net.multiple == 8
    with torch.no_grad():
        out = net(torch.rand(2, 3, 40, 48))
    assert out.shape == (2, 5, 40, 48)


def test_default_size_is_small_enough_for_tiles_on_a_cpu():
    net = DamageUNet()
    params = sum(p.numel() for p in net.parameters())
    assert 1e6 < params < 3e6


def test_a_pixel_sees_context_hundreds_of_pixels_away():
    torch.manual_seed(0)
    net = DamageUNet(DetectorConfig(base=4)).eval()
    x = torch.rand(1, 3, 320, 320, requires_grad=True)
    net(x)[0, 0, 160, 160].backward()
    reach = (x.grad[0].abs().sum(0) > 0).nonzero()
    assert (reach.max(0).values - reach.min(0).values).min() >= 200  # the receptive field spans 200+ px


@pytest.mark.parametrize("depth", [1, 5])
def test_any_depth_builds(depth):
    assert DamageUNet(DetectorConfig(base=2, depth=depth, max_width=4)).multiple == 2**depth


def test_bfloat16_keeps_the_finest_levels_in_float32_and_gives_float32_logits():
    from muralstudio.nets.detector import EXACT_LEVELS

    torch.manual_seed(0)
    net = DamageUNet(DetectorConfig(base=4, depth=3, max_width=8)).eval()
    seen = {}
    for i, block in enumerate(net.down):
        block[0].register_forward_hook(lambda _m, _i, out, i=i: seen.__setitem__(i, out.dtype))  # its first conv
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        full, low = net(x), net(x, torch.bfloat16)  # the hooks keep the last pass's dtypes
    assert [seen[i] for i in range(len(net.down))] == (
        [torch.float32] * EXACT_LEVELS + [torch.bfloat16] * (len(net.down) - EXACT_LEVELS))
    assert low.dtype == torch.float32 and low.shape == full.shape
    assert 0 < (low - full).abs().max() < 0.05 * full.abs().max()
