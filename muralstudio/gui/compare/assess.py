"""The assessment panel: the candidates ranked by rating or any measured figure, and the form
in which a conservator records their judgement of one candidate on S1's four criteria.

Ratings go into the document (one undo step each) and so into the project file and the
report. The rater's name is remembered between sessions.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from muralstudio.core.assessment import CRITERIA, CRITERIA_HELP, Rating, mean_scores, overall
from muralstudio.core.document import Mural
from muralstudio.gui.compare.stars import StarRating
from muralstudio.ops.context import CONTEXT_INFO

RATER_KEY = "assess/rater"
SHORT = {"factual accuracy": "Fact.", "textural detail": "Text.", "contextual semantics": "Sem.",
         "holistic visual coherence": "Coh."}


class _Num(QTableWidgetItem):
    """A table cell that sorts by number; blanks sort last either way."""

    def __init__(self, value: float | None, text: str) -> None:
        super().__init__(text)
        self.value = value
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.value, getattr(other, "value", None)
        if a is None or b is None:
            return a is not None  # a number before a blank (ascending)
        return a < b


class AssessmentPanel(QWidget):
    """Candidate table (sortable) and the rating form of the selected candidate."""

    candidateSelected = Signal(str)  # a row was picked: show it as side B

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.doc: Mural | None = None
        self.cid: str | None = None
        self.figures: dict[str, dict[str, float]] = {}
        lay = QVBoxLayout(self)

        keys = list(CONTEXT_INFO)
        self.columns = ["Candidate", "Rating", *(SHORT[c] for c in CRITERIA), "Raters",
                        *(CONTEXT_INFO[k] for k in keys), "Restored px"]
        self.metric_keys = keys
        self.table = QTableWidget(0, len(self.columns), self)
        self.table.setHorizontalHeaderLabels(self.columns)
        for i, c in enumerate(CRITERIA, start=2):
            self.table.horizontalHeaderItem(i).setToolTip(f"{c.capitalize()}: mean over raters (1–5)")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._row_picked)
        lay.addWidget(QLabel("<b>Candidates</b> — click a heading to sort, a row to compare and rate it"))
        lay.addWidget(self.table, 2)

        self.title = QLabel()
        self.title.setWordWrap(True)
        lay.addWidget(self.title)
        form = QFormLayout()
        self.rater = QLineEdit(str(settings.value(RATER_KEY, "")))
        self.rater.setPlaceholderText("your name")
        self.rater.textChanged.connect(self._rater_changed)
        form.addRow("Rater", self.rater)
        self.stars: dict[str, StarRating] = {}
        for c in CRITERIA:
            stars = StarRating(self)
            stars.setToolTip(CRITERIA_HELP[c])
            label = QLabel(c.capitalize())
            label.setToolTip(CRITERIA_HELP[c])
            form.addRow(label, stars)
            self.stars[c] = stars
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("Why: what convinces or disturbs you in this fill")
        self.note.setMaximumHeight(70)
        form.addRow("Note", self.note)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.save_btn = QPushButton("Save rating")
        self.save_btn.clicked.connect(self.save)
        self.withdraw_btn = QPushButton("Withdraw mine")
        self.withdraw_btn.clicked.connect(self.withdraw)
        row.addWidget(self.save_btn)
        row.addWidget(self.withdraw_btn)
        row.addStretch(1)
        lay.addLayout(row)
        self.others = QLabel()
        self.others.setWordWrap(True)
        self.others.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.others, 1)
        self.message = QLabel()
        lay.addWidget(self.message)
        self.refresh()

    # -- contents -----------------------------------------------------------------------
    def set_document(self, doc: Mural | None) -> None:
        self.doc, self.cid, self.figures = doc, None, {}
        self.refresh()

    def set_figures(self, figures: dict[str, dict[str, float]]) -> None:
        self.figures = figures
        self.refresh_table()

    def set_candidate(self, cid: str | None) -> None:
        """Rate this candidate (None: nothing to rate, e.g. when B is the original)."""
        if self.doc is not None and cid is not None and all(c.id != cid for c in self.doc.candidates):
            cid = None
        self.cid = cid
        self._load_form()
        self._select_row()

    def refresh(self) -> None:
        self.refresh_table()
        self.set_candidate(self.cid)

    def refresh_table(self) -> None:
        doc = self.doc
        t = self.table
        t.blockSignals(True)
        t.setSortingEnabled(False)
        t.setRowCount(0)
        for cand in doc.candidates if doc is not None else []:
            ratings = doc.ratings_of(cand.id)  # type: ignore[union-attr]
            means = mean_scores(ratings)
            score = overall(ratings)
            figs = self.figures.get(cand.id, {})
            r = t.rowCount()
            t.insertRow(r)
            name = QTableWidgetItem(("★ " if doc.chosen_id == cand.id else "") + cand.name)  # type: ignore[union-attr]
            name.setData(Qt.ItemDataRole.UserRole, cand.id)
            name.setToolTip(cand.provenance.short_name())
            cells = [name, _Num(score, "–" if score is None else f"{score:.2f}")]
            cells += [_Num(means.get(c), f"{means[c]:.1f}" if c in means else "–") for c in CRITERIA]
            cells.append(_Num(float(len(ratings)), str(len(ratings))))
            for k in self.metric_keys:
                v = figs.get(k)
                ok = v is not None and not math.isnan(v)
                cells.append(_Num(v if ok else None, f"{v:.3g}" if ok else "…" if not self.figures else "–"))
            area = cand.restored_area()
            cells.append(_Num(float(area), f"{area:,}"))
            for col, item in enumerate(cells):
                t.setItem(r, col, item)
        t.setSortingEnabled(True)
        t.blockSignals(False)
        self._select_row()

    def _select_row(self) -> None:
        t = self.table
        t.blockSignals(True)
        t.clearSelection()
        for r in range(t.rowCount()):
            if t.item(r, 0).data(Qt.ItemDataRole.UserRole) == self.cid:
                t.selectRow(r)
        t.blockSignals(False)

    def _row_picked(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            cid = self.table.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole)
            self.set_candidate(cid)
            self.candidateSelected.emit(cid)

    # -- the form -----------------------------------------------------------------------
    def _mine(self) -> Rating | None:
        if self.doc is None or self.cid is None:
            return None
        name = self.rater.text().strip()
        return next((r for r in self.doc.ratings_of(self.cid) if r.rater == name), None)

    def _load_form(self) -> None:
        doc, cid = self.doc, self.cid
        enabled = doc is not None and cid is not None
        for w in (*self.stars.values(), self.note, self.save_btn, self.rater):
            w.setEnabled(enabled)
        if not enabled:
            self.title.setText("<b>Rating</b> — pick a candidate (side B or a row above) to rate it")
            self.others.setText("")
            self.withdraw_btn.setEnabled(False)
            return
        assert doc is not None and cid is not None
        self.title.setText(f"<b>Rating of</b> {doc.candidate(cid).name}")
        mine = self._mine()
        for c, stars in self.stars.items():
            stars.setValue(mine.scores.get(c, 0) if mine else 0)
        self.note.setPlainText(mine.note if mine else "")
        self.withdraw_btn.setEnabled(mine is not None)
        others = [r for r in doc.ratings_of(cid) if mine is None or r.rater != mine.rater]
        lines = []
        for r in others:
            scores = ", ".join(f"{SHORT[c]} {v}" for c, v in r.scores.items()) or "no scores"
            note = f" — “{r.note}”" if r.note else ""
            lines.append(f"<b>{_html(r.rater)}</b>: {scores}{_html(note)}")
        self.others.setText("Other raters:<br>" + "<br>".join(lines) if lines else "")

    def _rater_changed(self, text: str) -> None:
        self.settings.setValue(RATER_KEY, text.strip())
        if self._mine() is not None:  # their earlier rating comes back; otherwise keep what is typed
            self._load_form()
        else:
            self.withdraw_btn.setEnabled(False)

    def save(self) -> None:
        if self.doc is None or self.cid is None:
            return
        name = self.rater.text().strip()
        if not name:
            self.message.setText("Enter your name as rater first.")
            self.rater.setFocus()
            return
        scores = {c: s.value() for c, s in self.stars.items() if s.value()}
        if not scores and not self.note.toPlainText().strip():
            self.message.setText("Give at least one score or a note.")
            return
        self.doc.rate(self.cid, Rating(name, scores, self.note.toPlainText().strip()))
        self.message.setText(f"Rating by {name} saved.")
        self.refresh()

    def withdraw(self) -> None:
        mine = self._mine()
        if self.doc is not None and self.cid is not None and mine is not None:
            self.doc.unrate(self.cid, mine.rater)
            self.message.setText(f"Rating by {mine.rater} withdrawn.")
            self.refresh()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
