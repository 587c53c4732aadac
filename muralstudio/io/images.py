"""Reading and writing scans: PNG, JPEG and TIFF/BigTIFF, 8 and 16 bit, grey or RGB (+ alpha).

The format is told by the file's first bytes, not its name. Everything a user can get wrong
ends in one of the typed errors of :mod:`muralstudio.core.errors` with a message fit for a
dialog. Before decoding, the memory needed is estimated from the header and compared with
what the machine has available (:func:`available_memory`; tests may monkeypatch it), which
replaces Pillow's decompression-bomb limit: murals are legitimately huge.

PNG details live in :mod:`muralstudio.io.png`, TIFF details in :mod:`muralstudio.io.tiff`.
"""

from __future__ import annotations

import io
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from muralstudio.core.errors import (
    CorruptImageError,
    ImageReadError,
    ImageTooLargeError,
    ImageWriteError,
    UnsupportedImageError,
)
from muralstudio.core.raster import RasterImage, Resolution
from muralstudio.io import png, tiff
from muralstudio.io.atomic import atomic_write

Image.MAX_IMAGE_PIXELS = None  # our own memory check below replaces the bomb limit

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "ImageInfo",
    "available_memory",
    "is_image_path",
    "read_image",
    "read_image_header",
    "write_image",
]

SUPPORTED_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
_FORMAT_BY_EXTENSION = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF"}
_MAGIC = (
    (png.SIGNATURE, "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\0", "TIFF"),
    (b"MM\0*", "TIFF"),
    (b"II+\0", "TIFF"),  # BigTIFF
    (b"MM\0+", "TIFF"),
)
_JPEG_MARKER = re.compile(rb"\xff+([^\x00\xff])")
_BIGTIFF_ABOVE = 2**32 - 2**25  # classic TIFF offsets are 32-bit; leave room for the tags


@dataclass(frozen=True)
class ImageInfo:
    """What the header says an image will be once read (after any conversion on reading).

    ``channels`` counts colour channels only (1 grey or 3 RGB); alpha is ``has_alpha``.
    """

    width: int
    height: int
    channels: int
    dtype: np.dtype
    has_alpha: bool
    format: str

    @property
    def bit_depth(self) -> int:
        return 8 * np.dtype(self.dtype).itemsize


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """Whether the name has an extension Mural Studio reads and writes (case ignored)."""
    return Path(path).suffix.lower() in SUPPORTED_EXTENSIONS


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation, or None when it cannot be told."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if sys.platform == "win32":  # MEMORYSTATUSEX: two DWORDs, then seven 64-bit counters
        import ctypes

        fields = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong)]
        fields += [(f"n{i}", ctypes.c_ulonglong) for i in range(7)]
        status = type("MemoryStatusEx", (ctypes.Structure,), {"_fields_": fields})()
        status.length = ctypes.sizeof(status)
        ok = ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status))
        return int(status.n1) if ok else None  # n1 = ullAvailPhys
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(nbytes: float) -> str:
    if nbytes >= 1e9:
        return f"{nbytes / 1e9:.1f} GB"
    return f"{max(1, round(nbytes / 1e6))} MB"


