"""The PDF intervention report: Qt lays the HTML report out on A4 pages, atomically."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from muralstudio.cli import main
from muralstudio.core.errors import ImageWriteError
from muralstudio.engines.base import drive
from muralstudio.gui.report_pdf import export_report_pdf, for_print
from tests.io.test_report import make_doc


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_pairs_become_tables_and_images_fit_half_the_text_width():
    fig = '<figure><img src="data:x" width="1600" height="800" alt="a"><figcaption>c</figcaption></figure>'
    html = for_print(f'<div class="pair">{fig}{fig}</div>', text_width=500, text_height=700)
    assert html.count("<td") == 2 and "<figure>" not in html and "<figcaption>" not in html
    widths = [int(w) for w in re.findall(r'width="(\d+)" height', html)]
    assert widths == [226, 226]


def test_pdf_report_is_written_with_pages_and_images(qapp, tmp_path: Path):
    doc = make_doc(tmp_path)
    target = tmp_path / "report.pdf"
    path = drive(export_report_pdf(target, doc, max_side=200))
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and _pages(data) >= 2
    assert b"/Subtype /Image" in data or b"/Subtype/Image" in data
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_pdf_report_refuses_an_existing_file_without_force(qapp, tmp_path: Path):
    doc = make_doc(tmp_path)
    target = tmp_path / "report.pdf"
    target.write_bytes(b"old")
    with pytest.raises(ImageWriteError):
        drive(export_report_pdf(target, doc))
    assert target.read_bytes() == b"old"


def test_cli_writes_a_pdf_report(tmp_path: Path, capsys):
    from muralstudio.commands.demo import write_demo

    demo = write_demo(tmp_path / "demo", 256, 192, 0).parent
    restored = tmp_path / "restored.tif"
    assert main(["restore", str(demo / "mural.tif"), "--mask", str(demo / "mask/mural.png"), "--out", str(restored), "-q"]) == 0
    out = tmp_path / "report.pdf"
    assert main(["export", "--image", str(demo / "mural.tif"), "--mask", str(demo / "mask/mural.png"),
                 "--restored", str(restored), "--format", "report", "--out", str(out), "-q"]) == 0
    assert out.read_bytes().startswith(b"%PDF")
