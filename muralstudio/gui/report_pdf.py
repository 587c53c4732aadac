"""The intervention report as PDF: the HTML report laid out by Qt's text engine on A4.

Qt (PySide6-Essentials) prints rich text to PDF without a browser. Its HTML subset has no
flexible layout, so before/after pairs are scaled to sit side by side within the text
width; images keep their full pixels and are only drawn smaller, so a reader can zoom in.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Generator

from PySide6.QtCore import QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QGuiApplication, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument

from muralstudio.core.document import Mural
from muralstudio.core.errors import ImageWriteError
from muralstudio.core.progress import Progress
from muralstudio.io.atomic import atomic_write
from muralstudio.io.export import check_target
from muralstudio.io.report import export_report

MARGIN_MM = 15.0
POINTS_PER_INCH = 72.0
_IMG = re.compile(r'<img src="([^"]+)" width="(\d+)" height="(\d+)"')


_PAIR = re.compile(r'<div class="pair">(<figure>.*?</figure>)(<figure>.*?</figure>)</div>', re.S)
PAGE_BREAK_BEFORE = ("detail",)  # sections that start a page, so no image is cut


def for_print(html: str, text_width: float, text_height: float) -> str:
    """The report's HTML in the subset Qt lays out: pairs as two-column tables, images scaled
    (aspect kept) to half the text width and at most 40 % of a page high, figures as blocks."""

    def scale(m: re.Match[str]) -> str:
        w, h = int(m.group(2)), int(m.group(3))
        f = min(1.0, (text_width / 2 - 24) / max(1, w), 0.4 * text_height / max(1, h))
        return f'<img src="{m.group(1)}" width="{w * f:.0f}" height="{h * f:.0f}"'

    html = _IMG.sub(scale, html)
    html = _PAIR.sub(r'<table width="100%" cellspacing="4"><tr><td width="50%">\1</td>'
                     r'<td width="50%">\2</td></tr></table>', html)
    html = html.replace("<table>", '<table style="font-size: small">')  # wide tables: fewer broken words
    html = html.replace("<figure>", "<div>").replace("</figure>", "</div>")
    html = html.replace("<figcaption>", '<p style="font-size:small; color:#555">').replace("</figcaption>", "</p>")
    for section in PAGE_BREAK_BEFORE:
        html = html.replace(f'<section id="{section}"><h2>', f'<section id="{section}"><h2 style="page-break-before: always">')
    return html


_APP: list[QGuiApplication] = []


def ensure_gui_app() -> None:
    """A Qt application to render with; headless when there is no display (command line)."""
    if QGuiApplication.instance() is None:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        _APP.append(QGuiApplication(sys.argv[:1]))


def render_pdf(html: str, path: Path, title: str = "Intervention report") -> int:
    """Lay ``html`` out on A4 pages and write them to ``path``; returns the page count."""
    ensure_gui_app()
    writer = QPdfWriter(str(path))
    writer.setTitle(title)
    writer.setCreator("Mural Studio")
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM),
                                     QPageLayout.Unit.Millimeter))
    page = writer.pageLayout().paintRect(QPageLayout.Unit.Point)
    doc = QTextDocument()
    doc.setDocumentMargin(0)
    doc.setPageSize(QSizeF(page.width(), page.height()))
    doc.setHtml(for_print(html, page.width(), page.height()))
    pages = doc.pageCount()
    painter = QPainter()
    if not painter.begin(writer):
        raise ImageWriteError(f"Cannot write the PDF {path.name}.")
    try:
        dots = writer.resolution() / POINTS_PER_INCH
        painter.scale(dots, dots)
        for i in range(pages):
            if i:
                writer.newPage()
            painter.save()
            painter.translate(0, -i * page.height())
            doc.drawContents(painter, QRectF(0, i * page.height(), page.width(), page.height()))
            painter.restore()
    finally:
        painter.end()
    return pages


def export_report_pdf(
    path: str | os.PathLike[str],
    doc: Mural,
    *,
    force: bool = False,
    **report: Any,
) -> Generator[Progress, None, Path]:
    """Write the intervention report of ``doc`` as PDF (atomically, like every export).

    ``report`` takes :func:`export_report`'s options (ratings, metrics, max_side, ...).
    """
    target = check_target(path, doc, force)
    with tempfile.TemporaryDirectory(prefix="muralstudio-report-") as tmp:
        run = export_report(Path(tmp) / "report.html", doc, **report)
        try:
            while True:
                p = next(run)
                yield Progress(0.9 * p.fraction, p.message)
        except StopIteration as stop:
            html = Path(stop.value).read_text(encoding="utf-8")
        finally:
            run.close()
    yield Progress(0.9, "Laying out the PDF pages")
    title = f"Intervention report: {doc.original.source.name if doc.original.source else 'unsaved scan'}"
    atomic_write(target, lambda temp: render_pdf(html, temp, title))
    yield Progress(1.0, "Report written")
    return target
