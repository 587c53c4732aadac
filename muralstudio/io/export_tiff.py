"""Layered (Photoshop) and multi-page TIFF export; the public functions are in
:mod:`muralstudio.io.export`.

Pages are written by tifffile from an iterator of strips that we encode ourselves (row
prediction, then LZW or Deflate, several strips at a time), so a page is never whole in
memory. Photoshop's layers (tag 37724, ImageSourceData) must be complete before tifffile
can write a tag, and its layer records come before the channel data, so the channels are
first compressed into anonymous temporary files beside the target; the ImageSourceData is
then appended after the composite and the tag's count and offset are pointed at it.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any, BinaryIO

import imagecodecs
import numpy as np
import psdtags
import tifffile

from muralstudio import __version__
from muralstudio.core.errors import ImageWriteError
from muralstudio.io.export import DeflateStream, ExportJob, Layer, band_rows, bands

CODECS = {None: None, "none": None, "lzw": "lzw", "deflate": "deflate"}
_TIFFFILE_NAMES = {"lzw": "LZW", "deflate": "ADOBE_DEFLATE"}  # Deflate as Photoshop writes it (tag 8)
STRIP_BYTES = 2**20
STRIP_LEVEL = 4  # libdeflate level of TIFF strips
_CLASSIC_LIMIT = 2**32 - 2**25  # above this a file needs BigTIFF (32-bit offsets)
_LAYERS_LIMIT = 2**32 - 1  # Photoshop's layer data has 32-bit lengths
_COPY_CHUNK = 8 * 2**20
_UNITS = {"inch": "INCH", "cm": "CENTIMETER", "none": "NONE"}
# Photoshop layer flag bit 1 means "hidden" (psdtags names it VISIBLE after the specification).
_HIDDEN = psdtags.PsdLayerFlag.VISIBLE
SOFTWARE = f"Mural Studio {__version__}"


def tiff_codec(compression: str | None) -> str | None:
    """Our name of a TIFF compression ("lzw", "deflate" or None); ImageWriteError otherwise."""
    key = compression.lower() if isinstance(compression, str) else compression
    if key not in CODECS:
        raise ImageWriteError(f"TIFF compression '{compression}' is not supported; use none, lzw or deflate.")
    return CODECS[key]


def _little(a: np.ndarray) -> np.ndarray:
    return a.astype(a.dtype.newbyteorder("<"), copy=False)


def _encode_strip(strip: np.ndarray, codec: str | None) -> bytes:
    """One strip as TIFF stores it: raw, or horizontal differences (predictor 2) compressed."""
    if codec is None:
        return _little(np.ascontiguousarray(strip)).tobytes()
    diff = np.empty_like(strip)
    diff[:, 0] = strip[:, 0]
    np.subtract(strip[:, 1:], strip[:, :-1], out=diff[:, 1:])
    raw = _little(diff).tobytes()
    if codec == "lzw":
        return imagecodecs.lzw_encode(raw)
    return imagecodecs.deflate_encode(raw, level=STRIP_LEVEL)


@dataclass(frozen=True)
class _Page:
    """How one layer becomes a TIFF page."""

    layer: Layer
    samples: int
    alpha: bool
    rgb: bool = False  # grey pictures written as RGB
    grey_marks: bool = False  # masks and guide as grey 0/max

    @property
    def photometric(self) -> str:
        return "rgb" if self.samples - self.alpha >= 3 else "minisblack"


def _strips(job: ExportJob, page: _Page, rps: int, codec: str | None) -> Iterator[bytes]:
    """The encoded strips of a page, computed band by band; counts progress in raw bytes."""
    layer = page.layer
    width = layer.shape[1]
    itemsize = job.px.dtype.itemsize
    rows = band_rows(width, page.samples * itemsize, rps)
    for y0, y1 in bands(layer.box[0], layer.box[2], rows):
        job.check()
        band = job.px.rows(layer, y0, y1, rgb=page.rgb, grey_marks=page.grey_marks)
        pieces = [band[i : i + rps] for i in range(0, y1 - y0, rps)]
        if codec is not None and job.pool is not None:
            encoded = list(job.pool.map(_encode_strip, pieces, repeat(codec)))
        else:
            encoded = [_encode_strip(p, codec) for p in pieces]
        del band, pieces
        job.advance((y1 - y0) * width * page.samples * itemsize, f"Writing {layer.name}")
        yield from encoded


def _write_page(tw: tifffile.TiffWriter, job: ExportJob, page: _Page, codec: str | None, *,
                icc: bytes | None, description: str, extratags: list[tuple] = ()) -> None:
    layer = page.layer
    height, width = layer.shape
    rps = max(1, STRIP_BYTES // (width * page.samples * job.px.dtype.itemsize))
    shape = (height, width, page.samples) if page.samples > 1 else (height, width)
    kwargs: dict[str, Any] = {
        "shape": shape,
        "dtype": job.px.dtype,
        "photometric": page.photometric,
        "planarconfig": "contig" if page.samples > 1 else None,
        "rowsperstrip": rps,
        "metadata": None,
        "software": SOFTWARE,
        "datetime": True,
        "description": description.encode("utf-8"),
        "extratags": [(285, 2, 0, layer.name.encode("utf-8"), True), *extratags],  # PageName
    }
    if page.alpha:
        kwargs["extrasamples"] = ("unassalpha",)
    if codec is not None:
        kwargs.update(compression=_TIFFFILE_NAMES[codec], predictor="horizontal")
    if icc:
        kwargs["iccprofile"] = icc
    res = job.doc.original.resolution
    if res is not None:
        kwargs.update(resolution=(res.x, res.y), resolutionunit=_UNITS.get(res.unit, "INCH"))
    tw.write(_strips(job, page, rps, codec), **kwargs)


def _bound(raw: int, codec: str | None) -> int:
    """Most bytes ``raw`` bytes of pixels may take in the file (LZW can grow noisy data)."""
    return int(raw * {None: 1.0, "lzw": 1.5, "deflate": 1.01}[codec]) + 2**20


# ----------------------------------------------------------------------- multi-page


def write_multipage(temp: Path, job: ExportJob, codec: str | None) -> None:
    """One full-size page per layer, composite first (see ``export.export_multipage_tiff``)."""
    px = job.px
    icc = job.doc.original.icc_profile
    by_key = {layer.key: layer for layer in job.layers}
    ordered = [by_key["composite"]] + [layer for layer in job.layers if layer.key != "composite"]
    pages = []
    for layer in ordered:
        full = dataclasses.replace(layer, box=px.whole)
        if layer.is_marking:
            # GIMP loads pages as layers only while they share the first page's colour model,
            # so the marks of an RGB scan are written as RGB (R = G = B) pages.
            rgb = px.channels == 3
            pages.append(_Page(full, 3 if rgb else 1, False, rgb=rgb, grey_marks=True))
        else:
            alpha = layer.key == "restored"
            pages.append(_Page(full, px.channels + alpha, alpha))
    itemsize = px.dtype.itemsize
    raw = sum(px.height * px.width * p.samples * itemsize for p in pages)
    job.plan(raw)
    with tifffile.TiffWriter(temp, bigtiff=_bound(raw, codec) > _CLASSIC_LIMIT, byteorder="<") as tw:
        for page in pages:
            layer = page.layer
            text = f"Mural Studio layer '{layer.name}': {layer.description}"
            extratags = []
            if layer.key == "composite":
                xmp = job.xmp(layer.description)
                extratags.append((700, 1, len(xmp), xmp, True))
            if page.grey_marks:
                text += f" Grey values: 0 = not marked, {px.top} = marked."
            _write_page(tw, job, page, codec, icc=None if page.grey_marks else icc,
                        description=text, extratags=extratags)


# ----------------------------------------------------------------------- layered TIFF


@dataclass(repr=False, eq=False)
class _SpooledChannel(psdtags.PsdChannel):
    """A layer channel already compressed into a temporary file (``_data_length`` bytes
    including the compression type); its record is written here, its data by the layers."""

    spool: Any = None

    def tobytes(self, psdformat: psdtags.PsdFormat, /, compression: Any = None) -> tuple[bytes, bytes]:
        return psdformat.pack("h", self.channelid) + psdformat.pack_size(self._data_length), b""


@dataclass(repr=False, eq=False)
class _SpooledLayers(psdtags.PsdLayers):
    """Layer records, then the channel data copied from the temporary files."""

    copy: Callable[[BinaryIO, BinaryIO], None] | None = None

    def records(self, psdformat: psdtags.PsdFormat) -> bytes:
        with io.BytesIO() as fh:
            psdformat.write(fh, "h", len(self.layers))
            for layer in self.layers:
                layer.write(fh, psdformat)
            return fh.getvalue()

    def write(self, fh: BinaryIO, psdformat: psdtags.PsdFormat, /, **_: Any) -> int:
        start = fh.tell()
        fh.write(self.records(psdformat))
        for layer in self.layers:
            for channel in layer.channels:
                psdformat.write(fh, "H", channel.compression)
                self.copy(channel.spool, fh)
        size = fh.tell() - start
        if size % 2:
            fh.write(b"\0")
            size += 1
        return size


def _delta_rows(plane: np.ndarray) -> np.ndarray:
    """Photoshop's "zip with prediction": differences along each row, big-endian."""
    out = np.empty(plane.shape, plane.dtype.newbyteorder(">"))
    out[:, 0] = plane[:, 0]
    np.subtract(plane[:, 1:], plane[:, :-1], out=out[:, 1:], casting="unsafe")
    return out


