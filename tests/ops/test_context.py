"""No-reference candidate figures: texture, tone and seam of a fill against the paint around it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import Mural
from muralstudio.core.progress import Progress
from muralstudio.core.raster import RasterImage
from muralstudio.ops.context import CONTEXT_INFO, candidate_metrics, seam_score, with_context_metrics


def _doc() -> tuple[Mural, np.ndarray]:
    rng = np.random.default_rng(0)
    wall = rng.integers(60, 200, (120, 160, 3)).astype(np.uint8)  # busy texture everywhere
    doc = Mural(RasterImage(wall.copy()))
    hole = np.zeros((120, 160), bool)
    hole[40:80, 50:110] = True
    doc.mask(DamageClass.LOSS)[hole] = True
    return doc, wall


def _add(doc: Mural, pixels: np.ndarray, name: str) -> str:
    cand = Candidate(Provenance("test", {}), [Patch(40, 50, pixels, np.ones((40, 60), bool))], name=name)
    doc.add_candidate(cand)
    return cand.id


def test_a_fill_like_its_surroundings_scores_near_one_and_a_flat_one_low():
    doc, wall = _doc()
    same = _add(doc, wall[40:80, 50:110].copy(), "same")
    flat = _add(doc, np.full((40, 60, 3), 200, np.uint8), "flat")
    m = candidate_metrics(doc)
    assert m[same]["texture_ratio"] == pytest.approx(1.0, abs=0.1)
    assert abs(m[same]["tone_shift"]) < 3
    assert m[flat]["texture_ratio"] < 0.2
    assert m[flat]["tone_shift"] > 50  # brighter than the 60-200 wall
    assert set(m[same]) == set(CONTEXT_INFO)


def test_the_wrapper_passes_figures_to_the_exporter():
    doc, wall = _doc()
    cid = _add(doc, wall[40:80, 50:110].copy(), "same")
    seen = {}

    def exporter(target, doc, **kw):
        seen.update(kw)
        yield Progress(1.0, "done")
        return target

    run = with_context_metrics(exporter)("out", doc, force=True)
    assert list(run)[0].message == "Measuring the candidates"
    assert seen["force"] is True and cid in seen["metrics"] and seen["metric_labels"] == CONTEXT_INFO


def _painted_wall() -> np.ndarray:
    """Paint with structure (strokes, lines, grain), so that a misplaced fill shows at its edge."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[0:120, 0:160].astype(np.float64)
    base = 128 + 45 * np.sin(xx / 5.0 + yy / 11.0) + 25 * np.cos(yy / 4.0)
    base[((xx + 2 * yy) % 23) < 2] -= 60  # slanting painted lines
    wall = base[..., None] + np.array([10.0, 0.0, -10.0]) + rng.normal(0, 4, (120, 160, 3))
    return np.clip(wall, 0, 255).round().astype(np.uint8)


def _fills(wall: np.ndarray, hole: np.ndarray) -> dict[str, np.ndarray]:
    shifted = wall.copy()
    shifted[hole] = np.roll(wall, (7, 7), axis=(0, 1))[hole]
    flat = wall.copy()
    flat[hole] = wall[~hole].mean(axis=0).round().astype(np.uint8)
    return {"truth": wall, "shifted": shifted, "flat": flat}


def test_seam_score_is_low_for_the_truth_and_high_for_a_misplaced_or_flat_fill():
    wall = _painted_wall()
    hole = np.zeros(wall.shape[:2], bool)
    hole[40:80, 50:110] = True
    s = {k: seam_score(img, hole) for k, img in _fills(wall, hole).items()}
    assert s["truth"] == pytest.approx(1.0, abs=0.25)
    assert s["shifted"] > 1.25 * s["truth"] and s["flat"] > 1.25 * s["truth"]
    # Other damage is left out; no hole or no ring gives nan.
    damage = hole.copy()
    damage[55:75, 30:52] = True  # unrestored damage touching the hole's left edge
    assert seam_score(wall, hole, damage) == pytest.approx(s["truth"], abs=0.25)
    assert math.isnan(seam_score(wall, np.zeros_like(hole)))
    assert math.isnan(seam_score(wall, np.ones_like(hole)))
    with pytest.raises(ValueError):
        seam_score(wall, hole[:10])


def test_candidate_metrics_report_the_seam():
    wall = _painted_wall()
    doc = Mural(RasterImage(wall.copy()))
    hole = np.zeros(wall.shape[:2], bool)
    hole[40:80, 50:110] = True
    doc.mask(DamageClass.LOSS)[hole] = True
    ids = {k: _add(doc, img[40:80, 50:110].copy(), k) for k, img in _fills(wall, hole).items()}
    m = candidate_metrics(doc)
    assert m[ids["truth"]]["seam"] == pytest.approx(seam_score(wall, hole), rel=1e-9)
    assert m[ids["shifted"]]["seam"] > 1.25 * m[ids["truth"]]["seam"]
    assert m[ids["flat"]]["seam"] > 1.25 * m[ids["truth"]]["seam"]
    assert CONTEXT_INFO["seam"] == "Seam (edge/around)"


def test_the_seam_combines_the_patches_of_a_candidate():
    wall = _painted_wall()
    doc = Mural(RasterImage(wall.copy()))
    hole = np.zeros(wall.shape[:2], bool)
    hole[10:30, 10:40] = hole[70:100, 90:140] = True
    doc.mask(DamageClass.LOSS)[hole] = True
    patches = [Patch(10, 10, wall[10:30, 10:40].copy(), np.ones((20, 30), bool)),
               Patch(70, 90, wall[70:100, 90:140].copy(), np.ones((30, 50), bool))]
    cand = Candidate(Provenance("test", {}), patches, name="two")
    doc.add_candidate(cand)
    assert candidate_metrics(doc)[cand.id]["seam"] == pytest.approx(seam_score(wall, hole), rel=1e-9)
