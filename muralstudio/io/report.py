"""An intervention report: a self-contained HTML page documenting what a machine restored.

One file a conservator can archive or print: the scan (name, size, bit depth, ICC profile),
a summary sentence, before/after views, a full-resolution crop of the largest restored
region, the damage masks as coloured overlays with the marked area per class, the candidates
considered with the experts' ratings on S1's criteria, the full provenance record and the
notes. Images are embedded as 8-bit PNG data URIs; no external resource is referenced.
Every string from the document or the caller is HTML-escaped.

The pictures are computed band by band from the document (:class:`DocumentPixels`), so only
the downscaled views and the crop are ever held whole.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from muralstudio.core.assessment import CRITERIA, overall
from muralstudio.core.damage import STYLES, DamageClass
from muralstudio.core.document import Mural
from muralstudio.core.progress import Progress
from muralstudio.io.export import MASK_ORDER, DocumentPixels, ExportJob, bands, run_export
from muralstudio.io.icc import profile_name

__all__ = ["export_report"]

OVERLAY_ALPHA = 0.65
DIM = 0.45
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
.facts{color:#555}.summary{font-size:1.1em;background:#f4f4f0;padding:.8em;border-left:4px solid #888}
.pair{display:flex;gap:1em;flex-wrap:wrap}.pair figure{flex:1 1 45%;margin:0}
figure img{max-width:100%;height:auto;border:1px solid #bbb;image-rendering:auto}
figcaption{color:#555;font-size:.9em}table{border-collapse:collapse;font-size:.9em}
td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}th{background:#eee}
.num{text-align:right}.sw{display:inline-block;width:1em;height:1em;vertical-align:middle;border:1px solid #555}
dl{margin:.2em 0 .2em 1em}dt{font-weight:600;margin-top:.3em}dd{margin-left:1.5em;word-break:break-all}
.notes{white-space:pre-wrap;background:#fafafa;padding:.6em;border:1px solid #ddd}
@media print{body{max-width:none}}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _to8(a: np.ndarray) -> np.ndarray:
    """Pixels as 8-bit for display (16-bit rounded, 8-bit unchanged)."""
    if a.dtype == np.uint8:
        return a
    return ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _png_uri(pixels: np.ndarray) -> str:
    pixels = np.ascontiguousarray(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _img(pixels: np.ndarray, alt: str, caption: str) -> str:
    h, w = pixels.shape[:2]
    return (f'<figure><img src="{_png_uri(pixels)}" width="{w}" height="{h}" alt="{_e(alt)}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


class _Views:
    """Downscaled (integer factor, area average) views of the document, made band by band."""

    def __init__(self, px: DocumentPixels, max_side: int) -> None:
        self.px = px
        self.f = max(1, math.ceil(max(px.height, px.width) / max(1, max_side)))
        self.h, self.w = math.ceil(px.height / self.f), math.ceil(px.width / self.f)
        c = 3 if px.channels >= 3 else 1
        self.original = np.zeros((self.h, self.w, c), np.uint8)
        self.composite = np.zeros_like(self.original)
        self.restored = np.zeros((self.h, self.w), bool)
        self.masks = {cls: np.zeros((self.h, self.w), bool) for cls in DamageClass}

    def _small(self, a: np.ndarray, rows: int, cols: int) -> np.ndarray:
        if self.f == 1:
            return a
        out = cv2.resize(a, (cols, rows), interpolation=cv2.INTER_AREA)
        return out.reshape(rows, cols, *a.shape[2:]) if a.ndim == 3 else out

    def band(self, y0: int, y1: int) -> None:
        px, f, w = self.px, self.f, self.px.width
        r0, r1 = y0 // f, math.ceil(y1 / f)
        box = (y0, 0, y1, w)
        pictures = ((self.original, px.original[y0:y1]), (self.composite, px.composite(box)))
        for out, full in pictures:
            small = self._small(np.ascontiguousarray(full[:, :, : out.shape[2]]), r1 - r0, self.w)
            out[r0:r1] = _to8(small).reshape(r1 - r0, self.w, out.shape[2])
        marks = [(self.restored, px.restored(box))] + [(self.masks[c], px.doc.mask(c)[y0:y1]) for c in DamageClass]
        for out, m in marks:  # any marked pixel in a block marks it, so thin cracks stay visible
            out[r0:r1] |= self._small(m.view(np.uint8), r1 - r0, self.w) > 0

    def overlay(self) -> np.ndarray:
        """The masks in their colours over a dimmed, grey original."""
        base = self.original.astype(np.float32).mean(axis=2, keepdims=True) * DIM + 255 * (1 - DIM) * 0.35
        out = np.repeat(base, 3, axis=2)
        for cls in MASK_ORDER:
            m = self.masks[cls]
            out[m] = out[m] * (1 - OVERLAY_ALPHA) + np.array(STYLES[cls].color, np.float32) * OVERLAY_ALPHA
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def largest_region(self, max_side: int) -> tuple[int, int, int, int] | None:
        """Full-resolution box (y0, x0, y1, x1) around the largest restored region, at most
        ``max_side`` on each side, with a margin; None when nothing was restored."""
        if not self.restored.any():
            return None
        n, _labels, stats, _c = cv2.connectedComponentsWithStats(self.restored.view(np.uint8), connectivity=8)
        best = 1 + int(np.argmax(stats[1:n, cv2.CC_STAT_AREA]))
        x, y, bw, bh = (int(v) * self.f for v in stats[best, :4])
        margin = max(16, max(bw, bh) // 6)
        cy, cx = y + bh // 2, x + bw // 2
        hh = min(bh + 2 * margin, max_side, self.px.height)
        ww = min(bw + 2 * margin, max_side, self.px.width)
        y0 = min(max(0, cy - hh // 2), self.px.height - hh)
        x0 = min(max(0, cx - ww // 2), self.px.width - ww)
        return (y0, x0, y0 + hh, x0 + ww)


def _dl(data: Any) -> str:
    """A (nested) definition list of JSON-ready data."""
    if isinstance(data, dict):
        if not data:
            return "<em>none</em>"
        items = "".join(f"<dt>{_e(k)}</dt><dd>{_dl(v)}</dd>" for k, v in data.items())
        return f"<dl>{items}</dl>"
    if isinstance(data, list):
        return _e(", ".join(str(v) for v in data)) if data else "<em>none</em>"
    return "<em>none</em>" if data is None else _e(data)


def _when(iso: str | None) -> str:
    return (iso or "an unrecorded date").replace("T", " ").replace("+00:00", " UTC")


def _summary(prov: dict[str, Any], npix: int) -> str:
    rest = prov["restoration"]
    if rest is None:
        return "Nothing was restored: no restoration was chosen, so the scan is shown as it is."
    total = rest["restored_pixels"]
    if total == 0:
        return f"Nothing was restored: the chosen restoration by {rest['engine']} made no pixel."
    classes = [f"{STYLES[DamageClass(k)].label.lower()} {v:,} px" for k, v in rest["restored_area"].items() if v]
    if rest["restored_outside_masks"]:
        classes.append(f"outside every mask {rest['restored_outside_masks']:,} px")
    return (f"{total:,} pixels ({100 * total / npix:.3g} %) were restored by {rest['engine']} on "
            f"{_when(rest['created'])}; classes: {', '.join(classes) or 'none'}.")


def _ratings_table(doc: Mural) -> str:
    """Every rater's judgement of every candidate, one row each."""
    rows = ["<tr>" + "".join(f"<th>{_e(h)}</th>" for h in
                             ["Candidate", "Rater", "Date", *(c.capitalize() for c in CRITERIA), "Mean", "Note"])
            + "</tr>"]
    for cand in doc.candidates:
        for r in doc.ratings_of(cand.id):
            mean = r.mean()
            rows.append("<tr>" + f"<td>{_e(cand.name)}</td><td>{_e(r.rater)}</td><td>{_e(_when(r.created))}</td>"
                        + "".join(f'<td class="num">{_e(r.scores.get(c, "–"))}</td>' for c in CRITERIA)
                        + (f'<td class="num">{mean:.2f}</td>' if mean is not None else "<td>–</td>")
                        + f"<td>{_e(r.note)}</td></tr>")
    if len(rows) == 1:
        return "<p>No candidate was rated.</p>"
    return (f"<table>{''.join(rows)}</table><p>Scores from 1 (poor) to 5 (excellent) on the four criteria of "
            f"expert assessment: {_e(', '.join(CRITERIA))}.</p>")


