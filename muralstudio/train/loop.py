"""The time-boxed training loop shared by our trainers, as a generator of progress.

A run lasts a given number of minutes of wall time, validates every few minutes, keeps the
weights that validated best, and writes a checkpoint (network, optimiser, step, elapsed
time) so an interrupted run resumes where it stopped. Like the engines it yields
:class:`Progress` and stops when the generator is closed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generator, Iterator

import numpy as np
import torch

from muralstudio.core.progress import Progress
from muralstudio.io.atomic import atomic_write_bytes
from muralstudio.nets.weights import weights_bytes


def shuffled_batches(source: Iterator[np.ndarray], batch: int, rng: np.random.Generator,
                     buffer: int = 256) -> Iterator[np.ndarray]:
    """Batches of patches drawn at random from a rolling buffer (patches of one image mix with others)."""
    pool = [next(source) for _ in range(buffer)]
    while True:
        idx = rng.choice(len(pool), batch, replace=False)
        yield np.stack([pool[i] for i in idx])
        for i in idx:
            pool[i] = next(source)


def to_tensor(patches: np.ndarray, device: torch.device) -> torch.Tensor:
    """(N, H, W, 3) uint8 → (N, 3, H, W) float in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(patches)).to(device)
    return t.permute(0, 3, 1, 2).float().div_(255.0).contiguous(memory_format=torch.channels_last)


@dataclass
class RunFiles:
    """Where a run writes: the weights, the configuration beside them, the checkpoint."""

    out: Path

    @property
    def config(self) -> Path:
        return self.out.with_suffix(".json")

    @property
    def checkpoint(self) -> Path:
        return self.out.with_suffix(".ckpt")


@dataclass
class LoopState:
    step: int = 0
    elapsed: float = 0.0
    images: int = 0
    best: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)


def save_weights(files: RunFiles, arch: str, net_config: dict[str, Any], model: torch.nn.Module,
                 meta: dict[str, Any], run_config: dict[str, Any]) -> None:
    atomic_write_bytes(files.out, weights_bytes(arch, net_config, model.state_dict(), meta))
    atomic_write_bytes(files.config, json.dumps(run_config, indent=2, ensure_ascii=False).encode())


class WeightAverage:
    """An exponential moving average of a network's weights (as diffusion models are usually
    sampled with): smoother than the weights of any single step, which swing with the noise
    of the last batches. ``decay`` 0.999 averages over roughly the last thousand steps."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        import copy

        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.updates = 0  # since the average started; sets the warm-up

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Move the average towards ``model``; while the average is young it follows closely
        (warm-up), so it does not hold on to the weights it started from."""
        decay = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        self.updates += 1
        for avg, cur in zip(self.model.parameters(), model.parameters()):
            avg.lerp_(cur.detach(), 1.0 - decay)
        for avg, cur in zip(self.model.buffers(), model.buffers()):
            avg.copy_(cur)


def save_checkpoint(files: RunFiles, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    state: LoopState, average: WeightAverage | None = None) -> None:
    import io

    buf = io.BytesIO()
    blob = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "state": {"step": state.step, "elapsed": state.elapsed, "images": state.images,
                      "best": state.best, "history": state.history}}
    if average is not None:
        blob["average"] = average.model.state_dict()
        blob["average_updates"] = average.updates
    torch.save(blob, buf)
    atomic_write_bytes(files.checkpoint, buf.getvalue())


def load_checkpoint(files: RunFiles, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    average: WeightAverage | None = None) -> LoopState:
    """Restore network, optimiser and (when the checkpoint has one) the weight average; a
    checkpoint written without an average starts it from the restored network."""
    blob = torch.load(files.checkpoint, map_location="cpu", weights_only=True)
    model.load_state_dict(blob["model"])
    optimizer.load_state_dict(blob["optimizer"])
    if average is not None:
        average.model.load_state_dict(blob.get("average", model.state_dict()))
        average.updates = int(blob.get("average_updates", 0))
    s = blob["state"]
    return LoopState(int(s["step"]), float(s["elapsed"]), int(s["images"]), dict(s["best"]), list(s["history"]))


def start_state(files: RunFiles, model: torch.nn.Module, optimizer: torch.optim.Optimizer, resume: bool,
                lr: float, log: Callable[[str], None], average: WeightAverage | None = None) -> LoopState:
    """A fresh state, or with ``resume`` the checkpoint's (network, optimiser and weight
    average restored), continuing at the learning rate ``lr``, which may differ from the
    interrupted run's."""
    if not (resume and files.checkpoint.is_file()):
        return LoopState()
    state = load_checkpoint(files, model, optimizer, average)
    for group in optimizer.param_groups:
        group["lr"] = lr
    log(f"resumed at step {state.step} ({state.elapsed / 60:.1f} min done), learning rate {lr:g}")
    return state


def timed_loop(
    seconds: float,
    step: Callable[[], tuple[float, int]],
    validate: Callable[[], dict[str, float]],
    on_best: Callable[[LoopState], None],
    on_checkpoint: Callable[[LoopState], None],
    state: LoopState,
    key: str,
    log: Callable[[str], None],
    validate_every: float = 120.0,
    checkpoint_every: float = 300.0,
) -> Generator[Progress, None, LoopState]:
    """Call ``step`` (returns loss, images) until ``seconds`` of training have passed.

    ``validate`` returns figures; the one named ``key`` decides which weights are best
    (higher is better), and ``on_best`` saves them.
    """
    t0 = time.monotonic() - state.elapsed
    last_val = last_ckpt = time.monotonic()
    ema: float | None = None
    rate_t, rate_n = time.monotonic(), state.images

    def check(final: bool = False) -> None:
        figures = validate()
        figures = {"step": state.step, "minutes": round(state.elapsed / 60, 2), **figures}
        state.history.append(figures)
        better = not state.best or figures[key] > state.best[key]
        if better:
            state.best = figures
            on_best(state)
        log("validation " + " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                     for k, v in figures.items()) + (" (best)" if better else ""))

    if state.step == 0:
        check()
    while state.elapsed < seconds:
        loss, n = step()
        state.step += 1
        state.images += n
        state.elapsed = time.monotonic() - t0
        ema = loss if ema is None else 0.95 * ema + 0.05 * loss
        now = time.monotonic()
        rate = (state.images - rate_n) / max(now - rate_t, 1e-6)
        yield Progress(min(state.elapsed / seconds, 1.0),
                       f"step {state.step} · loss {ema:.4f} · {rate:.1f} img/s")
        if now - last_val >= validate_every:
            check()
            last_val = time.monotonic()
        if now - last_ckpt >= checkpoint_every:
            on_checkpoint(state)
            last_ckpt = time.monotonic()
    check(final=True)
    on_checkpoint(state)
    return state
