"""``muralstudio detect`` with tiny detectors whose head biases fix each class's probability."""

import math

import numpy as np
import pytest

from muralstudio.cli import main
from muralstudio.commands.detect import parse_thresholds
from muralstudio.core.errors import MuralStudioError
from muralstudio.core.raster import RasterImage
from muralstudio.engines.detect import CLASSES
from muralstudio.io.images import read_image, write_image

# probability each class gets everywhere: crack, flaking, loss, stain, fading
PROBS = (1.0, 0.0, 1.0, 0.6, 0.3)


@pytest.fixture
def weights(tmp_path):
    torch = pytest.importorskip("torch")
    from muralstudio.nets.detector import ARCH, DamageUNet, DetectorConfig
    from muralstudio.nets.weights import weights_bytes

    cfg = DetectorConfig(base=4, depth=2, max_width=8)
    model = DamageUNet(cfg)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor([math.log(p / (1 - p)) if 0 < p < 1 else (20.0 if p else -20.0)
                                            for p in PROBS]))
    path = tmp_path / "tiny-detector.pt"
    path.write_bytes(weights_bytes(ARCH, cfg.to_dict(), model.state_dict(), {}))
    return path


def picture(h=40, w=56, dtype=np.uint8, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, np.iinfo(dtype).max, (h, w, channels), dtype=dtype, endpoint=True)


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def mask_values(path):
    img = read_image(path)
    assert img.pixels.dtype == np.uint8 and img.pixels.shape[2] == 1
    return set(np.unique(img.pixels).tolist())


def test_single_image_writes_one_mask_per_class(tmp_path, capsys, weights):
    write_image(tmp_path / "wall.png", picture())
    code, out, err = run(capsys, "detect", tmp_path / "wall.png", "--out", tmp_path / "masks",
                         "--weights", weights, "-q")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == sorted(f"{c}.png" for c in CLASSES)
    assert read_image(tmp_path / "masks" / "crack.png").pixels.shape == (40, 56, 1)
    expected = {"crack": {255}, "flaking": {0}, "loss": {255}, "stain": {255}, "fading": {0}}
    assert {c: mask_values(tmp_path / "masks" / f"{c}.png") for c in CLASSES} == expected
    assert out.strip() == "wall.png: crack 100.00 %, flaking 0.00 %, loss 100.00 %, stain 100.00 %, fading 0.00 %"


def test_folder_writes_a_folder_per_image(tmp_path, capsys, weights):
    (tmp_path / "in").mkdir()
    write_image(tmp_path / "in" / "a.png", picture(seed=1))
    write_image(tmp_path / "in" / "b.tif", picture(33, 47, seed=2))
    code, out, err = run(capsys, "detect", tmp_path / "in", "--out", tmp_path / "out", "--weights", weights, "-q")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a", "b"]
    assert sorted(p.name for p in (tmp_path / "out" / "b").iterdir()) == sorted(f"{c}.png" for c in CLASSES)
    assert read_image(tmp_path / "out" / "b" / "loss.png").pixels.shape == (33, 47, 1)
    assert [line.split(":")[0] for line in out.splitlines()] == ["a.png", "b.tif"]


def test_global_and_per_class_thresholds(tmp_path, capsys, weights):
    write_image(tmp_path / "wall.png", picture())
    code, _, err = run(capsys, "detect", tmp_path / "wall.png", "--out", tmp_path / "high", "--weights", weights,
                       "--threshold", "0.7", "-q")
    assert code == 0, err
    assert mask_values(tmp_path / "high" / "stain.png") == {0}
    assert mask_values(tmp_path / "high" / "crack.png") == {255}
    code, _, err = run(capsys, "detect", tmp_path / "wall.png", "--out", tmp_path / "mixed", "--weights", weights,
                       "--threshold", "stain=0.65", "--threshold", "0.2", "-q")
    assert code == 0, err
    got = {c: mask_values(tmp_path / "mixed" / f"{c}.png") for c in CLASSES}
    assert got == {"crack": {255}, "flaking": {0}, "loss": {255}, "stain": {0}, "fading": {255}}


def test_parse_thresholds():
    assert parse_thresholds([]) == {c: 0.5 for c in CLASSES}
    got = parse_thresholds(["Crack=0.3", "0.8"])
    assert got["crack"] == 0.3 and got["loss"] == 0.8
    for bad in (["1.5"], ["crack=x"], ["0.2", "0.3"], ["dust=0.4"]):
        with pytest.raises(MuralStudioError):
            parse_thresholds(bad)


def test_classes_and_probabilities(tmp_path, capsys, weights):
    write_image(tmp_path / "wall.png", picture())
    code, out, err = run(capsys, "detect", tmp_path / "wall.png", "--out", tmp_path / "m", "--weights", weights,
                         "--classes", "stain, crack", "--probabilities", "-q")
    assert code == 0, err
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert names == ["crack-probability.png", "crack.png", "stain-probability.png", "stain.png"]
    prob = read_image(tmp_path / "m" / "stain-probability.png").pixels
    assert prob.dtype == np.uint8 and prob.shape == (40, 56, 1)
    assert np.all(np.abs(prob.astype(int) - 153) <= 1)
    assert out.strip() == "wall.png: crack 100.00 %, stain 100.00 %"


