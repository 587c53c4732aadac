"""Colour-hint files: the accepted forms, exact round trips, and errors fit for a dialog."""

import json

import pytest

from muralstudio.core.errors import HintsFileError, ImageWriteError
from muralstudio.core.hints import ColourHint
from muralstudio.io.hints import read_hints, write_hints

SHAPE = (100, 200)


def put(tmp_path, data, name="hints.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_hand_written_forms(tmp_path):
    path = put(tmp_path, {"hints": [
        {"x": 10, "y": 20, "colour": "#1f8a5b", "source": "pigment: malachite"},
        {"x": 199, "y": 99.4, "color": "FF0000"},
        {"x": 0, "y": 0, "rgb": [0, 128, 255]},
    ]})
    a, b, c = read_hints(path, SHAPE)
    assert (a.x, a.y, a.source, a.hex()) == (10.0, 20.0, "pigment: malachite", "#1f8a5b")
    assert b.rgb == (1.0, 0.0, 0.0) and b.source == ""
    assert c.rgb == pytest.approx((0.0, 128 / 255, 1.0))
    assert read_hints(put(tmp_path, {"hints": []}), SHAPE) == []


def test_written_file_round_trips_exactly_and_atomically(tmp_path):
    hints = [ColourHint(12.5, 40.25, (0.123456, 0.5, 0.987654), "picked at 40, 12"), ColourHint(0, 0, (0, 0, 0))]
    path = tmp_path / "h.json"
    write_hints(path, hints)
    data = json.loads(path.read_text())
    assert data["format"] == "muralstudio-hints" and data["version"] == 1
    back = read_hints(path, SHAPE)
    assert [(h.y, h.x, h.source) for h in back] == [(h.y, h.x, h.source) for h in hints]
    for h, g in zip(back, hints):
        assert h.rgb == pytest.approx(g.rgb, abs=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == ["h.json"]  # no temporary left behind
    with pytest.raises(ImageWriteError):
        write_hints(tmp_path / "no" / "such" / "h.json", hints)


@pytest.mark.parametrize("content,expected", [
    ("{not json", "not valid JSON.*line 1"),
    ({"points": []}, "no list of hints"),
    ([{"x": 1, "y": 1, "colour": "#000000"}], "no list of hints"),
    ({"hints": [{"y": 1, "colour": "#000000"}]}, "Hint 1 .* has no x"),
    ({"hints": [{"x": "a", "y": 1, "colour": "#000000"}]}, "not numbers"),
    ({"hints": [{"x": 1, "y": 1}]}, "needs one colour"),
    ({"hints": [{"x": 1, "y": 1, "colour": "#000000", "rgb": [0, 0, 0]}]}, "it has colour and rgb"),
    ({"hints": [{"x": 1, "y": 1, "colour": "green"}]}, "#rrggbb"),
    ({"hints": [{"x": 1, "y": 1, "colour": "#12345"}]}, "#rrggbb"),
    ({"hints": [{"x": 1, "y": 1, "rgb": [0.1, 0.5, 0.2]}]}, "whole numbers from 0 to 255"),
    ({"hints": [{"x": 1, "y": 1, "rgb": [0, 256, 0]}]}, "whole numbers from 0 to 255"),
    ({"hints": [{"x": 1, "y": 1, "rgb": [0, 0]}]}, "three numbers"),
    ({"format": "muralstudio-hints", "hints": [{"x": 1, "y": 1, "rgb": [0, 128, 0]}]}, "outside 0–1"),
    ({"format": "muralstudio-hints", "version": 9, "hints": []}, "newer"),
    ({"format": "labelme", "hints": []}, "not colour hints"),
    ({"hints": [{"x": 200, "y": 5, "colour": "#000000"}]}, r"Hint 1 .* outside the image, which is 200 × 100"),
    ({"hints": [{"x": 5, "y": -1, "colour": "#000000"}]}, "outside the image"),
    ({"hints": [{"x": 5, "y": 5, "colour": "#000000", "source": 3}]}, "source"),
])
def test_bad_content_is_a_typed_error(tmp_path, content, expected):
    with pytest.raises(HintsFileError, match=expected):
        read_hints(put(tmp_path, content), SHAPE)


def test_missing_folder_and_binary_files(tmp_path):
    with pytest.raises(HintsFileError, match="does not exist"):
        read_hints(tmp_path / "nope.json", SHAPE)
    with pytest.raises(HintsFileError, match="folder"):
        read_hints(tmp_path, SHAPE)
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(HintsFileError, match="not a text"):
        read_hints(tmp_path / "bin.json", SHAPE)


def test_bounds_checked_only_with_a_shape(tmp_path):
    path = put(tmp_path, {"hints": [{"x": 5000, "y": 5, "colour": "#000000"}]})
    assert read_hints(path)[0].x == 5000
    with pytest.raises(HintsFileError):
        read_hints(path, (100, 200, 3))
