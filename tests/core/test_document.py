import numpy as np
import pytest

from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import GUIDE, Mural, mask_key
from muralstudio.core.errors import MaskMismatchError
from muralstudio.core.raster import RasterImage, Resolution


def make_doc():
    px = np.arange(40 * 50 * 3, dtype=np.uint16).reshape(40, 50, 3)
    return Mural(RasterImage(px, icc_profile=b"icc", resolution=Resolution(300, 300)))


def make_candidate(value=7):
    mask = np.zeros((10, 10), bool)
    mask[2:5, 2:5] = True
    pixels = np.full((10, 10, 3), value, np.uint16)
    prov = Provenance("telea", {"radius": 3}, seed=None, elapsed_s=0.5, classes=("crack",))
    return Candidate(prov, [Patch(5, 6, pixels, mask)])


def test_original_is_read_only_and_keeps_metadata():
    doc = make_doc()
    with pytest.raises(ValueError):
        doc.original.pixels[0, 0, 0] = 1
    assert doc.original.icc_profile == b"icc" and doc.original.dtype == np.uint16
    assert doc.original.describe() == "50 × 40, 16-bit RGB"


def test_layers_per_class_and_union():
    doc = make_doc()
    assert set(doc._layers) == {mask_key(c) for c in DamageClass} | {GUIDE}
    doc.set_layer(mask_key(DamageClass.LOSS), np.eye(40, 50, dtype=bool), "Import mask")
    doc.set_layer(GUIDE, np.eye(40, 50, k=3, dtype=bool), "Guide")
    assert doc.union_mask().sum() == 40
    assert doc.union_mask([DamageClass.CRACK]).sum() == 0
    with pytest.raises(MaskMismatchError):
        doc.set_layer(mask_key(DamageClass.LOSS), np.zeros((3, 3), bool), "bad")


def test_candidates_choose_composite_and_undo():
    doc = make_doc()
    cand = make_candidate()
    events = []
    doc.add_listener(lambda key, rect: events.append(key))
    doc.add_candidate(cand)
    assert cand.name == "telea radius=3"
    doc.choose(cand.id)
    comp = doc.composite()
    assert (comp[7:10, 8:11] == 7).all()
    outside = np.ones(comp.shape[:2], bool)
    outside[7:10, 8:11] = False
    assert np.array_equal(comp[outside], doc.original.pixels[outside])
    assert cand.restored_area() == 9
    assert cand.restored_mask((40, 50)).sum() == 9
    doc.undo()  # un-choose
    assert doc.chosen is None
    doc.undo()  # remove candidate
    assert doc.candidates == []
    doc.redo()
    doc.redo()
    assert doc.chosen is cand
    doc.remove_candidate(cand.id)
    assert doc.chosen is None and doc.candidates == []
    doc.undo()
    assert doc.chosen is cand
    assert "candidates" in events
    with pytest.raises(KeyError):
        doc.choose("nope")


def test_provenance_round_trips_as_dict():
    prov = make_candidate().provenance
    again = Provenance.from_dict(prov.to_dict())
    assert again == prov
    assert prov.software.startswith("muralstudio ")


def test_repeated_candidate_names_are_numbered():
    doc = make_doc()
    a, b, c = make_candidate(), make_candidate(), make_candidate()
    for cand in (a, b, c):
        doc.add_candidate(cand)
    assert [x.name for x in doc.candidates] == ["telea radius=3", "telea radius=3 #2", "telea radius=3 #3"]


def test_a_runs_candidates_are_one_undo_step_and_get_distinct_names():
    doc = make_doc()
    doc.add_candidate(make_candidate())
    cands = [make_candidate(), make_candidate()]
    doc.add_candidates(cands)
    assert [c.name for c in doc.candidates] == ["telea radius=3", "telea radius=3 #2", "telea radius=3 #3"]
    assert doc.history.labels[-1] == "Add 2 telea candidates"
    doc.choose(cands[1].id)
    doc.undo()
    doc.undo()
    assert len(doc.candidates) == 1 and doc.chosen is None
    doc.redo()
    assert len(doc.candidates) == 3


def test_a_stroke_can_name_its_undo_step():
    from muralstudio.core.brush import Brush

    doc = make_doc()
    stroke = doc.begin_stroke(GUIDE, Brush(3.0, 1.0), label="Guide line")
    stroke.add_point(5, 5)
    stroke.add_point(20, 5)
    assert stroke.end()
    assert doc.history.labels[-1] == "Guide line" and doc.guide[5, 10]
