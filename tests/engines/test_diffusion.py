"""The diffusion engine with tiny random networks: candidates and seeds, exact known pixels,
multi-scale, guides, previews, cancel within one step, weights."""

import hashlib

import numpy as np
import pytest
import torch

from muralstudio.core.candidate import apply_patches
from muralstudio.core.errors import Cancelled, ModelError
from muralstudio.engines import InpaintRequest, drive, engine_names, get_engine
from muralstudio.engines import diffusion as engine_mod
from muralstudio.engines import models as models_mod
from muralstudio.engines import precision
from muralstudio.nets.diffusion import ARCH, DenoiserUNet, DiffusionConfig
from muralstudio.nets.weights import manifest, weights_bytes

H, W = 80, 96
TINY = DiffusionConfig(base=8, depth=2, max_width=16, time_dim=16)


def save_tiny(path, seed=0):
    torch.manual_seed(seed)
    path.write_bytes(weights_bytes(ARCH, TINY.to_dict(), DenoiserUNet(TINY).state_dict(), {"seed": seed}))
    return path


@pytest.fixture
def weights(tmp_path):
    return save_tiny(tmp_path / "tiny.pt")


@pytest.fixture(autouse=True)
def _fresh_cache():
    models_mod.clear_cache()
    yield
    models_mod.clear_cache()


def image(dtype=np.uint8, channels=3):
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.stack([xx / W, yy / H, (xx + yy) / (H + W)], axis=2)[:, :, :channels]
    return np.rint((0.1 + 0.8 * base) * np.iinfo(dtype).max).astype(dtype)


def damage():
    m = np.zeros((H, W), bool)
    m[20:50, 30:60] = True
    return m


def run(img, m, weights, lines=None, on_progress=None, **params):
    params = {"weights": str(weights), "device": "cpu", "steps": 3, "candidates": 1, **params}
    return drive(get_engine("diffusion").run(InpaintRequest(img, m, params, guide=lines)), on_progress)


def test_registered_with_its_params():
    assert "diffusion" in engine_names()
    eng = get_engine("diffusion")
    specs = {p.name: p for p in eng.params}
    assert eng.takes_guide and not eng.takes_hints
    assert specs["candidates"].default == 3 and specs["steps"].default == 20 and specs["scales"].default == 2
    assert specs["weights"].default == "diffusion" and specs["strength"].default == 0.5
    assert specs["detail"].default == 0.88 and specs["anchor"].default == 0.8
    assert specs["anchor_weights"].default == "pconv" and specs["precision"].default == "auto"


def test_detail_balance_changes_only_the_hole_towards_the_surroundings_texture(weights):
    rng = np.random.default_rng(3)
    img = np.clip(image().astype(np.int16) + rng.integers(-40, 41, (H, W, 3)), 0, 255).astype(np.uint8)
    m = damage()
    flat, crisp = (apply_patches(img, run(img, m, weights, detail=d).patches) for d in (0.0, 1.0))
    assert np.array_equal(flat[~m], img[~m]) and np.array_equal(crisp[~m], img[~m])

    def grain(x):
        return float(np.abs(np.diff(x.astype(np.float32), axis=1))[m[:, 1:] & m[:, :-1]].mean())

    ring = float(np.abs(np.diff(img.astype(np.float32), axis=1))[~m[:, 1:] & ~m[:, :-1]].mean())
    # a random network's fill is far harsher than the paint; balanced, its grain nears the ring's
    assert abs(grain(crisp) - ring) < 0.5 * abs(grain(flat) - ring)


def test_damage_left_unrestored_stays_out_of_the_detail_balance(weights, monkeypatch):
    seen = []
    balance = engine_mod.balance_detail

    def recorded(image, hole, amount, **kwargs):
        seen.append((hole.copy(), kwargs.get("unrestored")))
        return balance(image, hole, amount, **kwargs)

    monkeypatch.setattr(engine_mod, "balance_detail", recorded)
    img, m = image(), damage()
    crack = np.zeros_like(m)
    crack[10:60, 25] = True
    drive(get_engine("diffusion").run(InpaintRequest(img, m, {"weights": str(weights), "device": "cpu", "steps": 3,
                                                             "candidates": 1}, damage=m | crack)))
    run(img, m, weights)  # a request without the damage map
    (hole, unrestored), (_, none) = seen
    assert np.array_equal(unrestored, crack)  # the one region's crop, with its margin, is the whole image
    assert none is None


