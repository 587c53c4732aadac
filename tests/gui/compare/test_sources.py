import numpy as np
import pytest

from muralstudio.gui.compare.sources import COMPOSITE, ORIGINAL, pixels_getter, side_key, side_label, sides
from muralstudio.gui.compare.window import measure_candidates
from tests.gui.compare.test_window import make_doc


def test_sides_and_their_pixels_box_by_box():
    doc = make_doc(fills=((1, 2, 3), (4, 5, 6)))
    first, second = doc.candidates
    assert [s for s, _ in sides(doc)] == [ORIGINAL, COMPOSITE, first.id, second.id]
    assert side_label(doc, COMPOSITE) == "Composite (nothing chosen)" and side_key(doc, COMPOSITE) == ORIGINAL
    doc.choose(second.id)
    assert side_key(doc, COMPOSITE) == side_key(doc, second.id) and second.name in side_label(doc, COMPOSITE)
    box = (25, 35, 60, 80)
    for side, expect in ((ORIGINAL, doc.original.pixels), (first.id, first.render(doc.original.pixels)),
                         (COMPOSITE, doc.composite())):
        got = pixels_getter(doc, side)(box)
        assert np.array_equal(got, expect[25:60, 35:80]), side
    with pytest.raises(KeyError):
        pixels_getter(doc, "gone")


def test_measure_candidates_reports_area_per_class():
    doc = make_doc(fills=((1, 2, 3),))
    gen = measure_candidates(doc)
    steps = []
    try:
        while True:
            steps.append(next(gen))
    except StopIteration as stop:
        context, restored = stop.value
    cid = doc.candidates[0].id
    assert steps[-1].fraction == 1.0
    assert set(context[cid]) >= {"seam", "texture_ratio", "tone_shift"}
    total, per_class, outside = restored[cid]
    assert total == 20 * 30 and per_class["loss"] == 600 and outside == 0
