"""Detect panel: run the damage detector, tune each class's threshold, apply or discard.

The panel holds the last detection (probability maps) while the conservator judges it.
Per class it shows a "use" box, a threshold slider and how much of the image the class
would mark at that threshold. The counts come from a cumulative histogram of each
probability map, made once per detection, so they follow the slider at once however large
the scan; the masks themselves (one comparison over the whole map) are remade only when
the slider has rested for ``DEBOUNCE_MS``, and only for the class that moved.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import qtawesome as qta
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from muralstudio.core.damage import FILL_CLASSES, STYLES, DamageClass
from muralstudio.engines.detect import CLASSES, DEFAULT_THRESHOLD, Detection
from muralstudio.engines.precision import PRECISIONS
from muralstudio.gui.panels.layers import hex_color
from muralstudio.gui.panels.jobcontrols import JobControls
from muralstudio.gui.panels.restore import PathEdit
from muralstudio.gui.wheelguard import guard_wheel

DEBOUNCE_MS = 80
SLIDER_MIN, SLIDER_MAX = 5, 95  # thresholds 0.05 to 0.95, in hundredths
HIST_CHUNK = 1 << 22  # pixels counted at a time (bounds the temporary memory)

INTRO = (
    "Proposes damage masks from the scan. Proposals are drawn outlined over the masks and "
    "change nothing until you apply them; then correct them with the brush."
)


def level(threshold: float) -> int:
    """The 8-bit probability a pixel needs to be proposed at ``threshold`` (as Detection.mask)."""
    return max(1, round(threshold * 255))


def cumulative_counts(prob: np.ndarray) -> np.ndarray:
    """(257,) int64: entry k is the number of pixels of the uint8 map ``prob`` that are >= k."""
    hist = np.zeros(256, np.int64)
    flat = prob.reshape(-1)
    for i in range(0, flat.size, HIST_CHUNK):
        hist += np.bincount(flat[i : i + HIST_CHUNK], minlength=256)
    return np.concatenate([hist[::-1].cumsum()[::-1], [0]])


def format_share(pixels: int, total: int) -> str:
    """A share of the image for people: "12.3 %", "0.42 %", "< 0.01 %" or "0 %"."""
    if pixels == 0 or total == 0:
        return "0 %"
    p = 100.0 * pixels / total
    return f"{p:.1f} %" if p >= 1 else f"{p:.2f} %" if p >= 0.01 else "< 0.01 %"


def format_pixels(n: int) -> str:
    return f"{n / 1e6:.1f} M" if n >= 1e6 else f"{n / 1e3:.0f} k" if n >= 1e4 else str(n)


class _ClassRow:
    """The widgets of one damage class: use box, threshold slider, value and count."""

    def __init__(self, cls: DamageClass) -> None:
        style = STYLES[cls]
        self.use = QCheckBox(style.label)
        self.use.setIcon(qta.icon("mdi6.square", color=hex_color(style.color)))
        # the detector is reliable on the classes a restorer fills; stain and fading start unticked
        self.use.setChecked(cls in FILL_CLASSES)
        self.use.setToolTip(f"Propose and apply {style.label.lower()} ({style.description})")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(SLIDER_MIN, SLIDER_MAX)
        self.slider.setValue(round(DEFAULT_THRESHOLD * 100))
        self.slider.setToolTip("Threshold: the detector's certainty a pixel needs to be proposed")
        self.slider.setMinimumWidth(70)
        guard_wheel(self.slider)
        self.value = QLabel()
        self.value.setMinimumWidth(self.value.fontMetrics().horizontalAdvance("0.00") + 4)
        self.count = QLabel("–")
        # wide enough for the longest area text, so it is never cut at the left
        self.count.setMinimumWidth(self.count.fontMetrics().horizontalAdvance("0.00 %  999 k px") + 6)
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class DetectPanel(QWidget):
    runRequested = Signal(str)  # weights ("" = the shipped detector)
    cancelRequested = Signal()
    proposalsChanged = Signal(dict)  # class name -> bool (H, W) mask, or None: not proposed
    applyRequested = Signal()
    discardRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._detection: Detection | None = None
        self._counts: dict[str, np.ndarray] = {}
        self._masks: dict[str, tuple[int, np.ndarray]] = {}  # class -> (level, mask) last made
        self._pending: set[str] = set()
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.flush)
        layout = QVBoxLayout(self)
        intro = QLabel(INTRO, wordWrap=True)
        layout.addWidget(intro)
        wrow = QHBoxLayout()
        wrow.addWidget(QLabel("Weights"))
        self.weights = PathEdit("", "Detector weights")
        self.weights.edit.setPlaceholderText("shipped detector")
        self.weights.setToolTip("A detector weights file (.pt); empty uses the shipped detector")
        wrow.addWidget(self.weights, 1)
        self.precision = QComboBox()
        self.precision.addItems(list(PRECISIONS))
        self.precision.setToolTip(
            "Precision the detector computes in. auto: bfloat16 on a CPU that computes it natively "
            "(about 1.6x faster, masks the same to within a few pixels in a hundred thousand), "
            "float32 elsewhere. The summary below names what ran.")
        guard_wheel(self.precision)
        layout.addLayout(wrow)
        prow = QHBoxLayout()
        prow.addWidget(QLabel("Precision"))
        prow.addWidget(self.precision)
        prow.addStretch(1)
        layout.addLayout(prow)
        self.job = JobControls("mdi6.magnify-scan", "Detect", "Detect damage on the whole scan (Ctrl+D)",
                               lambda: self.runRequested.emit(self.weights.text().strip()),
                               self.cancelRequested.emit)
        self.run_button, self.cancel_button = self.job.run_button, self.job.cancel_button
        self.progress, self.status = self.job.progress, self.job.status
        layout.addWidget(self.job)
        box = QGroupBox("Proposed damage")
        grid = QGridLayout(box)
        grid.setColumnStretch(1, 1)
        grid.addWidget(QLabel("<b>Use</b>"), 0, 0)
        grid.addWidget(QLabel("<b>Threshold</b>"), 0, 1, 1, 2)
        head = QLabel("<b>Area</b>")
        head.setAlignment(Qt.AlignmentFlag.AlignRight)
        grid.addWidget(head, 0, 3)
        self.rows: dict[str, _ClassRow] = {}
        for r, cls in enumerate(DamageClass, start=1):
            row_w = _ClassRow(cls)
            name = cls.value
            row_w.use.toggled.connect(lambda _on, c=name: self._use_toggled(c))
            row_w.slider.valueChanged.connect(lambda _v, c=name: self._threshold_moved(c))
            for col, w in enumerate((row_w.use, row_w.slider, row_w.value, row_w.count)):
                grid.addWidget(w, r, col)
            self.rows[name] = row_w
            self._update_row(name)
        layout.addWidget(box)
        arow = QHBoxLayout()
        self.apply_button = QPushButton(qta.icon("mdi6.check-all"), "Apply to masks")
        self.apply_button.setToolTip("Add the used classes' proposals to their mask layers (one undo step)")
        self.apply_button.clicked.connect(self._request_apply)
        self.discard_button = QPushButton(qta.icon("mdi6.close"), "Discard")
        self.discard_button.setToolTip("Remove the proposals; the masks stay as they are")
        self.discard_button.clicked.connect(self.discardRequested)
        arow.addWidget(self.apply_button)
        arow.addWidget(self.discard_button)
        layout.addLayout(arow)
        self.summary = QLabel(wordWrap=True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        layout.addStretch(1)
        self._update_buttons()

    # -- the detection ------------------------------------------------------------------
    def detection(self) -> Detection | None:
        return self._detection

    def set_detection(self, detection: Detection | None, counts: dict[str, np.ndarray] | None = None) -> None:
        """Hold ``detection`` (None: none) and propose its used classes at their thresholds.

        ``counts`` are its :func:`cumulative_counts` per class, when already made (the job
        makes them on its thread).
        """
        self._timer.stop()
        self._pending.clear()
        self._masks.clear()
        self._detection = detection
        if detection is None:
            self._counts = {}
        else:
            self._counts = counts or {c: cumulative_counts(detection.probability(c)) for c in CLASSES}
        if detection is None:
            self.summary.setText("")
        else:
            sha = detection.weights_sha256[:12]
            self.summary.setText(
                f"Detector {detection.meta.get('weights', '')} (sha256 {sha}…) on "
                f"{detection.meta.get('device', '?')}, {detection.meta.get('precision', 'float32')}, "
                f"{detection.elapsed_s:.1f} s."
            )
        for c in CLASSES:
            self._update_row(c)
        self._update_buttons()
        self.proposalsChanged.emit({c: self._proposal(c) for c in CLASSES})

    def pixels(self) -> int:
        d = self._detection
        return 0 if d is None else int(d.probabilities.shape[1] * d.probabilities.shape[2])

    # -- per class ------------------------------------------------------------------------
    def threshold(self, cls: str) -> float:
        return self.rows[cls].slider.value() / 100.0

    def set_threshold(self, cls: str, value: float) -> None:
        self.rows[cls].slider.setValue(round(value * 100))

    def used(self, cls: str) -> bool:
        return self.rows[cls].use.isChecked()

    def set_used(self, cls: str, on: bool) -> None:
        self.rows[cls].use.setChecked(on)

    def count(self, cls: str) -> int | None:
        """Pixels proposed for ``cls`` at its threshold (None without a detection)."""
        counts = self._counts.get(cls)
        return None if counts is None else int(counts[level(self.threshold(cls))])

    def selected_masks(self) -> dict[str, np.ndarray]:
        """Bool masks of the used classes that propose anything, at their current thresholds."""
        d = self._detection
        if d is None:
            return {}
        return {c: self._mask(c) for c in CLASSES if self.used(c) and self.count(c)}

    def _mask(self, cls: str) -> np.ndarray:
        """The class's mask at its threshold, made once per threshold (shared, never written)."""
        assert self._detection is not None
        t = self.threshold(cls)
        made = self._masks.get(cls)
        if made is None or made[0] != level(t):
            made = self._masks[cls] = (level(t), self._detection.mask(cls, t))
        return made[1]

    def _proposal(self, cls: str) -> np.ndarray | None:
        if self._detection is None or not self.used(cls) or not self.count(cls):
            self._masks.pop(cls, None)
            return None  # nothing to draw: no array kept
        return self._mask(cls)

    def _threshold_moved(self, cls: str) -> None:
        self._update_row(cls)
        if self._detection is not None and self.used(cls):
            self._pending.add(cls)
            self._timer.start()  # restarts: the mask is remade when the slider rests

    def _use_toggled(self, cls: str) -> None:
        self._update_row(cls)
        self._pending.discard(cls)
        if self._detection is not None:
            self.proposalsChanged.emit({cls: self._proposal(cls)})
        self._update_buttons()

    def flush(self) -> None:
        """Remake the masks of the classes whose threshold moved (the debounce timer's end)."""
        self._timer.stop()
        pending, self._pending = self._pending, set()
        if pending and self._detection is not None:
            self.proposalsChanged.emit({c: self._proposal(c) for c in sorted(pending)})

    def _update_row(self, cls: str) -> None:
        row = self.rows[cls]
        row.value.setText(f"{self.threshold(cls):.2f}")
        n = self.count(cls)
        if n is None:
            row.count.setText("–")
            row.count.setToolTip("")
        else:
            row.count.setText(f"{format_share(n, self.pixels())}  {format_pixels(n)} px")
            row.count.setToolTip(f"{n:,} pixels at threshold {self.threshold(cls):.2f}")
        row.count.setEnabled(self.used(cls))
        row.value.setEnabled(self.used(cls))

    def _update_buttons(self) -> None:
        has = self._detection is not None
        self.apply_button.setEnabled(has and any(self.used(c) for c in CLASSES))
        self.discard_button.setEnabled(has)

    def _request_apply(self) -> None:
        self.flush()
        self.applyRequested.emit()

    # -- job state ----------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.job.set_running(running, self.weights)

    def set_progress(self, fraction: float, message: str, seconds_left: float | None, *_: Any) -> None:
        self.job.set_progress(fraction, message, seconds_left)

    def set_status(self, text: str) -> None:
        self.status.setText(text)
