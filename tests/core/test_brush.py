import numpy as np
import pytest

from muralstudio.core.brush import Brush, StrokeRasterizer, apply_coverage, segment_coverage


def paint(points, brush, shape=(100, 100)):
    layer = np.zeros(shape, bool)
    raster = StrokeRasterizer(brush, shape)
    for x, y in points:
        hit = raster.add_point(x, y)
        if hit:
            apply_coverage(layer, *hit, threshold=brush.mark_threshold)
    return layer


def test_dot_is_a_disk_of_the_brush_size():
    layer = paint([(50, 50)], Brush(size=21, hardness=1.0))
    area = layer.sum()
    assert abs(area - np.pi * 10.5**2) < 0.06 * np.pi * 10.5**2
    ys, xs = np.nonzero(layer)
    assert ys.min() >= 39 and ys.max() <= 60 and xs.min() >= 39 and xs.max() <= 60


def test_soft_brush_marks_the_same_footprint_with_soft_coverage():
    hard = paint([(50, 50)], Brush(20, 1.0))
    soft = paint([(50, 50)], Brush(20, 0.0))
    assert abs(int(hard.sum()) - int(soft.sum())) < 0.08 * hard.sum()
    rect, cov = segment_coverage((50, 50), (50, 50), Brush(20, 0.0), (100, 100))
    assert cov.max() == pytest.approx(1.0, abs=0.02)
    assert 0.05 < cov[rect[2] // 2 - rect[0], :].mean() < 0.9  # graded, not a hard step


def test_fast_stroke_is_interpolated_without_gaps():
    layer = paint([(5, 50), (95, 50)], Brush(size=5))
    row = layer[50]
    assert row[5:95].all()  # continuous line between two distant events
    assert layer[:, 50].sum() == pytest.approx(5, abs=1)


def test_eraser_and_clipping_at_the_border():
    layer = paint([(0, 0), (99, 99)], Brush(size=9))
    assert layer[0, 0] and layer[99, 99]
    raster = StrokeRasterizer(Brush(9), layer.shape)
    apply_coverage(layer, *raster.add_point(50, 50), erase=True)
    assert not layer[50, 50] and layer[10, 10]
    assert segment_coverage((-50, -50), (-40, -40), Brush(5), (100, 100)) is None


def test_tiny_brush_reaches_the_pixel_under_the_pointer():
    layer = paint([(10.0, 10.0)], Brush(size=1))
    assert layer.any() and layer.sum() <= 4


def test_brush_validation():
    with pytest.raises(ValueError):
        Brush(size=0)
    with pytest.raises(ValueError):
        Brush(size=5, hardness=1.5)
