"""Weight files and the manifest of shipped models (models/manifest.json).

A weight file is a plain dict saved by torch: ``arch`` (a name), ``config`` (the network's
shape), ``state_dict`` (fp16 tensors) and ``meta`` (training facts). It is read with
``weights_only=True`` so a file can never run code, and loaded strictly into a network of the
stated shape. Device is chosen once: CUDA, then MPS, then CPU, unless named.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from muralstudio.core.errors import ModelError
from muralstudio.core.resources import models_dir

MODELS_DIR = models_dir()  # the checkout's models/, a wheel's muralstudio/_data/models, or the frozen app's
MANIFEST = "manifest.json"


def choose_device(name: str | None = None) -> torch.device:
    """The device to compute on: ``name`` when given, else CUDA, then MPS, then CPU."""
    env = name or os.environ.get("MURALSTUDIO_DEVICE")
    if env and env != "auto":
        try:
            device = torch.device(env)
        except RuntimeError:
            raise ModelError(f"Unknown device '{env}'; use auto, cpu, cuda or mps.") from None
        if not _available(device.type):
            raise ModelError(f"The device '{device}' is not available on this computer; choose auto or cpu.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _available("mps"):
        return torch.device("mps")
    return torch.device("cpu")


def _available(kind: str) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return {"cpu": True, "cuda": torch.cuda.is_available(),
            "mps": bool(mps is not None and mps.is_available())}.get(kind, False)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Weights:
    """A loaded weight file."""

    path: Path
    arch: str
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    meta: dict[str, Any]
    sha256: str


def weights_bytes(arch: str, config: dict[str, Any], state_dict: dict[str, torch.Tensor],
                  meta: dict[str, Any]) -> bytes:
    """A weight file's content, tensors stored as fp16 (floating) on the CPU."""
    state = {k: (v.detach().to("cpu", torch.float16) if v.is_floating_point() else v.detach().cpu())
             for k, v in state_dict.items()}
    buf = io.BytesIO()
    plain_meta = json.loads(json.dumps(meta, default=str))  # only plain types: weights_only loading
    torch.save({"arch": arch, "config": dict(config), "state_dict": state, "meta": plain_meta}, buf)
    return buf.getvalue()


def load_weights(path: str | os.PathLike[str], arch: str | None = None) -> Weights:
    """Read a weight file; a missing, damaged or foreign file raises :class:`ModelError`."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"The weights file {path} does not exist.")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except (EOFError, OSError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{path.name} cannot be read as a weights file (damaged or truncated: {exc}).") from None
    except Exception:  # torch refuses foreign or damaged content with assorted errors and long texts
        raise ModelError(f"{path.name} is not a Mural Studio weights file, or it is damaged.") from None
    if not isinstance(blob, dict) or not {"arch", "config", "state_dict"} <= set(blob):
        raise ModelError(f"{path.name} is not a Mural Studio weights file.")
    if arch is not None and blob["arch"] != arch:
        raise ModelError(f"{path.name} holds a '{blob['arch']}' network, not '{arch}'.")
    return Weights(path, str(blob["arch"]), dict(blob["config"]), dict(blob["state_dict"]),
                   dict(blob.get("meta", {})), sha256_of(path))


def load_state(model: torch.nn.Module, weights: Weights) -> torch.nn.Module:
    """Copy weights into ``model`` strictly (every tensor present, same shapes)."""
    own = model.state_dict()
    state = {k: v.to(own[k].dtype) if k in own and v.is_floating_point() else v
             for k, v in weights.state_dict.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise ModelError(f"{weights.path.name} does not fit the network: {first}") from None
    return model


def manifest(models_dir: Path = MODELS_DIR) -> dict[str, Any]:
    """The manifest of shipped weights ({} when there is none)."""
    path = models_dir / MANIFEST
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"The model manifest {path} cannot be read: {exc}") from None


def shipped(name: str, models_dir: Path = MODELS_DIR, verify: bool = True) -> Path:
    """Path of a shipped weight file named in the manifest, its sha256 checked."""
    entry = manifest(models_dir).get("models", {}).get(name)
    if entry is None:
        raise ModelError(f"No shipped model '{name}' in {models_dir / MANIFEST}.")
    path = models_dir / entry["file"]
    if not path.is_file():
        raise ModelError(f"The shipped weights {path} are missing; reinstall Mural Studio.")
    if verify and sha256_of(path) != entry["sha256"]:
        raise ModelError(f"The shipped weights {path.name} are damaged (sha256 differs from the manifest).")
    return path