@pytest.mark.parametrize("args, message", [
    (["--classes", "crack,dust"], "Unknown damage class 'dust'"),
    (["--threshold", "dust=0.3"], "Unknown damage class 'dust'"),
    (["--threshold", "2"], "between 0 and 1"),
])
def test_bad_class_or_threshold_is_one_line(tmp_path, capsys, weights, args, message):
    write_image(tmp_path / "wall.png", picture())
    code, _, err = run(capsys, "detect", tmp_path / "wall.png", "--out", tmp_path / "m", "--weights", weights, *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_existing_outputs_are_refused_without_force(tmp_path, capsys, weights):
    write_image(tmp_path / "wall.png", picture())
    (tmp_path / "m").mkdir()
    write_image(tmp_path / "m" / "loss.png", np.zeros((40, 56), np.uint8))
    code, _, err = run(capsys, "detect", tmp_path / "wall.png", "--out", tmp_path / "m", "--weights", weights, "-q")
    assert code == 2 and "loss.png already exists; use --force" in err
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["loss.png"]
    assert mask_values(tmp_path / "m" / "loss.png") == {0}
    code, _, err = run(capsys, "detect", tmp_path / "wall.png", "--out", tmp_path / "m", "--weights", weights,
                       "--force", "-q")
    assert code == 0, err
    assert mask_values(tmp_path / "m" / "loss.png") == {255}


def test_corrupt_and_truncated_inputs_are_one_line_errors(tmp_path, capsys, weights):
    (tmp_path / "junk.png").write_bytes(b"this is not an image at all")
    write_image(tmp_path / "wall.png", picture(seed=3))
    data = (tmp_path / "wall.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    for name in ("junk.png", "cut.png", "missing.png"):
        code, _, err = run(capsys, "detect", tmp_path / name, "--out", tmp_path / "m", "--weights", weights, "-q")
        assert code == 2, name
        assert err.startswith("muralstudio: error:") and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "m").exists()


def test_folder_skips_unreadable_images_and_writes_the_others(tmp_path, capsys, weights):
    (tmp_path / "in").mkdir()
    write_image(tmp_path / "in" / "good.png", picture())
    (tmp_path / "in" / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut short")
    code, out, err = run(capsys, "detect", tmp_path / "in", "--out", tmp_path / "out", "--weights", weights, "-q")
    assert code == 2
    assert "note: skipped bad.jpg" in err and "1 of 2 images could not be read (bad.jpg)" in err
    assert (tmp_path / "out" / "good" / "crack.png").exists() and not (tmp_path / "out" / "bad").exists()
    assert out.startswith("good.png:")


def test_missing_or_damaged_weights_are_a_model_error(tmp_path, capsys):
    write_image(tmp_path / "wall.png", picture())
    code, _, err = run(capsys, "detect", tmp_path / "wall.png", "--out", tmp_path / "m",
                       "--weights", tmp_path / "nowhere.pt", "-q")
    assert code == 2 and "nowhere.pt does not exist" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "broken.pt").write_bytes(b"not a weights file")
    code, _, err = run(capsys, "detect", tmp_path / "wall.png", "--out", tmp_path / "m",
                       "--weights", tmp_path / "broken.pt", "-q")
    assert code == 2 and "broken.pt" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_16bit_grey_and_alpha_inputs(tmp_path, capsys, weights):
    write_image(tmp_path / "grey16.tif", picture(dtype=np.uint16, channels=1))
    rgba = picture(channels=3)
    write_image(tmp_path / "rgba.png", RasterImage(rgba, alpha=np.full((40, 56), 128, np.uint8)))
    for name in ("grey16.tif", "rgba.png"):
        out_dir = tmp_path / name.split(".")[0]
        code, _, err = run(capsys, "detect", tmp_path / name, "--out", out_dir, "--weights", weights, "-q")
        assert code == 0, err
        assert read_image(out_dir / "crack.png").pixels.shape == (40, 56, 1)
        assert mask_values(out_dir / "crack.png") == {255}


def test_output_that_is_a_file_is_refused(tmp_path, capsys, weights):
    write_image(tmp_path / "wall.png", picture())
    (tmp_path / "taken").write_text("x")
    code, _, err = run(capsys, "detect", tmp_path / "wall.png", "--out", tmp_path / "taken", "--weights", weights)
    assert code == 2 and "is a file" in err


def test_every_engine_precision_is_accepted(tmp_path, capsys, weights):
    from muralstudio.cli import build_parser
    from muralstudio.engines.precision import PRECISIONS

    for precision in PRECISIONS:  # the command line keeps its own copy, so that it starts without the engines
        args = build_parser().parse_args(["detect", "wall.png", "--out", "m", "--precision", precision])
        assert args.precision == precision
    write_image(tmp_path / "wall.png", picture())
    with pytest.raises(SystemExit) as refused:
        run(capsys, "detect", tmp_path / "wall.png", "--out", tmp_path / "m", "--precision", "half")
    err = capsys.readouterr().err
    assert refused.value.code == 2 and "invalid choice: 'half'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "detect", tmp_path / "wall.png", "--out", tmp_path / "m", "--weights", weights,
                       "--precision", "bfloat16", "-q")
    assert code == 0, err
    assert mask_values(tmp_path / "m" / "crack.png") == {255}
