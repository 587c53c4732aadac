"""Exports with layers and provenance: layered TIFF, multi-page TIFF and OpenRaster.

Every layer is read back with independent readers (tifffile + psdtags, tifffile pages,
zipfile + libpng) and compared with what the document says it should be, worked out here
from the core's own operations (``Mural.composite``, ``Candidate.restored_mask``).
"""

from __future__ import annotations

import errno
import io
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import imagecodecs
import numpy as np
import psdtags
import pytest
import tifffile

from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.damage import STYLES, DamageClass
from muralstudio.core.document import Mural
from muralstudio.core.errors import ImageWriteError
from muralstudio.core.masks import bbox
from muralstudio.core.progress import Progress
from muralstudio.core.raster import RasterImage, Resolution
from muralstudio.io import export as export_mod
from muralstudio.io import export_tiff
from muralstudio.io.export import (
    DeflateStream,
    export_layered_tiff,
    export_multipage_tiff,
    export_ora,
    provenance_dict,
)
from muralstudio.io.icc import srgb_profile
from muralstudio.io.images import read_image
from muralstudio.io.xmp import NS_MURAL, RESTORED_SOURCE_TYPE, parse_xmp, provenance_from_xmp

H, W = 90, 130
GREY_ICC = bytes(16) + b"GRAY" + bytes(108)  # only the colour space field matters here
EXPORTERS = {
    "layered": (export_layered_tiff, ".tif"),
    "multipage": (export_multipage_tiff, ".tif"),
    "ora": (export_ora, ".ora"),
}


# ----------------------------------------------------------------------------- helpers


def make_doc(dtype=np.uint16, channels: int = 3, *, choose: bool = True, source: Path | None = None) -> Mural:
    rng = np.random.default_rng(int(np.dtype(dtype).itemsize * 10 + channels))
    top = np.iinfo(dtype).max
    pixels = rng.integers(0, top, (H, W, channels), endpoint=True).astype(dtype)
    icc = srgb_profile() if channels == 3 else GREY_ICC
    doc = Mural(RasterImage(pixels, icc_profile=icc, resolution=Resolution(300, 300), source=source))
    doc.mask(DamageClass.CRACK)[20:24, 10:100] = True
    doc.mask(DamageClass.LOSS)[50:70, 60:90] = True
    doc.mask(DamageClass.STAIN)[5:15, 5:15] = True  # marked but not restored
    doc.guide[80:82, :] = True
    if choose:
        m1 = np.zeros((10, 100), bool)
        m1[2:6, :] = True  # rows 20:24, columns 5:105: the crack plus 10 pixels outside it
        m2 = doc.mask(DamageClass.LOSS)[45:75, 55:95].copy()
        m2[0, 0] = True  # one pixel outside every mask
        m3 = np.ones((4, 4), bool)  # overlaps patch 2: painted over, counted once
        patches = [
            Patch(18, 5, rng.integers(0, top, (10, 100, channels), endpoint=True).astype(dtype), m1),
            Patch(45, 55, rng.integers(0, top, (30, 40, channels), endpoint=True).astype(dtype), m2),
            Patch(52, 62, rng.integers(0, top, (4, 4, channels), endpoint=True).astype(dtype), m3),
        ]
        cand = Candidate(Provenance("telea", {"radius": 3}, seed=7, weights_sha256="ab" * 32,
                                    other_weights={"anchor": "cd" * 32}), patches)
        doc.add_candidate(cand)
        doc.choose(cand.id)
    return doc


def expected(doc: Mural, *, rgb: bool = False) -> dict[str, tuple[np.ndarray, tuple[int, int, int, int]]]:
    """key -> (full-size layer as every format must hold it, content box)."""
    px = np.asarray(doc.original.pixels)
    top = np.iinfo(px.dtype).max
    comp = doc.composite()
    if rgb and px.shape[2] == 1:
        px, comp = np.repeat(px, 3, axis=2), np.repeat(comp, 3, axis=2)
    whole = (0, 0, H, W)
    out = {"original": (px, whole), "composite": (comp, whole)}
    if doc.chosen is not None:
        made = doc.chosen.restored_mask(doc.shape)
        layer = np.zeros((H, W, comp.shape[2] + 1), px.dtype)
        layer[made, :-1] = comp[made]
        layer[made, -1] = top
        out["restored"] = (layer, bbox(made))
    scale = 257 if px.dtype == np.uint16 else 1
    for cls in DamageClass:
        m = doc.mask(cls)
        if m.any():
            layer = np.empty((H, W, 4), px.dtype)
            layer[:, :, :3] = np.array(STYLES[cls].color) * scale
            layer[:, :, 3] = m * top
            out[f"mask:{cls.value}"] = (layer, bbox(m))
    layer = np.empty((H, W, 4), px.dtype)
    layer[:, :, :3] = np.array(export_mod.GUIDE_COLOUR) * scale
    layer[:, :, 3] = doc.guide * top
    out["guide"] = (layer, bbox(doc.guide))
    return out


