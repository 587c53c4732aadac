import io

import numpy as np
import pytest
import tifffile
from PIL import Image

from muralstudio.core.errors import (
    CorruptImageError,
    ImageReadError,
    ImageWriteError,
    MaskMismatchError,
)
from muralstudio.io.images import read_image, read_image_header, write_image
from muralstudio.io.masks import read_mask, write_mask


def test_grey_thresholds_8_and_16_bit(tmp_path):
    write_image(tmp_path / "m8.png", np.array([[0, 127, 128, 255]], np.uint8))
    assert read_mask(tmp_path / "m8.png").tolist() == [[False, False, True, True]]
    tifffile.imwrite(tmp_path / "m16.tif", np.array([[0, 32767, 32768, 65535]], np.uint16))
    mask = read_mask(tmp_path / "m16.tif", shape=(1, 4))
    assert mask.dtype == bool and mask.tolist() == [[False, False, True, True]]


def test_rgb_mask_uses_brightest_channel(tmp_path):
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0] = (0, 200, 0)
    rgb[1, 2] = (100, 100, 100)
    rgb[0, 2] = (10, 10, 130)
    write_image(tmp_path / "rgb.png", rgb)
    assert read_mask(tmp_path / "rgb.png").tolist() == [[True, False, True], [False, False, False]]


def test_mask_drawn_in_alpha(tmp_path):
    alpha = np.array([[0, 255], [200, 10]], np.uint8)
    write_image(tmp_path / "a.png", np.zeros((2, 2, 3), np.uint8), alpha=alpha)
    assert read_mask(tmp_path / "a.png").tolist() == [[False, True], [True, False]]
    # colour that varies wins over alpha
    grey = np.array([[255, 0], [0, 0]], np.uint8)
    write_image(tmp_path / "b.png", grey, alpha=alpha)
    assert read_mask(tmp_path / "b.png").tolist() == [[True, False], [False, False]]


def test_one_bit_and_palette_masks(tmp_path):
    bits = np.array([[True, False, True], [False, False, True]])
    for name, im in [
        ("bits.png", Image.fromarray(bits).convert("1")),
        ("palette.png", Image.fromarray(bits.astype(np.uint8) * 255).convert("P")),
        ("palette.tif", Image.fromarray(bits.astype(np.uint8) * 255).convert("P")),
    ]:
        buf = io.BytesIO()
        im.save(buf, format="PNG" if name.endswith("png") else "TIFF")
        (tmp_path / name).write_bytes(buf.getvalue())
        assert np.array_equal(read_mask(tmp_path / name), bits), name


def test_size_mismatch(tmp_path):
    write_mask(tmp_path / "crack.png", np.zeros((12, 16), bool))
    with pytest.raises(MaskMismatchError) as info:
        read_mask(tmp_path / "crack.png", shape=(24, 32))
    assert str(info.value) == "The mask crack.png is 16 × 12 but the image is 32 × 24."
    assert read_mask(tmp_path / "crack.png", shape=(12, 16)).shape == (12, 16)


@pytest.mark.parametrize("ext", ["png", "tif", "tiff"])
def test_write_mask_round_trip(tmp_path, ext):
    mask = np.random.default_rng(1).random((33, 21)) > 0.7
    write_mask(tmp_path / f"mask.{ext}", mask)
    info = read_image_header(tmp_path / f"mask.{ext}")
    assert (info.channels, info.dtype, info.has_alpha) == (1, np.dtype(np.uint8), False)
    assert set(np.unique(read_image(tmp_path / f"mask.{ext}").pixels)) <= {0, 255}
    assert np.array_equal(read_mask(tmp_path / f"mask.{ext}", shape=(33, 21)), mask)
    write_mask(tmp_path / f"mask.{ext}", np.where(mask, 7, 0))  # non-zero is damage; overwrite
    assert np.array_equal(read_mask(tmp_path / f"mask.{ext}"), mask)
    assert [p.name for p in tmp_path.iterdir()] == [f"mask.{ext}"]


def test_write_mask_errors(tmp_path):
    with pytest.raises(ImageWriteError, match="PNG or TIFF"):
        write_mask(tmp_path / "mask.jpg", np.zeros((2, 2), bool))
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_mask(tmp_path / "no" / "mask.png", np.zeros((2, 2), bool))
    assert list(tmp_path.iterdir()) == []


def test_read_mask_errors(tmp_path):
    with pytest.raises(ImageReadError, match="does not exist"):
        read_mask(tmp_path / "missing.png")
    (tmp_path / "text.png").write_text("not a mask")
    with pytest.raises(ImageReadError, match="not an image"):
        read_mask(tmp_path / "text.png")
    write_mask(tmp_path / "m.png", np.ones((40, 40), bool))
    data = (tmp_path / "m.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptImageError):
        read_mask(tmp_path / "cut.png")
