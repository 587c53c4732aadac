import zipfile

import numpy as np
import pytest
import tifffile

from muralstudio.cli import main
from muralstudio.io.xmp import provenance_from_xmp


@pytest.fixture
def restored_set(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--width", "256", "--height", "192"]) == 0
    assert main(["restore", str(tmp_path / "demo" / "mural.tif"), "--mask", str(tmp_path / "demo" / "mask" / "mural.png"),
                 "--out", str(tmp_path / "restored.tif"), "-q"]) == 0
    capsys.readouterr()
    return tmp_path


def batch_args(t, fmt, out):
    return ["export", "--image", str(t / "demo" / "mural.tif"), "--mask", str(t / "demo" / "mask" / "mural.png"),
            "--restored", str(t / "restored.tif"), "--format", fmt, "--out", str(out), "-q"]


def test_batch_export_carries_the_restore_provenance(restored_set, capsys):
    out = restored_set / "archive.tif"
    assert main(batch_args(restored_set, "layered-tiff", out)) == 0
    with tifffile.TiffFile(out) as tf:
        page = tf.pages[0]
        assert page.dtype == np.uint16 and page.shape == (192, 256, 3)
        prov = provenance_from_xmp(bytes(page.tags[700].value))
    assert prov["restoration"]["engine"] == "telea"
    assert prov["digital_source_type"].endswith("compositeWithTrainedAlgorithmicMedia")


def test_ora_and_multipage_and_existing_target(restored_set, capsys):
    ora = restored_set / "archive.ora"
    assert main(batch_args(restored_set, "ora", ora)) == 0
    with zipfile.ZipFile(ora) as z:
        assert z.namelist()[0] == "mimetype" and "stack.xml" in z.namelist()
    pages = restored_set / "pages.tif"
    assert main(batch_args(restored_set, "multipage-tiff", pages)) == 0
    with tifffile.TiffFile(pages) as tf:
        assert len(tf.pages) >= 3
    capsys.readouterr()
    before = ora.read_bytes()
    assert main(batch_args(restored_set, "ora", ora)) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and len(err.strip().splitlines()) == 1
    assert ora.read_bytes() == before
    assert main(batch_args(restored_set, "ora", ora) + ["--force"]) == 0


def test_export_of_a_saved_project(restored_set, tmp_path):
    from muralstudio.commands.export import document_from_restoration
    from muralstudio.io.project import save_project

    t = restored_set
    doc = document_from_restoration(t / "demo" / "mural.tif", t / "demo" / "mask" / "mural.png", t / "restored.tif", "crack")
    save_project(t / "wall.mural", doc, source=t / "demo" / "mural.tif")
    out = t / "from-project.ora"
    assert main(["export", str(t / "wall.mural"), "--format", "ora", "--out", str(out), "-q"]) == 0
    assert out.exists()


@pytest.mark.parametrize("extra,words", [
    (["--format", "ora", "--out", "x.tif"], ".ora"),
    (["--format", "layered-tiff", "--out", "x.tif"], "project"),
    (["--format", "ora", "--out", "x.ora", "--compression", "lzw", "--image", "a", "--mask", "b", "--restored", "c"], "exist"),
])
def test_bad_export_arguments_exit_2(tmp_path, capsys, monkeypatch, extra, words):
    monkeypatch.chdir(tmp_path)
    assert main(["export", *extra]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
