import numpy as np
import pytest

from muralstudio.ops.crop import Box, merge_overlapping, network_tiles, plan_crops, region_boxes, tile_box


def test_plan_crops_covers_every_region_with_margin():
    m = np.zeros((300, 400), bool)
    m[10:20, 10:20] = True
    m[200:210, 300:350] = True
    boxes = region_boxes(m, margin=8)
    assert boxes == [Box(2, 2, 28, 28), Box(192, 292, 218, 358)]
    covered = np.zeros_like(m)
    for b in boxes:
        covered[b.slices] = True
    assert covered[m].all()


def test_margin_is_clipped_and_overlapping_boxes_merge():
    m = np.zeros((100, 100), bool)
    m[0:3, 0:3] = True
    m[10:12, 10:12] = True  # within 2×margin of the first region → merged
    m[90:95, 90:95] = True
    boxes = region_boxes(m, margin=5)
    assert boxes == [Box(0, 0, 17, 17), Box(85, 85, 100, 100)]


def test_merge_is_transitive_and_leaves_no_overlap():
    rng = np.random.default_rng(3)
    boxes = [Box(int(y), int(x), int(y) + 30, int(x) + 30) for y, x in rng.integers(0, 600, (300, 2))]
    merged = merge_overlapping(boxes)
    for i, a in enumerate(merged):
        for b in merged[i + 1 :]:
            assert not (a.y0 < b.y1 and b.y0 < a.y1 and a.x0 < b.x1 and b.x0 < a.x1)
    for b in boxes:  # every input box lies inside some merged box
        assert any(m.y0 <= b.y0 and m.x0 <= b.x0 and m.y1 >= b.y1 and m.x1 >= b.x1 for m in merged)


def test_empty_mask_plans_nothing():
    assert plan_crops(np.zeros((10, 10), bool), 4) == []
    assert merge_overlapping([]) == []


def test_tile_box_covers_with_overlap():
    box = Box(10, 20, 10 + 1000, 20 + 700)
    tiles = tile_box(box, 256, 32)
    cover = np.zeros((1000, 700), int)
    for t in tiles:
        assert t.height <= 256 and t.width <= 256
        cover[t.y0 - 10 : t.y1 - 10, t.x0 - 20 : t.x1 - 20] += 1
    assert cover.min() >= 1
    assert tile_box(Box(0, 0, 100, 100), 256, 32) == [Box(0, 0, 100, 100)]
    with pytest.raises(ValueError):
        tile_box(box, 32, 32)


def long_cracks(shape, n, seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    m = np.zeros(shape, np.uint8)
    for _ in range(n):
        angle = np.cumsum(rng.normal(0, 0.2, 300)) + rng.random() * 2 * np.pi
        steps = 5 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        pts = np.cumsum(steps, axis=0) + rng.integers(0, min(shape), 2)
        cv2.polylines(m, [pts.astype(np.int32)], False, 1, 2)
    return m > 0


def test_plan_crops_owns_every_damaged_pixel_exactly_once():
    m = long_cracks((2000, 2400), 12)
    crops = plan_crops(m, margin=16, cell=256)
    owned = np.zeros(m.shape, np.int32)
    for c in crops:
        p = c.paste
        owned[p.slices] += m[p.slices]
        b = c.box  # the box gives the margin around everything it owns
        ys, xs = np.nonzero(m[p.slices])
        if ys.size:
            assert b.y0 <= max(0, p.y0 + ys.min() - 16) and b.y1 >= min(m.shape[0], p.y0 + ys.max() + 17)
            assert b.x0 <= max(0, p.x0 + xs.min() - 16) and b.x1 >= min(m.shape[1], p.x0 + xs.max() + 17)
    assert np.array_equal(owned, m.astype(np.int32))


def test_sparse_long_cracks_are_split_so_crops_cover_less_than_their_bounding_box():
    m = long_cracks((3000, 3000), 6, seed=2)
    crops = plan_crops(m, margin=16, cell=256)
    merged = region_boxes(m, 16)
    assert sum(c.box.area for c in crops) < 0.7 * sum(b.area for b in merged)
    dense = np.zeros((600, 600), bool)
    dense[100:400, 100:400] = True  # compact damage stays one crop
    assert [c.box for c in plan_crops(dense, 16, cell=128)] == [Box(84, 84, 416, 416)]


def test_network_tiles_are_multiples_and_cover_the_array():
    tiles, overlap = network_tiles(300, 500, 200, 32)
    assert overlap == 64
    cover = np.zeros((300, 500), int)
    for t in tiles:
        assert t.height <= 192 and t.width <= 192
        assert t.y1 == 300 or t.height == 192  # full tiles are multiples of 32
        cover[t.slices] += 1
    assert cover.min() >= 1
    assert network_tiles(40, 40, 50, 32) == ([Box(0, 0, 32, 32), Box(0, 8, 32, 40), Box(8, 0, 40, 32), Box(8, 8, 40, 40)], 16)
