"""``muralstudio eval --engine E --data DIR``: run engines on a data set and score them."""

import json

import cv2
import numpy as np
import pytest

from muralstudio.cli import build_parser, main
from muralstudio.commands import contact_sheet, evaluate
from muralstudio.commands.contact_sheet import CAPTION, GAP, ContactSheet, cell_width
from muralstudio.commands.evaluate import evaluate_engines, plan_data
from muralstudio.commands.restore import resolve_engine_params
from muralstudio.core.errors import EngineError
from muralstudio.io.images import read_image, write_image
from muralstudio.io.masks import write_mask

H, W = 48, 64


def gradient(dtype=np.uint8):
    """A smooth colour ramp: any sensible inpainter fills a hole in it almost exactly."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    img = np.stack([x / (W - 1), y / (H - 1), (x + y) / (W + H - 2)], axis=2)
    return np.rint(img * np.iinfo(dtype).max).astype(dtype)


def textured(seed, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.random((H, W, 3)).astype(np.float32), (0, 0), 2)
    img = (img - img.min()) / (img.max() - img.min())
    return np.rint(img * np.iinfo(dtype).max).astype(dtype)


def hole(seed=0):
    m = np.zeros((H, W), bool)
    y, x = 8 + 4 * seed, 12 + 6 * seed
    m[y : y + 10, x : x + 12] = True
    m[30:32, 5:50] = True  # a crack
    return m


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """eval --engine writes its contact sheet into the current folder by default."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def data(tmp_path):
    """gt/ (two 8-bit PNGs, one 16-bit TIFF) and mask/ (one with a _mask suffix)."""
    d = tmp_path / "data"
    (d / "gt").mkdir(parents=True)
    (d / "mask").mkdir()
    write_image(d / "gt" / "ramp.png", gradient())
    write_image(d / "gt" / "tex.png", textured(1))
    write_image(d / "gt" / "deep.tif", gradient(np.uint16))
    write_mask(d / "mask" / "ramp.png", hole(0))
    write_mask(d / "mask" / "tex_mask.png", hole(1))
    write_mask(d / "mask" / "deep.png", hole(2))
    return d


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def test_table_and_json_for_telea_and_ns(data, capsys):
    code, out, err = run(capsys, "eval", "--engine", "telea,ns", "--data", data, "-q", "--no-sheet")
    assert code == 0, err
    assert "engine telea: 3 image(s)" in out and "engine ns: 3 image(s)" in out
    assert all(stem in out for stem in ("ramp", "tex", "deep")) and "seconds" in out and "mean" in out
    assert err == ""  # -q: no progress
    code, out, err = run(capsys, "eval", "--engine", "telea", "--engine", "ns", "--data", data, "--json", "-q",
                         "--no-sheet")
    assert code == 0, err
    summary = json.loads(out)
    assert list(summary) == ["telea", "ns"]
    for entry in summary.values():
        assert set(entry) == {"mse", "psnr", "ssim", "hole_mae", "hole_psnr", "gmsd", "sharpness", "images", "seconds"}
        assert entry["images"] == 3 and entry["seconds"] >= 0
        assert 25 < entry["hole_psnr"] < 100 and entry["psnr"] > entry["hole_psnr"] and 0.9 < entry["ssim"] < 1


def test_real_scores_known_pixels_kept_and_no_truth_given(data, monkeypatch):
    given, scored = [], []
    real_restore, real_score = evaluate.restore_pixels, evaluate.score
    monkeypatch.setattr(evaluate, "restore_pixels", lambda *a: (given.append(a[1].copy()), real_restore(*a))[1])
    monkeypatch.setattr(evaluate, "score", lambda p, g, m: (scored.append((p, g, m)), real_score(p, g, m))[1])
    results, skipped = evaluate_engines(data, ["telea", "ns"], {}, quiet=True)
    assert skipped == []
    rows = dict(results["telea"].rows)
    assert rows["ramp"]["hole_psnr"] > 30 and rows["deep"]["hole_psnr"] > 30  # smooth ramp: filled well
    assert rows["tex"]["hole_psnr"] < rows["ramp"]["hole_psnr"]  # texture is harder
    assert abs(rows["deep"]["hole_psnr"] - dict(results["ns"].rows)["deep"]["hole_psnr"]) < 10
    assert len(given) == len(scored) == 6
    for engine_input, (pred, gt, mask) in zip(given, scored):
        assert np.array_equal(pred[~mask], gt[~mask])  # known pixels identical
        mid = np.iinfo(gt.dtype).max // 2
        assert np.all(engine_input[mask] == mid) and np.array_equal(engine_input[~mask], gt[~mask])
    # image by image (sorted: deep.tif, ramp, tex), every engine on each; 16-bit stays 16-bit
    assert [p.dtype for p, _, _ in scored] == [np.uint16] * 2 + [np.uint8] * 4


