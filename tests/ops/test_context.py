"""No-reference candidate figures: texture and tone of a fill against the paint around it."""

from __future__ import annotations

import numpy as np
import pytest

from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import Mural
from muralstudio.core.progress import Progress
from muralstudio.core.raster import RasterImage
from muralstudio.ops.context import CONTEXT_INFO, candidate_metrics, with_context_metrics


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
