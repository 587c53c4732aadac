"""Figures of the compared pair and of the candidates on either side.

Pair figures (PSNR, SSIM over the image and inside the damage masks) treat side A as the
reference: they are true quality figures when A is the undamaged truth (a synthetic test),
and otherwise say how far B departs from A. Candidate figures need no reference: seam,
texture and tone against the intact paint around each fill, and the area restored per
damage class.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from muralstudio.core.damage import STYLES, DamageClass
from muralstudio.core.document import Mural
from muralstudio.core.raster import RasterImage
from muralstudio.gui.compare.sources import REFERENCE, side_candidate, side_label
from muralstudio.ops.compare import PairSums
from muralstudio.ops.context import CONTEXT_HELP, CONTEXT_INFO



def _db(v: float | None) -> str:
    if v is None or math.isnan(v):
        return "–"
    return "identical" if math.isinf(v) else f"{v:.2f} dB"


def _num(v: float | None, digits: int = 4) -> str:
    return "–" if v is None or math.isnan(v) else f"{v:.{digits}f}"


class MetricsPanel(QWidget):
    """Rich-text tables of the current pair's and candidates' figures."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.label)
        lay.addStretch(1)

    def show_figures(self, doc: Mural | None, a: str, b: str, pair: PairSums | None, busy: str,
                     context: dict[str, dict[str, float]] | None,
                     restored: dict[str, tuple[int, dict[str, int], int]] | None,
                     reference: RasterImage | None = None) -> None:
        """Fill the panel; ``busy`` says how far the pair's figures are when ``pair`` is None;
        ``context`` and ``restored`` (per candidate id) are None while being measured."""
        if doc is None:
            self.label.setText("")
            return
        parts = [f"<h3>B against A</h3><p>A: {_e(side_label(doc, a, reference))}<br>"
                 f"B: {_e(side_label(doc, b, reference))}</p>"]
        if pair is None:
            parts.append(f"<p><i>Measuring… {_e(busy)}</i></p>")
        else:
            rows = [("PSNR, whole image", _db(pair.psnr())), ("SSIM, whole image", _num(pair.ssim())),
                    ("PSNR, damaged area", _db(pair.psnr_mask())), ("SSIM, damaged area", _num(pair.ssim_mask()))]
            parts.append(_table(rows))
            if a == REFERENCE:
                parts.append("<p style='color:#888'>Quality of B measured against the reference image.</p>")
            else:
                parts.append("<p style='color:#888'>A is taken as the reference: how far B departs from it. "
                             "Load the undamaged truth as reference to measure quality.</p>")
        seen: set[str] = set()
        for side in (a, b):
            cand = side_candidate(doc, side)
            if cand is None or cand.id in seen:
                continue
            seen.add(cand.id)
            parts.append(f"<h3>{_e(cand.name)}</h3>")
            figs = (context or {}).get(cand.id)
            rows = []
            for key, label in CONTEXT_INFO.items():
                value = "…" if context is None else _num(figs.get(key) if figs else None, 3)
                rows.append((f"<span title='{_e(CONTEXT_HELP.get(key, ''))}'>{_e(label)}</span>", value))
            if restored is None or cand.id not in restored:
                rows.append(("Restored", "…"))
                parts.append(_table(rows, escape=False))
                continue
            total, per_class, outside = restored[cand.id]
            rows.append(("Restored, all", f"{total:,} px"))
            for c in DamageClass:
                if per_class[c.value]:
                    rows.append((f"&nbsp;&nbsp;in {_e(STYLES[c].label.lower())}", f"{per_class[c.value]:,} px"))
            if outside:
                rows.append(("&nbsp;&nbsp;outside every mask", f"{outside:,} px"))
            parts.append(_table(rows, escape=False))
        parts.append("<p style='color:#888'>" + "<br>".join(f"<b>{_e(CONTEXT_INFO[k])}</b>: {_e(v)}"
                                                               for k, v in CONTEXT_HELP.items() if k in CONTEXT_INFO) + "</p>")
        self.label.setText("".join(parts))


def _e(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(rows: list[tuple[str, str]], escape: bool = True) -> str:
    cells = "".join(f"<tr><td>{_e(k) if escape else k}</td><td align='right'>&nbsp;&nbsp;{_e(v)}</td></tr>" for k, v in rows)
    return f"<table cellspacing='2'>{cells}</table>"
