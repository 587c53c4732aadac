"""The diffusion denoiser, its schedule and the DDIM sampler."""

import pytest
import torch

from muralstudio.nets.ddim import ddim_sample, step_times
from muralstudio.nets.diffusion import ARCH, DenoiserUNet, DiffusionConfig, alpha_sigma, pack_condition
from muralstudio.nets.weights import weights_bytes

TINY = DiffusionConfig(base=8, depth=2, max_width=16, time_dim=16)


def test_schedule_keeps_unit_variance_and_runs_from_signal_to_noise():
    t = torch.linspace(0, 1, 11)
    a, s = alpha_sigma(t)
    assert torch.allclose(a**2 + s**2, torch.ones(11))
    assert a[0] > 0.99 and s[-1] > 0.99
    assert (a[1:] <= a[:-1]).all()


def test_output_matches_input_size_and_the_default_network_fits_a_weight_file():
    net = DenoiserUNet(TINY)
    x, cond = torch.randn(2, 3, 32, 48), torch.randn(2, 5, 32, 48)
    assert net(x, cond, torch.rand(2)).shape == (2, 3, 32, 48)
    full = DenoiserUNet()
    blob = weights_bytes(ARCH, full.config.to_dict(), full.state_dict(), {})
    assert len(blob) < 16 * 2**20
    assert full.multiple == 8


def test_noise_level_changes_the_prediction():
    torch.manual_seed(0)
    net = DenoiserUNet(TINY).eval()
    x, cond = torch.randn(1, 3, 16, 16), torch.randn(1, 5, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(net(x, cond, torch.tensor([0.1])), net(x, cond, torch.tensor([0.9])))


def test_step_times_run_from_start_to_zero():
    assert step_times(4) == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert step_times(2, 0.5) == [0.5, 0.25, 0.0]
    with pytest.raises(ValueError):
        step_times(0)


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    known = torch.rand(1, 3, 16, 16, generator=g) * 2 - 1
    hole = torch.zeros(1, 1, 16, 16)
    hole[..., 4:12, 4:12] = 1
    cond = pack_condition(torch.where(hole > 0, torch.zeros_like(known), known), hole, torch.zeros_like(hole))
    return known, hole, cond


def _finish(run):
    estimates = []
    while True:
        try:
            estimates.append(next(run))
        except StopIteration as stop:
            return estimates, stop.value


def test_sampler_reimposes_known_pixels_yields_each_step_and_is_deterministic():
    torch.manual_seed(0)
    net = DenoiserUNet(TINY).eval()
    known, hole, cond = _problem()
    noise = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    steps, out = _finish(ddim_sample(net, cond, known, hole, noise, 5))
    assert [i for i, _ in steps] == [1, 2, 3, 4, 5]
    assert torch.equal(out[hole.expand_as(out) == 0], known[hole.expand_as(known) == 0])
    assert out.abs().max() <= 1.0
    _, again = _finish(ddim_sample(net, cond, known, hole, noise, 5))
    assert torch.equal(out, again)
    _, other = _finish(ddim_sample(net, cond, known, hole, torch.randn(1, 3, 16, 16), 5))
    assert not torch.equal(out, other)


def test_partial_start_stays_near_its_initial_image():
    torch.manual_seed(0)
    net = DenoiserUNet(TINY).eval()
    known, hole, cond = _problem()
    init = torch.zeros_like(known)
    noise = torch.randn(1, 3, 16, 16)
    steps, near = _finish(ddim_sample(net, cond, known, hole, noise, 2, start=0.1, init=init))
    _, far = _finish(ddim_sample(net, cond, known, hole, noise, 2, start=1.0, init=init))
    inside = hole.expand_as(near) > 0
    assert len(steps) == 2
    assert near[inside].abs().mean() < far[inside].abs().mean()


def test_weights_round_trip(tmp_path):
    from muralstudio.nets.weights import load_state, load_weights

    net = DenoiserUNet(TINY)
    path = tmp_path / "d.pt"
    path.write_bytes(weights_bytes(ARCH, TINY.to_dict(), net.state_dict(), {}))
    w = load_weights(path, ARCH)
    again = load_state(DenoiserUNet(DiffusionConfig(**w.config)), w)
    assert DiffusionConfig(**w.config) == TINY
    x, cond, t = torch.randn(1, 3, 16, 16), torch.randn(1, 5, 16, 16), torch.tensor([0.5])
    with torch.no_grad():
        assert torch.allclose(again.eval()(x, cond, t), net.eval()(x, cond, t), atol=0.05)


def test_sampler_runs_the_network_in_bfloat16_and_keeps_its_own_state_in_float32():
    torch.manual_seed(0)
    net = DenoiserUNet(TINY).eval()
    known, hole, cond = _problem()
    noise = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    steps, out = _finish(ddim_sample(net, cond, known, hole, noise, 5, dtype=torch.bfloat16))
    _, f32 = _finish(ddim_sample(net, cond, known, hole, noise, 5))
    assert out.dtype == torch.float32 and all(x.dtype == torch.float32 for _, x in steps)
    assert torch.equal(out[hole.expand_as(out) == 0], known[hole.expand_as(known) == 0])
    assert 0 < (out - f32).abs().max() < 0.1
    _, again = _finish(ddim_sample(net, cond, known, hole, noise, 5, dtype=torch.bfloat16))
    assert torch.equal(out, again)