def crop(a: np.ndarray, box) -> np.ndarray:
    return a[box[0] : box[2], box[1] : box[3]]


def run(gen) -> tuple[list[Progress], Path]:
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            return steps, stop.value


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def check_xmp(packet: bytes, doc: Mural) -> None:
    props = parse_xmp(packet)
    assert props["Iptc4xmpExt:DigitalSourceType"] == RESTORED_SOURCE_TYPE
    assert props["muralstudio:Engine"] == "telea"
    assert props["muralstudio:Seed"] == "7"
    assert props["muralstudio:WeightsSHA256"] == "ab" * 32
    assert json.loads(props["muralstudio:OtherWeightsSHA256"]) == {"anchor": "cd" * 32}
    assert json.loads(props["muralstudio:Parameters"]) == {"radius": 3}
    record = provenance_from_xmp(packet)
    assert record["restoration"]["restored_area"] == provenance_dict(doc)["restoration"]["restored_area"]


# ------------------------------------------------------------------------ provenance


def test_provenance_counts_restored_pixels_per_class():
    doc = make_doc()
    made = doc.chosen.restored_mask(doc.shape)
    prov = provenance_dict(doc)
    rest = prov["restoration"]
    assert rest["restored_pixels"] == int(made.sum()) == 4 * 100 + 600 + 1
    for cls in DamageClass:
        assert rest["restored_area"][cls.value] == int((made & doc.mask(cls)).sum())
    assert rest["restored_area"]["crack"] == 360 and rest["restored_area"]["loss"] == 600
    assert rest["restored_outside_masks"] == 40 + 1
    assert rest["engine"] == "telea" and rest["seed"] == 7 and rest["parameters"] == {"radius": 3}
    assert prov["digital_source_type"] == RESTORED_SOURCE_TYPE
    assert prov["image"] == {"width": W, "height": H, "channels": 3, "bit_depth": 16, "source": None,
                             "icc_profile": True}
    json.dumps(prov)  # plain JSON


def test_provenance_without_a_chosen_candidate():
    prov = provenance_dict(make_doc(choose=False))
    assert prov["restoration"] is None and prov["digital_source_type"] is None


def test_deflate_stream_in_pieces_is_one_valid_zlib_stream(monkeypatch):
    monkeypatch.setattr(DeflateStream, "PIECE", 1000)
    data = np.random.default_rng(0).integers(0, 20, 10_000, dtype=np.uint8)
    out = io.BytesIO()
    with ThreadPoolExecutor(2) as pool:
        stream = DeflateStream(out.write, pool)
        stream.feed(data[:3500])
        stream.feed(data[3500:])
        stream.close()
    assert imagecodecs.zlib_decode(out.getvalue()) == data.tobytes()


# ------------------------------------------------------------------------ round trips

CASES = [(np.uint8, 3), (np.uint16, 3), (np.uint16, 1)]
CASE_IDS = ["8-bit-rgb", "16-bit-rgb", "16-bit-grey"]


