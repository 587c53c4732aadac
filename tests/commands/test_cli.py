import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from muralstudio.cli import _normalise, main, report_errors
from muralstudio.core.errors import Cancelled, ModelError
from muralstudio.core.raster import RasterImage, Resolution
from muralstudio.io.icc import srgb_profile
from muralstudio.io.images import read_image, write_image
from muralstudio.io.masks import read_mask, write_mask


def smooth(h, w, dtype, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), 6)
    img = (img - img.min()) / (img.max() - img.min())
    return np.rint(img * np.iinfo(dtype).max).astype(dtype)


def holes(h, w, seed=1):
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), bool)
    for _ in range(6):
        y, x = rng.integers(0, h - 20), rng.integers(0, w - 20)
        m[y : y + 12, x : x + 3] = True
    return m


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def test_restore_folder_of_8bit_pngs(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "masks").mkdir()
    for i in range(3):
        write_image(tmp_path / "in" / f"wall{i}.png", smooth(64, 80, np.uint8, seed=i))
        write_mask(tmp_path / "masks" / (f"wall{i}.png" if i else "wall0_mask.png"), holes(64, 80, seed=i))
    code, _, err = run(capsys, "restore", tmp_path / "in", "--mask", tmp_path / "masks", "--out", tmp_path / "out", "-q")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["wall0.png", "wall1.png", "wall2.png"]
    for i in range(3):
        src = read_image(tmp_path / "in" / f"wall{i}.png").pixels
        res = read_image(tmp_path / "out" / f"wall{i}.png")
        m = holes(64, 80, seed=i)
        assert res.pixels.dtype == np.uint8
        assert np.array_equal(res.pixels[~m], src[~m])
        assert not np.array_equal(res.pixels[m], src[m])


def test_restore_16bit_tiff_keeps_depth_profile_resolution_and_records_provenance(tmp_path, capsys):
    img = smooth(96, 128, np.uint16)
    write_image(tmp_path / "scan.tif", RasterImage(img, icc_profile=srgb_profile(), resolution=Resolution(600, 600)))
    m = holes(96, 128)
    write_mask(tmp_path / "scan_mask.png", m)
    code, _, err = run(capsys, "restore", tmp_path / "scan.tif", "--mask", tmp_path / "scan_mask.png",
                       "--engine", "ns", "--radius", "4", "--out", tmp_path / "out.tif", "-q")
    assert code == 0, err
    res = read_image(tmp_path / "out.tif")
    assert res.pixels.dtype == np.uint16 and res.icc_profile == srgb_profile()
    assert res.resolution is not None and res.resolution.dpi()[0] == pytest.approx(600)
    assert np.array_equal(res.pixels[~m], img[~m])
    prov = json.loads(res.metadata["MuralStudio"])["provenance"]
    assert prov["engine"] == "ns" and prov["params"]["radius"] == 4 and prov["restored_pixels"] == int(m.sum())


def test_output_extension_decides_format(tmp_path, capsys):
    img = smooth(40, 50, np.uint16)
    write_image(tmp_path / "a.tif", img)
    write_mask(tmp_path / "m.png", holes(40, 50))
    assert run(capsys, "restore", tmp_path / "a.tif", "--mask", tmp_path / "m.png", "--out", tmp_path / "a.png", "-q")[0] == 0
    assert read_image(tmp_path / "a.png").pixels.dtype == np.uint16
    code, _, err = run(capsys, "restore", tmp_path / "a.tif", "--mask", tmp_path / "m.png", "--out", tmp_path / "a.jpg", "-q")
    assert code == 0 and read_image(tmp_path / "a.jpg").pixels.dtype == np.uint8
    assert "8-bit" in err or "8 bit" in err  # the user is told of the conversion


