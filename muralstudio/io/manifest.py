"""``project.json``, the description of a bundle: format identity, JSON encoding and checks.

``project.json`` names the format and its version; a reader refuses a newer major version
and reads a newer minor one, leaving out what it does not know.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from muralstudio.core.errors import ProjectError
from muralstudio.io import bundle

FORMAT_NAME = "muralstudio-project"
FORMAT_VERSION = (1, 0)
MANIFEST = "project.json"
MANIFEST_LIMIT = 64 * 2**20  # a larger project.json is not one of ours


def _json_default(value: Any) -> Any:
    """JSON for the values json cannot write itself: numpy values, sets and paths."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be saved in a project")


def dumps(data: Any) -> bytes:
    """``data`` as UTF-8 JSON, the way project.json is written; TypeError for other values."""
    return json.dumps(data, ensure_ascii=False, indent=1, default=_json_default).encode("utf-8")


def parse_manifest(raw: bytes, name: str) -> dict[str, Any]:
    """The project.json ``raw`` of project ``name``, checked for format name and version."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bundle.damaged(name, f"{MANIFEST} is not valid JSON") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ProjectError(
            f"{name} is not a Mural Studio project (its {MANIFEST} names another format)."
        )
    version = str(data.get("format_version", ""))
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise bundle.damaged(name, f"unreadable format version '{version}'") from None
    if major > FORMAT_VERSION[0]:
        raise ProjectError(
            f"The project {name} was saved by a newer Mural Studio (project format {version}); "
            f"this version reads format {FORMAT_VERSION[0]}.x. Update Mural Studio to open it."
        )
    if major < 1:
        raise bundle.damaged(name, f"unknown format version '{version}'")
    return data


def read_project_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Only the ``project.json`` of a bundle (cheap: nothing else is decoded), checked for the
    format name and version. Raises ProjectError."""
    path = Path(path)
    with bundle.open_zip(path) as zf:
        return parse_manifest(bundle.read_entry(zf, MANIFEST, path.name, MANIFEST_LIMIT), path.name)
