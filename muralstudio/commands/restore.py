"""``muralstudio restore``: run an engine over images and masks, write outputs atomically."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from muralstudio.commands.pairing import Job, UsageError, plan_restore
from muralstudio.core.candidate import apply_patches
from muralstudio.core.errors import ImageWriteError, MaskMismatchError
from muralstudio.engines import InpaintRequest, drive, get_engine
from muralstudio.io.images import SUPPORTED_EXTENSIONS, read_image, read_image_header, write_image
from muralstudio.io.masks import read_mask
from muralstudio.progressbar import ProgressBar


def _check_output(job: Job) -> None:
    if job.output.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise UsageError(
            f"Cannot tell the format of {job.output.name}: use .png, .tif/.tiff or .jpg."
        )


def run_restore(
    input_: Path, mask: Path, output: Path, engine_name: str, params: dict[str, Any], quiet: bool = False
) -> int:
    """Restore every planned job; returns the number of images written.

    All inputs are checked (pairing, headers, output names) before anything is written, so
    a bad file found early leaves no outputs behind. Each output is written atomically.
    """
    engine = get_engine(engine_name)
    resolved = engine.resolve_params(params)
    jobs = plan_restore(input_, mask, output)
    for job in jobs:
        _check_output(job)
        info, minfo = read_image_header(job.image), read_image_header(job.mask)
        if (info.width, info.height) != (minfo.width, minfo.height):
            raise MaskMismatchError(
                f"The mask {job.mask.name} is {minfo.width} × {minfo.height} but the image "
                f"{job.image.name} is {info.width} × {info.height}."
            )
    out_dir = jobs[0].output.parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"Cannot create the output folder {out_dir}: {exc.strerror}.") from None
    for i, job in enumerate(jobs, start=1):
        label = f"[{i}/{len(jobs)}] {job.image.name}" if len(jobs) > 1 else job.image.name
        _restore_one(job, engine_name, resolved, label, quiet)
    return len(jobs)


def _restore_one(job: Job, engine_name: str, params: dict[str, Any], label: str, quiet: bool) -> None:
    image = read_image(job.image)
    for note in image.notices:
        print(f"note: {job.image.name}: {note}", file=sys.stderr)
    mask = read_mask(job.mask, (image.height, image.width))
    if not mask.any():
        print(f"note: {job.mask.name} marks no damage; {job.output.name} is a copy of the input.", file=sys.stderr)
        notes = write_image(job.output, image)
    else:
        bar = ProgressBar(label, enabled=not quiet)
        request = InpaintRequest(image.pixels, mask, params)
        try:
            result = drive(get_engine(engine_name).run(request), bar.update)
        except BaseException:
            bar.abort()
            raise
        restored = apply_patches(image.pixels, result.patches)
        prov = result.provenance(("mask",)).to_dict()
        prov["source"] = job.image.name
        prov["mask"] = job.mask.name
        prov["restored_pixels"] = int(mask.sum())
        out = image.with_pixels(restored)
        out.metadata["MuralStudio"] = json.dumps({"provenance": prov}, sort_keys=True)
        notes = write_image(job.output, out)
        bar.finish(f"restored {int(mask.sum())} px with {engine_name}, written to {job.output}")
    for note in notes:
        print(f"note: {job.output.name}: {note}", file=sys.stderr)
