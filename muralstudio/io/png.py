"""PNG reading and writing for :mod:`muralstudio.io.images` (8 and 16 bit, all colour types).

Pillow cannot hold 16-bit colour PNGs, so pixels go through libpng (``imagecodecs``) and the
chunks we keep (iCCP, pHYs, tEXt/zTXt/iTXt) are read and written here. Chunk structure and
the CRC of every chunk we use are checked, and a file must end with IEND, so a file cut short
is reported even when libpng alone would have accepted it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import imagecodecs
import numpy as np

from muralstudio.core.errors import CorruptImageError, ImageTooLargeError, UnsupportedImageError
from muralstudio.core.raster import RasterImage, Resolution

SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_KEYS = {"MuralStudio": "MuralStudio", "Description": "description"}  # PNG key -> metadata key
_VALID_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}  # after libpng's expansion, before tRNS
_PARSED = {b"IHDR", b"PLTE", b"iCCP", b"pHYs", b"tEXt", b"zTXt", b"iTXt"}
_MAX_TEXT = 64 * 2**20


@dataclass
class PngLayout:
    """What the chunks before (and after) the pixel data tell about a PNG."""

    width: int = 0
    height: int = 0
    bit_depth: int = 0
    colour_type: int = 0
    has_trns: bool = False
    icc_profile: bytes | None = None
    resolution: Resolution | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint16 if self.bit_depth == 16 else np.uint8)

    @property
    def has_alpha(self) -> bool:
        return self.colour_type in (4, 6) or self.has_trns

    @property
    def colour_channels(self) -> int:
        return 1 if self.colour_type in (0, 4) else 3

    @property
    def decoded_bytes(self) -> int:
        channels = self.colour_channels + (1 if self.has_alpha else 0)
        return self.width * self.height * channels * self.dtype.itemsize


def _corrupt(name: str, detail: str) -> CorruptImageError:
    return CorruptImageError(f"{name} is a damaged or incomplete PNG file ({detail}).")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, _MAX_TEXT)
    if inflater.unconsumed_tail:
        raise zlib.error("compressed text is too long")
    return out


def _ppm_to_dpi(ppm: int) -> float:
    """Pixels per metre as dots per inch, snapped to the whole dpi a writer most likely meant."""
    dpi = ppm * 0.0254
    whole = round(dpi)
    if whole > 0 and round(whole / 0.0254) == ppm:
        return float(whole)
    return round(dpi, 4)


def _parse_text(ctype: bytes, data: bytes) -> tuple[str, str]:
    key, _, rest = data.partition(b"\0")
    if ctype == b"tEXt":
        return key.decode("latin-1"), rest.decode("latin-1")
    if ctype == b"zTXt":
        return key.decode("latin-1"), _inflate(rest[1:]).decode("latin-1")
    compressed = rest[:1] == b"\x01"
    _lang, _, rest = rest[2:].partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    if compressed:
        text = _inflate(text)
    return key.decode("latin-1"), text.decode("utf-8")


def _use_chunk(layout: PngLayout, ctype: bytes, data: bytes, name: str) -> None:
    if ctype == b"IHDR":
        if len(data) != 13:
            raise _corrupt(name, "bad header")
        w, h, depth, ctype_, _comp, _filt, _interlace = struct.unpack(">IIBBBBB", data)
        if w == 0 or h == 0 or depth not in _VALID_DEPTHS.get(ctype_, ()):
            raise _corrupt(name, "bad header")
        layout.width, layout.height, layout.bit_depth, layout.colour_type = w, h, depth, ctype_
    elif ctype == b"iCCP":
        try:
            layout.icc_profile = _inflate(data.partition(b"\0")[2][1:])
        except zlib.error:
            layout.notices.append("The embedded colour profile is damaged and was ignored.")
    elif ctype == b"pHYs" and len(data) == 9:
        x, y, unit = struct.unpack(">IIB", data)
        if x and y:
            if unit == 1:
                layout.resolution = Resolution(_ppm_to_dpi(x), _ppm_to_dpi(y), "inch")
            else:
                layout.resolution = Resolution(float(x), float(y), "none")
    elif ctype in (b"tEXt", b"zTXt", b"iTXt"):
        try:
            key, text = _parse_text(ctype, data)
        except (zlib.error, UnicodeDecodeError):
            return
        if key in TEXT_KEYS:
            layout.metadata[TEXT_KEYS[key]] = text


def scan_png(fh, size: int, name: str, *, header_only: bool = False) -> PngLayout:
    """Walk the chunks of an open PNG file (positioned anywhere); check structure and CRCs.

    With ``header_only`` the walk stops at the first IDAT chunk, which is all a header needs.
    """
    fh.seek(0)
    if fh.read(8) != SIGNATURE:
        raise _corrupt(name, "bad signature")
    layout = PngLayout()
    pos, seen_idat, first = 8, False, True
    while True:
        head = fh.read(8)
        if len(head) < 8:
            raise _corrupt(name, "the file is cut short")
        length, ctype = struct.unpack(">I4s", head)
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > size:
            raise _corrupt(name, "the file is cut short")
        if first and ctype != b"IHDR":
            raise _corrupt(name, "the header chunk is missing")
        if ctype == b"IDAT":
            seen_idat = True
            if header_only:
                break
        if ctype == b"tRNS":
            layout.has_trns = True
        if ctype in _PARSED:
            data = fh.read(length)
            crc = int.from_bytes(fh.read(4), "big")
            if zlib.crc32(ctype + data) != crc:
                raise _corrupt(name, f"the {ctype.decode('latin-1')} chunk is damaged")
            _use_chunk(layout, ctype, data, name)
        else:
            fh.seek(end)
        if ctype == b"IEND":
            if not seen_idat:
                raise _corrupt(name, "no image data")
            break
        pos, first = end, False
    return layout


def conversion_notices(layout: PngLayout) -> list[str]:
    """Notices for what libpng's expansion changes: palette, low bit depths, colour keys."""
    if layout.colour_type == 3:
        kind = "RGBA" if layout.has_trns else "RGB"
        return [f"Palette image converted to {kind}."]
    notes = []
    if layout.bit_depth == 1:
        notes.append("1-bit image converted to 8-bit grey (black 0, white 255).")
    elif layout.bit_depth < 8:
        notes.append(f"{layout.bit_depth}-bit grey image converted to 8-bit grey.")
    if layout.has_trns and layout.colour_type in (0, 2):
        notes.append("Transparent colour key converted to an alpha channel.")
    return notes