def _spool_layer(job: ExportJob, layer: Layer, stack: ExitStack, folder: Path) -> psdtags.PsdLayer:
    """Compress one layer's channels into temporary files; its Photoshop layer record."""
    px = job.px
    width = layer.shape[1]
    alpha = not layer.is_picture
    ids = [psdtags.PsdChannelId.CHANNEL0, psdtags.PsdChannelId.CHANNEL1, psdtags.PsdChannelId.CHANNEL2]
    if alpha:
        ids.append(psdtags.PsdChannelId.TRANSPARENCY_MASK)
    spools = [stack.enter_context(tempfile.TemporaryFile(dir=folder)) for _ in ids]
    streams = [DeflateStream(s.write, job.pool) for s in spools]
    itemsize = px.dtype.itemsize
    for y0, y1 in bands(layer.box[0], layer.box[2], band_rows(width, len(ids) * itemsize)):
        job.check()
        band = px.rows(layer, y0, y1, rgb=True)
        for i, stream in enumerate(streams):
            stream.feed(_delta_rows(band[:, :, i]))
        job.advance((y1 - y0) * width * len(ids) * itemsize, f"Compressing layer {layer.name}")
    channels = []
    for cid, spool, stream in zip(ids, spools, streams):
        stream.close()
        channels.append(_SpooledChannel(cid, psdtags.PsdCompressionType.ZIP_PREDICTED,
                                        _data_length=2 + spool.tell(), spool=spool))
    channels = channels[-1:] + channels[:-1] if alpha else channels  # transparency first
    name = layer.name.encode("macroman", "replace").decode("macroman")
    flags = psdtags.PsdLayerFlag.PHOTOSHOP5 | (0 if layer.visible else _HIDDEN)
    return psdtags.PsdLayer(
        name=name,
        channels=channels,
        rectangle=psdtags.PsdRectangle(*layer.box),
        mask=psdtags.PsdLayerMask(),
        opacity=int(round(layer.opacity * 255)),
        blendmode=psdtags.PsdBlendMode.NORMAL,
        blending_ranges=(),
        clipping=psdtags.PsdClippingType.BASE,
        flags=psdtags.PsdLayerFlag(flags),
        info=[psdtags.PsdString(psdtags.PsdKey.UNICODE_LAYER_NAME, layer.name)],
    )


