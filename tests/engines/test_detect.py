import numpy as np
import pytest
import torch

from muralstudio.core.errors import ModelError
from muralstudio.engines import models, precision
from muralstudio.engines.base import drive
from muralstudio.engines.detect import CLASSES, DetectRequest, class_masks, detect, tiles, to_rgb8
from muralstudio.nets.detector import ARCH, DamageUNet, DetectorConfig
from muralstudio.nets.weights import weights_bytes

TINY = DetectorConfig(base=4, depth=2, max_width=8)


def save(path, bias=None, seed=0):
    torch.manual_seed(seed)
    net = DamageUNet(TINY)
    if bias is not None:
        net.head.bias.data[:] = torch.tensor(bias, dtype=torch.float32)
    path.write_bytes(weights_bytes(ARCH, TINY.to_dict(), net.state_dict(), {"note": "test"}))
    return path


@pytest.fixture(autouse=True)
def _fresh():
    models.clear_cache()
    yield
    models.clear_cache()


def image(h=150, w=210, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_certain_classes_everywhere_and_none_elsewhere(tmp_path):
    w = save(tmp_path / "d.pt", bias=[20, -20, -20, 20, -20])
    det = drive(detect(DetectRequest(image(), weights=str(w), tile=64)))
    assert det.probabilities.shape == (5, 150, 210) and det.probabilities.dtype == np.uint8
    masks = class_masks(det, 0.5)
    assert masks["crack"].all() and masks["stain"].all() and not masks["loss"].any()
    assert det.weights_sha256 and det.classes == CLASSES and det.meta["tile"] == 64


def test_tiles_join_without_seams(tmp_path):
    w = save(tmp_path / "d.pt")
    img = image(200, 260)
    small = drive(detect(DetectRequest(img, weights=str(w), tile=64)))  # 16 tiles with context margins
    whole = drive(detect(DetectRequest(img, weights=str(w), tile=4096)))  # one tile
    assert np.abs(small.probabilities.astype(int) - whole.probabilities).max() <= 1
    assert len(tiles(200, 260, 64)) == 4 * 5


def test_grey_16_bit_and_tiny_images(tmp_path):
    w = save(tmp_path / "d.pt")
    grey = np.random.default_rng(1).integers(0, 65536, (9, 13), dtype=np.uint16)
    assert to_rgb8(grey).shape == (9, 13, 3)
    det = drive(detect(DetectRequest(grey, weights=str(w))))
    assert det.probabilities.shape == (5, 9, 13)


def test_thresholds_per_class_and_unknown_classes(tmp_path):
    w = save(tmp_path / "d.pt")
    det = drive(detect(DetectRequest(image(), weights=str(w))))
    p = det.probability("loss")
    t = float(np.median(p)) / 255
    masks = class_masks(det, {"loss": t, "crack": 1.0}, classes=["loss", "crack"])
    assert list(masks) == ["loss", "crack"] and 0 < masks["loss"].mean() < 1
    assert masks["crack"].sum() == (det.probability("crack") == 255).sum()
    with pytest.raises(ValueError, match="Unknown damage class"):
        class_masks(det, 0.5, classes=["moss"])


def test_closing_the_generator_stops_it(tmp_path):
    w = save(tmp_path / "d.pt")
    gen = detect(DetectRequest(image(300, 300), weights=str(w), tile=64))
    steps = [next(gen) for _ in range(3)]
    gen.close()
    assert steps[-1].fraction < 1.0


def test_missing_or_foreign_weights_are_model_errors(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        drive(detect(DetectRequest(image(), weights=str(tmp_path / "none.pt"))))
    other = tmp_path / "other.pt"
    other.write_bytes(weights_bytes("pconv-unet", {}, {}, {}))
    with pytest.raises(ModelError, match="not 'damage-unet'"):
        drive(detect(DetectRequest(image(), weights=str(other))))


def test_precision_is_recorded_and_bfloat16_stays_close_to_float32(tmp_path, monkeypatch):
    monkeypatch.setattr(precision, "native_bf16", lambda: False)
    w = save(tmp_path / "d.pt")
    img = image(130, 170)
    f32 = drive(detect(DetectRequest(img, weights=str(w))))
    bf16 = drive(detect(DetectRequest(img, weights=str(w), precision="bfloat16")))
    assert f32.meta["precision"] == "float32" and bf16.meta["precision"] == "bfloat16"  # what ran, not 'auto'
    diff = np.abs(f32.probabilities.astype(int) - bf16.probabilities)
    assert diff.mean() < 1.0 and diff.max() <= 8
    assert bf16.probabilities.dtype == np.uint8 and bf16.probabilities.shape == f32.probabilities.shape