def _reserve(name: str, needed: int) -> None:
    """Raise ImageTooLargeError unless ``needed`` bytes fit in memory with some headroom."""
    available = available_memory()
    if available is None:
        return
    if needed > available - max(available // 10, 64 * 2**20):
        raise ImageTooLargeError(
            f"The image {name} needs about {_size(needed)} of memory to open; "
            f"{_size(available)} are available."
        )


def _read_error(path: Path, exc: OSError) -> ImageReadError:
    name = path.name or str(path)
    if isinstance(exc, FileNotFoundError):
        return ImageReadError(f"{name} does not exist ({path}).")
    if isinstance(exc, IsADirectoryError):
        return ImageReadError(f"{name} is a folder, not an image file.")
    if isinstance(exc, PermissionError):
        return ImageReadError(f"{name} cannot be read: permission denied.")
    reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    return ImageReadError(f"{name} could not be read: {reason}.")


def _sniff(path: Path) -> str:
    """The format told by the file's first bytes; ImageReadError when it is none of ours."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise _read_error(path, exc) from exc
    if not head:
        raise ImageReadError(f"{path.name} is empty (0 bytes); it is not an image.")
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    raise ImageReadError(f"{path.name} is not an image Mural Studio can open (PNG, JPEG or TIFF).")


def _jpeg_corrupt(name: str, detail: str) -> CorruptImageError:
    return CorruptImageError(f"{name} is a damaged or incomplete JPEG file ({detail}).")


def _check_jpeg_structure(data: bytes, name: str) -> None:
    """Walk the JPEG's segments and scans: lengths must fit, restart markers must follow each
    other in order, no stray markers may sit inside the compressed data, and EOI must come."""
    pos, size, restart = 2, len(data), 0
    while True:
        if pos >= size:
            raise _jpeg_corrupt(name, "the file is cut short")
        if data[pos] != 0xFF:
            raise _jpeg_corrupt(name, "unexpected bytes between segments")
        while pos < size and data[pos] == 0xFF:
            pos += 1
        if pos + 1 > size:
            raise _jpeg_corrupt(name, "the file is cut short")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI; anything after it is ignored, as every reader does
            return
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            continue
        if pos + 2 > size:
            raise _jpeg_corrupt(name, "the file is cut short")
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            raise _jpeg_corrupt(name, "a segment has an invalid length")
        if pos + length > size:
            raise _jpeg_corrupt(name, "the file is cut short")
        if marker == 0xDD and length >= 4:
            restart = int.from_bytes(data[pos + 2 : pos + 4], "big")
        pos += length
        if marker != 0xDA:
            continue
        expected = 0xD0  # entropy-coded data follows a SOS segment
        while True:
            found = _JPEG_MARKER.search(data, pos)
            if found is None:
                raise _jpeg_corrupt(name, "the file is cut short")
            code = found.group(1)[0]
            if not 0xD0 <= code <= 0xD7:
                pos = found.start()
                break
            if not restart or code != expected:
                raise _jpeg_corrupt(name, "a restart marker is out of place")
            expected = 0xD0 + (expected - 0xD0 + 1) % 8
            pos = found.end()


def _jpeg_resolution(info: dict) -> Resolution | None:
    unit, density = info.get("jfif_unit"), info.get("jfif_density")
    if density and all(density):
        x, y = (float(v) for v in density)
        if unit in (1, 2):
            return Resolution(x, y, "inch" if unit == 1 else "cm")
        return None if x == y else Resolution(x, y, "none")
    dpi = info.get("dpi")
    if dpi and all(dpi):
        return Resolution(float(dpi[0]), float(dpi[1]), "inch")
    return None


def _read_jpeg(path: Path) -> RasterImage:
    name = path.name
    with open(path, "rb") as fh:
        data = fh.read()
    _check_jpeg_structure(data, name)
    try:
        im = Image.open(io.BytesIO(data), formats=["JPEG"])
        width, height = im.size
        if im.mode not in ("L", "RGB", "CMYK"):
            raise UnsupportedImageError(f"{name} is a {im.mode} JPEG, which Mural Studio cannot open.")
        per_pixel = {"L": 2, "RGB": 7, "CMYK": 11}[im.mode]  # Pillow keeps RGB in 4 bytes
        _reserve(name, len(data) + width * height * per_pixel)
        del data
        im.load()
        info = dict(im.info)
        notices: list[str] = []
        icc = info.get("icc_profile") or None
        if im.mode == "CMYK":
            notice = "CMYK image converted to RGB (a plain conversion without colour management)."
            if icc:
                notice += " Its CMYK colour profile was dropped since the pixels are no longer CMYK."
                icc = None
            notices.append(notice)
            im = im.convert("RGB")
        pixels = np.asarray(im)
    except MemoryError as exc:
        raise ImageTooLargeError(f"There is not enough memory to open {name}.") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # Pillow's ways of saying damaged
        raise _jpeg_corrupt(name, str(exc) or type(exc).__name__) from exc
    return RasterImage(
        pixels=pixels,
        icc_profile=icc,
        resolution=_jpeg_resolution(info),
        source=path,
        format="JPEG",
        notices=notices,
    )


def read_image(path: str | os.PathLike[str]) -> RasterImage:
    """Read a PNG, JPEG or TIFF (first image of a stack) into a read-only RasterImage.

    Raises ImageReadError (missing, unreadable, not an image), CorruptImageError (damaged or
    cut short), UnsupportedImageError (float, 32-bit, too many channels, ...) or
    ImageTooLargeError (would not fit in the memory available).
    """
    path = Path(path)
    fmt = _sniff(path)
    try:
        if fmt == "PNG":
            return png.read_png(path, lambda n: _reserve(path.name, n))
        if fmt == "TIFF":
            return tiff.read_tiff(path, lambda n: _reserve(path.name, n))
        return _read_jpeg(path)
    except MemoryError as exc:
        raise ImageTooLargeError(f"There is not enough memory to open {path.name}.") from exc
    except OSError as exc:
        raise _read_error(path, exc) from exc


def read_image_header(path: str | os.PathLike[str]) -> ImageInfo:
    """Size and kind of an image from its header only; raises the errors of :func:`read_image`
    that the header can reveal (not an image, unsupported kind, header damaged)."""
    path = Path(path)
    fmt = _sniff(path)
    try:
        if fmt == "PNG":
            with open(path, "rb") as fh:
                lay = png.scan_png(fh, os.fstat(fh.fileno()).st_size, path.name, header_only=True)
            return ImageInfo(lay.width, lay.height, lay.colour_channels, lay.dtype, lay.has_alpha, fmt)
        if fmt == "TIFF":
            plan, _big = tiff.read_tiff_plan(path)
            return ImageInfo(plan.width, plan.height, plan.colour_channels, plan.dtype, plan.has_alpha, fmt)
        try:
            with Image.open(path, formats=["JPEG"]) as im:
                mode, (width, height) = im.mode, im.size
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
                raise
            raise _jpeg_corrupt(path.name, str(exc) or type(exc).__name__) from exc
        if mode not in ("L", "RGB", "CMYK"):
            raise UnsupportedImageError(f"{path.name} is a {mode} JPEG, which Mural Studio cannot open.")
        return ImageInfo(width, height, 1 if mode == "L" else 3, np.dtype(np.uint8), False, fmt)
    except OSError as exc:
        raise _read_error(path, exc) from exc


def _to_8bit(a: np.ndarray) -> np.ndarray:
    return ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)


def write_image(
    path: str | os.PathLike[str],
    image: RasterImage | np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    icc_profile: bytes | None = None,
    resolution: Resolution | None = None,
    metadata: dict[str, str] | None = None,
    compression: str | None = None,
    bit_depth: int | None = None,
) -> list[str]:
    """Write ``image`` atomically in the format its extension names; return notices.

    A RasterImage brings its alpha, ICC profile, resolution, metadata and (TIFF) compression;
    arguments given here override them. An array may be (H, W), (H, W, 1|3) or, without
    ``alpha``, (H, W, 2|4) with alpha last. ``compression`` (TIFF only): "none", "lzw",
    "zlib"/"adobe_deflate", "deflate" or "zstd"; None keeps the source's when it is one of
    these. ``bit_depth`` 8 or 16 converts; JPEG is always 8-bit. Raises ImageWriteError.
    """
    path = Path(path)
    name = path.name
    fmt = _FORMAT_BY_EXTENSION.get(path.suffix.lower())
    if fmt is None:
        raise ImageWriteError(
            f"Cannot save {name}: unknown file type '{path.suffix}'; use .png, .jpg or .tif."
        )
    source_compression, bigtiff = None, False
    if isinstance(image, RasterImage):
        pixels = image.pixels
        alpha = image.alpha if alpha is None else alpha
        icc_profile = image.icc_profile if icc_profile is None else icc_profile
        resolution = image.resolution if resolution is None else resolution
        metadata = image.metadata if metadata is None else metadata
        source_compression, bigtiff = image.compression, image.bigtiff
    else:
        pixels = np.asarray(image)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        if pixels.ndim == 3 and pixels.shape[2] in (2, 4) and alpha is None:
            pixels, alpha = pixels[:, :, :-1], pixels[:, :, -1]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
        raise ValueError(f"pixels must be (H, W, 1|3), got {pixels.shape}")
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"pixels must be uint8 or uint16, got {pixels.dtype}")
    if alpha is not None and alpha.shape != pixels.shape[:2]:
        raise ValueError("alpha must be (H, W) like the pixels")
    metadata = dict(metadata or {})
    notices: list[str] = []

    depth = 8 if fmt == "JPEG" else (bit_depth or 8 * pixels.dtype.itemsize)
    if bit_depth not in (None, 8, 16):
        raise ValueError("bit_depth must be 8 or 16")
    if depth == 8 and pixels.dtype == np.uint16:
        pixels = _to_8bit(pixels)
        where = "JPEG holds 8 bits per channel" if fmt == "JPEG" else "as asked"
        notices.append(f"16-bit image saved as 8-bit ({where}).")
    elif depth == 16 and pixels.dtype == np.uint8:
        pixels = pixels.astype(np.uint16) * 257
    if alpha is not None and alpha.dtype != pixels.dtype:
        alpha = _to_8bit(alpha) if pixels.dtype == np.uint8 else alpha.astype(np.uint16) * 257
    if fmt == "JPEG" and alpha is not None:
        notices.append("JPEG cannot hold transparency; the alpha channel was left out.")
        alpha = None

    codec = None
    if fmt == "TIFF":
        codec = tiff.choose_compression(name, compression, source_compression, metadata, notices)

    data = pixels if alpha is None else np.concatenate([pixels, alpha[:, :, None]], axis=2)

    def writer(temp: Path) -> None:
        try:
            if fmt == "PNG":
                png.write_png(temp, data, icc_profile=icc_profile, resolution=resolution, metadata=metadata)
            elif fmt == "TIFF":
                tiff.write_tiff(
                    temp,
                    data,
                    has_alpha=alpha is not None,
                    icc_profile=icc_profile,
                    resolution=resolution,
                    metadata=metadata,
                    compression=codec,
                    bigtiff=bigtiff or data.nbytes > _BIGTIFF_ABOVE,
                )
            else:
                options: dict = {"quality": 95, "subsampling": 0}
                if icc_profile:
                    options["icc_profile"] = icc_profile
                if resolution is not None and resolution.unit != "none":
                    options["dpi"] = resolution.dpi()
                Image.fromarray(data[:, :, 0] if data.shape[2] == 1 else data).save(
                    temp, format="JPEG", **options
                )
        except (OSError, ImageWriteError):
            raise
        except MemoryError as exc:
            raise ImageWriteError(f"Cannot save {name}: there is not enough memory.") from exc
        except Exception as exc:  # encoder refusals
            raise ImageWriteError(f"Cannot save {name}: {exc}.") from exc

    atomic_write(path, writer)
    return notices
