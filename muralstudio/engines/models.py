"""Loading trained networks for the engines: shipped names or files, chosen device, a small
cache so repeated runs do not read the weights again.

torch is imported only inside these functions, so listing engines stays fast.
"""

from __future__ import annotations

import importlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from muralstudio.core.errors import ModelError

if TYPE_CHECKING:
    import torch

    from muralstudio.nets.weights import Weights

CACHE_SIZE = 3

_cache: OrderedDict[tuple[Any, ...], tuple[Any, Weights]] = OrderedDict()
_cache_lock = threading.Lock()


def resolve_weights(value: str, shipped_name: str, what: str) -> Path:
    """The weight file for a ``weights`` parameter: a shipped model name (default
    ``shipped_name``) or a file path. ``what`` names the engine in the error message."""
    from muralstudio.nets.weights import shipped

    value = value.strip() or shipped_name
    path = Path(value).expanduser()
    if path.suffix or len(path.parts) > 1 or path.is_file():
        return path
    try:
        return shipped(value)
    except ModelError as exc:
        raise ModelError(f"{exc} {what} needs trained weights: choose a .pt weights file.") from None


def pick_device(name: str) -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; a named device must be usable here."""
    from muralstudio.nets.weights import choose_device

    return choose_device(name or "auto")


def build_network(weights: Weights, device: torch.device, config_cls: type, net_cls: type,
                  check: Callable[[Any, Weights], None] | None = None) -> Any:
    """A network of ``net_cls`` with the shape the file states (``config_cls`` fields it knows),
    checked by ``check``, loaded strictly, in eval mode with its batch norms folded into the
    convolutions before them (engines only run networks), channels_last on ``device``."""
    import torch

    from muralstudio.nets.blocks import fold_batch_norm
    from muralstudio.nets.weights import load_state

    kinds = {f.name: type(f.default) for f in fields(config_cls)}  # every field has a plain default
    try:
        model = net_cls(config_cls(**{k: kinds[k](v) for k, v in weights.config.items() if k in kinds}))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{weights.path.name} states an unusable network shape: {exc}") from None
    if check is not None:
        check(model, weights)
    load_state(model, weights)
    return fold_batch_norm(model.eval()).to(device, memory_format=torch.channels_last)


def cached_model(path: Path, device: torch.device, arch: str,
                 build: Callable[[Weights, torch.device], Any]) -> tuple[Any, Weights]:
    """The model of ``arch`` in ``path`` on ``device``, built by ``build`` once and then kept.

    The key includes the file's size and modification time, so a file rewritten in place
    (a fine-tuning run saving again) is read anew.
    """
    from muralstudio.nets.weights import load_weights

    try:
        st = path.stat()
    except OSError:
        raise ModelError(f"The weights file {path} does not exist.") from None
    key = (arch, str(path.resolve()), st.st_size, st.st_mtime_ns, str(device))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    weights = load_weights(path, arch)
    model = build(weights, device)
    with _cache_lock:
        _cache[key] = (model, weights)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return model, weights


@dataclass(frozen=True)
class NetworkSpec:
    """How an engine finds and builds its network, so every engine loads the same way: a
    ``weights`` value (shipped name or file) → a strictly loaded, cached model on a device.

    ``module`` is the ``muralstudio.nets`` module that holds ``ARCH`` and the config and
    network classes; it is imported only when a model is loaded (listing engines stays fast).
    """

    shipped: str  # the manifest name of the shipped model
    what: str  # the engine, as error messages name it
    module: str
    config: str
    network: str
    check: Callable[[Any, Weights], None] | None = None  # more checks of a built model

    def resolve(self, value: str) -> Path:
        """The weight file for a ``weights`` value (empty: the shipped model)."""
        return resolve_weights(value, self.shipped, self.what)

    def get(self, path: Path, device: torch.device) -> tuple[Any, Weights]:
        """The model in ``path`` on ``device``, built once and then kept."""
        mod = importlib.import_module(self.module)

        def build(weights: Weights, dev: torch.device) -> Any:
            return build_network(weights, dev, getattr(mod, self.config), getattr(mod, self.network), self.check)

        return cached_model(path, device, mod.ARCH, build)

    def load(self, value: str, device: str) -> tuple[Any, Weights, torch.device]:
        """The model named by ``value`` on the device named ``device`` ("auto" picks one)."""
        dev = pick_device(device)
        model, weights = self.get(self.resolve(value), dev)
        return model, weights, dev


def clear_cache() -> None:
    """Forget loaded models (tests, or to free memory)."""
    with _cache_lock:
        _cache.clear()