def test_masked_folder_is_what_the_engine_sees(data, capsys):
    code, out, _ = run(capsys, "eval", "--engine", "telea", "--data", data, "--json", "-q")
    plain = json.loads(out)["telea"]
    (data / "masked").mkdir()
    for name, img in (("ramp.png", gradient()), ("tex.png", textured(1)), ("deep.tif", gradient(np.uint16))):
        damaged = img.copy()
        damaged[: H // 2] //= 2  # differs from the truth outside the hole
        write_image(data / "masked" / name, damaged)
    code, out, err = run(capsys, "eval", "--engine", "telea", "--data", data, "--json", "-q")
    assert code == 0, err
    seen = json.loads(out)["telea"]
    assert seen["psnr"] < plain["psnr"] - 5 and seen["mse"] > plain["mse"]


def test_masked_input_holding_the_truth_in_the_hole_leaks_nothing(data):
    (data / "masked").mkdir()
    for name in ("ramp.png", "tex.png"):
        write_image(data / "masked" / name, read_image(data / "gt" / name).pixels)  # hole not blanked
    write_image(data / "masked" / "deep.tif", read_image(data / "gt" / "deep.tif").pixels)
    results, _ = evaluate_engines(data, ["telea"], {}, quiet=True)
    assert all(r["hole_psnr"] < 100 for _, r in results["telea"].rows)


def test_contact_sheet_size_and_content(data, capsys, tmp_path, monkeypatch):
    sheet = tmp_path / "out" / "sheet.png"
    code, _, err = run(capsys, "eval", "--engine", "telea,ns", "--data", data, "--sheet", sheet, "-q")
    assert code == 0, err
    img = read_image(sheet).pixels
    rows, cols, cw = 3, 4, cell_width(H, W)
    assert img.dtype == np.uint8 and img.shape == (GAP + rows * (CAPTION + 256 + GAP), GAP + cols * (cw + GAP), 3)
    first = img[GAP + CAPTION : GAP + CAPTION + 256, GAP : GAP + cw]  # input of the first row: hole in magenta
    assert np.any(np.all(first == (255, 0, 255), axis=2))
    truth = img[GAP + CAPTION : GAP + CAPTION + 256, GAP + 3 * (cw + GAP) : GAP + 3 * (cw + GAP) + cw]
    assert not np.any(np.all(truth == (255, 0, 255), axis=2))
    assert not [p for p in sheet.parent.iterdir() if p.name.startswith(".")]  # no temporary left
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "eval", "--engine", "telea", "--data", data, "-q")  # the sheet by default
    assert code == 0 and read_image(tmp_path / "eval-contact-sheet.png").pixels.shape[1] == GAP + 3 * (cw + GAP)


def test_contact_sheet_keeps_rows_bounded(monkeypatch):
    monkeypatch.setattr(contact_sheet, "MAX_ROWS", 2)
    board = ContactSheet([(10, 20), (20, 10), (30, 30)], 2, row_height=16)
    assert board.rows == 2 and board.canvas.shape == (GAP + 2 * (CAPTION + 16 + GAP), GAP + 2 * (32 + GAP), 3)
    board.put(1, 1, np.full((20, 10, 1), 65535, np.uint16), "grey 16-bit")
    assert board.canvas[GAP * 2 + CAPTION * 2 + 16 + 5, GAP * 2 + 32 + 3].tolist() == [255, 255, 255]
    with pytest.raises(IndexError):
        board.put(2, 0, np.zeros((30, 30, 3), np.uint8), "beyond")


