"""``muralstudio train`` and ``muralstudio finetune``: run our trainers with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Generator

from muralstudio.core.errors import MuralStudioError
from muralstudio.engines.base import drive
from muralstudio.progressbar import ProgressBar


def _log(message: str) -> None:
    print(("\r" if sys.stderr.isatty() else "") + message, file=sys.stderr, flush=True)


def _drive(label: str, run: Generator[Any, None, Any], quiet: bool) -> Any:
    bar = ProgressBar(label, enabled=not quiet)
    result = drive(run, bar.update)
    bar.finish()
    return result


def _check_out(out: Path, force: bool, resume: bool = False) -> None:
    if out.exists() and not (force or resume):
        raise MuralStudioError(f"{out} exists; add --force to replace it.")
    if not out.parent.is_dir():
        raise MuralStudioError(f"The folder {out.parent} does not exist.")


def run_train(model: str, data: list[Path], out: Path, minutes: float, *, init: Path | None = None,
              masks: list[Path] | None = None, pretrain: list[Path] | None = None, features: Path | None = None,
              cracks: Path | None = None, drawings: list[Path] | None = None, options: dict[str, Any] | None = None, force: bool = False,
              quiet: bool = False, log: Callable[[str], None] = _log) -> Any:
    """Train ``model`` ('pconv', 'features', 'detector', 'colorize' or 'diffusion') for ``minutes``; the best
    weights go to ``out``."""
    if minutes <= 0:
        raise MuralStudioError("--minutes must be more than 0.")
    options = dict(options or {})
    if options.get("batch", 1) < 1 or options.get("patch", 32) < 32 or options.get("lr", 1.0) <= 0:
        raise MuralStudioError("--batch must be at least 1, --patch at least 32 and --lr more than 0.")
    _check_out(out, force, options.get("resume", False))
    if cracks is not None and model != "detector":
        raise MuralStudioError("--cracks goes with train detector.")
    if drawings and model != "diffusion":
        raise MuralStudioError("--drawings goes with train diffusion.")
    if "ema" in options and model not in ("diffusion", "pconv"):
        raise MuralStudioError("--ema goes with train diffusion and train pconv.")
    if "workers" in options and model not in ("pconv", "diffusion", "colorize"):
        raise MuralStudioError("--workers goes with train pconv, diffusion and colorize.")
    if options.get("workers", 0) < 0:
        raise MuralStudioError("--workers must be 0 or more.")
    if not 0.0 <= options.get("ema", 0.0) < 1.0:
        raise MuralStudioError("--ema must be at least 0 and less than 1.")
    if model == "detector":
        from muralstudio.train.detector import DetectorTrainConfig, train_detector

        extra = set(options) - {"batch", "patch", "lr", "device", "net", "resume", "bf16"}
        if extra or masks or pretrain or features:
            raise MuralStudioError("train detector takes --data, --cracks, --minutes, --out, --init, --batch, "
                                   "--patch, --lr, --base, --depth, --bf16, --device and --resume.")
        cfg = DetectorTrainConfig([str(d) for d in data], str(out), minutes, cracks=str(cracks) if cracks else None,
                                  init=str(init) if init else None, **options)
        state = _drive("Training the detector", train_detector(cfg, log), quiet)
    elif model == "colorize":
        from muralstudio.train.colorize import ColorizeTrainConfig, train_colorize

        extra = set(options) - {"batch", "patch", "lr", "device", "net", "resume", "bf16", "workers"}
        if extra or masks or pretrain or features:
            raise MuralStudioError("train colorize takes --data, --minutes, --out, --init, --batch, --patch, --lr, "
                                   "--base, --depth, --bf16, --device, --workers and --resume.")
        cfg = ColorizeTrainConfig([str(d) for d in data], str(out), minutes, init=str(init) if init else None,
                                  **options)
        state = _drive("Training colorization", train_colorize(cfg, log), quiet)
    elif model == "diffusion":
        from muralstudio.train.diffusion import DiffusionTrainConfig, train_diffusion

        extra = set(options) - {"batch", "patch", "lr", "ema", "device", "net", "resume", "bf16", "workers"}
        if extra or pretrain or features:
            raise MuralStudioError("train diffusion takes --data, --masks, --drawings, --minutes, --out, --init, "
                                   "--batch, --patch, --lr, --ema, --base, --depth, --bf16, --device, --workers "
                                   "and --resume.")
        cfg = DiffusionTrainConfig([str(d) for d in data], str(out), minutes, masks=[str(m) for m in masks or []],
                                   drawings=[str(d) for d in drawings or []], init=str(init) if init else None,
                                   **options)
        state = _drive("Training diffusion", train_diffusion(cfg, log), quiet)
    elif model == "features":
        from muralstudio.train.features import FeatureTrainConfig, train_features

        extra = set(options) - {"batch", "patch", "lr", "device"}
        if extra or init or masks or pretrain or features:
            raise MuralStudioError("train features takes only --data, --minutes, --out, --batch, --patch, --lr "
                                   "and --device.")
        cfg = FeatureTrainConfig([str(d) for d in data], str(out), minutes, **options)
        state = _drive("Training features", train_features(cfg, log), quiet)
    else:
        from muralstudio.train.inpaint import PConvTrainConfig, train_pconv

        cfg = PConvTrainConfig([str(d) for d in data], str(out), minutes, masks=[str(m) for m in masks or []],
                               pretrain=[str(p) for p in pretrain or []], init=str(init) if init else None,
                               features=str(features) if features else None, **options)
        state = _drive("Training PConv", train_pconv(cfg, log), quiet)
    log(f"Best weights written to {out}: " + ", ".join(f"{k} {v}" for k, v in state.best.items()))
    return state


def run_finetune(image: Path, mask: Path | None, out: Path, minutes: float, *, init: Path | None = None,
                 masks: list[Path] | None = None, options: dict[str, Any] | None = None, force: bool = False,
                 quiet: bool = False, log: Callable[[str], None] = _log) -> Any:
    """Fine-tune the PConv model on one mural's intact regions and write the weights to ``out``."""
    from muralstudio.train.finetune import finetune_pconv

    if minutes <= 0:
        raise MuralStudioError("--minutes must be more than 0.")
    _check_out(out, force)
    run = finetune_pconv(image, mask, out, minutes, init=init, masks=masks, options=options, log=log)
    state = _drive("Fine-tuning PConv", run, quiet)
    first, best = state.history[0], state.best
    log(f"Held-out patches of {image.name}: {first['psnr']:.2f} dB before, {best['psnr']:.2f} dB after "
        f"(Telea {best['telea_psnr']:.2f} dB). Weights written to {out}.")
    return state
