import cv2
import numpy as np
import pytest

from muralstudio.core.candidate import apply_patches
from muralstudio.core.errors import Cancelled, EngineError, MaskMismatchError
from muralstudio.engines import InpaintRequest, Progress, drive, engine_names, get_engine


def smooth_image(h, w, dtype, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.random((h, w, channels)).astype(np.float32), (0, 0), 12)
    img = (img - img.min()) / (img.max() - img.min())
    if img.ndim == 2:
        img = img[:, :, None]
    return np.rint(img * np.iinfo(dtype).max).astype(dtype)


def damage(h, w, seed=1, n=25):
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), bool)
    for _ in range(n):
        y, x = rng.integers(0, h - 30), rng.integers(0, w - 30)
        m[y : y + rng.integers(1, 25), x : x + rng.integers(1, 25)] = True
    return m


@pytest.mark.parametrize("engine", ["telea", "ns"])
@pytest.mark.parametrize("dtype,channels", [(np.uint8, 3), (np.uint16, 3), (np.uint8, 1), (np.uint16, 1)])
def test_known_pixels_come_back_bit_identical(engine, dtype, channels):
    img = smooth_image(256, 320, dtype, channels)
    m = damage(256, 320)
    result = drive(get_engine(engine).run(InpaintRequest(img, m)))
    out = apply_patches(img, result.patches)
    assert out.dtype == dtype and out.shape == img.shape
    assert np.array_equal(out[~m], img[~m])
    assert not np.array_equal(out[m], img[m])
    err = np.abs(out[m].astype(float) - img[m]).mean()
    flat = np.abs(img[~m].mean() - img[m].astype(float)).mean()
    assert err < 0.5 * flat  # far better than filling with the mean colour


def test_sixteen_bit_fill_has_sub_eight_bit_precision():
    img = smooth_image(128, 128, np.uint16)
    m = damage(128, 128, n=8)
    out = apply_patches(img, drive(get_engine("telea").run(InpaintRequest(img, m))).patches)
    assert np.any(out[m] % 257 != 0)


@pytest.mark.parametrize("engine", ["telea", "ns"])
def test_crop_strategy_agrees_with_whole_image_run(engine):
    img = smooth_image(400, 500, np.uint8)
    m = damage(400, 500, n=40)
    eng = get_engine(engine)
    crop = drive(eng.run(InpaintRequest(img, m, {"strategy": "crop", "margin": 16})))
    whole = drive(eng.run(InpaintRequest(img, m, {"strategy": "whole"})))
    a, b = apply_patches(img, crop.patches), apply_patches(img, whole.patches)
    assert len(crop.patches) > 1 and len(whole.patches) == 1
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.001


def test_progress_is_monotonic_and_result_has_provenance():
    img = smooth_image(200, 200, np.uint8)
    m = damage(200, 200)
    seen: list[Progress] = []
    result = drive(get_engine("telea").run(InpaintRequest(img, m, {"radius": 5})), seen.append)
    fracs = [p.fraction for p in seen]
    assert fracs[0] == 0 and fracs[-1] == pytest.approx(1.0) and fracs == sorted(fracs)
    assert result.params == {"radius": 5, "margin": 32, "strategy": "crop"}
    cand = result.to_candidate(("crack",))
    assert cand.provenance.engine == "telea" and cand.provenance.classes == ("crack",)
    assert cand.restored_area() == m.sum()


def test_cancel_by_closing_the_generator_and_by_drive():
    img = smooth_image(200, 200, np.uint8)
    m = damage(200, 200)
    run = get_engine("telea").run(InpaintRequest(img, m))
    next(run)
    run.close()  # the GUI cancels like this
    with pytest.raises(StopIteration):
        next(run)
    with pytest.raises(Cancelled):
        drive(get_engine("telea").run(InpaintRequest(img, m)), should_cancel=lambda: True)


def test_bad_requests_raise_typed_errors():
    img = smooth_image(50, 50, np.uint8)
    eng = get_engine("telea")
    with pytest.raises(EngineError, match="empty"):
        drive(eng.run(InpaintRequest(img, np.zeros((50, 50), bool))))
    with pytest.raises(MaskMismatchError):
        drive(eng.run(InpaintRequest(img, np.ones((40, 50), bool))))
    with pytest.raises(MaskMismatchError, match="damage map"):
        drive(eng.run(InpaintRequest(img, damage(50, 50, n=1), damage=np.ones((40, 50), bool))))
    with pytest.raises(EngineError, match="Radius"):
        drive(eng.run(InpaintRequest(img, damage(50, 50, n=1), {"radius": 0})))
    with pytest.raises(EngineError, match="no parameter"):
        drive(eng.run(InpaintRequest(img, damage(50, 50, n=1), {"steps": 3})))
    with pytest.raises(EngineError, match="Unknown engine"):
        get_engine("lama")
    assert {"telea", "ns"} <= set(engine_names())
