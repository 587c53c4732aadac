"""``muralstudio restore``: run an engine over images and masks, write outputs atomically."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from muralstudio.commands.pairing import Job, UsageError, plan_restore
from muralstudio.core.candidate import apply_patches
from muralstudio.core.errors import EngineError, ImageWriteError, MaskMismatchError
from muralstudio.core.hints import ColourHint
from muralstudio.core.raster import RasterImage
from muralstudio.engines import InpaintRequest, InpaintResult, drive, engine_names, get_engine
from muralstudio.io.hints import read_hints
from muralstudio.io.images import SUPPORTED_EXTENSIONS, read_image, read_image_header, write_image
from muralstudio.io.masks import read_mask
from muralstudio.progressbar import ProgressBar


def _check_output(job: Job) -> None:
    if job.output.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise UsageError(
            f"Cannot tell the format of {job.output.name}: use .png, .tif/.tiff or .jpg."
        )


def resolve_engine_params(names: Sequence[str], given: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each named engine's full, checked parameters from ``--param`` values (shared by restore
    and eval).

    ``NAME=VALUE`` goes to every engine that takes NAME, ``ENGINE.NAME=VALUE`` to that engine
    only. With one engine every name is handed to it, so its own check explains a bad one; with
    several, a name none of them takes is refused. Raises EngineError before any work starts.
    """
    engines = [get_engine(n) for n in names]
    per: dict[str, dict[str, Any]] = {e.name: {} for e in engines}
    for key, value in given.items():
        target, _, name = key.rpartition(".")
        if target:
            if target not in per:
                raise EngineError(f"--param {key}: '{target}' is not one of the engines run ({', '.join(per)}).")
            per[target][name] = value
            continue
        takers = [e.name for e in engines if any(p.name == key for p in e.params)]
        if not takers and len(engines) > 1:
            takes = "; ".join(f"{e.name} takes {', '.join(p.name for p in e.params) or 'none'}" for e in engines)
            raise EngineError(f"No engine run takes a parameter '{key}' ({takes}).")
        for n in takers or [engines[0].name]:
            per[n][key] = value
    return {e.name: e.resolve_params(per[e.name]) for e in engines}


def restore_pixels(
    engine_name: str, pixels: np.ndarray, mask: np.ndarray, params: dict[str, Any], bar: ProgressBar,
    hints: list[ColourHint] | None = None, guide: np.ndarray | None = None,
) -> tuple[np.ndarray, InpaintResult]:
    """Run one engine on ``pixels`` through the engine protocol, drawing progress on ``bar``.

    Returns a copy of ``pixels`` with the engine's (first) candidate's patches pasted in (known
    pixels untouched) and the engine's result (for provenance and further candidates). The bar
    is ended cleanly when the engine fails.
    """
    request = InpaintRequest(pixels, mask, params, hints=list(hints or []), guide=guide)
    try:
        result = drive(get_engine(engine_name).run(request), bar.update)
    except BaseException:
        bar.abort()
        raise
    return apply_patches(pixels, result.patches), result


