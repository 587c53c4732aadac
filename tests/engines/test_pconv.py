"""The PConv engine with tiny random networks: exact known pixels, tiling, cancel, weights."""

import functools
import hashlib
import json
import os
import threading

import numpy as np
import pytest
import torch

from muralstudio.core.candidate import apply_patches
from muralstudio.core.errors import Cancelled, EngineError, ModelError
from muralstudio.engines import InpaintRequest, ParamSpec, drive, engine_names, get_engine
from muralstudio.engines import models as models_mod
from muralstudio.engines import pconv as engine_mod
from muralstudio.engines import precision as precision_mod
from muralstudio.nets import pconv_sparse
from muralstudio.nets import weights as weights_mod
from muralstudio.nets.pconv import ARCH, PConvConfig, PConvUNet
from muralstudio.nets.weights import weights_bytes

H, W = 96, 128


def save_tiny(path, seed=0, base=4, depth=3):
    torch.manual_seed(seed)
    cfg = PConvConfig(base, depth)
    path.write_bytes(weights_bytes(ARCH, cfg.to_dict(), PConvUNet(cfg).state_dict(), {"seed": seed}))
    return path


@pytest.fixture
def weights(tmp_path):
    return save_tiny(tmp_path / "tiny.pt")


@pytest.fixture(autouse=True)
def _fresh_cache():
    models_mod.clear_cache()
    yield
    models_mod.clear_cache()


