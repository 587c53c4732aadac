"""The HTML intervention report: sections, embedded images, escaping, atomic write, CLI."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from muralstudio.cli import main
from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import Mural
from muralstudio.core.errors import ImageWriteError
from muralstudio.core.progress import Progress
from muralstudio.core.raster import RasterImage
from muralstudio.io.icc import srgb_profile
from muralstudio.core.assessment import CRITERIA, Rating
from muralstudio.io.report import export_report

H, W = 120, 200
SECTIONS = ("summary", "before-after", "detail", "damage", "candidates", "provenance", "notes")


def make_doc(tmp_path: Path, *, choose: bool = True) -> Mural:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 65535, (H, W, 3), endpoint=True).astype(np.uint16)
    doc = Mural(RasterImage(pixels, icc_profile=srgb_profile(), source=tmp_path / "wall <east>.tif"))
    doc.mask(DamageClass.CRACK)[30:33, 10:150] = True
    doc.mask(DamageClass.LOSS)[60:100, 120:180] = True
    doc.notes = "Lime plaster. <script>alert('x')</script> & more"
    cand = Candidate(Provenance("telea", {"radius": 3}, seed=7, weights_sha256="ab" * 32, elapsed_s=1.5),
                     [Patch(60, 120, np.full((40, 60, 3), 1000, np.uint16), np.ones((40, 60), bool))],
                     name="fill <one>")
    other = Candidate(Provenance("diffusion", {"steps": 20}, seed=1, weights_sha256="ef" * 32,
                                 other_weights={"anchor": "cd" * 32}), [], name="second try")
    doc.add_candidate(cand)
    doc.add_candidate(other)
    if choose:
        doc.choose(cand.id)
    return doc


def run(gen):
    steps = []
    try:
        while True:
            steps.append(next(gen))
    except StopIteration as stop:
        return stop.value, steps


def images(text: str) -> list[Image.Image]:
    out = []
    for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text):
        img = Image.open(io.BytesIO(base64.b64decode(data)))
        img.load()
        assert img.format == "PNG"
        out.append(img)
    return out


def test_report_sections_images_and_escaping(tmp_path):
    doc = make_doc(tmp_path)
    cand = doc.chosen
    doc.rate(cand.id, Rating("A. <Conservator>", {c: 4 for c in CRITERIA}, "good & fine"))
    doc.rate(cand.id, Rating("B. Restorer", {"textural detail": 2}))
    target = tmp_path / "report.html"
    path, steps = run(export_report(target, doc, max_side=100))
    assert path == target and target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != target.name] == []  # no temporary left
    assert all(isinstance(s, Progress) for s in steps) and steps[-1].fraction == 1.0
    fractions = [s.fraction for s in steps]
    assert fractions == sorted(fractions) and len(steps) >= 3
    text = target.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in text
    assert "wall &lt;east&gt;.tif" in text and "telea" in text and "diffusion" in text
    assert "fill &lt;one&gt;" in text and "second try" in text and "★" in text
    assert "<code>abababababab</code>" in text and "<code>efefefefefef; anchor cdcdcdcdcdcd</code>" in text
    assert "2,400 pixels" in text and "16-bit" in text and "sRGB" in text
    assert "A. &lt;Conservator&gt;" in text and "good &amp; fine" in text and "Textural detail" in text
    assert '<td class="num">3.60</td>' in text  # mean of 4, 4, 4, 4 and 2 over both raters
    assert "<script>" not in text and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in text
    assert "http://" not in text.replace("http://cv.iptc.org", "") and "https://" not in text
    imgs = images(text)
    assert len(imgs) == 5  # before, after, detail before, detail after, masks
    assert imgs[0].size == imgs[1].size == imgs[4].size == (100, 60)
    assert all(max(i.size) <= 100 and i.mode == "RGB" for i in imgs)
    before, after = (np.asarray(i) for i in imgs[2:4])
    assert before.shape == after.shape and not np.array_equal(before, after)
    assert (after == round(1000 / 257)).all(axis=2).sum() == 40 * 60  # the patch at full resolution


def test_report_without_chosen_candidate_and_existing_target(tmp_path):
    doc = make_doc(tmp_path, choose=False)
    target = tmp_path / "r.html"
    run(export_report(target, doc))
    text = target.read_text(encoding="utf-8")
    assert "Nothing was restored" in text and "★" not in text
    assert len(images(text)) == 3  # no detail crop
    imgs = images(text)
    assert imgs[0].size == (W, H) and np.array_equal(np.asarray(imgs[0]), np.asarray(imgs[1]))
    before = target.read_bytes()
    with pytest.raises(ImageWriteError, match="already exists"):
        run(export_report(target, doc))
    assert target.read_bytes() == before
    run(export_report(target, make_doc(tmp_path), force=True))
    assert "Nothing was restored" not in target.read_text(encoding="utf-8")


def test_closing_early_leaves_no_file(tmp_path):
    target = tmp_path / "r.html"
    gen = export_report(target, make_doc(tmp_path))
    next(gen)
    gen.close()
    assert list(tmp_path.iterdir()) == []


def test_cli_report(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--width", "256", "--height", "192"]) == 0
    assert main(["restore", str(tmp_path / "demo" / "mural.tif"), "--mask", str(tmp_path / "demo" / "mask" / "mural.png"),
                 "--out", str(tmp_path / "restored.tif"), "-q"]) == 0
    out = tmp_path / "r.html"
    args = ["export", "--image", str(tmp_path / "demo" / "mural.tif"), "--mask", str(tmp_path / "demo" / "mask" / "mural.png"),
            "--restored", str(tmp_path / "restored.tif"), "--format", "report", "--out", str(out), "-q"]
    assert main(args) == 0
    text = out.read_text(encoding="utf-8")
    assert "mural.tif" in text and "telea" in text and "restored" in text and "were restored by telea" in text
    assert images(text)[0].size == (256, 192)
    capsys.readouterr()
    assert main(args[:-3] + ["--out", str(tmp_path / "r.htm"), "-q"]) == 2
    assert ".html" in capsys.readouterr().err


def test_report_shows_measured_figures_per_candidate(tmp_path):
    doc = make_doc(tmp_path)
    cid = doc.candidates[0].id
    path, _ = run(export_report(tmp_path / "r.html", doc, metrics={cid: {"texture_ratio": 0.512}},
                                metric_labels={"texture_ratio": "Texture (fill/around)"}))
    text = path.read_text()
    assert "<th>Texture (fill/around)</th>" in text and '<td class="num">0.512</td>' in text
    assert "<td>–</td>" in text  # the second candidate has no figure
