"""File and mask commands of the main window: open, save, recovery, import/export, mask ops."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import qtawesome as qta
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMenu, QMessageBox

from muralstudio.core import masks as maskops
from muralstudio.core.errors import MuralStudioError
from muralstudio.gui.session import PROJECT_SUFFIX, Session, load_class_masks, open_path
from muralstudio.io.images import write_image
from muralstudio.io.masks import read_mask, write_mask

if TYPE_CHECKING:
    from muralstudio.gui.main_window import MainWindow

IMAGE_FILTER = "Images (*.tif *.tiff *.png *.jpg *.jpeg)"
OPEN_FILTER = f"Scans and projects (*.tif *.tiff *.png *.jpg *.jpeg *{PROJECT_SUFFIX});;{IMAGE_FILTER};;Projects (*{PROJECT_SUFFIX})"
MAX_RECENT = 10


class _Notifier(QObject):
    """Carries messages from the autosave thread to the GUI thread."""

    failed = Signal(str)


class FileActions:
    """Opening, saving and recovering documents for one main window."""

    def __init__(self, win: "MainWindow") -> None:
        self.win = win
        self.recovery = None  # a RecoverySlot once a document is open
        self._autosaving: threading.Thread | None = None
        self.notifier = _Notifier()
        self.notifier.failed.connect(lambda msg: win.statusBar().showMessage(msg, 10000))

    def build_menu(self, menu: QMenu) -> None:
        w = self.win
        self.open_act = w._action(menu, "mdi6.folder-open-outline", "&Open…", self.ask_open, QKeySequence.StandardKey.Open)
        self.recent_menu = menu.addMenu(qta.icon("mdi6.history"), "Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.save_act = w._action(menu, "mdi6.content-save-outline", "&Save project", self.save, QKeySequence.StandardKey.Save)
        w._action(menu, None, "Save project &as…", self.save_as, QKeySequence("Ctrl+Shift+S"))
        menu.addSeparator()
        w._action(menu, "mdi6.image-move", "&Export restored image…", self.export_result, QKeySequence("Ctrl+E"))
        w._action(menu, "mdi6.archive-arrow-down-outline", "Export &archive (layers + provenance)…", self.export_archive,
                  QKeySequence("Ctrl+Shift+E"))
        menu.addSeparator()
        w._action(menu, "mdi6.exit-to-app", "&Quit", w.close, QKeySequence.StandardKey.Quit)

    # -- opening ------------------------------------------------------------------------
    def confirm_discard(self) -> bool:
        s = self.win.session
        if s is None or not s.dirty:
            return True
        answer = QMessageBox.question(
            self.win, "Unsaved changes", f"Save the changes to {s.title} first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def ask_open(self) -> None:
        start = str(self.win.settings.value("paths/last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self.win, "Open scan or project", start, OPEN_FILTER)
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path, masks_dir: Path | None = None) -> bool:
        """Open an image or project; on bad input show why and keep the current document."""
        if not self.confirm_discard():
            return False
        try:
            session = open_path(path)
            if masks_dir is not None:
                load_class_masks(session.doc, masks_dir)
                session.saved_position = session.doc.history.position
        except MuralStudioError as exc:
            QMessageBox.warning(self.win, "Cannot open", str(exc))
            return False
        except MemoryError:
            QMessageBox.warning(self.win, "Cannot open", f"There is not enough memory to open {path.name}.")
            return False
        self.adopt(session)
        self.add_recent(path)
        self.win.settings.setValue("paths/last_dir", str(path.parent))
        return True

    def adopt(self, session: Session) -> None:
        """Make ``session`` the window's document, with a fresh recovery slot."""
        from muralstudio.io.recovery import RecoverySlot

        self.close_recovery()
        self.win.set_session(session)
        self.recovery = RecoverySlot()

    def add_recent(self, path: Path) -> None:
        recent = [p for p in self.recent() if Path(p) != path.resolve()]
        self.win.settings.setValue("files/recent", [str(path.resolve())] + recent[: MAX_RECENT - 1])

    def recent(self) -> list[str]:
        value = self.win.settings.value("files/recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent():
            act = QAction(Path(p).name, self.recent_menu)
            act.setStatusTip(p)
            act.triggered.connect(lambda _=False, q=p: self.open_file(Path(q)))
            self.recent_menu.addAction(act)
        if not self.recent():
            self.recent_menu.addAction("(none)").setEnabled(False)

    # -- saving -------------------------------------------------------------------------
    def save(self) -> bool:
        s = self.win.session
        if s is None:
            return False
        if s.project is None:
            return self.save_as()
        return self._save_to(s.project)

    def save_as(self) -> bool:
        s = self.win.session
        if s is None:
            return False
        base = s.project or (s.source.with_suffix(PROJECT_SUFFIX) if s.source else Path.home() / f"untitled{PROJECT_SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self.win, "Save project", str(base), f"Projects (*{PROJECT_SUFFIX})")
        if not path:
            return False
        target = Path(path)
        if target.suffix.lower() != PROJECT_SUFFIX:
            target = target.with_suffix(PROJECT_SUFFIX)
        return self._save_to(target)

    def _save_to(self, path: Path) -> bool:
        from muralstudio.io.project import save_project

        s = self.win.session
        assert s is not None
        try:
            save_project(path, s.doc, embed_original=s.source is None, source=s.source, extras=s.extras)
        except MuralStudioError as exc:
            QMessageBox.warning(self.win, "Cannot save", str(exc))
            return False
        s.mark_saved(path)
        self.add_recent(path)
        self.win.update_title()
        self.win.statusBar().showMessage(f"Saved {path}", 5000)
        return True

    def export_result(self) -> None:
        s = self.win.session
        if s is None:
            return
        if s.doc.chosen is None:
            QMessageBox.information(self.win, "No result chosen", "Choose a candidate with “Use as result” first.")
            return
        base = s.source.with_name(s.source.stem + "_restored" + s.source.suffix) if s.source else Path.home() / "restored.tif"
        path, _ = QFileDialog.getSaveFileName(self.win, "Export restored image", str(base), IMAGE_FILTER)
        if not path:
            return
        if Path(path).resolve() == (s.source.resolve() if s.source else None):
            QMessageBox.warning(self.win, "Cannot export", "The original scan is never overwritten; choose another name.")
            return
        try:
            notes = write_image(Path(path), s.doc.original.with_pixels(s.doc.composite()))
        except MuralStudioError as exc:
            QMessageBox.warning(self.win, "Cannot export", str(exc))
            return
        self.win.statusBar().showMessage(" ".join([f"Exported {path}."] + notes), 8000)

    def export_archive(self) -> None:
        """Layered TIFF, multipage TIFF or OpenRaster with provenance, with a progress dialog."""
        from muralstudio.gui.export_dialog import run_archive_export

        s = self.win.session
        if s is None:
            return
        base = (s.source.with_suffix("") if s.source else Path.home() / "mural")
        run_archive_export(self.win, s.doc, base, s.source)

    # -- recovery -----------------------------------------------------------------------
    def autosave(self, background: bool = True) -> None:
        """Write the recovery copy, by default on a thread so painting never waits for it.

        A stroke made while the copy is written may be half in it; the next autosave has
        it whole. At most one autosave runs at a time.
        """
        s = self.win.session
        if s is None or self.recovery is None or not s.dirty:
            return
        if self._autosaving is not None and self._autosaving.is_alive():
            return
        slot, doc, source = self.recovery, s.doc, s.source

        def work() -> None:
            try:
                slot.autosave(doc, source)
            except MuralStudioError as exc:
                self.notifier.failed.emit(f"Autosave failed: {exc}")

        if background:
            self._autosaving = threading.Thread(target=work, name="autosave", daemon=True)
            self._autosaving.start()
        else:
            work()

    def close_recovery(self) -> None:
        if self._autosaving is not None:
            self._autosaving.join()
            self._autosaving = None
        if self.recovery is not None:
            self.recovery.close()
            self.recovery = None

    def offer_recovery(self) -> bool:
        """After a crash, offer to restore the autosaved session; True when one was restored."""
        from muralstudio.io.recovery import discard, find_recoverable

        entries = find_recoverable()
        if not entries:
            return False
        entry = entries[0]
        answer = QMessageBox.question(
            self.win, "Restore previous session?",
            f"Mural Studio did not close properly last time. Restore the work autosaved at "
            f"{entry.modified:%Y-%m-%d %H:%M} ({entry.description})?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            for e in entries:
                discard(e)
            return False
        try:
            session = open_path(entry.path)
        except MuralStudioError as exc:
            QMessageBox.warning(self.win, "Cannot restore", str(exc))
            return False
        session.project = None  # a recovered session is saved to a place the user chooses
        session.saved_position = -1
        self.adopt(session)
        for e in entries:
            discard(e)
        return True


class MaskActions:
    """Operations on the active mask layer, each one undo step."""

    def __init__(self, win: "MainWindow") -> None:
        self.win = win

    def build_menu(self, menu: QMenu) -> None:
        w = self.win
        sub = menu.addMenu(qta.icon("mdi6.layers-outline"), "&Mask")
        w._action(sub, "mdi6.arrow-expand-all", "&Grow…", lambda: self._radius_op("Grow", maskops.grow))
        w._action(sub, "mdi6.arrow-collapse-all", "&Shrink…", lambda: self._radius_op("Shrink", maskops.shrink))
        w._action(sub, "mdi6.blur", "S&mooth outline…", lambda: self._radius_op("Smooth", maskops.smooth))
        w._action(sub, "mdi6.format-color-fill", "&Fill holes", lambda: self._op("Fill holes", maskops.fill_holes))
        w._action(sub, "mdi6.invert-colors", "&Invert", lambda: self._op("Invert", maskops.invert), QKeySequence("Ctrl+I"))
        w._action(sub, "mdi6.eraser-variant", "&Clear", lambda: self.clear(w.ctx.layer_key), QKeySequence("Ctrl+Shift+Delete"))

    def _op(self, label: str, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        s = self.win.session
        if s is not None:
            s.doc.apply_mask_op(self.win.ctx.layer_key, fn, label)

    def _radius_op(self, label: str, fn: Callable[[np.ndarray, float], np.ndarray]) -> None:
        if self.win.session is None:
            return
        radius, ok = QInputDialog.getInt(self.win, label, "Radius in pixels:", 3, 1, 500)
        if ok:
            self._op(f"{label} {radius} px", lambda m: fn(m, radius))

    def clear(self, key: str) -> None:
        s = self.win.session
        if s is not None:
            s.doc.set_layer(key, np.zeros(s.doc.shape, bool), "Clear layer")

    def import_mask(self, key: str) -> None:
        s = self.win.session
        if s is None:
            return
        path, _ = QFileDialog.getOpenFileName(self.win, "Import mask (white = damage)", "", IMAGE_FILTER)
        if not path:
            return
        try:
            mask = read_mask(Path(path), s.doc.shape)
        except MuralStudioError as exc:
            QMessageBox.warning(self.win, "Cannot import mask", str(exc))
            return
        s.doc.set_layer(key, s.doc.layer_array(key) | mask, f"Import {Path(path).name}")

    def export_mask(self, key: str) -> None:
        s = self.win.session
        if s is None:
            return
        base = (s.source.parent if s.source else Path.home()) / f"{key.split(':')[-1]}.png"
        path, _ = QFileDialog.getSaveFileName(self.win, "Export mask", str(base), "PNG (*.png);;TIFF (*.tif *.tiff)")
        if not path:
            return
        try:
            write_mask(Path(path), s.doc.layer_array(key))
        except MuralStudioError as exc:
            QMessageBox.warning(self.win, "Cannot export mask", str(exc))