def _image_resources(job: ExportJob, count: int) -> bytes:
    """Tag 34377: version (the composite is the real merged image), resolution, layer state."""
    blocks: list[psdtags.PsdResourceBlockABC] = [
        psdtags.PsdVersionBlock(psdtags.PsdResourceId.VERSION_INFO, version=1, file_version=1,
                                writer_name="Mural Studio", reader_name=SOFTWARE, has_real_merged_data=True),
        psdtags.PsdBytesBlock(psdtags.PsdResourceId.LAYER_STATE_INFO, struct.pack(">H", 0)),
        psdtags.PsdBytesBlock(psdtags.PsdResourceId.LAYER_GROUP_INFO, bytes(2 * count)),
    ]
    res = job.doc.original.resolution
    if res is not None and res.unit != "none":
        unit = 2 if res.unit == "cm" else 1  # unit shown; the values are always per inch
        xdpi, ydpi = res.dpi()
        value = struct.pack(">IhhIhh", int(round(xdpi * 65536)), unit, unit, int(round(ydpi * 65536)), unit, unit)
        blocks.insert(1, psdtags.PsdBytesBlock(psdtags.PsdResourceId.RESOLUTION_INFO, value))
    return psdtags.TiffImageResources(psdformat=psdtags.PsdFormat.BE32BIT, blocks=blocks).tobytes()


