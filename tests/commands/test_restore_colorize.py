"""``muralstudio restore --engine colorize``: hints files, grey scans, statistics method."""

import json

import cv2
import numpy as np
import pytest

from muralstudio.cli import main
from muralstudio.core.raster import RasterImage
from muralstudio.core.hints import ColourHint
from muralstudio.engines import models as models_mod
from muralstudio.io.hints import write_hints
from muralstudio.io.images import read_image, write_image
from muralstudio.io.masks import write_mask
from muralstudio.ops.colour import rgb_to_lab
from tests.engines.test_colorize import save_tiny

H, W = 48, 64


@pytest.fixture(autouse=True)
def _fresh_cache():
    models_mod.clear_cache()
    yield
    models_mod.clear_cache()


@pytest.fixture
def weights(tmp_path):
    return save_tiny(tmp_path / "tiny.pt")


def colourful(dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.random((H, W, 3)).astype(np.float32), (0, 0), 5)
    img = (img - img.min()) / (img.max() - img.min())
    return np.rint(img * np.iinfo(dtype).max).astype(dtype)


def region():
    m = np.zeros((H, W), bool)
    m[10:35, 15:50] = True
    return m


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def grey_icc():
    """A stand-in grey ICC profile: only its header's colour space is looked at."""
    header = bytearray(128)
    header[0:4] = (128).to_bytes(4, "big")
    header[12:16] = b"mntr"
    header[16:20] = b"GRAY"
    header[36:40] = b"acsp"
    return bytes(header)


@pytest.fixture
def scan(tmp_path):
    write_image(tmp_path / "scan.png", colourful())
    write_mask(tmp_path / "mask.png", region())
    return tmp_path


def test_colorize_with_hints_records_them(scan, weights, capsys):
    write_hints(scan / "hints.json", [ColourHint(20, 30, (0.1, 0.6, 0.3), "pigment: malachite")])
    code, _, err = run(capsys, "restore", scan / "scan.png", "--mask", scan / "mask.png", "--engine", "colorize",
                       "--param", f"weights={weights}", "--param", "method=network", "--hints", scan / "hints.json", "--out", scan / "out.png", "-q")
    assert code == 0, err
    src, res = read_image(scan / "scan.png").pixels, read_image(scan / "out.png")
    m = region()
    assert np.array_equal(res.pixels[~m], src[~m]) and (res.pixels != src).any(axis=2)[m].mean() > 0.5
    dl = np.abs(rgb_to_lab(res.pixels)[..., 0] - rgb_to_lab(src)[..., 0])[m]
    assert dl.mean() < 0.15
    prov = json.loads(res.metadata["MuralStudio"])["provenance"]
    assert prov["engine"] == "colorize"
    assert prov["params"]["hints"] == [{"x": 30.0, "y": 20.0, "rgb": [0.1, 0.6, 0.3], "source": "pigment: malachite"}]


def test_statistics_method_needs_no_weights(scan, capsys):
    code, _, err = run(capsys, "restore", scan / "scan.png", "--mask", scan / "mask.png", "--engine", "colorize",
                       "--param", "method=statistics", "--out", scan / "out.png", "-q")
    assert code == 0, err
    prov = json.loads(read_image(scan / "out.png").metadata["MuralStudio"])["provenance"]
    assert prov["params"]["method"] == "statistics" and prov["weights_sha256"] is None


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_grey_scan_is_expanded_to_rgb_and_its_grey_profile_dropped(tmp_path, weights, capsys, dtype):
    grey = colourful(dtype)[..., :1]
    write_image(tmp_path / "old.png", RasterImage(grey, icc_profile=grey_icc()))
    write_mask(tmp_path / "all.png", np.ones((H, W), bool))
    code, _, err = run(capsys, "restore", tmp_path / "old.png", "--mask", tmp_path / "all.png",
                       "--engine", "colorize", "--param", f"weights={weights}", "--param", "method=network", "--out", tmp_path / "new.png", "-q")
    assert code == 0, err
    assert "grey image restored as RGB" in err and "grey ICC profile was left out" in err
    res = read_image(tmp_path / "new.png")
    assert res.channels == 3 and res.dtype == dtype and res.icc_profile is None
    lab = rgb_to_lab(res.pixels)
    assert np.abs(lab[..., 0] - rgb_to_lab(grey)[..., 0]).mean() < 0.15
    assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 0.5  # it took colour


def test_grey_scan_for_other_engines_stays_grey(tmp_path, capsys):
    write_image(tmp_path / "old.png", colourful()[..., :1])
    write_mask(tmp_path / "m.png", region())
    code, _, err = run(capsys, "restore", tmp_path / "old.png", "--mask", tmp_path / "m.png",
                       "--out", tmp_path / "o.png", "-q")
    assert code == 0 and "RGB" not in err and read_image(tmp_path / "o.png").channels == 1


@pytest.mark.parametrize("case,expected", [
    ("other engine", "only the colorize engine uses, not telea"),
    ("folder", "single input image"),
    ("outside", "outside the image, which is 64 × 48"),
    ("bad json", "not valid JSON"),
    ("missing", "does not exist"),
])
def test_hints_refused_with_a_clear_message_before_anything_is_written(scan, weights, capsys, case, expected):
    write_hints(scan / "hints.json", [ColourHint(20, 30, (0.1, 0.6, 0.3))])
    hints, inp, out, engine = scan / "hints.json", scan / "scan.png", scan / "out.png", "colorize"
    if case == "other engine":
        engine = "telea"
    elif case == "folder":
        (scan / "in").mkdir()
        write_image(scan / "in" / "scan.png", colourful())
        inp, out = scan / "in", scan / "outdir"
    elif case == "outside":
        hints.write_text(json.dumps({"hints": [{"x": 64, "y": 3, "colour": "#00ff00"}]}))
    elif case == "bad json":
        hints.write_text("{")
    elif case == "missing":
        hints = scan / "nope.json"
    code, _, err = run(capsys, "restore", inp, "--mask", scan / "mask.png", "--engine", engine,
                       *(("--param", f"weights={weights}", "--param", "method=network") if engine == "colorize"
                         else ("--param", "radius=3")),
                       "--hints", hints, "--out", out, "-q")
    assert code == 2 and expected in err and "Traceback" not in err
    assert not out.exists()
