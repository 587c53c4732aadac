"""The colour-restoration engine with tiny random networks: lightness kept, known pixels
exact, hints reaching the network, tiling, whole-image masks, cancel, statistics method."""

import functools
import hashlib
import math
import subprocess
import sys
import threading

import cv2
import numpy as np
import pytest
import torch

from muralstudio.core.candidate import apply_patches
from muralstudio.core.errors import Cancelled, EngineError, ModelError
from muralstudio.core.hints import ColourHint
from muralstudio.engines import InpaintRequest, drive, engine_names, get_engine
from muralstudio.engines import colorize as engine_mod
from muralstudio.engines import colorize_scale as scale_mod
from muralstudio.engines import models as models_mod
from muralstudio.nets import weights as weights_mod
from muralstudio.nets.colorize import AB_SCALE, ARCH, ColorizeConfig, ColorizeUNet
from muralstudio.nets.weights import weights_bytes
from muralstudio.ops.colour import lab_to_rgb_in_gamut, prior_ab, rgb_to_lab
from muralstudio.ops.crop import Box

H, W = 96, 128
PRIOR = torch.stack([torch.linspace(-10, 10, 50), torch.full((50,), 12.0)], 1)  # a, b per lightness bin


def save_tiny(path, seed=0):
    """A tiny random network; its head too is random, so that it changes the colour."""
    torch.manual_seed(seed)
    cfg = ColorizeConfig(base=4, depth=2, max_width=8)
    net = ColorizeUNet(cfg)
    net.head.reset_parameters()
    net.prior.copy_(PRIOR)
    path.write_bytes(weights_bytes(ARCH, cfg.to_dict(), net.state_dict(), {"seed": seed}))
    return path


@pytest.fixture
def weights(tmp_path):
    return save_tiny(tmp_path / "tiny.pt")


@pytest.fixture(autouse=True)
def _fresh_cache():
    models_mod.clear_cache()
    yield
    models_mod.clear_cache()