@pytest.mark.parametrize("dtype,channels", CASES, ids=CASE_IDS)
def test_layered_tiff_round_trip(tmp_path, dtype, channels):
    doc = make_doc(dtype, channels)
    steps, path = run(export_layered_tiff(tmp_path / "out.tif", doc, compression="deflate"))
    assert path == tmp_path / "out.tif" and files_in(tmp_path) == ["out.tif"]
    want = expected(doc, rgb=True)
    with tifffile.TiffFile(path) as tf:
        assert len(tf.pages) == 1
        page = tf.pages[0]
        assert page.dtype == np.dtype(dtype) and page.photometric == tifffile.PHOTOMETRIC.RGB
        np.testing.assert_array_equal(page.asarray(), want["composite"][0])
        icc = page.tags.valueof(34675)
        assert (icc == srgb_profile()) if channels == 3 else icc is None  # a grey profile cannot describe RGB
        assert page.tags.valueof(282) == (300, 1) and page.tags.valueof(296) == 2
        xmp = bytes(page.tags.valueof(700))
        resources = psdtags.TiffImageResources.frombytes(bytes(page.tags.valueof(34377)))
        assert resources[1057].has_real_merged_data
    check_xmp(xmp, doc)
    if channels == 1:
        assert "grey ICC profile" in provenance_from_xmp(xmp)["export_notes"][0]
    isd = psdtags.TiffImageSourceData.fromtiff(path)
    assert isd.layers.key == (psdtags.PsdKey.LAYER_16 if dtype == np.uint16 else psdtags.PsdKey.LAYER)
    names = [layer.name for layer in isd.layers]
    assert names == ["Original scan", "Restored composite", "Restoration: telea radius=3 seed=7",
                     "Mask: Stain", "Mask: Loss", "Mask: Crack", "Guide lines"]
    keys = ["original", "composite", "restored", "mask:stain", "mask:loss", "mask:crack", "guide"]
    hidden = [bool(layer.flags & psdtags.PsdLayerFlag.VISIBLE) for layer in isd.layers]
    assert hidden == [False, True, False, True, True, True, True]
    for key, layer in zip(keys, isd.layers):
        full, box = want[key]
        assert tuple(layer.rectangle) == box
        assert layer.asarray().dtype.itemsize == np.dtype(dtype).itemsize
        np.testing.assert_array_equal(layer.asarray(), crop(full, box), err_msg=key)
        unicode_name = [str(tag) for tag in layer.info if tag.key == psdtags.PsdKey.UNICODE_LAYER_NAME]
        assert unicode_name == [layer.name]
    assert [layer.opacity for layer in isd.layers][3:] == [128, 128, 128, 230]
    assert steps[-1].fraction == 1.0


@pytest.mark.parametrize("dtype,channels", CASES, ids=CASE_IDS)
def test_multipage_tiff_round_trip(tmp_path, dtype, channels):
    doc = make_doc(dtype, channels)
    _, path = run(export_multipage_tiff(tmp_path / "pages.tif", doc, compression="lzw" if channels == 3 else None))
    want = expected(doc)
    order = ["composite", "original", "restored", "mask:stain", "mask:loss", "mask:crack", "guide"]
    icc = srgb_profile() if channels == 3 else GREY_ICC
    top = np.iinfo(dtype).max
    with tifffile.TiffFile(path) as tf:
        assert len(tf.pages) == len(order)
        for key, page in zip(order, tf.pages):
            data = page.asarray()
            assert data.dtype == np.dtype(dtype)
            assert page.tags.valueof(285)  # PageName: the layer name
            assert page.tags.valueof(270).startswith("Mural Studio layer")
            full = want[key][0]
            if key.startswith("mask:") or key == "guide":
                marks = (full[:, :, 3] > 0) * top
                if channels == 3:  # same colour model as page 1, so GIMP keeps the page
                    assert data.shape == marks.shape + (3,)
                    marks = np.repeat(marks[:, :, None], 3, axis=2)
                np.testing.assert_array_equal(data, marks, err_msg=key)
                assert page.tags.valueof(34675) is None
            else:
                np.testing.assert_array_equal(data.reshape(full.shape), full, err_msg=key)
                assert page.tags.valueof(34675) == icc
        assert tf.pages[0].tags.valueof(285) == "Restored composite"
        assert tf.pages[2].extrasamples == (2,)  # the restoration has unassociated alpha
        check_xmp(bytes(tf.pages[0].tags.valueof(700)), doc)
        assert tf.pages[1].tags.valueof(700) is None


def _imagemagick() -> list[str] | None:
    for name in ("magick", "convert-im6.q16", "convert"):
        path = shutil.which(name)
        if path:
            return [path]
    return None


@pytest.mark.skipif(_imagemagick() is None, reason="ImageMagick is not installed")
@pytest.mark.parametrize("dtype,channels,codec", [(np.uint16, 3, "lzw"), (np.uint8, 1, "deflate")],
                         ids=["16-bit-rgb", "8-bit-grey"])
