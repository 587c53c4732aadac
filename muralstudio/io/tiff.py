"""TIFF and BigTIFF reading and writing for :mod:`muralstudio.io.images`.

Pixels are decoded by tifffile straight into the array that becomes (or is converted into)
the final image, reading compressed data a few megabytes at a time, so a plain RGB scan needs
little more memory than its pixels. Layouts that have to be rearranged (alpha kept aside,
separate colour planes, palette, CMYK) need at most about twice the pixels while converting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import imagecodecs
import numpy as np
import tifffile

from muralstudio.core.errors import (
    CorruptImageError,
    ImageTooLargeError,
    ImageWriteError,
    UnsupportedImageError,
)
from muralstudio.core.raster import RasterImage, Resolution

BUFFERSIZE = 8 * 2**20  # compressed bytes tifffile reads per batch of strips/tiles
SOFTWARE = "Mural Studio"
# compression names accepted on writing -> tifffile's names; anything else is written uncompressed
WRITABLE_COMPRESSION = {
    "lzw": "LZW",
    "zlib": "ADOBE_DEFLATE",
    "adobe_deflate": "ADOBE_DEFLATE",
    "deflate": "DEFLATE",
    "zstd": "ZSTD",
}
_UNITS = {1: "none", 2: "inch", 3: "cm"}
_UNIT_NAMES = {"none": "NONE", "inch": "INCH", "cm": "CENTIMETER"}
_P = tifffile.PHOTOMETRIC


@dataclass
class TiffPlan:
    """How the first page of a TIFF becomes a RasterImage, worked out from its tags alone."""

    width: int
    height: int
    colour_channels: int  # 1 or 3 after conversion
    dtype: np.dtype  # after conversion
    has_alpha: bool
    kind: str  # "grey", "rgb", "palette", "cmyk"
    estimate: int  # bytes needed at the peak of decoding and converting
    notices: list[str] = field(default_factory=list)


def _unsupported(name: str, what: str) -> UnsupportedImageError:
    return UnsupportedImageError(
        f"{name} has {what}; Mural Studio opens 8- and 16-bit grey, RGB, palette and CMYK images."
    )


def corrupt(name: str, detail: str) -> CorruptImageError:
    return CorruptImageError(f"{name} is a damaged or incomplete TIFF file ({detail}).")


def plan_page(page, name: str) -> TiffPlan:
    """Check that the page is something we can open and work out the conversion; no decoding."""
    bps, spp, fmt = int(page.bitspersample), int(page.samplesperpixel), int(page.sampleformat)
    extras = len(page.extrasamples)
    photometric = int(page.photometric)
    height, width = int(page.imagelength), int(page.imagewidth)
    if fmt == 3:
        raise _unsupported(name, f"{bps}-bit floating-point samples")
    if fmt == 2:
        raise _unsupported(name, f"{bps}-bit signed integer samples")
    if fmt != 1:
        raise _unsupported(name, "samples of an unknown number format")
    if bps == 32:
        raise _unsupported(name, "32-bit integer samples")
    if bps not in (1, 2, 4, 8, 16):
        raise _unsupported(name, f"{bps}-bit samples")
    if int(getattr(page, "imagedepth", 1)) > 1:
        raise _unsupported(name, "a volume (several slices in one page)")
    if int(page.compression) != 1 and int(page.compression) not in tifffile.TIFF.DECOMPRESSORS:
        label = getattr(page.compression, "name", str(int(page.compression)))
        raise UnsupportedImageError(f"{name} uses {label} compression, which Mural Studio cannot decode.")
    notices: list[str] = []
    colours = spp - extras
    if photometric in (_P.MINISBLACK, _P.MINISWHITE):
        kind, out_colours = "grey", 1
        if bps < 8 and spp > 1:
            raise _unsupported(name, f"{bps}-bit samples with extra channels")
        if bps == 1:
            notices.append("1-bit image converted to 8-bit grey (black 0, white 255).")
        elif bps < 8:
            notices.append(f"{bps}-bit grey image converted to 8-bit grey.")
        if photometric == _P.MINISWHITE:
            notices.append("Grey image stored with white as zero (MinIsWhite) was inverted.")
    elif photometric == _P.RGB or (photometric == _P.YCBCR and int(page.compression) in (6, 7)):
        kind, out_colours = "rgb", 3
    elif photometric == _P.PALETTE:
        kind, out_colours = "palette", 3
        if page.colormap is None:
            raise corrupt(name, "the palette is missing")
        notices.append("Palette image converted to RGB.")
    elif photometric == _P.SEPARATED:
        kind, out_colours = "cmyk", 3
        inkset = page.tags.valueof(332, 1)
        if inkset != 1 or colours != 4:
            raise _unsupported(name, f"{colours} ink channels (only CMYK can be converted)")
        notice = "CMYK image converted to RGB (a plain conversion without colour management)."
        if page.iccprofile:
            notice += " Its CMYK colour profile was dropped since the pixels are no longer CMYK."
        notices.append(notice)
    else:
        try:
            space = _P(photometric).name
        except ValueError:
            space = str(photometric)
        raise _unsupported(name, f"the {space} colour space")
    if kind == "palette" and spp != 1:
        raise _unsupported(name, "a palette with extra channels")
    if kind in ("rgb", "cmyk") and bps not in (8, 16):
        raise _unsupported(name, f"{bps}-bit colour samples")
    if kind not in ("palette",) and colours != (4 if kind == "cmyk" else out_colours):
        raise _unsupported(name, f"{spp} channels")
    if extras > 1:
        raise _unsupported(name, f"{spp} channels")
    if extras and int(page.extrasamples[0]) == 1:
        notices.append("Premultiplied alpha converted to plain (unassociated) alpha.")
    itemsize = 2 if bps == 16 else 1
    out_dtype = np.dtype(np.uint16 if bps == 16 else np.uint8)
    if kind == "palette":
        out_dtype = _palette_lut(page.colormap).dtype
    decoded = height * width * spp * itemsize
    pixels = height * width * (out_colours + (1 if extras else 0)) * out_dtype.itemsize
    separate = int(page.planarconfig) == 2 and spp > 1
    needs_copy = bool(extras) or separate or kind in ("palette", "cmyk")
    estimate = decoded + (pixels if needs_copy else 0)
    if int(page.compression) != 1:  # strips/tiles in flight while decoding
        rows = page.tilelength if page.is_tiled else min(int(page.rowsperstrip or height), height)
        cols = page.tilewidth if page.is_tiled else width
        estimate += 2 * rows * cols * spp * itemsize + BUFFERSIZE
    return TiffPlan(
        width=width,
        height=height,
        colour_channels=out_colours,
        dtype=out_dtype,
        has_alpha=bool(extras),
        kind=kind,
        estimate=estimate,
        notices=notices,
    )


def _rows(height: int, width: int, channels: int) -> range:
    step = max(1, 2**22 // max(1, width * channels))
    return range(0, height, step)


def _cmyk_to_rgb(cmyk: np.ndarray, top: int) -> np.ndarray:
    height, width = cmyk.shape[:2]
    rgb = np.empty((height, width, 3), cmyk.dtype)
    step = _rows(height, width, 4).step
    for r in _rows(height, width, 4):
        block = cmyk[r : r + step, :, :4].astype(np.uint32)
        white = top - block[:, :, 3:4]
        rgb[r : r + step] = ((top - block[:, :, :3]) * white + top // 2) // top
    return rgb


def _unpremultiply(colour: np.ndarray, alpha: np.ndarray, top: int) -> None:
    height, width, channels = colour.shape
    step = _rows(height, width, channels).step
    for r in _rows(height, width, channels):
        a = alpha[r : r + step, :, None].astype(np.uint32)
        c = colour[r : r + step].astype(np.uint32)
        plain = (c * top + a // 2) // np.maximum(a, 1)
        colour[r : r + step] = np.where(a > 0, np.minimum(plain, top), 0)


def _palette_lut(colormap: np.ndarray) -> np.ndarray:
    """(N, 3) lookup table; 8-bit when the 16-bit TIFF colour map only holds 8-bit colours."""
    cmap = np.asarray(colormap, np.uint32).T
    if cmap.max() <= 255:  # non-standard 8-bit map
        return np.ascontiguousarray(cmap.astype(np.uint8))
    if not np.any(cmap % 257):
        return np.ascontiguousarray((cmap // 257).astype(np.uint8))
    if not np.any(cmap & 0xFF):
        return np.ascontiguousarray((cmap >> 8).astype(np.uint8))
    return np.ascontiguousarray(cmap.astype(np.uint16))


def _convert(arr: np.ndarray, page, plan: TiffPlan) -> tuple[np.ndarray, np.ndarray | None]:
    """Decoded samples (in the page's layout) -> (pixels (H, W, C), alpha or None)."""
    photometric, bps = int(page.photometric), int(page.bitspersample)
    if bps == 1:
        if photometric == _P.MINISWHITE:
            np.logical_not(arr, out=arr)
        arr = arr.view(np.uint8)
        arr *= 255
    elif photometric == _P.MINISWHITE and plan.kind == "grey":
        top = (1 << bps) - 1
        grey = arr if arr.ndim == 2 else (arr[0] if int(page.planarconfig) == 2 else arr[..., 0])
        np.subtract(top, grey, out=grey, casting="unsafe")
    if bps in (2, 4) and plan.kind == "grey":
        arr *= 255 // ((1 << bps) - 1)
    if arr.ndim == 3 and int(page.planarconfig) == 2 and int(page.samplesperpixel) > 1:
        arr = arr.transpose(1, 2, 0)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    alpha = np.ascontiguousarray(arr[:, :, -1]) if plan.has_alpha else None
    if plan.kind == "palette":
        colour = _palette_lut(page.colormap)[arr[:, :, 0]]
    elif plan.kind == "cmyk":
        colour = _cmyk_to_rgb(arr, (1 << bps) - 1)
    else:
        colour = arr[:, :, : plan.colour_channels]
    del arr
    colour = np.ascontiguousarray(colour)
    if alpha is not None and plan.has_alpha and int(page.extrasamples[0]) == 1:
        _unpremultiply(colour, alpha, np.iinfo(colour.dtype).max)
    return colour, alpha


def _read_lzw_strips(tf: tifffile.TiffFile, page, out: np.ndarray, name: str) -> bool:
    """Decode LZW strips into ``out`` ourselves, checking each strip's decoded length.

    LZW carries no checksum and tifffile silently cuts a strip that decodes too long, so
    damage inside a strip would pass unnoticed; a strip decoding to any other size than its
    rows is the best sign of damage we have. Handles the common layout (strips, interleaved
    samples, 8/16 bit, no or horizontal predictor); returns False to leave others to tifffile.
    """
    bps, spp = int(page.bitspersample), int(page.samplesperpixel)
    height, width = int(page.imagelength), int(page.imagewidth)
    rows = min(int(page.rowsperstrip or height), height)
    offsets, counts = page.dataoffsets, page.databytecounts
    if (
        int(page.compression) != 5
        or page.is_tiled
        or bps not in (8, 16)
        or int(page.predictor) not in (1, 2)
        or (spp > 1 and int(page.planarconfig) != 1)
        or int(page.fillorder) != 1
        or len(offsets) != -(-height // rows)
        or not all(counts)
    ):
        return False
    row_bytes = width * spp * out.dtype.itemsize
    swap = out.dtype.itemsize > 1 and tf.byteorder != ("<" if np.little_endian else ">")
    view = out.reshape(height, width, spp)
    flat = out.reshape(-1).view(np.uint8)
    fh = tf.filehandle
    for index, (offset, count) in enumerate(zip(offsets, counts)):
        top, bottom = index * rows, min(height, (index + 1) * rows)
        fh.seek(offset)
        raw = fh.read(count)
        if len(raw) != count:
            raise corrupt(name, "the file is cut short")
        start, expected = top * row_bytes, (bottom - top) * row_bytes
        if flat.size - start > expected:
            # decode in place; the spare byte (start of the next strip, decoded later) shows
            # a strip that decodes too long, which the decoder would otherwise cut silently
            size = len(imagecodecs.lzw_decode(raw, out=flat[start : start + expected + 1]))
            ok = size == expected
        else:  # last strip: a writer may have padded it to full size
            spare = bytearray(rows * row_bytes + 1)
            size = len(imagecodecs.lzw_decode(raw, out=spare))
            ok = size in (expected, rows * row_bytes)
            flat[start:] = np.frombuffer(spare, np.uint8, expected)
        if not ok:
            raise corrupt(name, f"strip {index + 1} does not decode to its size")
        block = view[top:bottom]
        if swap:
            block.byteswap(inplace=True)
        if int(page.predictor) == 2:
            imagecodecs.delta_decode(block, axis=1, out=block)
    return True


def _resolution(page) -> Resolution | None:
    tags = page.tags
    x, y = tags.valueof(282), tags.valueof(283)
    if not x or not y:
        return None
    try:
        xv = x[0] / x[1] if isinstance(x, tuple) else float(x)
        yv = y[0] / y[1] if isinstance(y, tuple) else float(y)
    except (ZeroDivisionError, IndexError, TypeError):
        return None
    unit = _UNITS.get(int(tags.valueof(296, 2)), "inch")
    if xv <= 0 or yv <= 0 or (unit == "none" and xv == 1 and yv == 1):
        return None
    return Resolution(float(xv), float(yv), unit)


def _metadata(page, tf: tifffile.TiffFile) -> dict[str, str]:
    text = page.description
    if not text or (tf.is_shaped and text.startswith('{"shape":')):
        return {}
    if (page.software or "").startswith(SOFTWARE):
        return {"MuralStudio": text}
    return {"description": text}


def open_first_page(tf: tifffile.TiffFile, name: str):
    try:
        return tf.pages.first
    except Exception as exc:
        raise corrupt(name, str(exc) or type(exc).__name__) from exc


def read_tiff_plan(path: Path) -> tuple[TiffPlan, bool]:
    """Plan for the first page and whether the file is a BigTIFF, reading tags only."""
    try:
        with tifffile.TiffFile(path) as tf:
            return plan_page(open_first_page(tf, path.name), path.name), tf.is_bigtiff
    except (tifffile.TiffFileError, ValueError, KeyError, IndexError) as exc:
        raise corrupt(path.name, str(exc) or type(exc).__name__) from exc


def _more_images(tf: tifffile.TiffFile) -> int:
    """Number of full-size images after the first (reduced-size previews do not count)."""
    try:
        pages = tf.pages
        return sum(1 for p in list(pages)[1:] if not int(getattr(p, "subfiletype", 0)) & 1)
    except Exception:
        return 0


def read_tiff(path: Path, reserve: Callable[[int], None]) -> RasterImage:
    """Decode the first page; ``reserve(nbytes)`` is called before any large allocation."""
    name = path.name
    try:
        with tifffile.TiffFile(path) as tf:
            page = open_first_page(tf, name)
            plan = plan_page(page, name)
            reserve(plan.estimate)
            dtype = np.dtype(page.dtype).newbyteorder("=")
            try:
                arr = np.empty(page.shape, dtype)
                if not _read_lzw_strips(tf, page, arr, name):
                    page.asarray(out=arr, buffersize=BUFFERSIZE)
            except MemoryError as exc:
                raise ImageTooLargeError(f"There is not enough memory to open {name}.") from exc
            except (OSError, CorruptImageError):
                raise
            except Exception as exc:  # codecs report damage with many exception types
                raise corrupt(name, str(exc) or type(exc).__name__) from exc
            colour, alpha = _convert(arr, page, plan)
            notices = list(plan.notices)
            more = _more_images(tf)
            if more:
                notices.append(f"The file holds {more + 1} images; only the first was opened.")
            compression = None
            if int(page.compression) != 1:
                compression = getattr(page.compression, "name", "other").lower()
            icc = None if plan.kind == "cmyk" else (page.iccprofile or None)
            return RasterImage(
                pixels=colour,
                icc_profile=bytes(icc) if icc else None,
                resolution=_resolution(page),
                alpha=alpha,
                source=path,
                format="TIFF",
                notices=notices,
                metadata=_metadata(page, tf),
                compression=compression,
                bigtiff=bool(tf.is_bigtiff),
            )
    except (tifffile.TiffFileError, KeyError, IndexError, ValueError) as exc:
        raise corrupt(name, str(exc) or type(exc).__name__) from exc


def choose_compression(
    name: str,
    requested: str | None,
    source: str | None,
    metadata: dict[str, str],
    notices: list[str],
) -> str | None:
    """The compression to write: the one asked for, else the source's when we can write it.

    Appends to ``notices`` what the user should know (source compression dropped, a
    description replaced by Mural Studio's metadata)."""
    codec = None
    if requested is not None:
        codec = requested.lower()
        if codec == "none":
            codec = None
        elif codec not in WRITABLE_COMPRESSION:
            raise ImageWriteError(
                f"Cannot save {name}: TIFF compression '{requested}' is not supported; "
                "use none, lzw, zlib or zstd."
            )
    elif source in WRITABLE_COMPRESSION:
        codec = source
    elif source:
        notices.append(f"The source's {source} compression is not written; saved uncompressed.")
    if metadata.get("MuralStudio") and metadata.get("description"):
        notices.append("A TIFF holds one description; the original one was replaced by Mural Studio's.")
    return codec


def write_tiff(
    path: Path,
    data: np.ndarray,
    *,
    has_alpha: bool,
    icc_profile: bytes | None,
    resolution: Resolution | None,
    metadata: dict[str, str],
    compression: str | None,
    bigtiff: bool,
) -> None:
    """Write (H, W, C) samples, C = 1 grey, 2 grey+alpha, 3 RGB or 4 RGBA, as one page."""
    colours = data.shape[2] - (1 if has_alpha else 0)
    kwargs: dict = {"photometric": "rgb" if colours == 3 else "minisblack", "metadata": None}
    if has_alpha:
        kwargs["extrasamples"] = ["unassalpha"]
    if compression:
        row_bytes = data.shape[1] * data.shape[2] * data.dtype.itemsize
        kwargs.update(
            compression=WRITABLE_COMPRESSION[compression],
            predictor=True,
            rowsperstrip=max(1, 2**20 // max(1, row_bytes)),
        )
    if icc_profile:
        kwargs["iccprofile"] = icc_profile
    if resolution is not None:
        kwargs["resolution"] = (resolution.x, resolution.y)
        kwargs["resolutionunit"] = _UNIT_NAMES.get(resolution.unit, "INCH")
    text = metadata.get("MuralStudio")
    if text:
        kwargs["software"] = SOFTWARE
    else:
        text = metadata.get("description")
    if text:
        kwargs["description"] = text.encode("utf-8")
    tifffile.imwrite(path, data[:, :, 0] if data.shape[2] == 1 else data, bigtiff=bigtiff, **kwargs)
