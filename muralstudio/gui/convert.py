"""numpy pixels to QImage for display (8-bit, downsampled to a display budget)."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage


def display_rgb8(pixels: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """8-bit RGB for display, shrunk so its long side is at most ``max_side``; and the scale."""
    h, w = pixels.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        pixels = cv2.resize(pixels, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
    if pixels.dtype == np.uint16:
        pixels = ((pixels.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels), scale


def qimage_rgb(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of (H, W, 3) uint8 data."""
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def qimage_overlay(mask: np.ndarray, color: tuple[int, int, int], alpha: int) -> QImage:
    """A premultiplied-free RGBA QImage: ``color`` at ``alpha`` where the mask is set."""
    h, w = mask.shape
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[mask] = (*color, alpha)
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
