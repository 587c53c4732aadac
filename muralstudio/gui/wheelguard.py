"""Value widgets in scrolling panels that the mouse wheel does not change in passing.

The docked panels scroll. Qt sends a wheel event to whatever widget lies under the pointer.
So a conservator scrolling down the Restore panel would turn every combo box, spin box and
slider the pointer crossed (an engine's Device, a threshold), and the change is easy to miss.
A guarded widget takes the wheel only after it has been clicked or tabbed into. Before that,
the event goes on to the panel, which scrolls.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QWidget


class _WheelGuard(QObject):
    """Passes wheel events of unfocused widgets on to their parents."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()  # Qt then offers it to the parent widgets: the scroll area scrolls
            return True
        return False


_GUARD: _WheelGuard | None = None


def guard_wheel(*widgets: QWidget) -> None:
    """Make ``widgets`` (combo boxes, spin boxes, sliders) take the wheel only once focused."""
    global _GUARD
    if _GUARD is None:
        _GUARD = _WheelGuard()
    for w in widgets:
        w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # focus by click or Tab, never by wheel
        w.installEventFilter(_GUARD)