def run_restore(
    input_: Path, mask: Path, output: Path, engine_name: str, params: dict[str, Any], quiet: bool = False,
    hints: Path | None = None, guide: Path | None = None,
) -> int:
    """Restore every planned job; returns the number of images restored.

    All inputs are checked (pairing, headers, output names, the ``hints`` and ``guide`` files
    against the image's size) before anything is written, so a bad file found early leaves no
    outputs behind. Each output is written atomically; an engine that makes several candidates
    writes the first to the output and the others beside it (:func:`candidate_path`).
    """
    resolved = resolve_engine_params([engine_name], params)[engine_name]
    engine = get_engine(engine_name)
    if hints is not None and not engine.takes_hints:
        takers = ", ".join(n for n in engine_names() if get_engine(n).takes_hints)
        raise UsageError(f"--hints gives colour hints, which only the {takers} engine uses, not {engine_name}.")
    if guide is not None and not engine.takes_guide:
        takers = ", ".join(n for n in engine_names() if get_engine(n).takes_guide)
        raise UsageError(f"--guide gives guide lines, which only the {takers} engine follows, not {engine_name}.")
    jobs = plan_restore(input_, mask, output)
    for option, given in (("--hints", hints), ("--guide", guide)):
        if given is not None and (input_.is_dir() or len(jobs) > 1):
            raise UsageError(f"{option} belongs to one image: give a single input image, not a folder.")
    hint_list: list[ColourHint] = []
    guide_map: np.ndarray | None = None
    for job in jobs:
        _check_output(job)
        info, minfo = read_image_header(job.image), read_image_header(job.mask)
        if (info.width, info.height) != (minfo.width, minfo.height):
            raise MaskMismatchError(
                f"The mask {job.mask.name} is {minfo.width} × {minfo.height} but the image "
                f"{job.image.name} is {info.width} × {info.height}."
            )
        if hints is not None:
            hint_list = read_hints(hints, (info.height, info.width))
        if guide is not None:
            guide_map = read_mask(guide, (info.height, info.width))
    out_dir = jobs[0].output.parent
    made = [p for p in (out_dir, *out_dir.parents) if not p.exists()]  # folders this run creates
    try:
        out_dir.mkdir(parents=True, exist_ok=True)  # now, so an unwritable place fails before a long run
    except OSError as exc:
        raise ImageWriteError(f"Cannot create the output folder {out_dir}: {exc.strerror}.") from None
    try:
        for i, job in enumerate(jobs, start=1):
            label = f"[{i}/{len(jobs)}] {job.image.name}" if len(jobs) > 1 else job.image.name
            _restore_one(job, engine_name, resolved, label, quiet, hint_list, guide_map)
    except BaseException:
        for folder in made:  # innermost first: a failed run leaves no empty folders behind
            try:
                folder.rmdir()
            except OSError:
                break  # not empty (something was written) or not ours to remove
        raise
    return len(jobs)


def candidate_path(output: Path, seed: int | None, index: int) -> Path:
    """Where a run's further candidate goes: beside ``output``, named by its seed."""
    tag = f"seed{seed}" if seed is not None else f"candidate{index + 1}"
    return output.with_name(f"{output.stem}-{tag}{output.suffix}")


def as_rgb(image: RasterImage) -> tuple[RasterImage, list[str]]:
    """A grey image as RGB (three equal channels) for an engine that adds colour, and notes
    saying so; a grey ICC profile, which cannot describe RGB pixels, is left out."""
    if image.channels != 1:
        return image, []
    notes = ["grey image restored as RGB (three equal channels) so colour can be added; written as RGB."]
    icc = image.icc_profile
    if icc and len(icc) >= 20 and icc[16:20] == b"GRAY":
        notes.append("its grey ICC profile was left out, since it cannot describe RGB pixels.")
        icc = None
    rgb = np.repeat(image.pixels, 3, axis=2)
    return dataclasses.replace(image, pixels=rgb, icc_profile=icc, notices=[]), notes


def _restore_one(job: Job, engine_name: str, params: dict[str, Any], label: str, quiet: bool,
                 hints: list[ColourHint] | None = None, guide: np.ndarray | None = None) -> None:
    image = read_image(job.image)
    for note in image.notices:
        print(f"note: {job.image.name}: {note}", file=sys.stderr)
    mask = read_mask(job.mask, (image.height, image.width))
    if not mask.any():
        print(f"note: {job.mask.name} marks no damage; {job.output.name} is a copy of the input.", file=sys.stderr)
        notes = write_image(job.output, image)
    else:
        if get_engine(engine_name).needs_rgb:
            image, notes = as_rgb(image)
            for note in notes:
                print(f"note: {job.image.name}: {note}", file=sys.stderr)
        bar = ProgressBar(label, enabled=not quiet)
        _, result = restore_pixels(engine_name, image.pixels, mask, params, bar, hints, guide)
        notes, written = [], []
        for k, cand in enumerate(result.all_results()):
            path = job.output if k == 0 else candidate_path(job.output, cand.seed, k)
            prov = cand.provenance(("mask",)).to_dict()
            prov["source"] = job.image.name
            prov["mask"] = job.mask.name
            prov["restored_pixels"] = int(mask.sum())
            out = image.with_pixels(apply_patches(image.pixels, cand.patches))
            out.metadata["MuralStudio"] = json.dumps({"provenance": prov}, sort_keys=True)
            notes += write_image(path, out)
            written.append(path.name)
        where = f"{len(written)} candidates written to {job.output.parent}: {', '.join(written)}" \
            if len(written) > 1 else f"written to {job.output}"
        bar.finish(f"restored {int(mask.sum())} px with {engine_name}, {where}")
    for note in notes:
        print(f"note: {job.output.name}: {note}", file=sys.stderr)