def test_anchor_draws_broad_colour_towards_pconv_and_keeps_each_candidates_detail(weights, monkeypatch):
    from muralstudio.engines import pconv
    from muralstudio.ops.texture import _blur

    img, m = image(), damage()
    base = apply_patches(img, drive(get_engine("pconv").run(InpaintRequest(img, m, {"device": "cpu"}))).patches)
    own = run(img, m, weights, anchor=0.0, detail=0.0, candidates=2)
    tied = run(img, m, weights, anchor=1.0, detail=0.0, candidates=2)
    own0, tied0, tied1 = (apply_patches(img, r.patches).astype(np.float32) / 255
                          for r in (own, *tied.all_results()))
    hole = m.copy()
    hole[:, :] = False
    hole[26:44, 36:54] = True  # away from the clipping at the hole's edge

    def low(x):
        return _blur(x, engine_mod.ANCHOR_SIGMA)[hole]

    assert own.other_weights == {} and set(tied.other_weights) == {"anchor"}  # the PConv weights used, recorded
    assert tied.other_weights["anchor"] == manifest()["models"]["pconv"]["sha256"]
    assert tied.to_candidate().provenance.other_weights == tied.other_weights
    b = base.astype(np.float32) / 255
    assert np.abs(low(tied0) - low(b)).mean() < 0.3 * np.abs(low(own0) - low(b)).mean()
    assert not np.array_equal(tied0, tied1)  # candidates still differ in their detail

    def high(x):
        return (x - _blur(x, engine_mod.ANCHOR_SIGMA))[hole]

    assert np.abs(high(tied0) - high(own0)).mean() < 0.2 * np.abs(high(own0)).mean()

    def refuse(*a):
        raise AssertionError("PConv does not run when the anchor is 0")

    monkeypatch.setattr(pconv, "restore_tiles", refuse)
    again = run(img, m, weights, anchor=0.0, detail=0.0, candidates=1)
    assert np.array_equal(apply_patches(img, again.patches), apply_patches(img, own.patches))


@pytest.mark.parametrize("dtype,channels", [(np.uint8, 3), (np.uint16, 3), (np.uint16, 1)])
def test_known_pixels_bit_identical_and_dtype_kept(weights, dtype, channels):
    img, m = image(dtype, channels), damage()
    out = apply_patches(img, run(img, m, weights).patches)
    assert out.dtype == dtype and out.shape == img.shape
    assert np.array_equal(out[~m], img[~m])
    assert np.any(out != img, axis=2)[m].mean() > 0.5


def test_candidates_come_from_consecutive_seeds_and_a_seed_reproduces_its_candidate(weights):
    img, m = image(), damage()
    result = run(img, m, weights, candidates=3, seed=7)
    cands = result.all_results()
    assert [c.seed for c in cands] == [7, 8, 9]
    assert [c.name for c in cands] == [
        f"diffusion weights=tiny steps=3 scales=2 strength=0.5 anchor=0.8 detail=0.88 guide=drawn seed={s}" for s in (7, 8, 9)]
    outs = [apply_patches(img, c.patches) for c in cands]
    assert not np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[1], outs[2])
    again = drive(get_engine("diffusion").run(InpaintRequest(img, m, cands[1].params)))  # a candidate's own parameters make it again
    assert cands[1].params["seed"] == 8 and cands[1].params["candidates"] == 1
    assert np.array_equal(apply_patches(img, again.patches), outs[1])
    assert result.weights_sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()


def test_progress_per_step_with_previews_across_scales(weights):
    img = np.repeat(np.repeat(image(), 4, axis=0), 4, axis=1)  # 320 × 384
    m = np.zeros(img.shape[:2], bool)
    m[60:260, 80:300] = True
    seen = []
    run(img, m, weights, on_progress=seen.append, steps=4, scales=2, size=128, margin=16, candidates=2, strength=1.0)
    steps = [p for p in seen if p.preview is not None]
    assert len(steps) == 2 * (4 + 2)  # per candidate: 4 coarse steps, then half as many finer
    assert steps[0].preview.dtype == np.uint8 and steps[0].preview.shape[2] == 3
    assert max(p.preview.shape[1] for p in steps) > steps[0].preview.shape[1]  # the finer scale is larger
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


