"""Classical inpainting with OpenCV: Telea's fast marching and Navier–Stokes.

Works on 8- and 16-bit grey or RGB. Only the damaged regions are restored, each with a
margin of context (crop-around-damage), so sparse damage on a large scan is fast and
memory stays bounded; known pixels come back bit-identical.
"""

from __future__ import annotations

import cv2
import numpy as np

from muralstudio.core.candidate import Patch
from muralstudio.engines.base import (
    Engine,
    EngineRun,
    InpaintRequest,
    InpaintResult,
    ParamSpec,
    Progress,
    Stopwatch,
    register,
)
from muralstudio.ops.crop import Box, plan_crops


def inpaint_pixels(pixels: np.ndarray, mask: np.ndarray, radius: int, flag: int) -> np.ndarray:
    """OpenCV inpainting of (h, w, C) uint8/uint16 pixels; unmasked pixels unchanged.

    OpenCV takes 16-bit data one channel at a time; its fill order depends only on the
    mask, so channel-wise runs equal one three-channel run.
    """
    m8 = mask.astype(np.uint8) * 255
    if pixels.dtype == np.uint8 and pixels.shape[2] == 3:
        filled = cv2.inpaint(np.ascontiguousarray(pixels), m8, radius, flag)
    else:
        chans = [cv2.inpaint(np.ascontiguousarray(pixels[:, :, c]), m8, radius, flag) for c in range(pixels.shape[2])]
        filled = np.stack(chans, axis=2)
    out = pixels.copy()
    out[mask] = filled[mask]
    return out


class ClassicalEngine(Engine):
    """OpenCV inpainting behind the engine protocol."""

    params = (
        ParamSpec("radius", "Radius", "int", 3, 1, 64, help="Neighbourhood in pixels each filled pixel looks at."),
        ParamSpec("margin", "Context margin", "int", 32, 0, 2048, help="Pixels of context kept around each damaged region."),
        ParamSpec("strategy", "Strategy", "choice", "crop", choices=("crop", "whole"),
                  help="crop: restore each damaged region with its context; whole: the whole image at once."),
    )

    def __init__(self, name: str, label: str, flag: int, description: str) -> None:
        self.name = name
        self.label = label
        self.flag = flag
        self.description = description

    def run(self, request: InpaintRequest) -> EngineRun:
        request.validate()
        params = self.resolve_params(request.params)
        clock = Stopwatch()
        image, mask = request.image, request.mask
        h, w = mask.shape
        if params["strategy"] == "whole":
            boxes = [Box(0, 0, h, w)]
        else:
            margin = max(params["margin"], params["radius"] + 2)
            boxes = plan_crops(mask, margin)
        patches: list[Patch] = []
        total = sum(b.area for b in boxes)
        done = 0
        yield Progress(0.0, f"Restoring {len(boxes)} region{'s' if len(boxes) != 1 else ''}")
        for i, box in enumerate(boxes, start=1):
            sub_mask = mask[box.slices]
            filled = inpaint_pixels(image[box.slices], sub_mask, params["radius"], self.flag)
            patches.append(Patch(box.y0, box.x0, filled, sub_mask.copy()))
            done += box.area
            yield Progress(done / total, f"Region {i} of {len(boxes)}")
        return InpaintResult(self.name, patches, params, elapsed_s=clock.elapsed)


TELEA = register(
    ClassicalEngine("telea", "Telea (fast marching)", cv2.INPAINT_TELEA,
                    "Fast, smooth fill from the edges inwards; good for cracks and small losses.")
)
NAVIER_STOKES = register(
    ClassicalEngine("ns", "Navier–Stokes", cv2.INPAINT_NS,
                    "Continues isophote lines into the hole; good for thin damage across lines.")
)
