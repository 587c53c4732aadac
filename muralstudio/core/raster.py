"""The pixels of a scan together with what an archive needs kept beside them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SUPPORTED_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))


@dataclass(frozen=True)
class Resolution:
    """Pixel density as stored in the file: ``x``/``y`` per ``unit`` ("inch", "cm" or "none")."""

    x: float
    y: float
    unit: str = "inch"

    def dpi(self) -> tuple[float, float]:
        """Density in dots per inch (unit "none" is returned unchanged)."""
        if self.unit == "cm":
            return (self.x * 2.54, self.y * 2.54)
        return (self.x, self.y)


@dataclass
class RasterImage:
    """An image as read from disk.

    ``pixels`` is (H, W, C) with C = 1 (grey) or 3 (RGB), dtype uint8 or uint16, and is made
    read-only so the original scan can never be altered in place. Alpha, when the file had it,
    is kept aside in ``alpha`` (H, W) of the same dtype. ``notices`` lists conversions made
    while reading (palette expanded, CMYK converted, ...) so the user can be told.
    """

    pixels: np.ndarray
    icc_profile: bytes | None = None
    resolution: Resolution | None = None
    alpha: np.ndarray | None = None
    source: Path | None = None
    format: str = ""  # "PNG", "JPEG" or "TIFF" as read; empty when made in memory
    notices: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    compression: str | None = None  # TIFF compression of the source, kept on write-back
    bigtiff: bool = False

    def __post_init__(self) -> None:
        px = self.pixels
        if px.ndim == 2:
            px = px[:, :, None]
        if px.ndim != 3 or px.shape[2] not in (1, 3):
            raise ValueError(f"pixels must be (H, W, 1|3), got {self.pixels.shape}")
        if px.dtype not in SUPPORTED_DTYPES:
            raise ValueError(f"pixels must be uint8 or uint16, got {px.dtype}")
        if self.alpha is not None and self.alpha.shape != px.shape[:2]:
            raise ValueError("alpha must be (H, W) like the pixels")
        px.flags.writeable = False
        self.pixels = px

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])

    @property
    def dtype(self) -> np.dtype:
        return self.pixels.dtype

    @property
    def bit_depth(self) -> int:
        return 8 * self.pixels.dtype.itemsize

    @property
    def max_value(self) -> int:
        return int(np.iinfo(self.pixels.dtype).max)

    def describe(self) -> str:
        """Short human description, e.g. '4096 × 3072, 16-bit RGB'."""
        mode = "grey" if self.channels == 1 else "RGB"
        if self.alpha is not None:
            mode += "A"
        return f"{self.width} × {self.height}, {self.bit_depth}-bit {mode}"

    def with_pixels(self, pixels: np.ndarray) -> "RasterImage":
        """A new image with other pixels of the same shape and dtype, keeping all metadata."""
        if pixels.shape[:2] != self.pixels.shape[:2]:
            raise ValueError("with_pixels needs the same height and width")
        return RasterImage(
            pixels=pixels,
            icc_profile=self.icc_profile,
            resolution=self.resolution,
            alpha=self.alpha,
            source=self.source,
            format=self.format,
            notices=[],
            metadata=dict(self.metadata),
            compression=self.compression,
            bigtiff=self.bigtiff,
        )
