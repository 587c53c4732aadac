"""Training batches made in worker processes, so a fast accelerator is not left waiting.

A trainer's batches (patches cut, holes drawn, guides traced) are numpy work on one CPU
core; on a GPU that work, not the network, would set the pace. ``batch_stream`` runs the
same batch maker in ``workers`` processes, each seeded apart, or inline when ``workers`` is 0
(the default on a CPU, where the cores already compute the network).
"""

from __future__ import annotations

import multiprocessing
from typing import Any, Callable, Iterable, Iterator

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from muralstudio.core.errors import TrainingError

# Seeds of worker k are seed + SEED_STRIDE * (k + 1): far from the inline stream's and each other's.
SEED_STRIDE = 7919


def _as_is(item: Any) -> Any:
    """Leave a batch as its maker made it (no conversion to tensors)."""
    return item


class _Failure:
    """A worker's exception, carried to the training process to be raised there as itself
    (the loader would otherwise wrap it in a text holding the worker's traceback)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class _Batches(IterableDataset):
    def __init__(self, make: Callable[[int], Iterable[Any]], seed: int) -> None:
        self.make, self.seed = make, seed

    def __iter__(self) -> Iterator[Any]:
        info = get_worker_info()
        torch.set_num_threads(1)  # only ever iterated in a worker
        try:
            yield from self.make(self.seed + SEED_STRIDE * (info.id + 1))
        except Exception as exc:  # noqa: BLE001 - handed on whole to the training process
            yield _Failure(exc)


def _raising(batches: Iterator[Any]) -> Iterator[Any]:
    for item in batches:
        if isinstance(item, _Failure):
            raise item.error
        yield item


def batch_stream(make: Callable[[int], Iterable[Any]], seed: int, workers: int = 0,
                 prefetch: int = 4) -> Iterator[Any]:
    """The endless batches of ``make(seed)``; with ``workers`` > 0 from that many processes
    (each with its own seed) that keep up to ``prefetch`` batches each ready. A maker's error
    in a worker is raised here as it was raised there."""
    if workers < 0:
        raise ValueError("workers must be 0 or more")
    if workers == 0:
        return iter(make(seed))
    if "fork" not in multiprocessing.get_all_start_methods():
        raise TrainingError("Batches can be made in worker processes only where processes fork (Linux); "
                            "leave --workers out here.")
    loader = DataLoader(_Batches(make, seed), batch_size=None, num_workers=workers, collate_fn=_as_is,
                        prefetch_factor=prefetch, persistent_workers=True,
                        multiprocessing_context="fork")
    return _raising(iter(loader))
