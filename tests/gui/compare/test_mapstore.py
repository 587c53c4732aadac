import numpy as np
import pytest

from muralstudio.gui.compare.mapstore import MapStore, colourise, legend
from muralstudio.gui.levels import level_shape
from muralstudio.ops.compare import tile_boxes


def pooled(full: np.ndarray, level: int, take_min: bool) -> np.ndarray:
    """Direct min/max pooling of 2**level blocks (edges pool what they have)."""
    f = 1 << level
    h, w = full.shape[:2]
    lh, lw = level_shape(h, w, level)
    out = np.empty((lh, lw, full.shape[2]), full.dtype)
    op = np.min if take_min else np.max
    for i in range(lh):
        for j in range(lw):
            out[i, j] = op(full[i * f : (i + 1) * f, j * f : (j + 1) * f], axis=(0, 1))
    return out


@pytest.mark.parametrize("kind,channels", [("ssim", 1), ("diff", 1), ("edges", 2)])
def test_tiles_in_any_order_give_the_pooled_levels(kind, channels):
    rng = np.random.default_rng(0)
    shape = (45, 70)
    full = rng.integers(0, 256, shape + (channels,), dtype=np.uint8)
    store = MapStore(kind, shape, channels)
    boxes = tile_boxes(shape, 16)
    rng.shuffle(boxes)
    for y0, x0, y1, x1 in boxes:
        store.add((y0, x0, y1, x1), full[y0:y1, x0:x1] if channels > 1 else full[y0:y1, x0:x1, 0])
    assert store.done == set(boxes) and store.tiles_added == len(boxes)
    for level in range(store.levels):
        lh, lw = level_shape(*shape, level)
        expect = pooled(full, level, take_min=kind == "ssim")
        assert np.array_equal(store.region(level, (0, 0, lh, lw)), expect), level


def test_missing_tiles_show_nothing_and_sums_add_up():
    store = MapStore("ssim", (20, 20))
    assert store.region(0, (0, 0, 20, 20)).min() == 255  # not yet computed = alike = transparent
    assert colourise("ssim", store.region(0, (0, 0, 20, 20)))[..., 3].max() == 0
    store.add((0, 0, 10, 10), np.zeros((10, 10), np.uint8), sums=2)
    store.add((0, 10, 10, 20), np.zeros((10, 10), np.uint8), sums=3)
    assert store.sums == 5


def test_colours_and_legends():
    assert colourise("diff", np.zeros((2, 2, 1), np.uint8))[..., 3].max() == 0
    strong = colourise("diff", np.full((1, 1, 1), 200, np.uint8))[0, 0]
    assert strong[3] == 255 and tuple(strong[:3]) == (200, 0, 200)
    half = colourise("diff", np.full((1, 1, 1), 200, np.uint8), opacity=0.5)[0, 0]
    assert half[3] == 128
    only_a = colourise("edges", np.array([[[255, 0]]], np.uint8))[0, 0]
    only_b = colourise("edges", np.array([[[0, 255]]], np.uint8))[0, 0]
    both = colourise("edges", np.array([[[255, 255]]], np.uint8))[0, 0]
    assert tuple(only_a[:3]) == (0, 220, 255) and tuple(only_b[:3]) == (255, 60, 200)
    assert tuple(both[:3]) == (255, 255, 255) and both[3] < only_a[3] == only_b[3] == 255
    assert colourise("ssim", np.full((1, 1, 1), 250, np.uint8))[0, 0, 3] == 0  # near-identical: clear
    assert colourise("ssim", np.full((1, 1, 1), 0, np.uint8))[0, 0, 3] == 255
    for kind in ("edges", "ssim", "diff", "outline"):
        lg = legend(kind, "canny")
        assert lg.title and (lg.swatches or (lg.ramp and all(lg.ends)))
    with pytest.raises(ValueError):
        colourise("nope", np.zeros((1, 1, 1), np.uint8))
