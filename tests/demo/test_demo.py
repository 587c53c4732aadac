import time

import numpy as np
import pytest

from muralstudio.demo import CLASSES, DemoMural, apply_damage, make_clean_mural, make_demo_mural

W, H = 512, 384
RESTORABLE = ("crack", "flaking", "loss")


@pytest.fixture(scope="module")
def demo() -> DemoMural:
    return make_demo_mural(W, H, seed=0)


def restorable(masks):
    return masks["crack"] | masks["flaking"] | masks["loss"]


def union(masks):
    out = np.zeros(next(iter(masks.values())).shape, bool)
    for m in masks.values():
        out |= m
    return out


def test_shapes_and_dtypes(demo):
    assert demo.clean.shape == demo.damaged.shape == (H, W, 3)
    assert demo.clean.dtype == demo.damaged.dtype == np.uint16
    assert tuple(demo.masks) == CLASSES
    for m in demo.masks.values():
        assert m.shape == (H, W) and m.dtype == bool


def test_same_seed_same_arrays_other_seed_differs(demo):
    again = make_demo_mural(W, H, seed=0)
    assert np.array_equal(again.clean, demo.clean)
    assert np.array_equal(again.damaged, demo.damaged)
    for k in CLASSES:
        assert np.array_equal(again.masks[k], demo.masks[k])
    other = make_demo_mural(W, H, seed=1)
    assert not np.array_equal(other.clean, demo.clean)
    assert not np.array_equal(other.damaged, demo.damaged)
    assert any(not np.array_equal(other.masks[k], demo.masks[k]) for k in CLASSES)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_every_class_present_and_restorable_coverage_in_range(seed):
    clean = make_clean_mural(W, H, seed)
    _, masks = apply_damage(clean, seed)
    for k in CLASSES:
        assert masks[k].any(), k
    cover = restorable(masks).mean()
    assert 0.03 <= cover <= 0.08, cover
    assert masks["loss"].mean() < 0.05


def test_damaged_equals_clean_outside_the_masks(demo):
    outside = ~union(demo.masks)
    assert outside.mean() > 0.5
    assert np.array_equal(demo.damaged[outside], demo.clean[outside])


def test_masks_mark_real_changes(demo):
    changed = np.any(demo.damaged != demo.clean, axis=2)
    for k in RESTORABLE:  # holes: nearly every marked pixel is altered
        assert changed[demo.masks[k]].mean() > 0.9, k
    for k in ("stain", "fading"):  # altered colour, weaker at the mask's edge
        assert changed[demo.masks[k]].mean() > 0.5, k


def test_losses_and_flakes_differ_strongly_from_the_paint(demo):
    diff = np.abs(demo.damaged.astype(np.int32) - demo.clean.astype(np.int32)).max(axis=2)
    assert np.median(diff[demo.masks["loss"]]) > 3000
    assert np.median(diff[demo.masks["flaking"]]) > 3000


def test_full_16_bit_range_with_sub_8_bit_detail(demo):
    for img in (demo.clean, demo.damaged):
        assert int(img.max()) - int(img.min()) > 40000
        assert (img % 257 != 0).mean() > 0.9
        assert len(np.unique(img[..., 1])) > 2000  # far more levels than 8 bits can hold


def test_clean_mural_is_a_coloured_painting_not_noise(demo):
    img = demo.clean.astype(np.float32) / 65535
    sat = img.max(axis=2) - img.min(axis=2)
    assert sat.mean() > 0.12  # mineral pigments, not grey
    assert (img.mean(axis=2) < 0.25).mean() > 0.003  # dark ink lines exist
    r, g, b = (img[..., i].mean() for i in range(3))
    assert r > g > b  # warm ochre/earth ground dominates


def test_switching_a_class_off_empties_its_mask():
    clean = make_clean_mural(256, 192, 0)
    damaged, masks = apply_damage(clean, 0, crack_density=0, flaking=0, losses=0, stains=0, fading=0)
    assert np.array_equal(damaged, clean)
    assert not any(m.any() for m in masks.values())
    _, masks = apply_damage(clean, 0, crack_density=0)
    assert not masks["crack"].any() and masks["loss"].any()


def test_more_damage_when_asked():
    clean = make_clean_mural(W, H, 0)
    _, base = apply_damage(clean, 0)
    _, more = apply_damage(clean, 0, crack_density=2.0, flaking=2.0)
    assert more["crack"].sum() > base["crack"].sum()
    assert more["flaking"].sum() > base["flaking"].sum()


@pytest.mark.parametrize("size", [(300, 500), (640, 240), (96, 64)])
def test_other_sizes_and_aspects(size):
    w, h = size
    d = make_demo_mural(w, h, seed=5)
    assert d.clean.shape == d.damaged.shape == (h, w, 3)
    assert all(m.shape == (h, w) for m in d.masks.values())
    assert np.array_equal(d.damaged[~union(d.masks)], d.clean[~union(d.masks)])


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        apply_damage(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError):
        apply_damage(np.zeros((10, 10), np.uint16))
    with pytest.raises(ValueError):
        make_clean_mural(8, 8)


def test_fast_at_small_size():
    t = time.perf_counter()
    make_demo_mural(W, H, seed=3)
    assert time.perf_counter() - t < 4.0


@pytest.mark.slow
def test_default_size_under_ten_seconds():
    t = time.perf_counter()
    d = make_demo_mural()
    assert time.perf_counter() - t < 10.0
    assert d.clean.shape == (1536, 2048, 3)
    assert 0.03 <= restorable(d.masks).mean() <= 0.08
