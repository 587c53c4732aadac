import numpy as np

from muralstudio.ops.select import magic_wand, to_uint8


def test_wand_takes_the_connected_similar_region():
    img = np.zeros((40, 40, 3), np.uint8)
    img[:, :20] = (200, 100, 50)
    img[5:10, 30:35] = (200, 100, 50)  # same colour, not connected
    img[:, :20] += np.random.default_rng(0).integers(0, 6, (40, 20, 3)).astype(np.uint8)
    m = magic_wand(img, 5, 5, tolerance=8)
    assert m[:, :20].all() and not m[:, 20:].any()
    m_all = magic_wand(img, 5, 5, tolerance=8, contiguous=False)
    assert m_all[5:10, 30:35].all()
    assert magic_wand(img, 5, 5, tolerance=0).sum() < m.sum()


def test_wand_on_16bit_and_grey_and_outside():
    img16 = np.zeros((10, 10, 1), np.uint16)
    img16[:, :5] = 40000
    m = magic_wand(to_uint8(img16), 1, 1, tolerance=3)
    assert m[:, :5].all() and not m[:, 5:].any()
    assert not magic_wand(to_uint8(img16), 50, 1, tolerance=3).any()
