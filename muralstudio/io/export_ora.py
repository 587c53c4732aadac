"""OpenRaster export; the public function is ``export.export_ora``.

An OpenRaster file is a ZIP: ``mimetype`` first and stored, ``stack.xml`` (layers top first,
with name, position, opacity and visibility), one PNG per layer in ``data/``,
``mergedimage.png`` and ``Thumbnail/thumbnail.png``. Layers are cropped to where they have
content and placed with x/y. The PNGs are written here band by band (Sub filter, zlib stream
compressed in pieces on several threads) straight into their ZIP entries, so no layer is ever
whole in memory; they keep the original's bit depth and carry its ICC profile, resolution
and, on the composite, the provenance XMP.
"""

from __future__ import annotations

import json
import struct
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO
from xml.sax.saxutils import quoteattr

import cv2
import numpy as np

from muralstudio.core.raster import Resolution
from muralstudio.io.icc import srgb_profile
from muralstudio.io.export import DeflateStream, ExportJob, Layer, band_rows, bands
from muralstudio.io.xmp import NS_MURAL, PNG_KEYWORD

MIMETYPE = b"image/openraster"
THUMBNAIL = 256
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
_IDAT_BYTES = 2**20
_ZIP64_ABOVE = 2**31 - 2**26  # entries that may grow past zipfile's limit need ZIP64 headers
_COPY_CHUNK = 8 * 2**20


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