def image(dtype, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    base = np.stack([xx / W, yy / H, (xx + yy) / (H + W)], axis=2)[:, :, :channels]
    img = 0.1 + 0.8 * base + 0.05 * rng.random((H, W, channels))
    return np.rint(img * np.iinfo(dtype).max).astype(dtype)


def damage():
    m = np.zeros((H, W), bool)
    m[10:20, 12:30] = True
    m[60:64, 40:110] = True
    m[80:90, 5:9] = True
    return m


def run(img, m, **params):
    params.setdefault("device", "cpu")
    return drive(get_engine("pconv").run(InpaintRequest(img, m, params)))


def test_registered_with_its_params():
    assert "pconv" in engine_names()
    eng = get_engine("pconv")
    assert eng.label == "PConv U-Net (learned)"
    specs = {p.name: p for p in eng.params}
    assert specs["weights"].kind == "path" and specs["weights"].default == "pconv"
    assert specs["margin"].default == 64 and specs["tile"].default == 1152
    assert specs["despeckle"].kind == "bool" and specs["despeckle"].default is True
    assert not specs["device"].in_name


def test_on_off_parameters_take_words_and_refuse_anything_else():
    spec = {p.name: p for p in get_engine("pconv").params}["despeckle"]
    assert [spec.coerce(v) for v in ("on", "Yes", " 1", "true", True)] == [True] * 5
    assert [spec.coerce(v) for v in ("off", "NO", "0", "false", False)] == [False] * 5
    with pytest.raises(EngineError, match="Remove stray dots must be on or off"):
        spec.coerce("maybe")


def test_despeckle_refills_a_stray_dot_only_when_asked(monkeypatch):
    # a stand-in network that paints a flat grey fill with one dark dot in the big hole
    def fake_net(model, image, hole, dtype=None):
        out = np.full(image.shape, 0.6, np.float32)
        out[50:56, 60:66] = 0.05
        return out

    monkeypatch.setattr(engine_mod, "_run_net", fake_net)
    model = PConvUNet(PConvConfig(4, 3))
    img = np.full((96, 128, 3), 0.6, np.float32)
    hole = np.zeros((96, 128), bool)
    hole[20:90, 20:110] = True
    clean = engine_mod.restore_array(model, img, hole)
    assert np.allclose(clean[hole], 0.6, atol=0.01)
    raw = engine_mod.restore_array(model, img, hole, despeckle=False)
    assert raw[52, 62, 0] == pytest.approx(0.05)


def test_path_kind_coerces_to_stripped_text():
    assert ParamSpec("w", "W", "path", "x").coerce("  /a/b.pt ") == "/a/b.pt"


@pytest.mark.parametrize("dtype,channels", [(np.uint8, 3), (np.uint16, 3), (np.uint8, 1), (np.uint16, 1)])
def test_known_pixels_bit_identical_and_dtype_kept(weights, dtype, channels):
    img, m = image(dtype, channels), damage()
    result = run(img, m, weights=str(weights), margin=16)
    out = apply_patches(img, result.patches)
    assert out.dtype == dtype and out.shape == img.shape
    assert np.array_equal(out[~m], img[~m])
    changed = np.any(out != img, axis=2)
    assert not np.any(changed & ~m) and changed[m].mean() > 0.5
    for p in result.patches:
        assert p.pixels.dtype == dtype and p.pixels.shape[2] == channels


def test_provenance_and_params(weights, monkeypatch):
    monkeypatch.setattr(precision_mod, "native_bf16", lambda: False)
    img, m = image(np.uint8), damage()
    result = run(img, m, weights=str(weights), margin="20")
    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert result.weights_sha256 == sha
    assert result.params == {"weights": str(weights), "margin": 20, "tile": 1152, "despeckle": True, "device": "cpu",
                             "precision": "float32"}  # what ran, not 'auto'
    cand = result.to_candidate(("loss",))
    assert cand.provenance.weights_sha256 == sha and cand.provenance.engine == "pconv"
    assert cand.name == "pconv weights=tiny"
    assert cand.restored_area() == m.sum()


def test_bfloat16_keeps_known_pixels_and_fills_close_to_float32(weights):
    img, m = image(np.uint16), damage()
    outs = {}
    for precision in ("float32", "bfloat16"):
        result = run(img, m, weights=str(weights), precision=precision)
        assert result.params["precision"] == precision
        outs[precision] = apply_patches(img, result.patches)
        assert np.array_equal(outs[precision][~m], img[~m])
    diff = np.abs(outs["float32"].astype(np.int64) - outs["bfloat16"].astype(np.int64))[m]
    assert 0 < diff.mean() < 0.01 * 65535  # rounded differently, well within a percent


def test_large_region_is_tiled_and_still_correct(weights):
    img, m = image(np.uint16), np.zeros((H, W), bool)
    m[20:80, 16:116] = True
    seen = []
    result = drive(get_engine("pconv").run(InpaintRequest(img, m, {"weights": str(weights), "tile": 64,
                                                                   "margin": 8, "device": "cpu"})), seen.append)
    assert any("tile 2 of" in p.message for p in seen)
    fracs = [p.fraction for p in seen]
    assert fracs == sorted(fracs) and fracs[-1] == pytest.approx(1.0)
    out = apply_patches(img, result.patches)
    assert np.array_equal(out[~m], img[~m]) and np.all(np.any(out != img, axis=2)[m])


def test_tiles_are_padded_channels_last_and_blended_over_every_hole_pixel(monkeypatch):
    torch.manual_seed(0)
    model = PConvUNet(PConvConfig(4, 3)).eval()
    shapes = []
    forward_where = pconv_sparse.forward_where

    def recorded(model, image, *args, **kwargs):
        shapes.append((tuple(image.shape), image.is_contiguous(memory_format=torch.channels_last)))
        return forward_where(model, image, *args, **kwargs)

    monkeypatch.setattr(pconv_sparse, "forward_where", recorded)
    rng = np.random.default_rng(0)
    img = rng.random((90, 121, 3)).astype(np.float32)
    hole = np.zeros((90, 121), bool)
    hole[5:85, 3:118] = True
    out = engine_mod.restore_array(model, img, hole, tile=50)  # rounded down to 48
    assert len(shapes) > 4
    for shape, channels_last in shapes:
        assert shape[2] % 8 == 0 and shape[3] % 8 == 0 and max(shape[2:]) <= 48 and channels_last
    assert out.dtype == np.float32 and out.shape == img.shape
    assert np.array_equal(out[~hole], img[~hole])
    assert np.all((out[hole] >= 0) & (out[hole] <= 1))
    # a constant fill from every tile blends to that constant: every hole pixel is covered
    # (known rows every 6 px keep every output pixel valid for this shallow net)
    hole[::6] = False
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.up[-1].pconv.bias.fill_(-0.25)  # raw output = 0.5 - 0.25 everywhere
    flat = engine_mod.restore_array(model, img, hole, tile=48)
    np.testing.assert_allclose(flat[hole], 0.25, atol=1e-6)


def test_cancel_by_closing_mid_way(weights):
    img, m = image(np.uint8), damage()
    threads = threading.active_count()
    gen = get_engine("pconv").run(InpaintRequest(img, m, {"weights": str(weights), "margin": 8, "device": "cpu"}))
    next(gen)
    next(gen)
    gen.close()  # no exception leaks out
    assert threading.active_count() == threads
    with pytest.raises(StopIteration):
        next(gen)
    calls = iter(range(100))
    with pytest.raises(Cancelled):
        drive(get_engine("pconv").run(InpaintRequest(img, m, {"weights": str(weights), "device": "cpu"})),
              should_cancel=lambda: next(calls) >= 1)
    assert threading.active_count() == threads


def test_missing_or_bad_weights_raise_model_error(tmp_path):
    img, m = image(np.uint8), damage()
    with pytest.raises(ModelError, match="does not exist"):
        run(img, m, weights=str(tmp_path / "nope.pt"))
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(ModelError):
        run(img, m, weights=str(tmp_path / "bad.pt"))
    other = tmp_path / "feat.pt"
    other.write_bytes(weights_bytes("features", {}, {}, {}))
    with pytest.raises(ModelError, match="features"):
        run(img, m, weights=str(other))


def test_no_shipped_weights_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(weights_mod, "shipped", functools.partial(weights_mod.shipped, models_dir=tmp_path))
    gen = get_engine("pconv").run(InpaintRequest(image(np.uint8), damage(), {"device": "cpu"}))
    with pytest.raises(ModelError, match="weights file"):
        next(gen)  # before any progress is reported


def test_shipped_model_by_name(tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    data = save_tiny(models / "pconv-v1.pt").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    (models / "manifest.json").write_text(json.dumps({"models": {"pconv": {"file": "pconv-v1.pt", "sha256": sha}}}))
    monkeypatch.setattr(weights_mod, "shipped", functools.partial(weights_mod.shipped, models_dir=models))
    result = run(image(np.uint8), damage())
    assert result.weights_sha256 == sha and result.name == "pconv"


def test_model_cached_and_reloaded_when_the_file_changes(weights):
    dev = torch.device("cpu")
    a, wa = engine_mod.MODEL.get(weights, dev)
    assert engine_mod.MODEL.get(weights, dev)[0] is a
    save_tiny(weights, seed=1)
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    b, wb = engine_mod.MODEL.get(weights, dev)
    assert b is not a and wb.sha256 != wa.sha256
    assert not b.training and next(b.parameters()).dtype == torch.float32


def test_unavailable_device_is_a_model_error(weights):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ModelError, match="not available"):
        run(image(np.uint8), damage(), weights=str(weights), device="cuda")


def test_network_shape_read_with_each_fields_type(tmp_path):
    torch.manual_seed(0)
    cfg = PConvConfig(4, 3, min_valid=0.3)
    path = tmp_path / "bounded.pt"
    path.write_bytes(weights_bytes(ARCH, cfg.to_dict(), PConvUNet(cfg).state_dict(), {}))
    model, _ = engine_mod.MODEL.get(path, torch.device("cpu"))
    assert model.config == cfg  # the float bound is not truncated to an integer
    old = tmp_path / "old.pt"  # written before the bound existed: gets today's default
    old.write_bytes(weights_bytes(ARCH, {"base": 4, "depth": 3, "max_mult": 8}, PConvUNet(cfg).state_dict(), {}))
    assert engine_mod.MODEL.get(old, torch.device("cpu"))[0].config.min_valid == PConvConfig().min_valid