def test_params_go_to_the_engines_that_take_them():
    got = resolve_engine_params(["telea", "ns"], {"radius": "5", "ns.margin": "8"})
    assert got["telea"]["radius"] == 5 and got["ns"]["radius"] == 5
    assert got["ns"]["margin"] == 8 and got["telea"]["margin"] == 32
    assert "radius" not in resolve_engine_params(["telea", "pconv"], {"radius": "5"})["pconv"]
    with pytest.raises(EngineError, match="steps"):
        resolve_engine_params(["telea", "ns"], {"steps": "3"})
    with pytest.raises(EngineError, match="pconv"):
        resolve_engine_params(["telea"], {"pconv.tile": "64"})
    with pytest.raises(EngineError, match="Radius"):
        resolve_engine_params(["telea"], {"radius": "0"})


def test_parser_accepts_several_engines_including_pconv():
    args = build_parser().parse_args(["eval", "--engine", "telea,pconv", "--engine", "ns", "--data", "x"])
    assert args.engine == [["telea", "pconv"], ["ns"]] and args.sheet is None


def _one_line_exit_2(capsys, argv):
    try:
        code = main(list(map(str, argv)))
    except SystemExit as exc:
        code = exc.code
    _, err = capsys.readouterr()
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_unknown_engine_lists_the_valid_ones(data, capsys):
    line = _one_line_exit_2(capsys, ["eval", "--engine", "telea,lama", "--data", data])
    assert "lama" in line and "telea" in line and "ns" in line and "pconv" in line


def test_forms_are_mutually_exclusive(data, capsys):
    line = _one_line_exit_2(capsys, ["eval", "--engine", "telea", "--data", data, "--gt", data / "gt"])
    assert "not both" in line
    assert "--data" in _one_line_exit_2(capsys, ["eval", "--engine", "telea"])
    assert "--engine" in _one_line_exit_2(capsys, ["eval", "--gt", data / "gt", "--mask", data / "mask",
                                                   "--pred", data / "gt", "--sheet", "s.png"])


def _break(case, d):
    if case == "no gt folder":
        (d / "gt").rename(d / "truth")
    elif case == "no mask folder":
        (d / "mask").rename(d / "masks")
    elif case == "empty gt folder":
        for p in (d / "gt").iterdir():
            p.unlink()
    elif case == "no mask for any image":
        for p in (d / "mask").iterdir():
            p.unlink()
    elif case == "mask size":
        write_mask(d / "mask" / "ramp.png", np.ones((10, 10), bool))
    elif case == "unreadable image":
        data = (d / "gt" / "tex.png").read_bytes()
        (d / "gt" / "tex.png").write_bytes(data[: len(data) // 2])
    elif case == "not an image":
        (d / "gt" / "tex.png").write_text("not an image")
    elif case == "empty mask":
        write_mask(d / "mask" / "tex_mask.png", np.zeros((H, W), bool))
    elif case == "masked missing one":
        (d / "masked").mkdir()
        write_image(d / "masked" / "ramp.png", gradient())
    elif case == "sheet not png":
        return ["--sheet", d / "sheet.jpg"]
    return []


@pytest.mark.parametrize("case", ["no gt folder", "no mask folder", "empty gt folder", "no mask for any image",
                                  "mask size", "unreadable image", "not an image", "empty mask",
                                  "masked missing one", "sheet not png"])
def test_bad_data_exits_2_with_one_line(data, capsys, case):
    extra = _break(case, data)
    line = _one_line_exit_2(capsys, ["eval", "--engine", "telea", "--data", data, "-q", *extra])
    assert line.startswith("muralstudio: error:")
    assert not (data / "sheet.jpg").exists()


def test_images_without_mask_are_skipped_and_reported(data, capsys):
    write_image(data / "gt" / "lonely.png", gradient())
    samples, skipped = plan_data(data)
    assert [s.stem for s in samples] == ["deep", "ramp", "tex"] and skipped == ["lonely"]
    assert samples[2].mask.name == "tex_mask.png" and samples[0].size == (H, W)
    code, out, _ = run(capsys, "eval", "--engine", "ns", "--data", data, "-q")
    assert code == 0 and "skipped (no mask): lonely" in out