def test_each_region_is_estimated_once_and_every_candidate_covers_every_region(weights, monkeypatch):
    img = image()
    m = np.zeros((H, W), bool)
    m[5:15, 5:20] = m[55:75, 60:90] = True  # two regions far apart
    estimated = []
    real = engine_mod.pconv.restore_tiles

    def counting(net, rgb, hole, *a, **k):
        estimated.append(hole.shape)
        return (yield from real(net, rgb, hole, *a, **k))

    monkeypatch.setattr(engine_mod.pconv, "restore_tiles", counting)
    seen = []
    result = run(img, m, weights, on_progress=seen.append, candidates=3, margin=4)
    assert len(estimated) == 2  # PConv's estimate made once per region, shared by the candidates
    for cand in result.all_results():
        out = apply_patches(img, cand.patches)
        assert len(cand.patches) == 2 and np.array_equal(out[~m], img[~m]) and np.any(out != img, axis=2)[m].all()
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


@pytest.fixture
def evaluations(monkeypatch):
    """A list that grows by one at every evaluation of the denoiser."""
    calls = []
    real_forward = DenoiserUNet.forward
    monkeypatch.setattr(DenoiserUNet, "forward", lambda self, *a: (calls.append(1), real_forward(self, *a))[1])
    return calls


def test_cancel_stops_within_one_step(weights, evaluations):
    calls = evaluations
    seen = []
    with pytest.raises(Cancelled):
        drive(get_engine("diffusion").run(InpaintRequest(image(), damage(), {
            "weights": str(weights), "device": "cpu", "steps": 50, "candidates": 4})),
            seen.append, should_cancel=lambda: sum(p.preview is not None for p in seen) >= 3)
    assert len(calls) == 3  # each progress with a preview follows one evaluation


def test_cancel_while_pconv_estimates_the_anchor_stops_before_sampling(weights, evaluations):
    calls = evaluations
    seen = []
    with pytest.raises(Cancelled):
        drive(get_engine("diffusion").run(InpaintRequest(image(), damage(), {"weights": str(weights), "device": "cpu"})),
              seen.append, should_cancel=lambda: any("PConv estimate" in p.message for p in seen))
    assert not calls


def test_guide_lines_change_the_fill_only_when_used(weights):
    img, m = image(), damage()
    guide = np.zeros_like(m)
    guide[35, 25:65] = True
    plain = apply_patches(img, run(img, m, weights).patches)
    guided = apply_patches(img, run(img, m, weights, guide).patches)
    ignored = apply_patches(img, run(img, m, weights, guide, guide="none").patches)
    assert not np.array_equal(plain, guided)
    assert np.array_equal(plain, ignored)
    found = apply_patches(img, run(img, m, weights, guide="drawn+found").patches)
    assert found.shape == img.shape


def test_missing_shipped_weights_ask_for_a_file(monkeypatch):
    monkeypatch.setattr(engine_mod, "SHIPPED", "no-such-model")
    with pytest.raises(ModelError, match="diffusion engine needs trained weights"):
        engine_mod.MODEL.resolve("no-such-model")


def test_wrong_architecture_is_refused(tmp_path):
    from muralstudio.nets.pconv import ARCH as PCONV_ARCH, PConvConfig, PConvUNet

    path = tmp_path / "pconv.pt"
    cfg = PConvConfig(4, 3)
    path.write_bytes(weights_bytes(PCONV_ARCH, cfg.to_dict(), PConvUNet(cfg).state_dict(), {}))
    with pytest.raises(ModelError):
        run(image(), damage(), path)


def test_precision_is_recorded_reproduces_and_keeps_known_pixels(weights, monkeypatch):
    monkeypatch.setattr(precision, "native_bf16", lambda: False)
    img, m = image(np.uint16), damage()
    f32 = run(img, m, weights)
    bf16 = run(img, m, weights, precision="bfloat16")
    assert f32.params["precision"] == "float32" and bf16.params["precision"] == "bfloat16"  # what ran
    a, b = apply_patches(img, f32.patches), apply_patches(img, bf16.patches)
    assert np.array_equal(a[~m], img[~m]) and np.array_equal(b[~m], img[~m])
    assert 0 < np.abs(a.astype(np.int64) - b)[m].mean() < 0.02 * 65535
    again = drive(get_engine("diffusion").run(InpaintRequest(img, m, bf16.params)))
    assert np.array_equal(apply_patches(img, again.patches), b)
