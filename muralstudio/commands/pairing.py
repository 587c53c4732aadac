"""Pairing of images, masks and outputs given as files or directories (matched by stem)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from muralstudio.core.errors import ImageReadError, MuralStudioError
from muralstudio.io.images import is_image_path

MASK_SUFFIXES = ("", "_mask", "-mask", ".mask")


class UsageError(MuralStudioError):
    """Command-line paths that do not fit together."""


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder`` (hidden files skipped), sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and is_image_path(p))


def _by_stem(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in list_images(folder):
        if p.stem in found:
            raise UsageError(f"Two files in {folder} share the name '{p.stem}': {found[p.stem].name} and {p.name}.")
        found[p.stem] = p
    return found


def find_partner(stem: str, table: dict[str, Path]) -> Path | None:
    """The file for ``stem``: same stem, or stem with a usual mask suffix (_mask, -mask)."""
    for suffix in MASK_SUFFIXES:
        if stem + suffix in table:
            return table[stem + suffix]
    return None


@dataclass(frozen=True)
class Job:
    image: Path
    mask: Path
    output: Path


def _exists(path: Path, what: str) -> None:
    if not path.exists():
        raise ImageReadError(f"The {what} {path} does not exist.")


def plan_restore(input_: Path, mask: Path, output: Path) -> list[Job]:
    """One job per input image: its mask and where its result goes.

    INPUT, MASK and OUTPUT may each be a file or a directory: directories pair images and
    masks by file stem, outputs keep the input's file name; an output without an extension
    is a folder. An output may never be the
    input itself, since the original scan is never altered.
    """
    _exists(input_, "input")
    _exists(mask, "mask")
    if input_.is_dir():
        images = list_images(input_)
        if not images:
            raise UsageError(f"The folder {input_} holds no PNG, JPEG or TIFF images.")
        if output.exists() and not output.is_dir():
            raise UsageError(f"The input is a folder, so the output {output} must be a folder too.")
        out_dir = output
    else:
        images = [input_]
        out_dir = output if output.is_dir() or output.suffix == "" else None
    masks = _by_stem(mask) if mask.is_dir() else None
    jobs: list[Job] = []
    missing: list[str] = []
    for img in images:
        m = mask if masks is None else find_partner(img.stem, masks)
        if m is None:
            missing.append(img.name)
            continue
        out = (out_dir / img.name) if out_dir is not None else output
        if out.exists() and out.resolve() == img.resolve():
            raise UsageError(f"The output {out} is the input itself; the original is never overwritten.")
        jobs.append(Job(img, m, out))
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise UsageError(f"No mask in {mask} for {shown} (masks pair with images by file name).")
    return jobs
