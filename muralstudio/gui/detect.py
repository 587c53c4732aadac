"""Damage detection in the main window: runs the detector job and applies its proposals.

The detector (``engines.detect.detect``) runs on this controller's own :class:`JobRunner`,
so a detection and a restoration can run side by side. The result lives in the Detect
panel and on the canvas as proposal layers only; the document changes when, and only
when, the conservator applies the proposals, as one undo step that adds them to what is
marked already. Opening another document drops the detection and stops a running one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generator

import numpy as np
from PySide6.QtCore import QObject, QSettings
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QMessageBox

from muralstudio.core import masks as maskops
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import Mural, mask_key
from muralstudio.core.progress import Progress
from muralstudio.engines.detect import CLASSES, DetectRequest, Detection, detect
from muralstudio.engines.precision import PRECISIONS
from muralstudio.gui.panels.detect import DetectPanel, cumulative_counts, format_share
from muralstudio.gui.worker import JobRunner

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu

    from muralstudio.gui.main_window import MainWindow

DOCK = "detect-dock"


def merge_proposals(doc: Mural, masks: dict[str, np.ndarray], label: str) -> None:
    """Add each class's proposal to its mask layer (union) as one undo step."""
    with doc.edit(label) as rec:
        for cls, prop in masks.items():
            box = maskops.bbox(prop)
            if box is None:
                continue
            key = mask_key(DamageClass(cls))
            y0, x0, y1, x1 = box
            rec.touch(key, y0, x0, y1, x1)
            doc.layer_array(key)[y0:y1, x0:x1] |= prop[y0:y1, x0:x1]


def detect_job(request: DetectRequest) -> Generator[Progress, None, tuple[Detection, dict[str, np.ndarray]]]:
    """The detection, and the panel's per-class counts made on the worker thread too."""
    detection = yield from detect(request)
    yield Progress(1.0, "Counting the proposed pixels")
    return detection, {c: cumulative_counts(detection.probability(c)) for c in CLASSES}


