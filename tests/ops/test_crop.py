import numpy as np
import pytest

from muralstudio.ops.crop import Box, merge_overlapping, plan_crops, tile_box


def test_plan_crops_covers_every_region_with_margin():
    m = np.zeros((300, 400), bool)
    m[10:20, 10:20] = True
    m[200:210, 300:350] = True
    boxes = plan_crops(m, margin=8)
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
    boxes = plan_crops(m, margin=5)
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
