"""``muralstudio detect``: damage masks (and optionally probability maps) for scans.

One image gives ``OUT/<class>.png`` (the layout the app opens with a scan), a folder of
images ``OUT/<stem>/<class>.png``. Every argument and every existing output is checked and
the detector is loaded before anything is written; each file is written atomically.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, TextIO

import numpy as np

from muralstudio.commands.pairing import UsageError, list_images
from muralstudio.core.damage import DamageClass
from muralstudio.core.errors import ImageReadError, ImageWriteError
from muralstudio.core.raster import RasterImage
from muralstudio.engines.base import drive
from muralstudio.engines.detect import CLASSES, DEFAULT_THRESHOLD, DetectRequest, Detection, MODEL, detect
from muralstudio.io.images import read_image, read_image_header, write_image
from muralstudio.io.masks import write_mask
from muralstudio.progressbar import ProgressBar


@dataclass(frozen=True)
class DetectJob:
    image: Path
    folder: Path  # where its masks go


def parse_class(name: str) -> str:
    """A damage class name (case-insensitive); UsageError naming the valid ones."""
    try:
        return DamageClass.parse(name).value
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def parse_classes(text: str | None) -> list[str]:
    """``crack,loss`` → the classes in the network's order; None or empty → all of them."""
    if not text or not text.strip():
        return list(CLASSES)
    chosen = {parse_class(n) for n in text.split(",") if n.strip()}
    return [c for c in CLASSES if c in chosen]


def _fraction(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number between 0 and 1, not '{text}'.") from None
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{what} must be between 0 and 1, not {text}.")
    return value


def parse_thresholds(values: Sequence[str]) -> dict[str, float]:
    """``--threshold`` values, ``T`` for every class or ``CLASS=T``, into one threshold per class.

    A plain number sets every class; ``CLASS=T`` then overrides that class, whatever the order.
    """
    default = DEFAULT_THRESHOLD
    per: dict[str, float] = {}
    plain = [v for v in values if "=" not in v]
    if len(plain) > 1:
        raise UsageError(f"Give one --threshold for all classes, not {len(plain)} ({', '.join(plain)}).")
    if plain:
        default = _fraction(plain[0].strip(), "--threshold")
    for v in values:
        if "=" in v:
            name, _, number = v.partition("=")
            cls = parse_class(name)
            per[cls] = _fraction(number.strip(), f"--threshold {cls}")
    return {c: per.get(c, default) for c in CLASSES}


def plan_detect(input_: Path, out: Path) -> list[DetectJob]:
    """One job per image: ``out`` itself for one image, ``out/<stem>`` for each image of a folder."""
    if not input_.exists():
        raise ImageReadError(f"The input {input_} does not exist.")
    if out.exists() and not out.is_dir():
        raise UsageError(f"The output {out} is a file; --out names a folder.")
    if not input_.is_dir():
        return [DetectJob(input_, out)]
    images = list_images(input_)
    if not images:
        raise UsageError(f"The folder {input_} holds no PNG, JPEG or TIFF images.")
    seen: dict[str, Path] = {}
    for p in images:
        if p.stem in seen:
            raise UsageError(f"Two files in {input_} share the name '{p.stem}': {seen[p.stem].name} and {p.name}.")
        seen[p.stem] = p
    return [DetectJob(p, out / p.stem) for p in images]


def output_files(job: DetectJob, classes: Sequence[str], probabilities: bool) -> list[Path]:
    """The files a job writes: one mask per class, and its probability map when asked for."""
    names = [f"{c}.png" for c in classes] + ([f"{c}-probability.png" for c in classes] if probabilities else [])
    return [job.folder / n for n in names]


def _check_outputs(jobs: list[DetectJob], classes: Sequence[str], probabilities: bool) -> None:
    existing = [p for job in jobs for p in output_files(job, classes, probabilities) if p.exists()]
    if existing:
        more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
        shown = ", ".join(str(p) for p in existing[:3]) + more
        raise UsageError(f"{shown} already exist{'s' if len(existing) == 1 else ''}; use --force to replace.")


def summary(name: str, masks: dict[str, np.ndarray]) -> str:
    """``wall.tif: crack 1.20 %, loss 0.35 %`` — the share of the image each class covers."""
    parts = [f"{c} {100.0 * float(m.mean()):.2f} %" for c, m in masks.items()]
    return f"{name}: " + ", ".join(parts)


def write_outputs(folder: Path, detection: Detection, masks: dict[str, np.ndarray], probabilities: bool) -> None:
    """Write each class's mask, and its 8-bit probability map when asked for."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"Cannot create the output folder {folder}: {exc.strerror}.") from None
    for cls, mask in masks.items():
        write_mask(folder / f"{cls}.png", mask)
        if probabilities:
            write_image(folder / f"{cls}-probability.png", RasterImage(pixels=detection.probability(cls)))


def run_detect(
    input_: Path,
    out: Path,
    classes: Sequence[str] | None = None,
    thresholds: dict[str, float] | None = None,
    probabilities: bool = False,
    weights: str = "",
    device: str = "auto",
    precision: str = "auto",
    force: bool = False,
    quiet: bool = False,
    stream: TextIO | None = None,
) -> int:
    """Detect damage in every image of ``input_``; returns the number of images done.

    In a folder, an image that cannot be read is skipped with a note and the others go on;
    the run then ends with an ImageReadError naming the skipped ones.
    """
    stream = stream or sys.stdout
    chosen = list(classes) if classes is not None else list(CLASSES)
    limits = thresholds or {c: DEFAULT_THRESHOLD for c in CLASSES}
    jobs = plan_detect(input_, out)
    if not force:
        _check_outputs(jobs, chosen, probabilities)
    if len(jobs) == 1:
        read_image_header(jobs[0].image)  # a file that is no image fails before the model loads
    MODEL.load(weights, device)  # missing or damaged weights fail before anything is written
    skipped: list[str] = []
    for i, job in enumerate(jobs, start=1):
        label = f"[{i}/{len(jobs)}] {job.image.name}" if len(jobs) > 1 else job.image.name
        try:
            image = read_image(job.image)
        except ImageReadError as exc:
            if len(jobs) == 1:
                raise
            print(f"note: skipped {job.image.name}: {' '.join(str(exc).split())}", file=sys.stderr)
            skipped.append(job.image.name)
            continue
        bar = ProgressBar(label, enabled=not quiet)
        try:
            detection = drive(detect(DetectRequest(image.pixels, weights, device, precision=precision)), bar.update)
        except BaseException:
            bar.abort()
            raise
        masks = {c: detection.mask(c, limits.get(c, DEFAULT_THRESHOLD)) for c in chosen}
        write_outputs(job.folder, detection, masks, probabilities)
        bar.finish(f"written to {job.folder}")
        print(summary(job.image.name, masks), file=stream, flush=True)
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        raise ImageReadError(f"{len(skipped)} of {len(jobs)} images could not be read ({shown}); "
                             "the others were written.")
    return len(jobs)
