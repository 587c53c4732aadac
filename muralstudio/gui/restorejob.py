"""Restoration runs in the main window: starts the Restore panel's engine on the window's
worker, shows its progress and current estimate, and adds what it made to the document.

An engine may make several candidates in one run (``InpaintResult.all_results``, e.g. one
per seed): each becomes a candidate layer, and the first is shown. Engines that follow
guide lines (``Engine.takes_guide``) get a copy of the document's guide layer, and the panel
says how many guide-line pixels there are. The worker is shared with fine-tuning, which
gets its own finished, failed and cancelled handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox

from muralstudio.core.damage import DamageClass
from muralstudio.core.document import GUIDE, Mural
from muralstudio.engines import InpaintRequest, get_engine
from muralstudio.gui.panels.restore import RestorePanel

if TYPE_CHECKING:
    from muralstudio.core.candidate import Candidate
    from muralstudio.engines.base import InpaintResult
    from muralstudio.gui.main_window import MainWindow

GUIDE_COUNT_DELAY_MS = 150  # a stroke changes the guide layer at every pointer event: count once after


def is_preview_image(preview: object) -> bool:
    """Whether a progress preview is an image the panel can show: (h, w, 3) uint8 RGB."""
    return isinstance(preview, np.ndarray) and preview.ndim == 3 and preview.shape[2] == 3 \
        and preview.dtype == np.uint8 and preview.size > 0


def done_message(cands: list[Candidate]) -> str:
    """The status line after a run that made ``cands`` (they restore the same pixels)."""
    seconds, restored = sum(c.provenance.elapsed_s for c in cands), cands[0].restored_area()
    if len(cands) == 1:
        return f"Done in {seconds:.1f} s: {restored} pixels restored."
    return f"{len(cands)} candidates in {seconds:.1f} s: {restored} pixels restored each."


class RestoreJob(QObject):
    """Runs restorations for the Restore panel and keeps its guide-line note in step."""

    def __init__(self, win: MainWindow, panel: RestorePanel) -> None:
        super().__init__(win)
        self.win, self.panel, self.runner = win, panel, win.runner
        self.doc: Mural | None = None
        self.active = False  # a restoration (not a fine-tuning) runs on the shared worker
        self._job_doc: Mural | None = None
        self._job_classes: tuple[str, ...] = ()
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(GUIDE_COUNT_DELAY_MS)
        self._count_timer.timeout.connect(self.count_guide)
        panel.runRequested.connect(self.run)
        panel.cancelRequested.connect(self.runner.cancel)
        self.runner.progress.connect(self._progress)
        ft = win.finetune
        self.runner.finished.connect(lambda r: ft.finished(r) if ft.active else self._finished(r))
        self.runner.failed.connect(lambda m: ft.failed(m) if ft.active else self._failed(m))
        self.runner.cancelled.connect(lambda: ft.cancelled() if ft.active else self._cancelled())
        act = win.tool_actions.get("guide")
        if act is not None:
            act.toggled.connect(lambda on: on and self.show_guides())

    # -- guide lines ----------------------------------------------------------------------
    def set_document(self, doc: Mural | None) -> None:
        self.doc = doc
        if doc is not None:
            doc.add_listener(lambda key, _rect, d=doc: self._doc_changed(d, key))
        self.count_guide()

    def _doc_changed(self, doc: Mural, key: str) -> None:
        if doc is self.doc and key == GUIDE:
            self._count_timer.start()
            if self.win.canvas.tool() is self.win.tools.get("guide"):
                self.show_guides()  # never draw lines one cannot see

    def count_guide(self) -> None:
        """Tell the panel how many guide-line pixels the document has."""
        self._count_timer.stop()
        self.panel.set_guide_count(int(np.count_nonzero(self.doc.guide)) if self.doc is not None else 0)

    def show_guides(self) -> None:
        """Make the guide layer visible (when the guide pen is chosen or draws)."""
        box = self.win.layers.visible.get(GUIDE)
        if box is not None and not box.isChecked():
            box.setChecked(True)

    # -- runs -----------------------------------------------------------------------------
    def run(self, engine_name: str, params: dict[str, Any], classes: list[str]) -> None:
        """Restore ``classes`` with ``engine_name`` on the worker, unless a job runs already."""
        win = self.win
        if win.session is None or self.runner.is_running():
            return
        doc = win.session.doc
        hints = win.hint_control.request_hints(engine_name, doc)
        if hints is None:
            return
        mask = doc.union_mask([DamageClass(c) for c in classes])
        if not mask.any():
            QMessageBox.information(win, "Nothing to restore", "The checked damage classes have no marked pixels.")
            return
        engine = get_engine(engine_name)
        guide = doc.guide.copy() if engine.takes_guide else None  # a copy: the user may draw on while it runs
        request = InpaintRequest(doc.original.pixels, mask, dict(params), guide=guide, hints=hints,
                                 damage=doc.union_mask())
        self._job_classes, self._job_doc = tuple(classes), doc
        self.active = True
        self.panel.set_running(True)
        self.runner.start(lambda: engine.run(request))

    def _progress(self, fraction: float, message: str, seconds_left: float | None, preview: object) -> None:
        self.panel.set_progress(fraction, message, seconds_left)
        if self.active and is_preview_image(preview):
            self.panel.show_preview(preview)  # type: ignore[arg-type]

    def _end(self) -> Mural | None:
        """The run is over: idle the panel; the document it ran on, if still open."""
        self.active = False
        self.panel.set_running(False)
        doc, self._job_doc = self._job_doc, None
        session = self.win.session
        return doc if session is not None and doc is session.doc else None

    def _finished(self, result: InpaintResult) -> None:
        doc = self._end()
        if doc is None:
            return  # the document was closed while the job ran
        cands = [r.to_candidate(self._job_classes) for r in result.all_results()]
        doc.add_candidates(cands)  # one undo step for the whole run
        first = cands[0]
        self.panel.set_status(done_message(cands))
        self.win.show_candidate(first.id)
        self.panel.refresh_candidates(doc, first.id)
        self.win.files.autosave()

    def _failed(self, message: str) -> None:
        self._end()
        self.panel.set_status("Failed.")
        QMessageBox.warning(self.win, "Restoration failed", message)

    def _cancelled(self) -> None:
        self._end()
        self.panel.set_status("Cancelled; the document is unchanged.")
