import numpy as np

from muralstudio.core.brush import Brush
from muralstudio.core.damage import DamageClass
from muralstudio.core.document import Mural, mask_key
from muralstudio.core.history import TILE, History
from muralstudio.core.raster import RasterImage


def make_mural(h=600, w=800, history=None):
    return Mural(RasterImage(np.zeros((h, w, 3), np.uint8)), history=history)


def stroke(doc, pts, size=9, erase=False, cls=DamageClass.CRACK):
    s = doc.begin_stroke(mask_key(cls), Brush(size), erase)
    for p in pts:
        s.add_point(*p)
    return s.end()


def test_one_stroke_is_one_step_and_undo_redo_restore_exact_state():
    doc = make_mural()
    assert stroke(doc, [(10, 10), (300, 200), (500, 500)])
    after = doc.mask(DamageClass.CRACK).copy()
    assert len(doc.history) == 1 and after.any()
    assert doc.undo() and not doc.mask(DamageClass.CRACK).any()
    assert doc.redo() and np.array_equal(doc.mask(DamageClass.CRACK), after)
    assert not doc.redo()


def test_strokes_store_only_touched_tiles():
    doc = make_mural(4096, 4096)
    stroke(doc, [(100, 100), (120, 110)])
    step_bytes = doc.history.nbytes
    assert step_bytes <= 2 * 4 * TILE * TILE  # a few tiles, before and after
    assert step_bytes < doc.mask(DamageClass.CRACK).nbytes / 50


def test_memory_stays_bounded_by_dropping_oldest_steps():
    hist = History(max_bytes=400_000, max_steps=1000)
    doc = make_mural(2048, 2048, history=hist)
    rng = np.random.default_rng(0)
    for _ in range(60):
        x, y = rng.integers(0, 2000, 2)
        stroke(doc, [(x, y), (x + 300, y + 40)], size=15)
    assert hist.nbytes <= 400_000 or len(hist) == 1
    assert 1 <= len(hist) < 60
    while doc.undo():
        pass  # the steps kept still undo cleanly


def test_new_edit_discards_redo_branch_and_jump_to():
    doc = make_mural()
    for i in range(4):
        stroke(doc, [(50 + 100 * i, 50)])
    doc.jump_to(1)
    assert doc.history.position == 1
    assert doc.mask(DamageClass.CRACK)[50, 50] and not doc.mask(DamageClass.CRACK)[50, 150]
    doc.jump_to(4)
    assert doc.mask(DamageClass.CRACK)[50, 350]
    doc.jump_to(2)
    stroke(doc, [(700, 500)])
    assert len(doc.history) == 3 and not doc.history.can_redo()


def test_stroke_that_changes_nothing_is_no_step():
    doc = make_mural()
    assert not stroke(doc, [(10, 10)], erase=True)
    assert len(doc.history) == 0


def test_mask_operations_are_undoable_steps():
    from muralstudio.core import masks

    doc = make_mural()
    stroke(doc, [(100, 100)], size=5)
    before = doc.mask(DamageClass.CRACK).copy()
    doc.apply_mask_op(mask_key(DamageClass.CRACK), lambda m: masks.grow(m, 10), "Grow")
    assert doc.mask(DamageClass.CRACK).sum() > before.sum()
    assert doc.history.labels[-1] == "Grow"
    doc.undo()
    assert np.array_equal(doc.mask(DamageClass.CRACK), before)
