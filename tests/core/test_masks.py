import numpy as np
import pytest
from scipy import ndimage

from muralstudio.core import masks


def disk(shape, cy, cx, r):
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def test_grow_and_shrink_are_round_and_exact():
    m = np.zeros((200, 200), bool)
    m[100, 100] = True
    grown = masks.grow(m, 10)
    assert np.array_equal(grown, disk(m.shape, 100, 100, 10))
    shrunk = masks.shrink(disk(m.shape, 100, 100, 30), 10)
    ref = ndimage.distance_transform_edt(disk(m.shape, 100, 100, 30)) > 10
    assert np.array_equal(shrunk, ref)


def test_grow_matches_reference_across_tiles(monkeypatch):
    monkeypatch.setattr(masks, "BAND", 64)  # force many tiles on a small image
    rng = np.random.default_rng(1)
    m = rng.random((300, 260)) > 0.995
    ref = ndimage.distance_transform_edt(~m) <= 7.5
    assert np.array_equal(masks.grow(m, 7.5), ref)


def test_shrink_does_not_erode_from_the_image_frame():
    m = np.zeros((50, 50), bool)
    m[:, :20] = True
    s = masks.shrink(m, 5)
    assert s[0, 0] and s[49, 0] and s[:, 14].all() and not s[:, 15].any()


def test_feather_ramps_across_the_outline():
    m = np.zeros((100, 100), bool)
    m[:, :50] = True
    a = masks.feather(m, 10)
    assert a[50, 0] == 1 and a[50, 99] == 0
    assert a[50, 49] > 0.5 > a[50, 50]
    assert np.all(np.diff(a[50]) <= 1e-6)
    assert a.dtype == np.float32


def test_smooth_rounds_jagged_outline():
    m = np.zeros((80, 80), bool)
    m[20:60, 20:60] = True
    m[20:60:2, 60] = True  # comb teeth
    s = masks.smooth(m, 4)
    assert not s[20:60, 60].all() and s[40, 40]


def test_fill_holes_all_and_by_size():
    m = np.zeros((60, 60), bool)
    m[10:50, 10:50] = True
    m[15:18, 15:18] = False  # 9 px pocket
    m[25:40, 25:40] = False  # 225 px pocket
    assert masks.fill_holes(m)[30, 30] and masks.fill_holes(m)[16, 16]
    small = masks.fill_holes(m, max_area=20)
    assert small[16, 16] and not small[30, 30]


def test_union_invert_and_regions():
    a = np.zeros((40, 40), bool)
    b = np.zeros((40, 40), bool)
    a[2:5, 2:10] = True
    b[20:30, 20:25] = True
    b[35, 35] = True
    u = masks.union([a, b])
    assert u.sum() == a.sum() + b.sum()
    assert np.array_equal(masks.invert(u), ~u)
    regs = masks.regions(u)
    assert [r.area for r in regs] == [50, 24, 1]
    assert regs[0].bbox == (20, 20, 30, 25)
    assert len(masks.regions(u, min_area=2)) == 2
    assert masks.union([], shape=(3, 3)).shape == (3, 3)
    with pytest.raises(ValueError):
        masks.union([])


def test_empty_masks_are_handled():
    e = np.zeros((30, 30), bool)
    for op in (lambda m: masks.grow(m, 3), lambda m: masks.shrink(m, 3), lambda m: masks.smooth(m, 2), masks.fill_holes):
        assert not op(e).any()
    assert masks.regions(e) == []
    assert masks.bbox(e) is None
    assert not masks.feather(e, 4).any()
