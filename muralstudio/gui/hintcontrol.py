"""Colour hints in the main window: wires the Colour hints panel, the hint tool and the canvas
to the document, and hands the hints to colour restoration runs.

Adding, removing and clearing hints are document edits (one undo step each); the current
hint colour, the selection, pick mode and whether hints are shown are window state
(:class:`~muralstudio.gui.hintstate.HintState`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from PySide6.QtCore import QObject, QPointF
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMessageBox

from muralstudio.core.document import Mural
from muralstudio.core.errors import HintsFileError, MuralStudioError
from muralstudio.core.hints import ColourHint
from muralstudio.engines import get_engine
from muralstudio.gui.hintstate import HintOverlay
from muralstudio.gui.panels.hints import HintsPanel
from muralstudio.gui.panels.restore import restores_colour
from muralstudio.io.hints import read_hints, write_hints

if TYPE_CHECKING:
    from muralstudio.gui.main_window import MainWindow

DOCK = "colour hints-dock"
HINTS_FILTER = "Colour hints (*.json);;All files (*)"
GREY_TITLE = "Colour restoration needs an RGB scan"
GREY_MESSAGE = (
    "This scan is single-channel grey, and the document keeps the scan's own channels, so its "
    "colour cannot be restored here: colour restoration needs an RGB scan.\n\n"
    "The command line writes an RGB copy with the colour restored:\n"
    "    muralstudio restore SCAN --mask MASK --engine colorize --out FOLDER\n"
    "(--hints FILE.json steers it with colour hints). Open that copy, or an RGB scan "
    "of the wall, to work on its colour here."
)


def _count(hints: Sequence[ColourHint]) -> str:
    return f"{len(hints)} colour hint{'s' if len(hints) != 1 else ''}"


class HintsController(QObject):
    """Keeps the Colour hints panel, the hint settings, the canvas and the document in step."""

    def __init__(self, win: MainWindow, panel: HintsPanel) -> None:
        super().__init__(win)
        self.win, self.panel = win, panel
        self.state = win.ctx.hints
        self.doc: Mural | None = None
        panel.colourChosen.connect(self.state.set_colour)
        panel.pickToggled.connect(self.set_pick_mode)
        panel.hintSelected.connect(self._list_selected)
        panel.removeRequested.connect(self._remove_index)
        panel.clearRequested.connect(self.clear)
        panel.importRequested.connect(self.import_hints)
        panel.exportRequested.connect(self.export_hints)
        panel.showToggled.connect(self.state.set_visible)
        self.state.colourChanged.connect(lambda: panel.set_colour(self.state.rgb, self.state.source))
        self.state.selectionChanged.connect(self._refresh)
        self.state.pickModeChanged.connect(self._pick_mode_changed)
        self.state.visibilityChanged.connect(self._visibility_changed)
        win.canvas.add_decoration(HintOverlay(self.state))
        panel.set_colour(self.state.rgb, self.state.source)
        layers_dock, dock = win.findChild(QDockWidget, "layers-dock"), self.dock()
        if layers_dock is not None and dock is not None:
            win.tabifyDockWidget(layers_dock, dock)
            layers_dock.raise_()
        act = win.tool_actions.get("hint")
        if act is not None:
            act.toggled.connect(lambda on: on and self.raise_dock())

    def dock(self) -> QDockWidget | None:
        return self.win.findChild(QDockWidget, DOCK)

    def raise_dock(self) -> None:
        dock = self.dock()
        if dock is not None:
            dock.show()
            dock.raise_()

    # -- document -----------------------------------------------------------------------
    def set_document(self, doc: Mural | None) -> None:
        self.doc = doc
        self.state.set_pick_mode(False)
        self.state.select(None)
        if doc is not None:
            doc.add_listener(lambda key, _rect, d=doc: self._doc_changed(d, key))
        self._hints_changed()

    def _doc_changed(self, doc: Mural, key: str) -> None:
        if doc is self.doc and key == "hints":
            self._hints_changed()

    def _hints(self) -> Sequence[ColourHint]:
        return self.doc.hints if self.doc is not None else ()

    def _hints_changed(self) -> None:
        hints = self._hints()
        if self.state.selected is not None and all(h is not self.state.selected for h in hints):
            self.state.select(None)  # removed, or undone
        self.win.restore.set_hint_count(len(hints))
        self._refresh()

    def _refresh(self) -> None:
        hints = self._hints()
        index = next((i for i, h in enumerate(hints) if h is self.state.selected), None)
        self.panel.set_hints(hints, index)
        self.win.canvas.viewport().update()

    # -- panel requests -----------------------------------------------------------------
    def _list_selected(self, index: int) -> None:
        """A hint chosen in the list is selected, and brought into view when it is not."""
        hints = self._hints()
        hint = hints[index] if 0 <= index < len(hints) else None
        self.state.select(hint)
        if hint is not None:
            self.state.set_visible(True)
            canvas = self.win.canvas
            if not canvas.visible_image_rect().adjusted(8, 8, -8, -8).contains(QPointF(hint.x, hint.y)):
                canvas.center_on(hint.x, hint.y)

    def _remove_index(self, index: int) -> None:
        if self.doc is not None and 0 <= index < len(self.doc.hints):
            self.doc.remove_hint(index)

    def clear(self) -> None:
        if self.doc is not None:
            self.doc.clear_hints()

    def import_hints(self, path: str | Path | None = None) -> bool:
        """Add the hints of a hints file (asked for when ``path`` is None) as one step; a bad
        file or a point off this scan is explained and adds nothing."""
        doc = self.doc
        if doc is None:
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.win, "Import colour hints", self._folder(), HINTS_FILTER)
            if not path:
                return False
        path = Path(path)
        try:
            hints = read_hints(path, doc.shape)
            if not hints:
                raise HintsFileError(f"{path.name} holds no hints.")
            doc.add_hints(hints, f"Import {_count(hints)}")
        except (MuralStudioError, ValueError) as exc:
            QMessageBox.warning(self.win, "Cannot import hints", str(exc))
            return False
        self.state.set_visible(True)
        self.win.statusBar().showMessage(f"Imported {_count(hints)} from {path.name}", 5000)
        return True

    def export_hints(self, path: str | Path | None = None) -> bool:
        """Write the document's hints as a hints file (asked for when ``path`` is None)."""
        doc = self.doc
        if doc is None or not doc.hints:
            return False
        if path is None:
            start = str(Path(self._folder()) / "hints.json")
            path, _ = QFileDialog.getSaveFileName(self.win, "Export colour hints", start, HINTS_FILTER)
            if not path:
                return False
        path = Path(path)
        try:
            write_hints(path, list(doc.hints))
        except MuralStudioError as exc:
            QMessageBox.warning(self.win, "Cannot export hints", str(exc))
            return False
        self.win.statusBar().showMessage(f"Exported {_count(doc.hints)} to {path}", 5000)
        return True

    def _folder(self) -> str:
        source = getattr(self.win.session, "source", None)
        return str(source.parent) if source else str(Path.home())

    def set_pick_mode(self, on: bool) -> None:
        """Pick mode: the next click on the image takes the hint colour from it."""
        if on and self.win.canvas.tool() is not self.win.tools.get("hint"):
            self.win.set_tool("hint")  # picking goes through the hint tool
        self.state.set_pick_mode(on)

    def _pick_mode_changed(self, on: bool) -> None:
        self.panel.set_pick_mode(on)
        self.win.canvas.update_cursor()
        if on:
            self.win.statusBar().showMessage(
                "Click the image to take the hint colour from it (Esc: stop picking).", 8000)
        else:
            self.win.statusBar().clearMessage()

    def set_visible(self, on: bool) -> None:
        self.state.set_visible(on)

    def _visibility_changed(self, on: bool) -> None:
        self.panel.set_shown(on)
        self.win.canvas.viewport().update()

    # -- runs ---------------------------------------------------------------------------
    def request_hints(self, engine: str, doc: Mural) -> list[ColourHint] | None:
        """The hints a run of ``engine`` gets ([] for engines that restore no colour), or
        None when it must not run: colour restoration of a grey scan (a message says why)."""
        if not restores_colour(engine):
            return []
        if doc.original.channels == 1 and getattr(get_engine(engine), "needs_rgb", True):
            QMessageBox.information(self.win, GREY_TITLE, GREY_MESSAGE)
            return None
        return list(doc.hints)

