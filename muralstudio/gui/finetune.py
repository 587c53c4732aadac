"""Fine-tune the PConv model on the open mural: a dialog, then a job on the shared runner.

The job is the trainer's generator (``train.finetune.finetune_on``) driven by the window's
own :class:`JobRunner`, so a restoration and a fine-tuning never run at once, and the
Restore panel shows the progress, the time left and its Cancel button, as for a
restoration. The GUI never touches a model: it hands the trainer the pixels and the union
of the damage masks (damaged pixels never teach) and reports what the trainer returns.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator

import numpy as np
from PySide6.QtCore import QSettings, QStandardPaths, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from muralstudio.core.errors import ModelError
from muralstudio.core.progress import Progress
from muralstudio.engines.pconv import SHIPPED

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu

    from muralstudio.gui.main_window import MainWindow

RECENT_KEY = "finetune/recent_weights"
MAX_RECENT = 8
DEFAULT_MINUTES = 15
log = logging.getLogger(__name__)

NOTE = (
    "The model learns only from the intact parts of this mural: every marked damage class is "
    "avoided, with a margin, and a few intact patches are kept aside to measure the gain. "
    "Training keeps the computer busy for the whole time (restoring waits until it ends); "
    "progress and Cancel are in the Restore panel."
)


# -- remembered weights ---------------------------------------------------------------------
def recent_weights(settings: QSettings) -> list[str]:
    """Fine-tuned weight files remembered in ``settings``, newest first, existing ones only."""
    value = settings.value(RECENT_KEY, [])
    paths = [value] if isinstance(value, str) else list(value or [])
    return [p for p in paths if Path(p).is_file()]


def remember_weights(settings: QSettings, path: Path) -> None:
    """Put ``path`` first in the recent fine-tuned weights (so the weights field offers it)."""
    new = str(path.resolve())
    rest = [p for p in recent_weights(settings) if p != new]
    settings.setValue(RECENT_KEY, [new] + rest[: MAX_RECENT - 1])


def default_weights_path(stem: str, today: date | None = None) -> Path:
    """A new file in the user's data folder, ``models/pconv-<stem>-<date>.pt``, never an existing one."""
    base = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "models"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "mural"
    name = f"pconv-{safe}-{(today or date.today()).isoformat()}"
    path, n = base / f"{name}.pt", 2
    while path.exists():
        path, n = base / f"{name}-{n}.pt", n + 1
    return path


# -- the dialog -----------------------------------------------------------------------------
@dataclass(frozen=True)
class FinetuneChoice:
    """What the conservator asked for: minutes, where to write, which weights to start from.

    ``init`` is a Restore-panel weights value (a file, or a shipped model's name); ``None``
    means the shipped model.
    """

    minutes: int
    out: Path
    init: str | None = None


