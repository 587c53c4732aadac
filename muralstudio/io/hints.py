"""Colour-hint files: JSON lists of points with the colour a faded region should have.

A hints file is a JSON object with a list under ``"hints"``; each hint has pixel
coordinates ``"x"`` (column) and ``"y"`` (row), counted from the image's top-left pixel
(0, 0), and a colour in exactly one of two forms::

    {"hints": [
        {"x": 120, "y": 348, "colour": "#1f8a5b", "source": "pigment: malachite"},
        {"x": 410.5, "y": 96, "rgb": [198, 72, 40]}
    ]}

- ``"colour"`` (or ``"color"``): an sRGB hex string ``"#rrggbb"`` (the ``#`` may be left out);
- ``"rgb"``: three whole numbers from 0 to 255.

``"source"`` (where the colour came from) is optional. Files written by :func:`write_hints`
carry ``"format": "muralstudio-hints"`` and ``"version": 1`` and store each colour exactly,
as ``"rgb"`` with three numbers from 0 to 1 (the form of :meth:`ColourHint.to_dict`); only in
a file with that format key does ``"rgb"`` mean 0–1 values, so the two can never be mixed up.
Only a hint's chroma is used: lightness always comes from the scan.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from muralstudio.core.errors import HintsFileError
from muralstudio.core.hints import ColourHint
from muralstudio.io.atomic import atomic_write_bytes

FORMAT = "muralstudio-hints"
VERSION = 1
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _colour(item: dict[str, Any], exact: bool, where: str) -> tuple[float, float, float]:
    keys = [k for k in ("colour", "color", "rgb") if k in item]
    if len(keys) != 1:
        raise HintsFileError(f"{where} needs one colour, as \"colour\": \"#rrggbb\" or \"rgb\": [r, g, b]"
                             + (f"; it has {' and '.join(keys)}." if keys else "."))
    value = item[keys[0]]
    if keys[0] in ("colour", "color"):
        match = _HEX.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None:
            raise HintsFileError(f"{where} has the colour {json.dumps(value)}; write it as \"#rrggbb\", "
                                 "e.g. \"#1f8a5b\".")
        digits = match.group(1)
        r, g, b = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
        return r, g, b
    if not isinstance(value, list) or len(value) != 3 or not all(_number(v) for v in value):
        raise HintsFileError(f"{where} has \"rgb\": {json.dumps(value)}; it takes three numbers, e.g. [31, 138, 91].")
    if exact:
        if not all(0 <= v <= 1 for v in value):
            raise HintsFileError(f"{where} has \"rgb\" values outside 0–1, which this file's format uses.")
        return float(value[0]), float(value[1]), float(value[2])
    if not all(float(v).is_integer() and 0 <= v <= 255 for v in value):
        raise HintsFileError(f"{where} has \"rgb\": {json.dumps(value)}; it takes three whole numbers from 0 "
                             "to 255 (or write the colour as \"#rrggbb\").")
    return value[0] / 255, value[1] / 255, value[2] / 255


def parse_hints(data: Any, shape: tuple[int, ...] | None = None, name: str = "The hints file") -> list[ColourHint]:
    """Hints from a parsed hints document (see the module's description); ``shape`` (H, W, ...)
    checks that every point lies on the image. Raises :class:`HintsFileError`."""
    if not isinstance(data, dict) or not isinstance(data.get("hints"), list):
        raise HintsFileError(f"{name} holds no list of hints: it should be a JSON object like "
                             "{\"hints\": [{\"x\": 10, \"y\": 20, \"colour\": \"#1f8a5b\"}]}.")
    fmt = data.get("format")
    if fmt is not None and fmt != FORMAT:
        raise HintsFileError(f"{name} is of format {json.dumps(fmt)}, not colour hints.")
    if fmt == FORMAT:
        version = data.get("version", VERSION)
        if not isinstance(version, int) or version > VERSION:
            raise HintsFileError(f"{name} was written by a newer Mural Studio (hints format version {version}).")
    hints = []
    for i, item in enumerate(data["hints"], start=1):
        where = f"Hint {i} in {name}"
        if not isinstance(item, dict):
            raise HintsFileError(f"{where} is not an object with x, y and a colour.")
        missing = [k for k in ("x", "y") if k not in item]
        if missing:
            raise HintsFileError(f"{where} has no {' or '.join(missing)} coordinate.")
        if not (_number(item["x"]) and _number(item["y"])):
            raise HintsFileError(f"{where} has coordinates that are not numbers: x={json.dumps(item['x'])}, "
                                 f"y={json.dumps(item['y'])}.")
        x, y = float(item["x"]), float(item["y"])
        rgb = _colour(item, fmt == FORMAT, where)
        if shape is not None:
            h, w = shape[0], shape[1]
            if not (0 <= round(x) < w and 0 <= round(y) < h):
                raise HintsFileError(f"{where} at x={item['x']}, y={item['y']} lies outside the image, which "
                                     f"is {w} × {h} pixels (x from 0 to {w - 1}, y from 0 to {h - 1}).")
        source = item.get("source", "")
        if not isinstance(source, str):
            raise HintsFileError(f"{where} has a \"source\" that is not text.")
        hints.append(ColourHint(y, x, rgb, source))
    return hints


def read_hints(path: str | os.PathLike[str], shape: tuple[int, ...] | None = None) -> list[ColourHint]:
    """The colour hints in the JSON file at ``path`` (forms: see the module's description).

    ``shape`` ((H, W) or (H, W, C)) is the image's: every hint must lie on it. Raises
    :class:`HintsFileError` for a missing or unreadable file, bad JSON, missing or bad fields
    and points outside the image.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise HintsFileError(f"The hints file {path} does not exist.") from None
    except IsADirectoryError:
        raise HintsFileError(f"{path} is a folder, not a hints file.") from None
    except OSError as exc:
        raise HintsFileError(f"Cannot read the hints file {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise HintsFileError(f"{path.name} is not a text (UTF-8 JSON) file.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HintsFileError(f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                             f"{exc.msg}).") from None
    return parse_hints(data, shape, path.name)


def hints_document(hints: list[ColourHint]) -> dict[str, Any]:
    """The JSON document :func:`write_hints` writes (colours exact, 0–1)."""
    return {"format": FORMAT, "version": VERSION, "hints": [h.to_dict() for h in hints]}


def write_hints(path: str | os.PathLike[str], hints: list[ColourHint]) -> None:
    """Write ``hints`` to ``path`` as JSON, atomically; raises ImageWriteError when it cannot."""
    text = json.dumps(hints_document(hints), indent=2, ensure_ascii=False) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))