class PngStream:
    """A PNG written row band by row band to ``write`` (8 or 16 bit, 1 to 4 channels)."""

    def __init__(self, write: Callable[[bytes], Any], width: int, height: int, channels: int,
                 dtype: np.dtype, pool: Any, *, icc: bytes | None = None,
                 resolution: Resolution | None = None, xmp: bytes | None = None) -> None:
        self._write = write
        self._buffer = bytearray()
        depth = 8 * np.dtype(dtype).itemsize
        head = [_SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth,
                                                         _COLOUR_TYPES[channels], 0, 0, 0))]
        if icc:
            head.append(_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc)))
        if resolution is not None:
            if resolution.unit == "none":
                head.append(_chunk(b"pHYs", struct.pack(">IIB", round(resolution.x), round(resolution.y), 0)))
            else:
                xdpi, ydpi = resolution.dpi()
                head.append(_chunk(b"pHYs", struct.pack(">IIB", round(xdpi / 0.0254), round(ydpi / 0.0254), 1)))
        if xmp:
            head.append(_chunk(b"iTXt", PNG_KEYWORD.encode("latin-1") + b"\0\0\0\0\0" + xmp))
        write(b"".join(head))
        self._stream = DeflateStream(self._compressed, pool)

    def _compressed(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= _IDAT_BYTES:
            self._write(_chunk(b"IDAT", bytes(self._buffer)))
            self._buffer.clear()

    def rows(self, band: np.ndarray) -> None:
        """Append rows (h, w) or (h, w, channels); each row gets the Sub filter."""
        height = band.shape[0]
        be = np.ascontiguousarray(band.astype(band.dtype.newbyteorder(">"), copy=False))
        raw = be.reshape(height, -1).view(np.uint8)
        step = (band.shape[2] if band.ndim == 3 else 1) * band.dtype.itemsize
        out = np.empty((height, raw.shape[1] + 1), np.uint8)
        out[:, 0] = 1  # filter type Sub: each byte minus the byte one pixel to the left
        out[:, 1 : step + 1] = raw[:, :step]
        np.subtract(raw[:, step:], raw[:, :-step], out=out[:, step + 1 :])
        self._stream.feed(out)

    def close(self) -> None:
        self._stream.close()
        if self._buffer:
            self._write(_chunk(b"IDAT", bytes(self._buffer)))
        self._write(_chunk(b"IEND", b""))


def _entry(name: str, compress: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _channels(job: ExportJob, layer: Layer) -> int:
    if layer.is_marking:
        return 4
    return job.px.channels + (layer.key == "restored")


def _source(layer: Layer) -> str:
    return f"data/{layer.key.replace(':', '-')}.png"


class _Thumbnail:
    """An 8-bit RGB thumbnail (at most THUMBNAIL pixels a side) gathered band by band."""

    def __init__(self, height: int, width: int) -> None:
        scale = max(1.0, max(height, width) / THUMBNAIL)
        self.height, self.size = height, (max(1, round(width / scale)), max(1, round(height / scale)))
        self.image = np.zeros((self.size[1], self.size[0], 3), np.uint8)

    def add(self, y0: int, y1: int, band: np.ndarray) -> None:
        t0, t1 = (round(y * self.size[1] / self.height) for y in (y0, y1))
        if t1 <= t0:
            return
        small = cv2.resize(band, (self.size[0], t1 - t0), interpolation=cv2.INTER_AREA)
        small = small.reshape(t1 - t0, self.size[0], -1)
        if small.dtype == np.uint16:
            small = ((small.astype(np.uint32) + 128) // 257).astype(np.uint8)
        self.image[t0:t1] = small[:, :, :3] if small.shape[2] >= 3 else small[:, :, :1]


def _write_layer(job: ExportJob, layer: Layer, out: Callable[[bytes], Any], *, xmp: bytes | None,
                 thumbnail: _Thumbnail | None) -> None:
    px = job.px
    height, width = layer.shape
    channels = _channels(job, layer)
    # marks are drawn in sRGB colours; Krita also stops to ask for a profile on 16-bit PNGs without one
    icc = srgb_profile() if layer.is_marking else job.doc.original.icc_profile
    png = PngStream(out, width, height, channels, px.dtype, job.pool, icc=icc,
                    resolution=job.doc.original.resolution, xmp=xmp)
    for y0, y1 in bands(layer.box[0], layer.box[2], band_rows(width, channels * px.dtype.itemsize)):
        job.check()
        band = px.rows(layer, y0, y1)
        png.rows(band)
        if thumbnail is not None:
            thumbnail.add(y0, y1, band)
        job.advance(band.nbytes, f"Writing {layer.name}")
    png.close()


def _stack_xml(job: ExportJob) -> bytes:
    px = job.px
    res = job.doc.original.resolution
    dpi = ""
    if res is not None and res.unit != "none":
        xdpi, ydpi = res.dpi()
        dpi = f' xres="{round(xdpi)}" yres="{round(ydpi)}"'
    lines = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        f'<image version="0.0.5" w="{px.width}" h="{px.height}"{dpi} xmlns:mural="{NS_MURAL}"'
        ' mural:provenance="metadata/provenance.json" mural:xmp="metadata/provenance.xmp">',
        "  <stack>",
    ]
    for layer in reversed(job.layers):  # OpenRaster lists the top layer first
        lines.append(
            f"    <layer name={quoteattr(layer.name)} src={quoteattr(_source(layer))}"
            f' x="{layer.box[1]}" y="{layer.box[0]}" opacity="{layer.opacity:.3f}"'
            f' visibility="{"visible" if layer.visible else "hidden"}" composite-op="svg:src-over"'
            f" mural:key={quoteattr(layer.key)} mural:description={quoteattr(layer.description)}/>"
        )
    lines += ["  </stack>", "</image>", ""]
    return "\n".join(lines).encode("utf-8")


def _copy(src: BinaryIO, dest: BinaryIO, job: ExportJob, weight: float) -> None:
    size = max(src.seek(0, 2), 1)
    src.seek(0)
    while chunk := src.read(_COPY_CHUNK):
        dest.write(chunk)
        job.advance(weight * len(chunk) / size, "Writing the merged image")


def write_ora(temp: Path, job: ExportJob) -> None:
    """The OpenRaster file (see ``export.export_ora``)."""
    px = job.px
    itemsize = px.dtype.itemsize
    sizes = {layer.key: layer.shape[0] * layer.shape[1] * _channels(job, layer) * itemsize for layer in job.layers}
    reserve = 0.05 * sizes["composite"]  # copying the composite into mergedimage.png
    job.plan(sum(sizes.values()) + reserve)
    composite = next(layer for layer in job.layers if layer.key == "composite")
    xmp = job.xmp(composite.description)
    thumbnail = _Thumbnail(px.height, px.width)
    with zipfile.ZipFile(temp, "w", allowZip64=True) as zf, tempfile.TemporaryFile(dir=temp.parent) as merged:
        zf.writestr(_entry("mimetype"), MIMETYPE)
        zf.writestr(_entry("stack.xml", compress=True), _stack_xml(job))
        for layer in job.layers:
            big = sizes[layer.key] > _ZIP64_ABOVE
            with zf.open(_entry(_source(layer)), "w", force_zip64=big) as dest:
                if layer.key == "composite":  # the same PNG becomes mergedimage.png

                    def both(data: bytes, dest: BinaryIO = dest) -> None:
                        dest.write(data)
                        merged.write(data)

                    _write_layer(job, layer, both, xmp=xmp, thumbnail=thumbnail)
                else:
                    _write_layer(job, layer, dest.write, xmp=None, thumbnail=None)
        with zf.open(_entry("mergedimage.png"), "w", force_zip64=sizes["composite"] > _ZIP64_ABOVE) as dest:
            _copy(merged, dest, job, reserve)
        with zf.open(_entry("Thumbnail/thumbnail.png"), "w") as dest:
            png = PngStream(dest.write, thumbnail.size[0], thumbnail.size[1], 3, np.dtype(np.uint8), None)
            png.rows(thumbnail.image)
            png.close()
        record = json.dumps(job.provenance, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        zf.writestr(_entry("metadata/provenance.json", compress=True), record)
        zf.writestr(_entry("metadata/provenance.xmp", compress=True), xmp)