def read_png(path: Path, reserve: Callable[[int], None]) -> RasterImage:
    """Decode a whole PNG; ``reserve(nbytes)`` is called before any large allocation."""
    name = path.name
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        layout = scan_png(fh, size, name)
        reserve(size + layout.decoded_bytes * (2 if layout.has_alpha else 1))  # alpha is split off
        fh.seek(0)
        data = fh.read()
    try:
        arr = imagecodecs.png_decode(data)
    except MemoryError as exc:
        raise ImageTooLargeError(f"There is not enough memory to open {name}.") from exc
    except Exception as exc:  # libpng reports damage with several exception types
        raise _corrupt(name, str(exc) or type(exc).__name__) from exc
    del data
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[:2] != (layout.height, layout.width) or arr.dtype not in (np.uint8, np.uint16):
        raise UnsupportedImageError(f"{name} is a kind of PNG Mural Studio cannot open.")
    alpha = None
    if arr.shape[2] in (2, 4):
        alpha = np.ascontiguousarray(arr[:, :, -1])
        arr = np.ascontiguousarray(arr[:, :, :-1])
    return RasterImage(
        pixels=arr,
        icc_profile=layout.icc_profile,
        resolution=layout.resolution,
        alpha=alpha,
        source=path,
        format="PNG",
        notices=layout.notices + conversion_notices(layout),
        metadata=layout.metadata,
    )


def _chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def _text_chunk(key: str, text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 1024:
        return _chunk(b"iTXt", key.encode("latin-1") + b"\0\x01\x00\0\0" + zlib.compress(raw, 9))
    return _chunk(b"iTXt", key.encode("latin-1") + b"\0\x00\x00\0\0" + raw)


def metadata_chunks(
    icc_profile: bytes | None, resolution: Resolution | None, metadata: dict[str, str] | None
) -> bytes:
    """The iCCP, pHYs and iTXt chunks that go between IHDR and the image data."""
    chunks = []
    if icc_profile:
        chunks.append(_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc_profile, 9)))
    if resolution is not None:
        if resolution.unit == "none":
            x, y, unit = resolution.x, resolution.y, 0
        else:
            x, y = resolution.dpi()
            x, y, unit = x / 0.0254, y / 0.0254, 1
        x, y = (min(max(round(v), 1), 0x7FFFFFFF) for v in (x, y))
        chunks.append(_chunk(b"pHYs", struct.pack(">IIB", x, y, unit)))
    for png_key, meta_key in TEXT_KEYS.items():
        if metadata and metadata.get(meta_key):
            chunks.append(_text_chunk(png_key, metadata[meta_key]))
    return b"".join(chunks)


def write_png(
    path: Path,
    data: np.ndarray,
    *,
    icc_profile: bytes | None = None,
    resolution: Resolution | None = None,
    metadata: dict[str, str] | None = None,
    level: int | None = None,
) -> None:
    """Write (H, W, C) uint8/uint16 samples, C = 1 grey, 2 grey+alpha, 3 RGB or 4 RGBA."""
    samples = np.ascontiguousarray(data[:, :, 0] if data.shape[2] == 1 else data)
    encoded = imagecodecs.png_encode(samples, level=level)
    view = memoryview(encoded)
    if bytes(view[:8]) != SIGNATURE or bytes(view[12:16]) != b"IHDR":
        raise ValueError("unexpected output from the PNG encoder")
    with open(path, "wb") as fh:
        fh.write(view[:33])  # signature + IHDR chunk
        fh.write(metadata_chunks(icc_profile, resolution, metadata))
        fh.write(view[33:])
