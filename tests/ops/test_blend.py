import numpy as np

from muralstudio.ops.blend import TileBlender, from_float, paste_masked, ramp_weights, to_float
from muralstudio.ops.crop import Box, tile_box


def test_tile_blender_reproduces_a_smooth_field_exactly():
    box = Box(0, 0, 300, 500)
    yy, xx = np.mgrid[0:300, 0:500].astype(np.float32)
    field = np.stack([yy / 300, xx / 500, (yy + xx) / 800], axis=2)
    blender = TileBlender(box, 3, overlap=32)
    for t in tile_box(box, 128, 32):
        blender.add(t, field[t.slices])
    assert np.allclose(blender.result(), field, atol=1e-5)


def test_tile_blender_hides_seams_between_disagreeing_tiles():
    box = Box(0, 0, 64, 200)
    blender = TileBlender(box, 1, overlap=40)
    blender.add(Box(0, 0, 64, 120), np.zeros((64, 120, 1), np.float32))
    blender.add(Box(0, 80, 64, 200), np.ones((64, 120, 1), np.float32))
    row = blender.result()[32, :, 0]
    assert row[0] == 0 and row[-1] == 1
    assert np.all(np.diff(row) >= -1e-6) and np.max(np.diff(row)) < 0.1  # a ramp, no step


def test_ramp_weights_are_positive_and_flat_inside():
    w = ramp_weights(50, 60, 10)
    assert w.min() > 0 and w[25, 30] == 1


def test_float_round_trip_and_masked_paste():
    px = np.array([[0, 1, 65535, 32768]], np.uint16)
    assert np.array_equal(from_float(to_float(px), np.uint16), px)
    dst = np.zeros((4, 4), np.uint8)
    mask = np.eye(4, dtype=bool)
    paste_masked(dst, np.full((4, 4), 9, np.uint8), mask)
    assert dst.sum() == 36
