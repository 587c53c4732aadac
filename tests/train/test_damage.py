import itertools

import numpy as np

from muralstudio.demo.mural import make_clean_mural
from muralstudio.train.damage import CLASSES, DamageMix, SamplePool, augment, crack_photo_samples, damage_patch, synthetic_samples


def clean_patch(seed=0, size=128):
    return (make_clean_mural(size, size, seed=seed) >> 8).astype(np.uint8)


def test_damage_changes_only_the_marked_pixels_and_is_deterministic():
    clean = clean_patch()
    every = DamageMix(chance=(1.0,) * 5)
    damaged, masks = damage_patch(clean, np.random.default_rng(3), every)
    again, masks2 = damage_patch(clean, np.random.default_rng(3), every)
    assert np.array_equal(damaged, again) and np.array_equal(masks, masks2)
    assert masks.shape == (len(CLASSES), 128, 128) and masks.dtype == bool
    assert all(m.any() for m in masks)  # every class switched on appears
    union = masks.any(axis=0)
    assert np.array_equal(damaged[~union], clean[~union])
    assert np.abs(damaged[union].astype(int) - clean[union]).mean() > 3


def test_no_damage_when_every_class_is_off():
    clean = clean_patch(1)
    damaged, masks = damage_patch(clean, np.random.default_rng(0), DamageMix(chance=(0.0,) * 5))
    assert not masks.any() and np.array_equal(damaged, clean)


def test_augment_moves_image_and_labels_together():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
    labels = np.zeros((5, 16, 16), bool)
    labels[0, 2, 3] = True
    img[2, 3] = (255, 0, 0)
    for _ in range(8):
        a, b = augment(img, labels, rng)
        ys, xs = np.nonzero(b[0])
        assert tuple(a[ys[0], xs[0]]) == (255, 0, 0) and b.sum() == 1


def test_crack_photo_samples_know_only_cracks_flaking_and_loss():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)
    mask = np.zeros((40, 60), bool)
    mask[10, :] = True
    s = next(crack_photo_samples([img], [mask], 32, rng))
    assert s.image.shape == (32, 32, 3) and s.labels.shape == (5, 32, 32)
    assert list(s.known) == [c in ("crack", "flaking", "loss") for c in CLASSES]
    assert not s.labels[1:].any()


def test_pool_reuses_and_refreshes_samples():
    rng = np.random.default_rng(0)
    clean = (clean_patch(int(rng.integers(3)), 64) for _ in itertools.count())
    pool = SamplePool([(synthetic_samples(clean, rng), 1.0)], 6, rng)
    before = [id(s) for s in pool.pool]
    images, labels, known = pool.batch(4, refresh=2)
    assert images.shape == (4, 64, 64, 3) and labels.shape == (4, 5, 64, 64) and known.all()
    assert sum(a != b for a, b in zip(before, (id(s) for s in pool.pool))) == 2