def test_imagemagick_reads_the_photoshop_layers(tmp_path, dtype, channels, codec):
    """A reader that is not ours: ImageMagick (libtiff) decodes the composite and parses
    ImageSourceData into one image per layer."""
    doc = make_doc(dtype, channels)
    _, path = run(export_layered_tiff(tmp_path / "out.tif", doc, compression=codec))
    cmd = _imagemagick() + [str(path), "-depth", "16", "-alpha", "on", f"tiff:{tmp_path}/layer%d.tif"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    want = expected(doc, rgb=True)
    keys = ["composite", "original", "composite", "restored", "mask:stain", "mask:loss", "mask:crack", "guide"]
    for i, key in enumerate(keys):  # image 0 is the TIFF's own image, then the layers bottom up
        got = tifffile.imread(tmp_path / f"layer{i}.tif")
        if got.shape[2] == 2:  # grey + alpha
            got = np.concatenate([np.repeat(got[:, :, :1], 3, axis=2), got[:, :, 1:]], axis=2)
        full, box = want[key]
        ref = crop(full, box).astype(np.uint32) * (257 if dtype == np.uint8 else 1)
        if ref.shape[2] == 3:
            ref = np.concatenate([ref, np.full(ref.shape[:2] + (1,), 65535)], axis=2)
        opaque = ref[:, :, 3] > 0
        np.testing.assert_array_equal(got[:, :, 3] > 0, opaque, err_msg=key)  # alpha x layer opacity
        np.testing.assert_array_equal(got[opaque][:, :3], ref[opaque][:, :3], err_msg=key)


@pytest.mark.parametrize("codec", [None, "lzw", "deflate"])
def test_pillow_reads_every_page(tmp_path, codec):
    """Strips as libtiff (inside Pillow) decodes them: predictor and compression are right."""
    from PIL import Image

    doc = make_doc(np.uint8)
    _, path = run(export_multipage_tiff(tmp_path / "pages.tif", doc, compression=codec))
    want = expected(doc)
    with Image.open(path) as im:
        for i, key in enumerate(["composite", "original", "restored", "mask:stain"]):
            im.seek(i)
            got, full = np.asarray(im), want[key][0]
            if key.startswith("mask:"):  # written as R = G = B marks
                full = np.repeat(((full[:, :, 3] > 0) * 255).astype(np.uint8)[:, :, None], 3, axis=2)
            np.testing.assert_array_equal(got, full)


def _read_png(data: bytes, tmp_path: Path) -> RasterImage:
    path = tmp_path / "layer.png"
    path.write_bytes(data)
    return read_image(path)


@pytest.mark.parametrize("dtype,channels", CASES, ids=CASE_IDS)
def test_ora_round_trip(tmp_path, dtype, channels):
    doc = make_doc(dtype, channels)
    _, path = run(export_ora(tmp_path / "out.ora", doc))
    want = expected(doc)
    icc = srgb_profile() if channels == 3 else GREY_ICC
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert zf.read("mimetype") == b"image/openraster"
        with open(path, "rb") as fh:
            assert fh.read(54)[30:54] == b"mimetypeimage/openraster"  # readable by magic number
        assert zf.testzip() is None
        root = ET.fromstring(zf.read("stack.xml"))
        assert (root.get("w"), root.get("h"), root.get("xres")) == (str(W), str(H), "300")
        layers = root.find("stack").findall("layer")
        keys = [el.get(f"{{{NS_MURAL}}}key") for el in layers]
        assert keys == ["guide", "mask:crack", "mask:loss", "mask:stain", "restored", "composite", "original"]
        shown = {k: el.get("visibility") for k, el in zip(keys, layers)}
        assert shown == {"guide": "hidden", "mask:crack": "hidden", "mask:loss": "hidden", "mask:stain": "hidden",
                         "restored": "visible", "composite": "hidden", "original": "visible"}
        assert [el.get("opacity") for el in layers][:2] == ["0.900", "0.500"]
        for key, el in zip(keys, layers):
            full, box = want[key]
            assert (int(el.get("y")), int(el.get("x"))) == box[:2]
            data = zf.read(el.get("src"))
            pixels = imagecodecs.png_decode(data)  # libpng, independent of our writer
            assert pixels.dtype == np.dtype(dtype)
            part = crop(full, box)
            np.testing.assert_array_equal(pixels.reshape(part.shape), part, err_msg=key)
            img = _read_png(data, tmp_path)
            assert img.resolution == Resolution(300.0, 300.0, "inch")
            assert img.icc_profile == (srgb_profile() if key.startswith("mask") or key == "guide" else icc)
        merged = zf.read("mergedimage.png")
        assert merged == zf.read("data/composite.png")
        check_xmp(_xmp_of(merged), doc)
        thumb = imagecodecs.png_decode(zf.read("Thumbnail/thumbnail.png"))
        assert thumb.dtype == np.uint8 and thumb.shape == (H, W, 3)
        check_xmp(zf.read("metadata/provenance.xmp"), doc)
        record = json.loads(zf.read("metadata/provenance.json"))
        assert record["restoration"]["restored_area"] == provenance_dict(doc)["restoration"]["restored_area"]


def _xmp_of(png: bytes) -> bytes:
    """The text of the iTXt chunk XML:com.adobe.xmp."""
    pos = 8
    while pos < len(png):
        size = int.from_bytes(png[pos : pos + 4], "big")
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + size]
        if kind == b"iTXt" and data.startswith(b"XML:com.adobe.xmp\0"):
            return data[len(b"XML:com.adobe.xmp") + 5 :]
        pos += 12 + size
    raise AssertionError("no XMP in the PNG")