class DetectController(QObject):
    """Wires the Detect panel to the detector job, the canvas and the document."""

    def __init__(self, win: MainWindow, panel: DetectPanel) -> None:
        super().__init__(win)
        self.win, self.panel = win, panel
        self.runner = JobRunner(self)
        self._job_doc: Mural | None = None  # the document the running job reads
        self._detected_doc: Mural | None = None  # the document the panel's detection is of
        panel.runRequested.connect(self.run)
        panel.cancelRequested.connect(self.cancel)
        panel.proposalsChanged.connect(self._show_proposals)
        panel.applyRequested.connect(self.apply)
        panel.discardRequested.connect(self.discard)
        self.runner.progress.connect(panel.set_progress)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self._failed)
        self.runner.cancelled.connect(self._cancelled)
        self._load_settings(win.settings)
        restore_dock = win.findChild(QDockWidget, "restore-dock")
        if restore_dock is not None and self.dock() is not None:
            win.tabifyDockWidget(restore_dock, self.dock())
            restore_dock.raise_()

    def dock(self) -> QDockWidget | None:
        return self.win.findChild(QDockWidget, DOCK)

    def build_menu(self, menu: QMenu) -> None:
        self.action = self.win._action(menu, "mdi6.magnify-scan", "&Detect damage…", self.show_and_run,
                                       QKeySequence("Ctrl+D"), "Propose damage masks with the detector")

    # -- settings -----------------------------------------------------------------------
    def _load_settings(self, s: QSettings) -> None:
        self.panel.weights.setText(str(s.value("detect/weights", "")))
        precision = str(s.value("detect/precision", "auto"))
        self.panel.precision.setCurrentText(precision if precision in PRECISIONS else "auto")
        for c in CLASSES:
            self.panel.set_threshold(c, float(s.value(f"detect/threshold/{c}", self.panel.threshold(c))))
            default = "true" if self.panel.used(c) else "false"
            self.panel.set_used(c, str(s.value(f"detect/use/{c}", default)).lower() == "true")

    def save_settings(self) -> None:
        s = self.win.settings
        s.setValue("detect/weights", self.panel.weights.text().strip())
        s.setValue("detect/precision", self.panel.precision.currentText())
        for c in CLASSES:
            s.setValue(f"detect/threshold/{c}", self.panel.threshold(c))
            s.setValue(f"detect/use/{c}", "true" if self.panel.used(c) else "false")

    # -- running ------------------------------------------------------------------------
    def show_and_run(self) -> None:
        """Show the Detect panel and detect damage on the open scan."""
        dock = self.dock()
        if dock is not None:
            dock.show()
            dock.raise_()
        self.run(self.panel.weights.text().strip())

    def run(self, weights: str) -> None:
        session = self.win.session
        if session is None:
            self.win.statusBar().showMessage("Open a scan first.", 5000)
            return
        if self.runner.is_running():
            return
        self.save_settings()
        doc = session.doc
        request = DetectRequest(doc.original.pixels, weights=weights, precision=self.panel.precision.currentText())
        self._job_doc = doc
        self.panel.set_running(True)
        self.runner.start(lambda: detect_job(request))

    def cancel(self) -> None:
        if self.runner.is_running():
            self.runner.cancel()
            self.panel.set_status("Cancelling…")

    def _current_doc(self) -> Mural | None:
        return self.win.session.doc if self.win.session is not None else None

    def _finished(self, result: object) -> None:
        self.panel.set_running(False)
        doc, self._job_doc = self._job_doc, None
        if doc is None or doc is not self._current_doc():
            self.panel.set_status("Ready")
            return  # another document was opened while it ran
        detection, counts = result  # type: ignore[misc]
        self._detected_doc = doc
        self.panel.set_detection(detection, counts)
        self.panel.set_status(f"Done in {detection.elapsed_s:.1f} s. Set the thresholds, then apply.")

    def _failed(self, message: str) -> None:
        self.panel.set_running(False)
        self._job_doc = None
        self.panel.set_status("Failed.")
        QMessageBox.warning(self.win, "Detection failed", message)

    def _cancelled(self) -> None:
        self.panel.set_running(False)
        self._job_doc = None
        self.panel.set_status("Cancelled; the masks are unchanged.")

    # -- proposals ----------------------------------------------------------------------
    def _show_proposals(self, masks: dict) -> None:
        if self._current_doc() is not None and self._detected_doc is self._current_doc():
            self.win.canvas.set_proposals(masks)

    def apply(self) -> None:
        """Add the used classes' proposals to the document's masks (one undo step)."""
        doc, detection = self._current_doc(), self.panel.detection()
        if doc is None or detection is None or doc is not self._detected_doc:
            return
        self.save_settings()
        masks = self.panel.selected_masks()
        if not masks:
            self.panel.set_status("Nothing proposed in the used classes.")
            return
        total = self.panel.pixels()
        parts = ", ".join(f"{c} {format_share(self.panel.count(c) or 0, total)}" for c in masks)
        merge_proposals(doc, masks, f"Apply detected damage ({', '.join(masks)})")
        text = f"Applied detected {parts} (detector sha256 {detection.weights_sha256[:12]}…)"
        self._clear()
        self.panel.set_status(text)
        self.win.statusBar().showMessage(text, 30000)

    def discard(self) -> None:
        self._clear()
        self.panel.set_status("Proposals discarded; the masks are unchanged.")

    def _clear(self) -> None:
        self.panel.set_detection(None)
        self._detected_doc = None
        self.win.canvas.set_proposals(None)

    def set_document(self, doc: Mural | None) -> None:
        """Another document is shown: drop the detection and stop a job on the old one."""
        if self.runner.is_running() and self._job_doc is not doc:
            self.cancel()
        if self._detected_doc is not doc:
            self._clear()
            if not self.runner.is_running():
                self.panel.set_status("Ready")

    def shutdown(self) -> None:
        """Stop a running job and wait for it (the window is closing)."""
        if self.runner.is_running():
            self.runner.cancel()
            self.runner.wait()
        self.save_settings()

