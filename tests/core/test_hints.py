"""Colour hints in the document (one undo step each) and the pigment palette."""

import math

import numpy as np
import pytest

from muralstudio.core.document import Mural
from muralstudio.core.hints import ColourHint
from muralstudio.core.pigments import PIGMENTS, pigment
from muralstudio.core.raster import RasterImage


def make_doc():
    return Mural(RasterImage(np.zeros((40, 50, 3), np.uint8)))


def red(y=5.5, x=7.5):
    return ColourHint(y, x, (0.8, 0.2, 0.1), "pigment: cinnabar")


def test_add_remove_clear_are_one_undo_step_each_and_notify():
    doc = make_doc()
    events = []
    doc.add_listener(lambda key, rect: events.append((key, rect)))
    a, b = red(), ColourHint(20.0, 30.0, (0.2, 0.5, 0.4), "picked at 30, 20")
    doc.add_hint(a)
    doc.add_hint(b)
    assert doc.hints == (a, b) and len(doc.history) == 2
    assert events == [("hints", None)] * 2
    assert doc.history.labels[-1] == f"Add colour hint {b.hex()}"
    doc.remove_hint(0)
    assert doc.hints == (b,)
    doc.undo()
    assert doc.hints == (a, b)
    doc.clear_hints()
    assert doc.hints == () and doc.history.labels[-1] == "Clear colour hints"
    doc.undo()
    assert doc.hints == (a, b)
    doc.undo()  # the second add (clearing dropped the undone remove from the history)
    assert doc.hints == (a,)
    doc.redo()
    assert doc.hints == (a, b)
    assert len(events) == 8


def test_hints_view_is_read_only():
    doc = make_doc()
    doc.add_hint(red())
    view = doc.hints
    assert isinstance(view, tuple)
    with pytest.raises(AttributeError):
        view.append(red())  # type: ignore[attr-defined]
    assert len(doc.hints) == 1


def test_remove_by_hint_prefers_the_same_object_then_an_equal_one():
    doc = make_doc()
    first, second = red(), red()  # equal, not the same object
    doc.add_hint(first)
    doc.add_hint(second)
    doc.remove_hint(second)
    assert len(doc.hints) == 1 and doc.hints[0] is first
    doc.remove_hint(red())  # an equal hint will do
    assert doc.hints == ()
    with pytest.raises(ValueError):
        doc.remove_hint(red())
    with pytest.raises(IndexError):
        doc.remove_hint(0)
    assert len(doc.history) == 4  # two adds, two removes; failures add nothing


def test_remove_by_negative_index_and_clear_of_nothing():
    doc = make_doc()
    doc.clear_hints()
    assert len(doc.history) == 0
    doc.add_hint(red(1, 1))
    doc.add_hint(red(2, 2))
    doc.remove_hint(-1)
    assert [h.y for h in doc.hints] == [1]


@pytest.mark.parametrize("y,x", [(-0.5, 3), (3, 50.0), (40.0, 3), (math.nan, 3)])
def test_hints_outside_the_image_are_refused(y, x):
    doc = make_doc()
    with pytest.raises(ValueError, match="outside"):
        doc.add_hint(ColourHint(y, x, (0.5, 0.5, 0.5)))
    assert doc.hints == () and len(doc.history) == 0


def test_load_hints_makes_no_undo_step():
    doc = make_doc()
    doc.load_hints([red()])
    assert doc.hints == (red(),) and len(doc.history) == 0


# -- pigments ---------------------------------------------------------------------------
def test_every_pigment_is_valid():
    assert len(PIGMENTS) >= 14
    keys = [p.key for p in PIGMENTS]
    assert len(set(keys)) == len(keys)
    assert len({p.name for p in PIGMENTS}) == len(PIGMENTS)
    for p in PIGMENTS:
        assert p.key == p.key.lower().strip() and p.key and p.name.strip() == p.name and p.name
        assert len(p.rgb) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in p.rgb), p.key
        assert p.note and "\n" not in p.note and len(p.note) < 120, p.key
        assert all(0.0 <= c <= 1.0 for c in p.unit_rgb)
        assert p.hex() == "#%02x%02x%02x" % p.rgb
        hint = p.hint(3.0, 4.0)
        assert hint.source == f"pigment: {p.key}" and hint.hex() == p.hex()
        assert ColourHint.from_dict(hint.to_dict()).hex() == p.hex()
        assert pigment(p.key) is p


def test_palette_covers_the_main_dunhuang_pigments():
    keys = {p.key for p in PIGMENTS}
    assert {"cinnabar", "red lead", "red ochre", "orpiment", "yellow ochre", "malachite", "atacamite",
            "azurite", "lapis lazuli", "lead white", "kaolin", "gypsum", "carbon black", "gold leaf"} <= keys
    with pytest.raises(KeyError, match="unknown pigment"):
        pigment("prussian blue")


def test_pigment_colours_have_plausible_hues():
    def dominant(key):
        return int(np.argmax(pigment(key).rgb))

    assert dominant("cinnabar") == 0 and dominant("red lead") == 0
    assert dominant("malachite") == 1 and dominant("atacamite") == 1
    assert dominant("azurite") == 2 and dominant("lapis lazuli") == 2
    assert min(pigment("lead white").rgb) > 200 and max(pigment("carbon black").rgb) < 60


def test_add_hints_is_one_step_and_all_or_nothing():
    doc = make_doc()
    doc.add_hints([red(1, 1), red(2, 2), red(3, 3)], "Import 3 colour hints")
    assert len(doc.hints) == 3 and doc.history.labels == ["Import 3 colour hints"]
    doc.history.undo(doc)
    assert doc.hints == ()
    with pytest.raises(ValueError, match="outside"):
        doc.add_hints([red(1, 1), ColourHint(3, 500.0, (0.5, 0.5, 0.5))], "Import")
    assert doc.hints == ()