class FinetuneDialog(QDialog):
    """Minutes, target file and starting weights, with a note on what fine-tuning does."""

    def __init__(self, parent: QWidget | None, out: Path, panel_weights: str | None = None,
                 recent: list[str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fine-tune PConv on this mural")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.minutes = QSpinBox(minimum=1, maximum=240, value=DEFAULT_MINUTES, suffix=" min")
        self.minutes.setToolTip("Wall-clock training time; longer usually helps, with diminishing returns.")
        self.minutes.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        form.addRow("Training time", self.minutes)
        row = QHBoxLayout()
        self.out = QLineEdit(str(out))
        self.out.setMinimumWidth(380)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.out, 1)
        row.addWidget(browse)
        form.addRow("Save weights to", row)
        self.start = QComboBox()
        self.start.addItem("Shipped PConv model", None)
        panel = (panel_weights or "").strip()
        if panel and panel != SHIPPED:
            self.start.addItem(f"Restore panel's weights: {Path(panel).name}", panel)
        for p in recent or []:
            if self.start.findData(p) < 0:
                self.start.addItem(f"Earlier fine-tuning: {Path(p).name}", p)
        for i in range(self.start.count()):
            self.start.setItemData(i, self.start.itemData(i) or "The model shipped with Mural Studio",
                                   Qt.ItemDataRole.ToolTipRole)
        form.addRow("Start from", self.start)
        layout.addLayout(form)
        note = QLabel(NOTE, wordWrap=True)
        note.setStyleSheet("color: palette(placeholder-text);")
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.addButton("Start fine-tuning", QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save fine-tuned weights", self.out.text(), "Weights (*.pt)")
        if path:
            self.out.setText(path)

    def choice(self) -> FinetuneChoice:
        out = Path(self.out.text().strip()).expanduser()
        if out.suffix.lower() not in (".pt", ".pth"):
            out = out.with_name(out.name + ".pt")
        return FinetuneChoice(self.minutes.value(), out, self.start.currentData())

    def problem(self) -> str | None:
        """Why the choice cannot be used, or None."""
        if not self.out.text().strip():
            return "Choose a file to save the fine-tuned weights to."
        c = self.choice()
        if c.out.is_dir():
            return f"{c.out} is a folder; choose a file name."
        if c.init is not None and Path(c.init).expanduser().resolve() == c.out.resolve():
            return "Save the fine-tuned weights to another file, so the starting weights are kept."
        return None

    def accept(self) -> None:
        problem = self.problem()
        if problem is not None:
            QMessageBox.warning(self, "Cannot fine-tune", problem)
            return
        super().accept()


# -- the job --------------------------------------------------------------------------------
Trainer = Callable[..., Generator[Progress, None, Any]]


def finetune_job(image: np.ndarray, damage: np.ndarray, choice: FinetuneChoice, name: str,
                 trainer: Trainer | None = None) -> Generator[Progress, None, Any]:
    """The trainer's generator, its messages labelled; closing this one closes the trainer.

    ``trainer`` defaults to ``train.finetune.finetune_on`` (imported here, on the worker
    thread, because it brings in torch); tests pass a fake with the same signature.
    """
    from muralstudio.engines.pconv import MODEL

    yield Progress(0.0, "Fine-tuning: loading the trainer")
    if trainer is None:
        from muralstudio.train.finetune import finetune_on

        trainer = finetune_on
    if choice.init is not None:
        init = MODEL.resolve(choice.init)
    else:
        from muralstudio.nets.weights import shipped

        try:
            init = shipped(SHIPPED)
        except ModelError as exc:
            raise ModelError(f"{exc} Put a PConv weights file in the Restore panel's Weights field "
                             "and start from it instead.") from None
    gen = trainer(image, damage, choice.out, float(choice.minutes), name=name, init=init, log=log.info)
    try:
        while True:
            try:
                p = next(gen)
            except StopIteration as stop:
                return stop.value
            yield replace(p, message=f"Fine-tuning: {p.message}")
    finally:
        gen.close()


def _db(figures: dict[str, Any], key: str) -> str:
    value = figures.get(key)
    return f"{value:.2f} dB" if isinstance(value, (int, float)) else "n/a"


def summary(state: Any, out: Path) -> str:
    """The result for the conservator: held-out PSNR before and after, and Telea's."""
    history = list(getattr(state, "history", None) or [])
    before = history[0] if history else {}
    best = dict(getattr(state, "best", None) or {})
    text = (f"On intact patches of this mural kept out of training: before {_db(before, 'psnr')}, "
            f"after {_db(best, 'psnr')} (Telea {_db(best or before, 'telea_psnr')}).")
    if before and best and best.get("psnr", 0) <= before.get("psnr", 0):
        text += "\n\nTraining did not improve on the starting weights; the file holds them unchanged."
    return f"{text}\n\nThe weights are saved in {out} and selected in the Restore panel."


class FinetuneActions:
    """The Tools-menu entry and the life of one fine-tuning job for a main window."""

    def __init__(self, win: "MainWindow") -> None:
        self.win = win
        self.active = False  # the shared runner is running our job
        self.trainer: Trainer | None = None  # None: the real one (tests put a fake here)
        self._choice: FinetuneChoice | None = None
        self._before: int | None = None  # mtime of the target before the run (None: absent)
        win.restore.recent_weights = lambda: recent_weights(win.settings)

    def build_menu(self, menu: "QMenu") -> None:
        self.action = self.win._action(menu, "mdi6.school-outline", "&Fine-tune PConv on this mural…", self.ask,
                                       tip="Adapt the learned inpainting model to the open mural")
        self.refresh()

    def refresh(self) -> None:
        """Enable the menu entry only while a document is open."""
        self.action.setEnabled(self.win.session is not None)

    def ask(self) -> None:
        """Open the dialog (unless another job runs) and start on OK."""
        win = self.win
        if win.session is None:
            return
        if win.runner.is_running():
            what = "Fine-tuning is" if self.active else "A restoration is"
            QMessageBox.information(win, "A job is running",
                                    f"{what} running. Wait for it to finish or cancel it in the Restore panel first.")
            return
        s = win.session
        stem = (s.source or s.project or Path("mural")).stem
        dialog = FinetuneDialog(win, default_weights_path(stem), win.restore.param_text("weights"),
                                recent_weights(win.settings))
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.start(dialog.choice())

    def start(self, choice: FinetuneChoice) -> bool:
        """Run the fine-tuning on the shared runner; False when it cannot start."""
        win = self.win
        if win.session is None or win.runner.is_running():
            return False
        try:
            choice.out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            QMessageBox.warning(win, "Cannot fine-tune", f"Cannot create the folder {choice.out.parent}: {exc.strerror}.")
            return False
        doc = win.session.doc
        image, damage = doc.original.pixels, doc.union_mask().copy()  # the original is read-only
        self._choice, self.active = choice, True
        self._before = choice.out.stat().st_mtime_ns if choice.out.exists() else None
        win.restore.set_running(True)
        win.restore.set_status(f"Fine-tuning for {choice.minutes} min…")
        dock = win.findChild(QDockWidget, "restore-dock")
        if dock is not None:
            dock.show()
            dock.raise_()
        win.statusBar().showMessage("Fine-tuning PConv; progress and Cancel are in the Restore panel.", 8000)
        name = win.session.title
        trainer = self.trainer
        win.runner.start(lambda: finetune_job(image, damage, choice, name, trainer))
        return True

    def _end(self) -> FinetuneChoice:
        self.active = False
        self.win.restore.set_running(False)
        assert self._choice is not None
        return self._choice

    def finished(self, state: object) -> None:
        choice = self._end()
        win = self.win
        remember_weights(win.settings, choice.out)
        win.restore.use_weights("pconv", str(choice.out))
        win.restore.set_status(f"Fine-tuned weights ready: {choice.out.name}")
        QMessageBox.information(win, "Fine-tuning finished", summary(state, choice.out))

    def failed(self, message: str) -> None:
        self._end()
        self.win.restore.set_status("Fine-tuning failed.")
        QMessageBox.warning(self.win, "Fine-tuning failed", message)

    def cancelled(self) -> None:
        choice = self._end()
        out = choice.out
        kept = out.exists() and (self._before is None or out.stat().st_mtime_ns != self._before)
        text = ("Fine-tuning cancelled; the best weights measured so far are in " + str(out)) if kept else \
            "Fine-tuning cancelled; no weights were written."
        self.win.restore.set_status("Fine-tuning cancelled.")
        self.win.statusBar().showMessage(text, 15000)
