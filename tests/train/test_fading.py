"""Synthetic fading and hints: what they change and where."""

import numpy as np

from muralstudio.demo.mural import make_clean_mural
from muralstudio.ops.colour import rgb_to_lab
from muralstudio.ops.hints import hint_maps
from muralstudio.train.fading import faded_sample, fade_strength, sample_hints


def _mural() -> np.ndarray:
    return (make_clean_mural(160, 128, seed=3) >> 8).astype(np.uint8)


def test_fading_changes_only_the_region_and_loses_chroma():
    rng = np.random.default_rng(0)
    rgb = _mural()
    for _ in range(5):
        s = faded_sample(rgb, rng, grey_share=0.0)
        assert s.mask.any() and not s.mask.all()
        assert np.array_equal(s.truth, rgb_to_lab(rgb))
        assert np.array_equal(s.faded[~s.mask], s.truth[~s.mask])
        chroma = lambda lab: np.hypot(lab[..., 1], lab[..., 2])[s.mask].mean()  # noqa: E731
        assert chroma(s.faded) < chroma(s.truth)
        assert np.array_equal(s.mask, s.strength > 0.15)  # the mark is where fading is more than faint


def test_grey_samples_keep_lightness_and_drop_colour():
    s = faded_sample(_mural(), np.random.default_rng(1), grey_share=1.0)
    assert s.mask.all() and np.allclose(s.faded[..., 1:], 0) and s.strength is None
    assert np.array_equal(s.faded[..., 0], s.truth[..., 0])


def test_fade_strength_covers_about_the_asked_share():
    k = fade_strength((200, 200), np.random.default_rng(2), 0.3)
    assert 0 <= k.min() and k.max() <= 1 and 0.15 < (k > 0.15).mean() < 0.4


def test_hints_lie_in_the_mask_and_carry_the_true_colour():
    rng = np.random.default_rng(3)
    s = faded_sample(_mural(), rng, grey_share=0.0)
    hints = sample_hints(s.truth, s.mask, 6, rng, jitter=0.0)
    assert len(hints) == 6 and all(s.mask[y, x] for y, x, _, _ in hints)
    ab, where = hint_maps(s.mask.shape, hints, radius=2)
    y, x, a, b = hints[-1]  # drawn last, so on top where discs overlap
    assert where[y, x] == 1 and np.allclose(ab[y, x], [a, b], atol=1e-3)
    assert where.sum() <= 6 * 13 and not ab[where == 0].any()
    assert sample_hints(s.truth, np.zeros_like(s.mask), 5, rng) == []