def image(dtype=np.uint8, seed=0, h=H, w=W):
    """Colourful smooth paint with a little grain."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([0.5 + 0.3 * np.sin(xx / 17), 0.5 + 0.3 * np.cos(yy / 13), 0.4 + 0.2 * np.sin((xx + yy) / 23)], 2)
    img = np.clip(base + 0.03 * rng.random((h, w, 3)), 0, 1)
    return np.rint(img * np.iinfo(dtype).max).astype(dtype)


def faded(img, m, keep=0.2):
    """``img`` with its chroma inside ``m`` mostly lost (as a faded region)."""
    lab = rgb_to_lab(img)
    lab[m, 1:] *= keep
    out = img.copy()
    out[m] = np.rint(lab_to_rgb_in_gamut(lab[m]) * np.iinfo(img.dtype).max).astype(img.dtype)
    return out


def damage(h=H, w=W):
    m = np.zeros((h, w), bool)
    m[20:60, 30:90] = True
    m[70:80, 100:120] = True
    return m


def run(img, m, hints=(), seen=None, **params):
    params.setdefault("device", "cpu")
    if "weights" in params:
        params.setdefault("method", "network")
    gen = get_engine("colorize").run(InpaintRequest(img, m, params, hints=list(hints)))
    return drive(gen, seen.append if seen is not None else None)


def lightness_change(out, img, m):
    return np.abs(rgb_to_lab(out)[..., 0] - rgb_to_lab(img)[..., 0])[m]


def test_registered_with_its_params():
    assert "colorize" in engine_names()
    eng = get_engine("colorize")
    assert eng.label == "Colour restoration" and eng.takes_hints and eng.needs_rgb
    assert not get_engine("pconv").takes_hints
    specs = {p.name: p for p in eng.params}
    assert specs["method"].choices == ("network", "statistics") and specs["method"].default == "statistics"
    assert specs["weights"].kind == "path" and specs["weights"].default == "colorize"
    assert specs["margin"].default == 96 and specs["work_side"].default == 512 and specs["tile"].default == 768


@pytest.mark.parametrize("dtype,limits", [(np.uint8, (0.15, 0.6)), (np.uint16, (0.002, 0.02))])
@pytest.mark.parametrize("work_side", [1024, 64])  # full resolution, and enlarged from half size
def test_lightness_kept_known_pixels_exact_colour_changed(weights, dtype, limits, work_side):
    m = damage()
    img = faded(image(dtype), m)
    result = run(img, m, weights=str(weights), margin=24, work_side=work_side)
    out = apply_patches(img, result.patches)
    assert out.dtype == dtype and out.shape == img.shape
    assert np.array_equal(out[~m], img[~m])
    dl = lightness_change(out, img, m)
    assert dl.mean() < limits[0] and dl.max() < limits[1]
    dab = np.abs(rgb_to_lab(out)[..., 1:] - rgb_to_lab(img)[..., 1:]).max(axis=2)
    assert (dab[m] > 0.5).mean() > 0.9  # a random net does change the colour
    for p in result.patches:
        assert p.pixels.dtype == dtype and p.pixels.shape[2] == 3


def test_provenance_params_and_names(weights):
    m = damage()
    img = image()
    hints = [ColourHint(30, 40, (0.1, 0.6, 0.2), "pigment: malachite"), ColourHint(5, 5, (1, 0, 0))]
    result = run(img, m, hints=hints, weights=str(weights))
    assert result.weights_sha256 == hashlib.sha256(weights.read_bytes()).hexdigest()
    # the hint outside the marked region is not used, and not recorded
    assert result.params["hints"] == [hints[0].to_dict()]
    assert result.name == "colorize weights=tiny hints=1"
    cand = result.to_candidate(("fading",))
    assert cand.provenance.params["hints"][0]["source"] == "pigment: malachite"
    assert cand.restored_area() == m.sum()
    eng = get_engine("colorize")
    assert eng.candidate_name({"method": "network", "weights": "colorize"}) == "colorize"
    assert eng.candidate_name({"method": "network", "weights": "colorize", "hints": [{}] * 5}) == "colorize hints=5"
    assert eng.candidate_name({"method": "statistics", "weights": "colorize"}) == "colorize method=statistics"


def test_hints_reach_the_network_at_working_scale(weights):
    seen_inputs = []
    model, _ = engine_mod.MODEL.get(weights, torch.device("cpu"))
    hook = model.register_forward_pre_hook(lambda mod, args: seen_inputs.append(args[0].clone()))
    try:
        img = faded(image(), np.ones((H, W), bool))
        m = np.ones((H, W), bool)
        hint = ColourHint(40, 60, (0.05, 0.7, 0.2))
        plain = apply_patches(img, run(img, m, weights=str(weights), work_side=64).patches)
        hinted = apply_patches(img, run(img, m, hints=[hint], weights=str(weights), work_side=64).patches)
    finally:
        hook.remove()
    assert len(seen_inputs) == 2
    x = seen_inputs[1][0]  # (11, h, w) at half size: 48 x 64, a multiple of the tiny net's 8
    assert x.shape == (11, 48, 64)
    where = np.argwhere(x[10].numpy() > 0)
    assert where.size and np.allclose(where.mean(axis=0), (20, 30), atol=0.6)  # (40.5 / 2 - 0.5, 60.5 / 2 - 0.5)
    ab = rgb_to_lab(np.asarray([hint.rgb], np.float32))[0, 1:]
    np.testing.assert_allclose(x[8:10, 20, 30].numpy() * AB_SCALE, ab, rtol=1e-4)
    assert not seen_inputs[0][0, 8:].any()
    assert (x[6] == 1).all() and (x[7] == 3).all()  # the depth of a region without an edge
    # the whole image is the region: no ring around it, so the estimate is the prior's colour
    lightness = (x[0].numpy() + 1) * 50
    np.testing.assert_allclose(x[3:5].permute(1, 2, 0).numpy() * AB_SCALE, prior_ab(lightness, PRIOR.numpy()), atol=0.01)
    # the result changes near the hint, less far from it (lightness never); the hint's pull
    # reaches 24 working pixels, half this image, so the corners change a little too
    diff = np.abs(hinted.astype(int) - plain.astype(int)).max(axis=2)
    assert diff[36:45, 56:65].mean() > 3 * max(diff[:, :8].mean(), diff[88:].mean())
    assert lightness_change(hinted, img, m).max() < 0.6


def test_region_scale_and_context_follow_the_working_scale():
    m = np.zeros((1200, 3000), bool)
    m[100:120, 200:230] = True  # small: not shrunk below MIN_REGION working pixels
    m[400:1100, 1000:2800] = True  # large: processed at the image's working scale
    small, big = sorted(scale_mod.plan_jobs(m, 96, 1024), key=lambda j: j.box.area)
    assert small.scale == 1.0 and small.size == (small.box.height, small.box.width)
    assert small.box == Box(100 - 96, 200 - 96, 120 + 96, 230 + 96)
    assert big.scale == pytest.approx(1024 / 3000)
    margin = math.ceil(96 * 3000 / 1024)  # 96 working pixels
    assert big.box == Box(400 - margin, 1000 - margin, min(1200, 1100 + margin), min(3000, 2800 + margin))
    assert max(big.size) <= 1024
    mid = np.zeros((1200, 3000), bool)
    mid[0:100, 0:120] = True  # 120 px across: raised to 64 / 120 (above 1024 / 3000)
    (job,) = scale_mod.plan_jobs(mid, 96, 1024)
    assert job.scale == pytest.approx(64 / 120) and job.box == job.paste == Box(0, 0, 100 + 180, 120 + 180)


def test_whole_image_grey_photograph_is_coloured_in_tiles(weights):
    grey = image()[..., :1]
    img = np.repeat(grey, 3, axis=2)  # as the CLI hands over a grey scan
    m = np.ones((H, W), bool)
    seen = []
    result = run(img, m, seen=seen, weights=str(weights), tile=64, margin=8)
    assert any("tile 2 of" in p.message for p in seen)
    fracs = [p.fraction for p in seen]
    assert fracs == sorted(fracs) and fracs[-1] == pytest.approx(1.0)
    out = apply_patches(img, result.patches)
    assert np.hypot(*np.moveaxis(rgb_to_lab(out)[..., 1:], 2, 0)).mean() > 1.0  # colour appeared
    assert lightness_change(out, img, m).mean() < 0.15
    # untiled: same shapes and coverage, close colours (tiles only differ near their seams)
    whole = apply_patches(img, run(img, m, weights=str(weights), tile=1024, margin=8).patches)
    assert whole.shape == out.shape and whole.dtype == out.dtype
    assert np.abs(whole.astype(int) - out.astype(int)).mean() < 8
    # and at a working scale below 1, tiled there
    half = apply_patches(img, run(img, m, weights=str(weights), work_side=64, margin=8).patches)
    assert lightness_change(half, img, m).mean() < 0.15


def test_cancel_by_closing_stops_within_a_tile(weights):
    img = image()
    m = np.ones((H, W), bool)
    calls = []
    model, _ = engine_mod.MODEL.get(weights, torch.device("cpu"))
    hook = model.register_forward_pre_hook(lambda mod, args: calls.append(1))
    threads = threading.active_count()
    try:
        gen = get_engine("colorize").run(InpaintRequest(img, m, {"method": "network", "weights": str(weights), "tile": 64,
                                                                 "device": "cpu"}))
        assert next(gen).fraction == 0.0
        assert "tile 1 of" in next(gen).message
        gen.close()  # no exception leaks out
        assert len(calls) == 1 and threading.active_count() == threads
        with pytest.raises(StopIteration):
            next(gen)
        ticks = iter(range(100))
        with pytest.raises(Cancelled):
            drive(get_engine("colorize").run(InpaintRequest(img, m, {"method": "network", "weights": str(weights), "tile": 64,
                                                                     "device": "cpu"})),
                  should_cancel=lambda: next(ticks) >= 2)
        assert len(calls) == 3
    finally:
        hook.remove()


def test_grey_image_is_refused_with_advice(weights):
    grey = image()[..., :1]
    with pytest.raises(EngineError, match="convert it to RGB|Convert it to RGB"):
        next(get_engine("colorize").run(InpaintRequest(grey, damage(), {"method": "network", "weights": str(weights)})))


def test_missing_or_foreign_weights_raise_model_error(tmp_path, monkeypatch):
    img, m = image(), damage()
    with pytest.raises(ModelError, match="does not exist"):
        run(img, m, weights=str(tmp_path / "nope.pt"))
    other = tmp_path / "pconv.pt"
    other.write_bytes(weights_bytes("pconv-unet", {}, {}, {}))
    with pytest.raises(ModelError, match="pconv-unet"):
        run(img, m, weights=str(other))
    monkeypatch.setattr(weights_mod, "shipped", functools.partial(weights_mod.shipped, models_dir=tmp_path))
    gen = get_engine("colorize").run(InpaintRequest(img, m, {"device": "cpu", "method": "network"}))
    with pytest.raises(ModelError, match="weights file"):
        next(gen)  # before any progress is reported


@pytest.mark.parametrize("work_side", [1024, 64])
def test_statistics_method_needs_no_weights_and_matches_the_ring(tmp_path, monkeypatch, work_side):
    monkeypatch.setattr(weights_mod, "shipped", functools.partial(weights_mod.shipped, models_dir=tmp_path))
    rng = np.random.default_rng(3)
    lab = np.zeros((H, W, 3), np.float32)
    lab[..., 0] = 55 + rng.normal(0, 4, (H, W))
    lab[..., 1] = -20 + rng.normal(0, 3, (H, W))  # a green wall ...
    lab[..., 2] = 15 + rng.normal(0, 3, (H, W))
    clean = np.rint(lab_to_rgb_in_gamut(lab) * 255).astype(np.uint8)
    m = np.zeros((H, W), bool)
    m[30:70, 40:100] = True  # ... with a faded patch
    img = faded(clean, m, keep=0.1)
    result = run(img, m, method="statistics", work_side=work_side)
    assert result.weights_sha256 is None and result.name == "colorize method=statistics"
    out = apply_patches(img, result.patches)
    assert np.array_equal(out[~m], img[~m])
    ring = rgb_to_lab(clean)[~m][:, 1:].mean(axis=0)
    before = rgb_to_lab(img)[m][:, 1:].mean(axis=0)
    after = rgb_to_lab(out)[m][:, 1:].mean(axis=0)
    assert np.abs(before - ring).max() > 10
    assert np.abs(after - ring).max() < 1.5
    assert lightness_change(out, img, m).mean() < 0.15
    # a hint of another colour pulls the colour around it, with either method
    hint = ColourHint(50, 70, (0.75, 0.35, 0.3), "pigment: red ochre")
    hinted = run(img, m, hints=[hint], method="statistics", work_side=work_side)
    assert hinted.name == "colorize method=statistics hints=1" and hinted.params["hints"] == [hint.to_dict()]
    out2 = apply_patches(img, hinted.patches)
    assert np.array_equal(out2[~m], img[~m])
    red = rgb_to_lab(np.asarray([hint.rgb], np.float32))[0, 1]
    at = lambda o: rgb_to_lab(o)[46:55, 66:75, 1].mean()  # noqa: E731
    assert at(out2) > at(out) + 0.3 * (red - at(out))
    corner = lambda o: rgb_to_lab(o)[30:34, 40:44, 1].mean()  # noqa: E731  (a region corner, 40 px away)
    assert corner(out2) - corner(out) < 0.5 * (at(out2) - at(out))
    assert lightness_change(out2, img, m).mean() < 0.15


def test_upsample_matches_bilinear_resize_and_bands_agree():
    rng = np.random.default_rng(0)
    small = rng.random((12, 17, 2)).astype(np.float32)
    full = scale_mod.upsample(small, 0, 0, 48, 68, 12 / 48, 17 / 68)
    ref = cv2.resize(small, (68, 48), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(full, ref, atol=1e-5)
    part = scale_mod.upsample(small, 10, 20, 7, 9, 12 / 48, 17 / 68)
    np.testing.assert_allclose(part, full[10:17, 20:29], atol=1e-6)


def test_full_resolution_finish_follows_lightness_edges_and_bands_do_not_show(monkeypatch):
    h, w = 64, 96
    lab = np.zeros((h, w, 3), np.float32)
    lab[..., 0] = 40
    lab[:, 50:, 0] = 70  # a lightness edge at column 50 ...
    pixels = np.rint(lab_to_rgb_in_gamut(lab) * 65535).astype(np.uint16)
    job = scale_mod.Job(Box(0, 0, h, w), Box(0, 0, h, w), 0.25, (16, 24))
    delta = np.zeros((16, 24, 2), np.float32)
    delta[:, 12:, 0] = 30.0  # ... and a colour change that starts at working column 12 (column 48 - 50)
    region = np.ones((16, 24), bool)
    hole = np.ones((h, w), bool)

    def finish():
        gen = scale_mod.finish(pixels, hole, delta, region, job)
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                return stop.value

    out = finish()
    a = rgb_to_lab(out)[..., 1]
    # the colour change sits on the lightness edge: a step there, and little of it before
    # (enlarged bilinearly alone, it would ramp up over columns 46 to 49, reaching 26 there)
    assert (a[:, 50] - a[:, 49]).min() > 20 and a[:, 50:58].min() > 27.0
    assert a[:, 44:50].max() < 10.0 and np.abs(a[:, :40]).max() < 3.0
    np.testing.assert_allclose(rgb_to_lab(out)[..., 0], lab[..., 0], atol=0.01)
    monkeypatch.setattr(scale_mod, "BAND_PIXELS", 16 * 32)  # bands of 16 rows
    banded = finish()
    assert np.abs(banded.astype(int) - out.astype(int)).max() <= 2


def test_listing_engines_does_not_import_torch():
    code = "import sys, muralstudio.engines as e; assert 'colorize' in e.engine_names(); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
