"""The wheel scrolls a panel instead of turning the value widgets it passes over."""

import pytest

pytest.importorskip("pytestqt")


def _wheel(widget, notches: int = -1) -> bool:
    """Send a wheel turn to ``widget``; whether the widget took it. (A sent event does not
    travel on to the parents as a real one does, so the scrolling itself is seen under Xvfb.)"""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_restore_panel_combos_pass_the_wheel_on_until_clicked(qtbot):
    from PySide6.QtWidgets import QScrollArea

    from muralstudio.gui.panels.restore import RestorePanel

    panel = RestorePanel()
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(panel)
    scroll.resize(320, 200)  # far shorter than the panel, so it scrolls
    qtbot.addWidget(scroll)
    scroll.show()
    scroll.activateWindow()
    qtbot.waitActive(scroll)
    panel.engine.setCurrentIndex(panel.engine.findData("diffusion"))
    device = panel._param_widgets["device"]
    qtbot.waitUntil(device.isVisible)  # the rebuilt form is laid out
    panel.candidates.setFocus()  # the focus is elsewhere, as on the canvas while painting
    qtbot.waitUntil(panel.candidates.hasFocus)
    before = device.currentText()
    assert not _wheel(device)  # passed on to the scroll area …
    assert device.currentText() == before  # … and the value stayed
    steps = panel._param_widgets["steps"]  # a spin box
    assert not _wheel(steps, 1) and steps.value() == 20
    start = panel.engine.currentIndex()
    assert not _wheel(panel.engine)
    assert panel.engine.currentIndex() == start
    device.setFocus()  # clicked or tabbed into: now the wheel is meant for it
    qtbot.waitUntil(device.hasFocus)
    assert _wheel(device)
    assert device.currentText() != before


def test_layer_opacity_and_detect_threshold_sliders_are_guarded(qtbot):
    from PySide6.QtCore import Qt

    from muralstudio.gui.panels.detect import DetectPanel
    from muralstudio.gui.panels.layers import LayersPanel

    layers, detect = LayersPanel(), DetectPanel()
    qtbot.addWidget(layers)
    qtbot.addWidget(detect)
    sliders = list(layers.opacity.values()) + [row.slider for row in detect.rows.values()]
    assert sliders
    for slider in sliders:
        value = slider.value()
        assert not _wheel(slider)
        assert slider.value() == value
        assert slider.focusPolicy() == Qt.FocusPolicy.StrongFocus
