import io
import tracemalloc

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms

from muralstudio.core.errors import (
    CorruptImageError,
    ImageReadError,
    ImageTooLargeError,
    ImageWriteError,
    UnsupportedImageError,
)
from muralstudio.core.raster import RasterImage, Resolution
from muralstudio.io import images
from muralstudio.io.images import (
    SUPPORTED_EXTENSIONS,
    is_image_path,
    read_image,
    read_image_header,
    write_image,
)

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
RNG = np.random.default_rng(7)


def _random(shape, dtype):
    return RNG.integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)


def _gradient(height, width):
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([x * 255 // width, y * 255 // height, (x + y) % 256]).astype(np.uint8)


def _pillow_bytes(im, fmt, **options):
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getvalue()


def _joined(image):
    return image.pixels if image.alpha is None else np.dstack([image.pixels, image.alpha])


# --------------------------------------------------------------------------- names


def test_extensions():
    assert SUPPORTED_EXTENSIONS == (".png", ".jpg", ".jpeg", ".tif", ".tiff")
    assert is_image_path("a/B.TIFF") and is_image_path("x.jpeg")
    assert not is_image_path("notes.txt") and not is_image_path("png")


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", ["png", "tif"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_round_trip_exact(tmp_path, ext, dtype, channels):
    data = _random((19, 23, channels), dtype)
    path = tmp_path / f"scan.{ext}"
    icc = SRGB if channels >= 3 else None  # an RGB profile on grey makes libpng complain
    meta = {"MuralStudio": '{"steps": ["inpaint"], "note": "fresco ✓"}'}
    notices = write_image(
        path, data, icc_profile=icc, resolution=Resolution(300, 300, "inch"), metadata=meta
    )
    assert notices == []
    image = read_image(path)
    assert image.pixels.dtype == dtype and image.pixels.shape[2] in (1, 3)
    assert (image.alpha is not None) == (channels in (2, 4))
    assert np.array_equal(_joined(image), data)
    assert image.icc_profile == icc
    assert image.resolution == Resolution(300.0, 300.0, "inch")
    assert image.metadata == meta
    assert image.format == ("PNG" if ext == "png" else "TIFF")
    assert image.notices == []
    assert not image.pixels.flags.writeable
    info = read_image_header(path)
    assert (info.width, info.height, info.dtype) == (23, 19, np.dtype(dtype))
    assert (info.channels, info.has_alpha) == (image.channels, image.alpha is not None)


@pytest.mark.parametrize("ext", ["png", "tif", "jpg"])
def test_raster_image_brings_its_metadata(tmp_path, ext):
    rgb = _gradient(16, 24).astype(np.uint16) * 257
    src = RasterImage(
        pixels=rgb,
        icc_profile=SRGB,
        resolution=Resolution(600, 600, "inch"),
        alpha=np.full((16, 24), 65535, np.uint16),
        metadata={"MuralStudio": "v1"},
    )
    notices = write_image(tmp_path / f"out.{ext}", src)
    back = read_image(tmp_path / f"out.{ext}")
    assert back.icc_profile == SRGB
    assert back.resolution == Resolution(600.0, 600.0, "inch")
    if ext == "jpg":
        assert back.dtype == np.uint8 and back.alpha is None
        assert any("8-bit" in n for n in notices) and any("alpha" in n for n in notices)
        assert np.abs(back.pixels.astype(int) - (rgb.astype(int) + 128) // 257).max() <= 3
    else:
        assert notices == []
        assert np.array_equal(back.pixels, rgb) and np.array_equal(back.alpha, src.alpha)
        assert back.metadata == {"MuralStudio": "v1"}


def test_png_resolution_units(tmp_path):
    write_image(tmp_path / "a.png", _gradient(4, 4), resolution=Resolution(72, 72, "inch"))
    assert read_image(tmp_path / "a.png").resolution == Resolution(72.0, 72.0, "inch")
    write_image(tmp_path / "b.png", _gradient(4, 4), resolution=Resolution(3, 2, "none"))
    assert read_image(tmp_path / "b.png").resolution == Resolution(3.0, 2.0, "none")
    write_image(tmp_path / "c.tif", _gradient(4, 4), resolution=Resolution(118.5, 118.5, "cm"))
    assert read_image(tmp_path / "c.tif").resolution == Resolution(118.5, 118.5, "cm")


def test_tiff_description_is_kept(tmp_path):
    tifffile.imwrite(tmp_path / "s.tif", _gradient(8, 8), photometric="rgb", description="Scanner X")
    image = read_image(tmp_path / "s.tif")
    assert image.metadata == {"description": "Scanner X"}
    write_image(tmp_path / "t.tif", image)
    assert read_image(tmp_path / "t.tif").metadata == {"description": "Scanner X"}


def test_write_bit_depth_and_unknown_extension(tmp_path):
    grey8 = np.array([[0, 1, 128, 255]], np.uint8)
    assert write_image(tmp_path / "g.png", grey8, bit_depth=16) == []
    assert np.array_equal(read_image(tmp_path / "g.png").pixels[:, :, 0], grey8.astype(np.uint16) * 257)
    grey16 = np.array([[0, 128, 129, 384, 65535]], np.uint16)
    notices = write_image(tmp_path / "h.tif", grey16, bit_depth=8)
    assert notices and "8-bit" in notices[0]
    assert read_image(tmp_path / "h.tif").pixels[0, :, 0].tolist() == [0, 0, 1, 1, 255]
    with pytest.raises(ImageWriteError, match="unknown file type"):
        write_image(tmp_path / "x.bmp", grey8)
    assert not (tmp_path / "x.bmp").exists()


# --------------------------------------------------------------------------- TIFF specifics


def test_bigtiff_read_and_kept(tmp_path):
    data = _random((12, 10, 3), np.uint16)
    tifffile.imwrite(tmp_path / "big.tif", data, photometric="rgb", bigtiff=True)
    image = read_image(tmp_path / "big.tif")
    assert image.bigtiff and np.array_equal(image.pixels, data)
    write_image(tmp_path / "again.tif", image)
    assert (tmp_path / "again.tif").read_bytes()[:4] == b"II+\0"
    write_image(tmp_path / "plain.tif", data)
    assert (tmp_path / "plain.tif").read_bytes()[:4] == b"II*\0"


@pytest.mark.parametrize(("given", "read_as"), [("lzw", "lzw"), ("zlib", "adobe_deflate"), ("zstd", "zstd")])
def test_tiff_compression_kept_on_write_back(tmp_path, given, read_as):
    data = _random((40, 30, 3), np.uint16)
    write_image(tmp_path / "c.tif", data, compression=given)
    image = read_image(tmp_path / "c.tif")
    assert image.compression == read_as and np.array_equal(image.pixels, data)
    write_image(tmp_path / "d.tif", image)
    assert read_image(tmp_path / "d.tif").compression == read_as
    write_image(tmp_path / "e.tif", image, compression="none")
    assert read_image(tmp_path / "e.tif").compression is None
    with pytest.raises(ImageWriteError, match="not supported"):
        write_image(tmp_path / "f.tif", image, compression="webp")


def test_tiff_other_compression_is_not_kept(tmp_path):
    tifffile.imwrite(tmp_path / "p.tif", _gradient(8, 8), photometric="rgb", compression="packbits")
    image = read_image(tmp_path / "p.tif")
    assert image.compression == "packbits"
    notices = write_image(tmp_path / "q.tif", image)
    assert read_image(tmp_path / "q.tif").compression is None and "uncompressed" in notices[0]


def test_planar_and_big_endian_tiff(tmp_path):
    data = _random((9, 11, 3), np.uint16)
    tifffile.imwrite(tmp_path / "p.tif", data.transpose(2, 0, 1), photometric="rgb", planarconfig="separate")
    assert np.array_equal(read_image(tmp_path / "p.tif").pixels, data)
    tifffile.imwrite(tmp_path / "b.tif", data, photometric="rgb", byteorder=">")
    assert np.array_equal(read_image(tmp_path / "b.tif").pixels, data)


def test_multi_page_tiff_takes_first_page(tmp_path):
    stack = _random((3, 8, 9), np.uint8)
    tifffile.imwrite(tmp_path / "stack.tif", stack, photometric="minisblack")
    image = read_image(tmp_path / "stack.tif")
    assert np.array_equal(image.pixels[:, :, 0], stack[0])
    assert image.notices == ["The file holds 3 images; only the first was opened."]


def test_miniswhite_tiff_is_inverted(tmp_path):
    grey = _random((6, 7), np.uint16)
    tifffile.imwrite(tmp_path / "w.tif", grey, photometric="miniswhite")
    image = read_image(tmp_path / "w.tif")
    assert np.array_equal(image.pixels[:, :, 0], 65535 - grey)
    assert "MinIsWhite" in image.notices[0]


@pytest.mark.parametrize(
    ("data", "options", "words"),
    [
        (np.zeros((4, 4, 3), np.float32), {"photometric": "rgb"}, "floating-point"),
        (np.zeros((4, 4), np.uint32), {}, "32-bit integer"),
        (np.zeros((4, 4), np.int16), {}, "signed"),
        (
            np.zeros((6, 7, 5), np.uint8),
            {"photometric": "rgb", "planarconfig": "contig", "extrasamples": ["unassalpha", "unspecified"]},
            "5 channels",
        ),
    ],
)
def test_unsupported_tiffs_are_refused(tmp_path, data, options, words):
    tifffile.imwrite(tmp_path / "u.tif", data, **options)
    with pytest.raises(UnsupportedImageError, match=words):
        read_image(tmp_path / "u.tif")
    with pytest.raises(UnsupportedImageError):
        read_image_header(tmp_path / "u.tif")


# --------------------------------------------------------------------------- conversions


def test_palette_images_become_rgb(tmp_path):
    pal = Image.fromarray(_gradient(20, 30)).quantize(16)
    expected = np.asarray(pal.convert("RGB"))
    (tmp_path / "p.png").write_bytes(_pillow_bytes(pal, "PNG"))
    (tmp_path / "p.tif").write_bytes(_pillow_bytes(pal, "TIFF"))
    for name in ("p.png", "p.tif"):
        image = read_image(tmp_path / name)
        assert image.dtype == np.uint8 and image.alpha is None
        assert np.array_equal(image.pixels, expected)
        assert image.notices == ["Palette image converted to RGB."]
    (tmp_path / "t.png").write_bytes(_pillow_bytes(pal, "PNG", transparency=0))
    image = read_image(tmp_path / "t.png")
    assert image.alpha is not None and image.notices == ["Palette image converted to RGBA."]
    assert read_image_header(tmp_path / "t.png").has_alpha


def test_one_bit_images_become_8bit_grey(tmp_path):
    bits = _random((10, 13), np.uint8) > 127
    one = Image.fromarray(bits).convert("1")
    (tmp_path / "b.png").write_bytes(_pillow_bytes(one, "PNG"))
    (tmp_path / "b.tif").write_bytes(_pillow_bytes(one, "TIFF", compression="group4"))
    for name in ("b.png", "b.tif"):
        image = read_image(tmp_path / name)
        assert image.dtype == np.uint8
        assert np.array_equal(image.pixels[:, :, 0], bits.astype(np.uint8) * 255)
        assert "1-bit" in image.notices[0]


def test_cmyk_tiff_and_jpeg_become_rgb(tmp_path):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[:] = (200, 50, 20)
    cmyk = Image.fromarray(rgb).convert("CMYK")
    (tmp_path / "c.tif").write_bytes(_pillow_bytes(cmyk, "TIFF"))
    (tmp_path / "c.jpg").write_bytes(_pillow_bytes(cmyk, "JPEG", quality=100, icc_profile=SRGB))
    tif = read_image(tmp_path / "c.tif")
    assert np.array_equal(tif.pixels, rgb) and "CMYK" in tif.notices[0]
    jpg = read_image(tmp_path / "c.jpg")
    assert np.abs(jpg.pixels.astype(int) - rgb).max() <= 3
    assert jpg.icc_profile is None and "profile was dropped" in jpg.notices[0]


# --------------------------------------------------------------------------- JPEG


def test_jpeg_read_keeps_icc_and_dpi(tmp_path):
    rgb = _gradient(48, 64)
    data = _pillow_bytes(Image.fromarray(rgb), "JPEG", quality=95, icc_profile=SRGB, dpi=(300, 300))
    (tmp_path / "photo.JPG").write_bytes(data)
    image = read_image(tmp_path / "photo.JPG")
    assert image.format == "JPEG" and image.dtype == np.uint8 and image.channels == 3
    assert image.icc_profile == SRGB
    assert image.resolution == Resolution(300.0, 300.0, "inch")
    assert np.abs(image.pixels.astype(int) - rgb).mean() < 2
    info = read_image_header(tmp_path / "photo.JPG")
    assert (info.width, info.height, info.channels, info.format) == (64, 48, 3, "JPEG")


def test_format_is_told_by_content_not_name(tmp_path):
    write_image(tmp_path / "real.png", _gradient(5, 6))
    (tmp_path / "misnamed.jpg").write_bytes((tmp_path / "real.png").read_bytes())
    assert read_image(tmp_path / "misnamed.jpg").format == "PNG"


# --------------------------------------------------------------------------- bad input


def test_missing_file_directory_and_non_images(tmp_path):
    with pytest.raises(ImageReadError, match="does not exist") as info:
        read_image(tmp_path / "gone.png")
    assert type(info.value) is ImageReadError
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)
    (tmp_path / "notes.png").write_text("just some text, not pixels\n")
    with pytest.raises(ImageReadError) as info:
        read_image(tmp_path / "notes.png")
    assert str(info.value) == "notes.png is not an image Mural Studio can open (PNG, JPEG or TIFF)."
    with pytest.raises(ImageReadError, match="not an image"):
        read_image_header(tmp_path / "notes.png")
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        read_image(tmp_path / "empty.tif")


def _sample_files(tmp_path):
    """name -> bytes of small, valid files of every format and TIFF compression we check."""
    rgb16 = _random((64, 48, 3), np.uint16)
    rgb8 = _gradient(96, 128)
    files = {}
    write_image(tmp_path / "s.png", rgb16)
    files["png"] = (tmp_path / "s.png").read_bytes()
    files["jpeg"] = _pillow_bytes(Image.fromarray(rgb8), "JPEG", quality=90)
    for comp in ("none", "lzw", "zlib"):
        write_image(tmp_path / f"s_{comp}.tif", rgb16, compression=comp)
        files[f"tiff-{comp}"] = (tmp_path / f"s_{comp}.tif").read_bytes()
    return files


@pytest.mark.parametrize("kind", ["png", "jpeg", "tiff-none", "tiff-lzw", "tiff-zlib"])
def test_truncated_files_are_corrupt(tmp_path, kind):
    data = _sample_files(tmp_path)[kind]
    for cut in (len(data) // 2, len(data) - 2):
        path = tmp_path / f"cut_{cut}.img"
        path.write_bytes(data[:cut])
        with pytest.raises(CorruptImageError):
            read_image(path)


@pytest.mark.parametrize("kind", ["png", "tiff-lzw", "tiff-zlib"])
def test_overwritten_bytes_are_corrupt(tmp_path, kind):
    data = bytearray(_sample_files(tmp_path)[kind])
    middle = len(data) // 2
    data[middle : middle + 16] = b"\x55" * 16
    (tmp_path / "bad.img").write_bytes(bytes(data))
    with pytest.raises(CorruptImageError):
        read_image(tmp_path / "bad.img")


def test_jpeg_with_broken_structure_is_corrupt(tmp_path):
    data = _sample_files(tmp_path)["jpeg"]
    middle = len(data) // 2
    stray = data[:middle] + b"\xff\xd3" + data[middle + 2 :]  # restart marker without DRI
    (tmp_path / "stray.jpg").write_bytes(stray)
    with pytest.raises(CorruptImageError, match="restart marker"):
        read_image(tmp_path / "stray.jpg")
    header_cut = data[:30]
    (tmp_path / "head.jpg").write_bytes(header_cut)
    with pytest.raises(CorruptImageError):
        read_image(tmp_path / "head.jpg")


def test_too_large_for_memory(tmp_path, monkeypatch):
    files = _sample_files(tmp_path)
    monkeypatch.setattr(images, "available_memory", lambda: 2_000_000)
    for kind in ("png", "jpeg", "tiff-none"):
        (tmp_path / "big.img").write_bytes(files[kind])
        too_large = r"needs about \d+ MB of memory to open; 2 MB are available"
        with pytest.raises(ImageTooLargeError, match=too_large):
            read_image(tmp_path / "big.img")
    monkeypatch.setattr(images, "available_memory", lambda: None)
    assert read_image(tmp_path / "big.img").width == 48


def test_available_memory_is_plausible():
    available = images.available_memory()
    assert available is None or available > 0


def test_write_into_missing_directory_leaves_nothing(tmp_path):
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "missing" / "out.tif", _gradient(4, 4))
    assert list(tmp_path.iterdir()) == []


def test_write_into_read_only_directory_leaves_nothing(read_only_folder):
    folder = read_only_folder
    with pytest.raises(ImageWriteError, match="permission denied"):
        write_image(folder / "out.png", _gradient(4, 4))
    assert list(folder.iterdir()) == []


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    write_image(target, _gradient(4, 4))
    before = target.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("encoder exploded")

    monkeypatch.setattr(images.png, "write_png", broken)
    with pytest.raises(ImageWriteError, match="encoder exploded"):
        write_image(target, _gradient(8, 8))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


# --------------------------------------------------------------------------- memory


@pytest.mark.parametrize("compression", ["none", "lzw"])
def test_large_tiff_peak_memory(tmp_path, compression):
    height, width = 3000, 4000
    rgb = np.empty((height, width, 3), np.uint16)
    rgb[:] = np.arange(width, dtype=np.uint16)[None, :, None] * 16
    write_image(tmp_path / "big.tif", rgb, compression=compression)
    nbytes = rgb.nbytes
    del rgb
    tracemalloc.start()
    try:
        image = read_image(tmp_path / "big.tif")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert image.pixels.shape == (height, width, 3) and image.pixels.dtype == np.uint16
    assert image.compression == (None if compression == "none" else compression)
    assert peak < 2 * nbytes, f"peak {peak / nbytes:.2f}× the pixels"
