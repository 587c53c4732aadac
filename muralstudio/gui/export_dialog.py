"""Archive export from the app: pick a format (or the report) and a file, export on a worker."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QProgressDialog, QWidget

from muralstudio.core.document import Mural
from muralstudio.gui.worker import JobRunner
from muralstudio.io.export import export_layered_tiff, export_multipage_tiff, export_ora
from muralstudio.gui.report_pdf import export_report_pdf
from muralstudio.io.report import export_report
from muralstudio.ops.context import with_context_metrics

FORMATS = {
    "Photoshop-layered TIFF (*.tif *.tiff)": (export_layered_tiff, ".tif", True),
    "Multipage TIFF, one page per layer (*.tif *.tiff)": (export_multipage_tiff, ".tif", True),
    "OpenRaster for GIMP and Krita (*.ora)": (export_ora, ".ora", False),
    "Intervention report (*.html)": (export_report, ".html", False),
    "Intervention report, PDF (*.pdf)": (export_report_pdf, ".pdf", False),
}
COMPRESSIONS = ["none (archive master)", "lzw", "deflate"]


def run_archive_export(parent: QWidget, doc: Mural, base: Path, source: Path | None) -> JobRunner | None:
    """Ask for the target and export; the dialog is modal so the document cannot change."""
    path, chosen = QFileDialog.getSaveFileName(parent, "Export archive", str(base.with_suffix(".tif")), ";;".join(FORMATS))
    if not path:
        return None
    exporter, suffix, is_tiff = FORMATS.get(chosen, next(iter(FORMATS.values())))
    target = Path(path)
    if target.suffix.lower() not in (".tif", ".tiff", ".ora", ".html", ".pdf"):
        target = target.with_suffix(suffix)
    if source is not None and target.resolve() == source.resolve():
        QMessageBox.warning(parent, "Cannot export", "The original scan is never overwritten; choose another name.")
        return None
    kwargs: dict = {"force": True}  # the file dialog already asked before replacing a file
    if is_tiff:
        choice, ok = QInputDialog.getItem(parent, "TIFF compression", "Compression:", COMPRESSIONS, 0, False)
        if not ok:
            return None
        kwargs["compression"] = choice.split()[0]
    dialog = QProgressDialog(f"Exporting {target.name}…", "Cancel", 0, 1000, parent)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(0)
    runner = JobRunner(parent)
    runner.progress.connect(lambda f, msg, _left, _p: (dialog.setValue(int(f * 1000)), dialog.setLabelText(msg or dialog.labelText())))
    dialog.canceled.connect(runner.cancel)

    def done(_result: object) -> None:
        dialog.reset()
        parent.statusBar().showMessage(f"Exported {target}", 8000)  # type: ignore[attr-defined]

    def failed(message: str) -> None:
        dialog.reset()
        QMessageBox.warning(parent, "Export failed", message)

    runner.finished.connect(done)
    runner.failed.connect(failed)
    runner.cancelled.connect(dialog.reset)
    if exporter in (export_report, export_report_pdf):
        exporter = with_context_metrics(exporter)
    runner.start(lambda: exporter(target, doc, **kwargs))
    parent._export_runner = runner  # type: ignore[attr-defined]  # keep it alive while it runs
    return runner