def test_ora_thumbnail_is_at_most_256_pixels(tmp_path, monkeypatch):
    monkeypatch.setattr("muralstudio.io.export_ora.THUMBNAIL", 64)
    _, path = run(export_ora(tmp_path / "out.ora", make_doc(np.uint8)))
    with zipfile.ZipFile(path) as zf:
        assert imagecodecs.png_decode(zf.read("Thumbnail/thumbnail.png")).shape == (44, 64, 3)


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_without_a_chosen_candidate_the_composite_is_the_original(tmp_path, fmt):
    doc = make_doc(np.uint8, choose=False)
    export, suffix = EXPORTERS[fmt]
    _, path = run(export(tmp_path / f"out{suffix}", doc))
    if fmt == "layered":
        np.testing.assert_array_equal(tifffile.imread(path), doc.original.pixels)
        names = [layer.name for layer in psdtags.TiffImageSourceData.fromtiff(path).layers]
        packet = bytes(tifffile.TiffFile(path).pages[0].tags.valueof(700))
    elif fmt == "multipage":
        with tifffile.TiffFile(path) as tf:
            names = [p.tags.valueof(285) for p in tf.pages]
            packet = bytes(tf.pages[0].tags.valueof(700))
            np.testing.assert_array_equal(tf.pages[0].asarray(), doc.original.pixels)
    else:
        with zipfile.ZipFile(path) as zf:
            names = [el.get("name") for el in ET.fromstring(zf.read("stack.xml")).iter("layer")]
            packet = zf.read("metadata/provenance.xmp")
    assert not any(n.startswith("Restoration") for n in names)
    props = parse_xmp(packet)
    assert "Iptc4xmpExt:DigitalSourceType" not in props and props["muralstudio:Engine"] == "none"


# ------------------------------------------------------------------ targets and failures


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_existing_file_needs_force(tmp_path, fmt):
    export, suffix = EXPORTERS[fmt]
    target = tmp_path / f"out{suffix}"
    target.write_bytes(b"old")
    with pytest.raises(ImageWriteError, match="already exists; use --force to replace it"):
        run(export(target, make_doc(np.uint8)))
    assert target.read_bytes() == b"old"
    run(export(target, make_doc(np.uint8), force=True))
    assert target.stat().st_size > 1000 and files_in(tmp_path) == [target.name]


def test_the_original_scan_is_never_overwritten(tmp_path):
    scan = tmp_path / "scan.tif"
    scan.write_bytes(b"master")
    with pytest.raises(ImageWriteError, match="never overwritten"):
        run(export_multipage_tiff(scan, make_doc(np.uint8, source=scan), force=True))
    assert scan.read_bytes() == b"master"


def test_unknown_compression_is_refused(tmp_path):
    with pytest.raises(ImageWriteError, match="compression 'jpeg'"):
        run(export_layered_tiff(tmp_path / "x.tif", make_doc(np.uint8), compression="jpeg"))
    assert files_in(tmp_path) == []