def test_empty_mask_writes_an_unchanged_copy(tmp_path, capsys):
    img = smooth(30, 30, np.uint8)
    write_image(tmp_path / "a.png", img)
    write_mask(tmp_path / "m.png", np.zeros((30, 30), bool))
    code, _, err = run(capsys, "restore", tmp_path / "a.png", "--mask", tmp_path / "m.png", "--out", tmp_path / "b.png")
    assert code == 0 and "marks no damage" in err
    assert np.array_equal(read_image(tmp_path / "b.png").pixels, read_image(tmp_path / "a.png").pixels)


@pytest.fixture
def files(tmp_path):
    write_image(tmp_path / "img.png", smooth(40, 50, np.uint8))
    write_mask(tmp_path / "mask.png", holes(40, 50))
    write_mask(tmp_path / "small.png", np.ones((10, 10), bool))
    (tmp_path / "notes.png").write_text("not an image")
    data = (tmp_path / "img.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "dir").mkdir()
    (tmp_path / "afile").write_text("x")
    return tmp_path


BAD = {
    "missing input": ["restore", "{t}/nope.png", "--mask", "{t}/mask.png", "--out", "{t}/o.png"],
    "missing mask": ["restore", "{t}/img.png", "--mask", "{t}/nope.png", "--out", "{t}/o.png"],
    "not an image": ["restore", "{t}/notes.png", "--mask", "{t}/mask.png", "--out", "{t}/o.png"],
    "truncated": ["restore", "{t}/cut.png", "--mask", "{t}/mask.png", "--out", "{t}/o.png"],
    "mask size": ["restore", "{t}/img.png", "--mask", "{t}/small.png", "--out", "{t}/o.png"],
    "unknown engine": ["restore", "{t}/img.png", "--mask", "{t}/mask.png", "--engine", "lama", "--out", "{t}/o.png"],
    "bad radius": ["restore", "{t}/img.png", "--mask", "{t}/mask.png", "--radius", "0", "--out", "{t}/o.png"],
    "bad param": ["restore", "{t}/img.png", "--mask", "{t}/mask.png", "--param", "steps=3", "--out", "{t}/o.png"],
    "bad on/off param": ["restore", "{t}/img.png", "--mask", "{t}/mask.png", "--engine", "pconv",
                         "--param", "despeckle=maybe", "--out", "{t}/o.png"],
    "overwrite input": ["restore", "{t}/img.png", "--mask", "{t}/mask.png", "--out", "{t}/img.png"],
    "unknown output format": ["restore", "{t}/img.png", "--mask", "{t}/mask.png", "--out", "{t}/o.bmp"],
    "output folder is a file": ["restore", "{t}/dir", "--mask", "{t}/mask.png", "--out", "{t}/afile"],
    "empty input folder": ["restore", "{t}/dir", "--mask", "{t}/mask.png", "--out", "{t}/out"],
    "eval missing folder": ["eval", "--gt", "{t}/nope", "--mask", "{t}/dir", "--pred", "{t}/dir"],
    "missing argument": ["restore", "{t}/img.png", "--out", "{t}/o.png"],
    "missing weights, new folder": ["restore", "{t}/img.png", "--mask", "{t}/mask.png", "--engine", "pconv",
                                    "--param", "weights={t}/nope.pt", "--out", "{t}/new/deeper/o.png", "-q"],
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_with_one_line(files, capsys, case):
    argv = [a.format(t=files) for a in BAD[case]]
    before = sorted(p.name for p in files.rglob("*"))
    code, _, err = _run_exit(capsys, argv) if case in ("missing argument", "unknown engine") else run(capsys, *argv)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert sorted(p.name for p in files.rglob("*")) == before  # nothing written, no temp files


def _run_exit(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_batch_checks_every_input_before_writing(files, capsys):
    (files / "batch").mkdir()
    write_image(files / "batch" / "a.png", smooth(40, 50, np.uint8))
    (files / "batch" / "b.png").write_bytes((files / "cut.png").read_bytes()[:40])  # header broken
    write_mask(files / "batch_masks.png", holes(40, 50))
    code, _, err = run(capsys, "restore", files / "batch", "--mask", files / "batch_masks.png", "--out", files / "o", "-q")
    assert code == 2 and "b.png" in err
    assert not (files / "o").exists() or not any((files / "o").iterdir())


def test_real_process_prints_one_line_and_no_traceback(files):
    proc = subprocess.run(
        [sys.executable, "-m", "muralstudio", "restore", str(files / "cut.png"), "--mask", str(files / "mask.png"),
         "--out", str(files / "o.png")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_scripts_report_errors_by_their_file_name(capsys):
    def fails(exc):
        def run():
            raise exc
        return run

    assert report_errors(lambda: 0, "benchmarks/x.py") == 0
    assert report_errors(fails(ModelError("No  such\nweights.")), "/repo/benchmarks/pconv_speed.py") == 2
    assert capsys.readouterr().err == "pconv_speed.py: error: No such weights.\n"
    assert report_errors(fails(Cancelled("stop"))) == 130
    assert capsys.readouterr().err == "muralstudio: cancelled\n"
    assert report_errors(fails(MemoryError())) == 2 and "not enough memory" in capsys.readouterr().err


def test_eval_table_and_json(tmp_path, capsys):
    for sub in ("gt", "mask", "pred"):
        (tmp_path / sub).mkdir()
    for i in range(2):
        gt = smooth(64, 64, np.uint8, seed=i)
        m = holes(64, 64, seed=i)
        pred = gt.copy()
        pred[m] = 128
        write_image(tmp_path / "gt" / f"w{i}.png", gt)
        write_mask(tmp_path / "mask" / f"w{i}.png", m)
        write_image(tmp_path / "pred" / f"w{i}.png", pred)
    code, out, _ = run(capsys, "eval", "--gt", tmp_path / "gt", "--mask", tmp_path / "mask", "--pred", tmp_path / "pred")
    assert code == 0 and "w0" in out and "mean" in out and "SSIM" in out.upper()
    code, out, _ = run(capsys, "eval", "--gt", tmp_path / "gt", "--mask", tmp_path / "mask", "--pred", tmp_path / "pred", "--json")
    summary = json.loads(out)
    assert summary["images"] == 2 and summary["hole_mae"] > 0 and 0 < summary["ssim"] < 1
    assert set(summary) >= {"mse", "psnr", "ssim", "hole_mae", "hole_psnr", "gmsd", "sharpness"}


def test_demo_writes_a_restorable_set(tmp_path, capsys):
    code, out, _ = run(capsys, "demo", "--out", tmp_path, "--width", "256", "--height", "192")
    assert code == 0
    scan = read_image(tmp_path / "mural.tif")
    assert scan.pixels.dtype == np.uint16 and scan.pixels.shape == (192, 256, 3) and scan.icc_profile
    for cls in ("crack", "flaking", "loss", "stain", "fading"):
        assert read_mask(tmp_path / "masks" / f"{cls}.png", (192, 256)).any()
    code, _, err = run(capsys, "restore", tmp_path / "mural.tif", "--mask", tmp_path / "mask", "--out", tmp_path / "pred", "-q")
    assert code == 0, err
    code, out, _ = run(capsys, "eval", "--gt", tmp_path / "gt", "--mask", tmp_path / "mask", "--pred", tmp_path / "pred", "--json")
    assert code == 0 and json.loads(out)["images"] == 1


def test_default_command_is_the_gui():
    assert _normalise([]) == ["gui"]
    assert _normalise(["scan.tif"]) == ["gui", "scan.tif"]
    assert _normalise(["restore", "x"]) == ["restore", "x"]
    assert _normalise(["--version"]) == ["--version"]


def test_gui_masks_option_needs_a_scan_and_a_folder(tmp_path, capsys):
    from muralstudio.cli import main

    assert main(["gui", "--masks", str(tmp_path)]) == 2
    assert "--masks needs a scan" in capsys.readouterr().err
    assert main([str(tmp_path / "scan.tif"), "--masks", str(tmp_path / "nowhere")]) == 2
