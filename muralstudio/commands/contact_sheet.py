"""A contact sheet PNG: one row per image, one captioned cell per column (input, results, truth).

Used by ``muralstudio eval --engine ... --sheet`` so engines can be compared by eye. The sheet
is laid out from the images' sizes before any engine runs and allocated once; each cell is
scaled down as soon as it is put, so no full-size result is kept. Rows share one height; a
row narrower than the widest is padded with the background. Captions are drawn with OpenCV's
built-in Hershey font (no font files).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from muralstudio.io.atomic import write_error
from muralstudio.io.images import write_image

ROW_HEIGHT = 256  # height of every image cell, in pixels
CAPTION = 20  # height of the caption band above each cell
GAP = 4  # background between cells and around the sheet
MAX_ROWS = 64  # rows beyond this are left out, so the sheet stays a viewable size
BACKGROUND = (40, 40, 40)
TEXT = (235, 235, 235)
HOLE = np.array([255, 0, 255], np.float32)  # magenta: rare in murals, so holes stand out


def to_rgb8(pixels: np.ndarray) -> np.ndarray:
    """(H, W, 1|3) uint8/uint16 pixels as (H, W, 3) uint8, for display only."""
    px = pixels if pixels.ndim == 3 else pixels[:, :, None]
    if px.dtype == np.uint16:
        px = ((px.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif px.dtype != np.uint8:
        raise ValueError(f"expected uint8 or uint16 pixels, got {px.dtype}")
    return np.ascontiguousarray(np.repeat(px, 3, axis=2) if px.shape[2] == 1 else px)


def cell_width(height: int, width: int, row_height: int = ROW_HEIGHT) -> int:
    """Width of a cell showing an image of ``height`` × ``width`` scaled to ``row_height``."""
    return max(1, int(round(width * row_height / max(height, 1))))


class ContactSheet:
    """A preallocated sheet for ``sizes`` (H, W per row, first MAX_ROWS) and ``columns`` cells."""

    def __init__(self, sizes: list[tuple[int, int]], columns: int, row_height: int = ROW_HEIGHT) -> None:
        if not sizes or columns < 1:
            raise ValueError("a contact sheet needs at least one row and one column")
        self.row_height = row_height
        self.columns = columns
        self.widths = [cell_width(h, w, row_height) for h, w in sizes[:MAX_ROWS]]
        width = GAP + columns * (max(self.widths) + GAP)
        height = GAP + len(self.widths) * (CAPTION + row_height + GAP)
        self.canvas = np.empty((height, width, 3), np.uint8)
        self.canvas[:] = BACKGROUND

    @property
    def rows(self) -> int:
        return len(self.widths)

    def put(self, row: int, col: int, pixels: np.ndarray, caption: str, hole: np.ndarray | None = None) -> None:
        """Scale ``pixels`` into cell (row, col) under ``caption``; ``hole`` (bool H, W) is painted."""
        if not (0 <= row < self.rows and 0 <= col < self.columns):
            raise IndexError(f"cell ({row}, {col}) is outside a {self.rows} × {self.columns} sheet")
        cw, ch = self.widths[row], self.row_height
        h, w = pixels.shape[:2]
        interp = cv2.INTER_AREA if ch < h or cw < w else cv2.INTER_LINEAR
        cell = cv2.resize(to_rgb8(pixels), (cw, ch), interpolation=interp)
        if hole is not None:
            # coverage of the hole in each cell pixel; boosted so one-pixel cracks stay visible
            cover = cv2.resize(hole.astype(np.float32), (cw, ch), interpolation=interp)
            alpha = np.clip(cover * 3.0, 0.0, 1.0)[:, :, None]
            cell = np.rint(cell * (1.0 - alpha) + HOLE * alpha).astype(np.uint8)
        x = GAP + col * (max(self.widths) + GAP)
        y = GAP + row * (CAPTION + ch + GAP)
        self.canvas[y + CAPTION : y + CAPTION + ch, x : x + cw] = cell
        band = np.empty((CAPTION, cw, 3), np.uint8)
        band[:] = BACKGROUND
        cv2.putText(band, caption, (3, CAPTION - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.42, TEXT, 1, cv2.LINE_AA)
        self.canvas[y : y + CAPTION, x : x + cw] = band

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the sheet as an 8-bit RGB PNG, atomically (``write_image`` goes through
        :mod:`muralstudio.io.atomic`), creating the folder when needed."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(path, exc) from None
        write_image(path, self.canvas)
        return path