def _colour_profile(job: ExportJob) -> bytes | None:
    """The ICC profile for RGB pixels: the original's, unless it describes grey."""
    icc = job.doc.original.icc_profile
    if icc and len(icc) >= 20 and icc[16:20] == b"GRAY":
        job.provenance["export_notes"] = [
            "The scan is grey; the layered TIFF stores it as RGB (R = G = B) and leaves out "
            "its grey ICC profile, which cannot describe RGB pixels."
        ]
        return None
    return icc or None


def write_layered(temp: Path, job: ExportJob, codec: str | None) -> None:
    """Composite as the main image, layers in ImageSourceData (see ``export.export_layered_tiff``)."""
    px = job.px
    itemsize = px.dtype.itemsize
    work = sum(layer.shape[0] * layer.shape[1] * (3 if layer.is_picture else 4) * itemsize for layer in job.layers)
    main_raw = px.height * px.width * 3 * itemsize
    reserve = 0.05 * (work + main_raw)  # copying the compressed layers into the file
    job.plan(work + main_raw + reserve)
    icc = _colour_profile(job)
    fmt = psdtags.PsdFormat.LE32BIT
    key = psdtags.PsdKey.LAYER_16 if itemsize == 2 else psdtags.PsdKey.LAYER
    with ExitStack() as stack:
        records = [_spool_layer(job, layer, stack, temp.parent) for layer in job.layers]
        data = sum(ch._data_length for layer in records for ch in layer.channels)

        def copy(src: BinaryIO, dest: BinaryIO) -> None:
            src.seek(0)
            while chunk := src.read(_COPY_CHUNK):
                dest.write(chunk)
                job.advance(reserve * len(chunk) / max(data, 1), "Writing the layers")

        layers = _SpooledLayers(key=key, layers=records, has_transparency=False, copy=copy)
        size = len(psdtags.TiffImageSourceData.SIGNATURE) + 64 + len(layers.records(fmt)) + data
        if size > _LAYERS_LIMIT:
            raise ImageWriteError(
                f"Cannot save {job.target.name}: its layers need {size / 1e9:.1f} GB, "
                "more than a layered TIFF can hold (4 GB); export OpenRaster or a multi-page TIFF instead."
            )
        composite = next(layer for layer in job.layers if layer.key == "composite")
        xmp = job.xmp(composite.description)
        resources = _image_resources(job, len(records))
        extratags = [
            (700, 1, len(xmp), xmp, True),
            (34377, 7, len(resources), resources, True),
            (37724, 7, 16, bytes(16), True),  # placeholder, pointed at the real data below
        ]
        bigtiff = _bound(main_raw, codec) + size + 2**20 > _CLASSIC_LIMIT
        page = _Page(composite, 3, False, rgb=True)
        text = f"Mural Studio restored composite with {len(records)} Photoshop layers. {composite.description}"
        with tifffile.TiffWriter(temp, bigtiff=bigtiff, byteorder="<") as tw:
            _write_page(tw, job, page, codec, icc=icc, description=text, extratags=extratags)
        with tifffile.TiffFile(temp) as tf:
            entry = tf.pages[0].tags[37724].offset
        isd = psdtags.TiffImageSourceData(psdformat=fmt, layers=layers, usermask=psdtags.PsdUserMask())
        with open(temp, "r+b") as fh:
            fh.seek(0, io.SEEK_END)
            if fh.tell() % 2:  # TIFF values start on a word boundary
                fh.write(b"\0")
            offset = fh.tell()
            isd.write(fh)
            length = fh.tell() - offset
            fh.seek(entry + 4)  # tag entry: code, type, then count and value offset
            fh.write(struct.pack("<QQ", length, offset) if bigtiff else struct.pack("<II", length, offset))
