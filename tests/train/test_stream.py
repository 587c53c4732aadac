"""Batches made in worker processes: the same maker, seeded apart per worker, numpy kept as is,
and every trainer that takes ``--workers`` trains from them."""

from __future__ import annotations

import itertools
from typing import Iterator

import numpy as np
import pytest

from muralstudio.cli import main
from muralstudio.core.errors import TrainingError
from muralstudio.engines.base import drive
from muralstudio.train.colorize import ColorizeTrainConfig, train_colorize
from muralstudio.train.diffusion import DiffusionTrainConfig, train_diffusion
from muralstudio.train.inpaint import PConvTrainConfig, train_pconv
from muralstudio.train.stream import SEED_STRIDE, batch_stream


def _draws(seed: int) -> Iterator[tuple[int, np.ndarray]]:
    rng = np.random.default_rng(seed)
    while True:
        yield seed, rng.random(3)


def test_no_workers_is_the_maker_itself():
    ours = list(itertools.islice(batch_stream(_draws, 5, 0), 3))
    plain = list(itertools.islice(_draws(5), 3))
    assert [s for s, _ in ours] == [5, 5, 5]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(ours, plain))


def test_workers_draw_apart_and_keep_numpy():
    got = list(itertools.islice(batch_stream(_draws, 5, workers=2, prefetch=2), 6))
    seeds = {s for s, _ in got}
    assert seeds == {5 + SEED_STRIDE, 5 + 2 * SEED_STRIDE}  # both workers, neither the inline seed
    assert all(type(a) is np.ndarray for _, a in got)  # not turned into tensors on the way
    firsts = {s: a for s, a in reversed(got)}
    assert not np.array_equal(firsts[5 + SEED_STRIDE], firsts[5 + 2 * SEED_STRIDE])


def _failing(seed: int) -> Iterator[int]:
    yield seed
    raise TrainingError("No patch of the requested size fits between the damaged regions.")


def test_a_worker_error_arrives_as_itself():
    stream = batch_stream(_failing, 0, workers=1, prefetch=1)
    assert next(stream) == SEED_STRIDE
    with pytest.raises(TrainingError) as caught:
        next(stream)
    assert str(caught.value) == "No patch of the requested size fits between the damaged regions."


def test_negative_workers_refused():
    with pytest.raises(ValueError):
        batch_stream(_draws, 0, -1)


def _pconv(data: str, out: str) -> object:
    return train_pconv(PConvTrainConfig([data], out, 0.02, net={"base": 8, "depth": 3, "max_mult": 2}, patch=64,
                                        batch=2, loss_weights={"perceptual": 0.0}, validation_patches=2, workers=1),
                       log=lambda _: None)


def _diffusion(data: str, out: str) -> object:
    return train_diffusion(DiffusionTrainConfig([data], out, 0.02, net={"base": 8, "depth": 2, "max_width": 16,
                                                                        "time_dim": 16},
                                                patch=32, batch=2, validation_patches=2, workers=1),
                           log=lambda _: None)


def _colorize(data: str, out: str) -> object:
    return train_colorize(ColorizeTrainConfig([data], out, 0.02, net={"base": 4, "depth": 2, "max_width": 8},
                                              patch=64, window=128, batch=2, validation_patches=2, workers=1),
                          log=lambda _: None)


@pytest.mark.parametrize("trainer", [_pconv, _diffusion, _colorize], ids=["pconv", "diffusion", "colorize"])
def test_trainers_learn_from_workers(trainer, murals, tmp_path):
    out = tmp_path / "w.pt"
    state = drive(trainer(str(murals), str(out)))
    assert state.step > 0 and out.is_file()


def test_workers_option_checked(murals, tmp_path, capsys):
    base = ["train", "--data", str(murals), "--minutes", "0.01"]
    assert main([*base[:1], "detector", *base[1:], "--out", str(tmp_path / "d.pt"), "--workers", "2"]) != 0
    assert "--workers goes with" in capsys.readouterr().err
    assert main([*base[:1], "colorize", *base[1:], "--out", str(tmp_path / "c.pt"), "--workers", "-1"]) != 0
    assert "--workers must be 0 or more" in capsys.readouterr().err