def test_read_only_folder_gives_a_write_error(read_only_folder):
    with pytest.raises(ImageWriteError, match="permission denied"):
        run(export_ora(read_only_folder / "out.ora", make_doc(np.uint8)))
    assert files_in(read_only_folder) == []


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_disk_full_midway_leaves_no_file(tmp_path, monkeypatch, fmt):
    export, suffix = EXPORTERS[fmt]
    target = tmp_path / f"out{suffix}"
    target.write_bytes(b"old")
    calls = {"n": 0}

    def failing_third_time(fn):
        def wrapper(*args):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
            return fn(*args)

        return wrapper

    # compressed streams (Photoshop channels, PNG) and TIFF strips: whichever the format uses
    monkeypatch.setattr(DeflateStream, "feed", failing_third_time(DeflateStream.feed))
    monkeypatch.setattr(export_tiff, "_encode_strip", failing_third_time(export_tiff._encode_strip))
    monkeypatch.setattr(export_mod, "BAND_BYTES", 4096)
    with pytest.raises(ImageWriteError, match="no space left"):
        run(export(target, make_doc(np.uint16), force=True))
    assert calls["n"] >= 3
    assert files_in(tmp_path) == [target.name] and target.read_bytes() == b"old"


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_closing_the_generator_cancels_and_leaves_nothing(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(export_mod, "BAND_BYTES", 2048)  # many small bands, many steps
    monkeypatch.setattr(export_tiff, "STRIP_BYTES", 1024)
    export, suffix = EXPORTERS[fmt]
    gen = export(tmp_path / f"out{suffix}", make_doc(np.uint16))
    for _ in range(6):
        step = next(gen)
        assert 0.0 <= step.fraction < 1.0
    gen.close()
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_progress_rises_to_one(tmp_path, monkeypatch, fmt):
    monkeypatch.setattr(export_mod, "BAND_BYTES", 8192)
    monkeypatch.setattr(export_tiff, "STRIP_BYTES", 2048)
    export, suffix = EXPORTERS[fmt]
    steps, path = run(export(tmp_path / f"out{suffix}", make_doc(np.uint16)))
    fractions = [s.fraction for s in steps]
    assert len(steps) > 10
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(f < 1.0 for f in fractions[:-1])
    assert path.exists()


def test_layered_bigtiff_points_the_layers_tag_at_the_layers(tmp_path, monkeypatch):
    monkeypatch.setattr(export_tiff, "_CLASSIC_LIMIT", 1000)  # force BigTIFF (64-bit offsets)
    doc = make_doc(np.uint8)
    _, path = run(export_layered_tiff(tmp_path / "big.tif", doc, compression="lzw"))
    with tifffile.TiffFile(path) as tf:
        assert tf.is_bigtiff
        np.testing.assert_array_equal(tf.pages[0].asarray(), doc.composite())
    want = expected(doc)
    layers = psdtags.TiffImageSourceData.fromtiff(path).layers
    np.testing.assert_array_equal(layers[2].asarray(), crop(*want["restored"]))


def test_layers_too_large_for_a_layered_tiff(tmp_path, monkeypatch):
    monkeypatch.setattr(export_tiff, "_LAYERS_LIMIT", 1000)
    with pytest.raises(ImageWriteError, match="more than a layered TIFF can hold"):
        run(export_layered_tiff(tmp_path / "out.tif", make_doc(np.uint8)))
    assert files_in(tmp_path) == []


def test_permission_denied_gives_a_write_error(tmp_path, monkeypatch):
    def refuse(target):
        raise PermissionError(errno.EACCES, "Permission denied", str(target))

    monkeypatch.setattr("muralstudio.io.atomic._create_temp", refuse)
    with pytest.raises(ImageWriteError, match="permission denied"):
        run(export_layered_tiff(tmp_path / "out.tif", make_doc(np.uint8)))
    assert files_in(tmp_path) == []


def test_closing_at_the_last_step_leaves_no_file(tmp_path):
    gen = export_ora(tmp_path / "out.ora", make_doc(np.uint8))
    for step in gen:
        if step.fraction == 1.0:
            break
    gen.close()  # the file only takes its place when the caller asks past the final step
    assert files_in(tmp_path) == []