def _candidates(doc: Mural, metrics: dict[str, dict[str, float]] | None, labels: dict[str, str],
                help_: dict[str, str]) -> str:
    if not doc.candidates:
        return "<p>No candidate was made.</p>"
    head = ["", "Name", "Engine", "Parameters", "Seed", "Weights (sha256)", "Time (s)", "Restored px"]
    keys = list(labels) if metrics else []
    head += [labels[k] for k in keys] + ["Rating (mean)", "Raters"]
    rows = ["<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"]
    for cand in doc.candidates:
        p = cand.provenance
        params = ", ".join(f"{k}={v}" for k, v in sorted(p.params.items())) or "–"
        shas = ([p.weights_sha256[:12]] if p.weights_sha256 else []) + [
            f"{role} {sha[:12]}" for role, sha in sorted(p.other_weights.items())]
        cells = [
            '<td title="chosen">★</td>' if cand.id == doc.chosen_id else "<td></td>",
            f"<td>{_e(cand.name)}</td>", f"<td>{_e(p.engine)}</td>", f"<td>{_e(params)}</td>",
            f"<td>{_e('–' if p.seed is None else p.seed)}</td>",
            f"<td><code>{_e('; '.join(shas) or '–')}</code></td>",
            f'<td class="num">{p.elapsed_s:.2f}</td>', f'<td class="num">{cand.restored_area():,}</td>',
        ]
        figures = (metrics or {}).get(cand.id, {})
        cells += [f'<td class="num">{figures[k]:.3g}</td>' if not math.isnan(figures.get(k, math.nan)) else "<td>–</td>"
                  for k in keys]
        ratings = doc.ratings_of(cand.id)
        score = overall(ratings)
        cells.append(f'<td class="num">{score:.2f}</td>' if score is not None else "<td>–</td>")
        cells.append(f'<td class="num">{len(ratings)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    chosen = doc.chosen_id is not None
    note = "<p>★ the chosen candidate (the one in the composite).</p>" if chosen else "<p>No candidate was chosen.</p>"
    if keys:
        note += "<p>" + "<br>".join(f"{_e(labels[k])}: {_e(help_[k])}" for k in keys if k in help_) + "</p>"
    return f"<table>{''.join(rows)}</table>{note}<h3>Expert ratings</h3>{_ratings_table(doc)}"


def _damage(views: _Views, prov: dict[str, Any], npix: int) -> str:
    rows = []
    for cls in DamageClass:
        style, count = STYLES[cls], prov["damage_marked"][cls.value]
        rest = prov["restoration"]
        made = rest["restored_area"].get(cls.value, 0) if rest else 0
        rows.append(f'<tr><td><span class="sw" style="background:rgb{style.color}"></span> {_e(style.label)}</td>'
                    f"<td>{_e(style.description)}</td><td class=\"num\">{count:,}</td>"
                    f'<td class="num">{100 * count / npix:.3g} %</td><td class="num">{made:,}</td></tr>')
    table = ("<table><tr><th>Class</th><th>What</th><th>Marked px</th><th>Marked %</th><th>Restored px</th></tr>"
             + "".join(rows) + "</table>")
    return _img(views.overlay(), "damage masks", "Damage masks over the dimmed original.") + table


def _write(temp: Path, job: ExportJob, max_side: int,
           metrics: dict[str, dict[str, float]] | None, labels: dict[str, str], help_: dict[str, str]) -> None:
    doc, px, prov = job.doc, job.px, job.provenance
    views = _Views(px, max_side)
    step = views.f * max(1, (8 * 2**20) // max(1, px.width * px.channels * px.dtype.itemsize * views.f))
    spans = list(bands(0, px.height, step))
    job.plan(len(spans) + 3)
    for y0, y1 in spans:
        views.band(y0, y1)
        job.advance(1, "Drawing the views")
    img, npix = doc.original, px.height * px.width
    name = img.source.name if img.source is not None else "unsaved scan"
    title = f"Intervention report: {name}"
    facts = (f"{px.width} × {px.height} px, {px.channels} channel(s), {img.bit_depth}-bit, "
             f"ICC profile: {profile_name(img.icc_profile)}. Exported {_when(prov['exported'])} "
             f"by {prov['software']}.")
    parts = [f"<h1>{_e(title)}</h1>", f'<p class="facts">{_e(facts)}</p>',
             f'<section id="summary"><h2>Summary</h2><p class="summary">{_e(_summary(prov, npix))}</p></section>']
    scale = "" if views.f == 1 else f" (shown at 1/{views.f} scale)"
    parts.append('<section id="before-after"><h2>Before and after</h2><div class="pair">'
                 + _img(views.original, "original", f"Before: the original scan{scale}.")
                 + _img(views.composite, "composite", f"After: the restored composite{scale}.") + "</div></section>")
    job.advance(1, "Cropping the largest restored region")
    box = views.largest_region(max_side)
    parts.append('<section id="detail"><h2>Largest restored region at full resolution</h2>')
    if box is None:
        parts.append("<p>Nothing was restored, so there is no detail to show.</p></section>")
    else:
        y0, x0, y1, x1 = box
        c = views.original.shape[2]
        before = _to8(px.original[y0:y1, x0:x1, :c])
        after = _to8(px.composite(box)[:, :, :c])
        where = f"rows {y0}–{y1 - 1}, columns {x0}–{x1 - 1}"
        parts.append('<div class="pair">' + _img(before, "before (detail)", f"Before, {where}.")
                     + _img(after, "after (detail)", f"After, {where}.") + "</div></section>")
    job.advance(1, "Writing the damage masks and the candidates")
    parts.append('<section id="damage"><h2>Damage masks</h2>' + _damage(views, prov, npix) + "</section>")
    parts.append(f'<section id="candidates"><h2>Candidates considered</h2>{_candidates(doc, metrics, labels, help_)}</section>')
    parts.append(f'<section id="provenance"><h2>Provenance</h2>{_dl(prov)}</section>')
    notes = doc.notes.strip()
    chosen = doc.chosen
    text = f'<div class="notes">{_e(notes)}</div>' if notes else "<p>No notes.</p>"
    if chosen is not None and chosen.notes.strip():
        text += f'<h3>Notes on {_e(chosen.name)}</h3><div class="notes">{_e(chosen.notes.strip())}</div>'
    parts.append(f'<section id="notes"><h2>Notes</h2>{text}</section>')
    page = ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
    temp.write_text(page, encoding="utf-8")
    job.advance(1, "Report written")


def export_report(
    path: str | os.PathLike[str],
    doc: Mural,
    *,
    force: bool = False,
    max_side: int = 1600,
    metrics: dict[str, dict[str, float]] | None = None,
    metric_labels: dict[str, str] | None = None,
    metric_help: dict[str, str] | None = None,
) -> Generator[Progress, None, Path]:
    """Write an HTML intervention report of ``doc`` (see the module docstring).

    The raters' judgements come from the document (``doc.ratings``). ``metrics``
    (``{candidate_id: {key: value}}``, columns named by ``metric_labels`` and explained below
    the table by ``metric_help``) adds measured figures. ``max_side`` bounds the overview
    images and the full-resolution crop. Written atomically like the other exports; an existing
    target is refused without ``force``. Raises ImageWriteError.
    """
    return (yield from run_export(path, doc, force, lambda temp, job: _write(temp, job, max_side, metrics,
                                                                              metric_labels or {}, metric_help or {})))
