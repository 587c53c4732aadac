"""The shared training loop's weight average and its place in checkpoints."""

from __future__ import annotations

from pathlib import Path

import torch

from muralstudio.train.loop import LoopState, RunFiles, WeightAverage, load_checkpoint, save_checkpoint


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))


def test_the_average_moves_towards_the_network_by_one_minus_decay_and_copies_buffers():
    net = _net()
    avg = WeightAverage(net, decay=0.9)
    before = [p.detach().clone() for p in avg.model.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
        net[1].running_mean.fill_(3.0)
    avg.updates = 1000  # past the warm-up: decay 0.9
    avg.update(net)
    for old, new, cur in zip(before, avg.model.parameters(), net.parameters()):
        torch.testing.assert_close(new, old + 0.1 * (cur.detach() - old))
    assert torch.equal(avg.model[1].running_mean, net[1].running_mean)
    assert not any(p.requires_grad for p in avg.model.parameters())


def test_early_steps_follow_the_network_closely():
    net = _net()
    avg = WeightAverage(net, decay=0.999)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    avg.update(net)  # the first update: warm-up decay 0.1, mostly the new weights
    gap = max(float((a - c.detach()).abs().max()) for a, c in zip(avg.model.parameters(), net.parameters()))
    assert gap < 0.11


def test_checkpoints_keep_the_average_and_old_ones_start_it_from_the_network(tmp_path: Path):
    files = RunFiles(tmp_path / "w.pt")
    net = _net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    avg = WeightAverage(net, decay=0.5)
    with torch.no_grad():
        for p in avg.model.parameters():
            p.fill_(7.0)
    avg.updates = 42
    save_checkpoint(files, net, opt, LoopState(step=5), avg)
    fresh = WeightAverage(_net(), decay=0.5)
    state = load_checkpoint(files, _net(), torch.optim.SGD(_net().parameters(), lr=0.1), fresh)
    assert state.step == 5 and all(bool((p == 7.0).all()) for p in fresh.model.parameters())
    assert fresh.updates == 42  # the warm-up does not start over on resume
    save_checkpoint(files, net, opt, LoopState(step=6))  # a run without an average
    restored, other = _net(), WeightAverage(_net(), decay=0.5)
    load_checkpoint(files, restored, torch.optim.SGD(restored.parameters(), lr=0.1), other)
    for a, p in zip(other.model.parameters(), net.parameters()):
        assert torch.equal(a, p.detach())
    assert other.updates == 0
