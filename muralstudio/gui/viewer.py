"""A preview window: shows a scan with its damage masks while the full editor is built.

This is the stand-in that the README names until the desktop-application issue lands: it
opens files (with clear messages on bad input), zooms and pans, and toggles mask overlays.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from muralstudio.core.damage import STYLES, DamageClass
from muralstudio.core.errors import MuralStudioError
from muralstudio.gui.convert import display_rgb8, qimage_overlay, qimage_rgb
from muralstudio.io.icc import profile_name
from muralstudio.io.images import read_image
from muralstudio.io.masks import read_mask

DISPLAY_SIDE = 4096  # the preview shows at most this many pixels on the long side
OVERLAY_ALPHA = 120  # of 255: damage stays visible through its overlay


class ZoomView(QGraphicsView):
    """Wheel zooms around the pointer; dragging pans."""

    def __init__(self, scene: QGraphicsScene) -> None:
        super().__init__(scene)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setBackgroundBrush(Qt.GlobalColor.darkGray)

    def wheelEvent(self, event: QWheelEvent) -> None:
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.scale(factor, factor)


class ViewerWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Mural Studio")
        self.resize(1280, 860)
        self.scene = QGraphicsScene(self)
        self.view = ZoomView(self.scene)
        self.setCentralWidget(self.view)
        self.base_item: QGraphicsPixmapItem | None = None
        self.overlays: dict[DamageClass, QGraphicsPixmapItem] = {}
        self._build_menu()
        self._build_layers()
        self.info = QLabel("Open a scan with File ▸ Open (Ctrl+O).")
        self.statusBar().addWidget(self.info, 1)
        self.statusBar().addPermanentWidget(QLabel("Preview window: editing tools come with the desktop release"))

    def _build_menu(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_act = QAction(qta.icon("mdi6.folder-open"), "&Open…", self)
        open_act.setShortcut(QKeySequence.StandardKey.Open)
        open_act.triggered.connect(self._ask_open)
        file_menu.addAction(open_act)
        quit_act = QAction("&Quit", self)
        quit_act.setShortcut(QKeySequence.StandardKey.Quit)
        quit_act.triggered.connect(self.close)
        file_menu.addAction(quit_act)
        view_menu = self.menuBar().addMenu("&View")
        fit_act = QAction(qta.icon("mdi6.fit-to-screen"), "&Fit to window", self)
        fit_act.setShortcut("Ctrl+0")
        fit_act.triggered.connect(self.fit)
        view_menu.addAction(fit_act)
        tools = self.addToolBar("Main")
        tools.setObjectName("main-toolbar")
        tools.addAction(open_act)
        tools.addAction(fit_act)

    def _build_layers(self) -> None:
        dock = QDockWidget("Layers", self)
        dock.setObjectName("layers-dock")
        panel = QWidget()
        layout = QVBoxLayout(panel)
        self.checks: dict[DamageClass, QCheckBox] = {}
        for cls in DamageClass:
            style = STYLES[cls]
            box = QCheckBox(style.label)
            box.setChecked(True)
            box.setToolTip(style.description)
            box.setIcon(qta.icon("mdi6.square", color="#%02x%02x%02x" % style.color))
            box.toggled.connect(lambda on, c=cls: self._set_visible(c, on))
            layout.addWidget(box)
            self.checks[cls] = box
        layout.addStretch(1)
        dock.setWidget(panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)

    def _set_visible(self, cls: DamageClass, on: bool) -> None:
        if cls in self.overlays:
            self.overlays[cls].setVisible(on)

    def _ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open scan", "", "Images (*.tif *.tiff *.png *.jpg *.jpeg)")
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path, masks_dir: Path | None = None) -> bool:
        """Show ``path`` (and masks named after damage classes in ``masks_dir``)."""
        try:
            image = read_image(path)
            masks = self._read_masks(masks_dir, (image.height, image.width)) if masks_dir else {}
        except MuralStudioError as exc:
            QMessageBox.warning(self, "Cannot open", str(exc))
            return False
        rgb, scale = display_rgb8(image.pixels, DISPLAY_SIDE)
        self.scene.clear()
        self.overlays.clear()
        self.base_item = self.scene.addPixmap(QPixmap.fromImage(qimage_rgb(rgb)))
        for cls, mask in masks.items():
            small = cv2.resize(mask.astype(np.uint8), (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_AREA) > 0
            item = self.scene.addPixmap(QPixmap.fromImage(qimage_overlay(small, STYLES[cls].color, OVERLAY_ALPHA)))
            item.setVisible(self.checks[cls].isChecked())
            self.overlays[cls] = item
        self.setWindowTitle(f"Mural Studio — {path.name}")
        shown = "" if scale == 1.0 else f", shown at {scale:.0%}"
        self.info.setText(f"{path.name}: {image.describe()}, {profile_name(image.icc_profile)}{shown}")
        for note in image.notices:
            self.statusBar().showMessage(note, 8000)
        self.fit()
        return True

    @staticmethod
    def _read_masks(folder: Path, shape: tuple[int, int]) -> dict[DamageClass, np.ndarray]:
        found = {}
        for cls in DamageClass:
            p = folder / f"{cls.value}.png"
            if p.exists():
                found[cls] = read_mask(p, shape)
        return found

    def fit(self) -> None:
        if self.base_item is not None:
            self.view.fitInView(self.base_item, Qt.AspectRatioMode.KeepAspectRatio)
