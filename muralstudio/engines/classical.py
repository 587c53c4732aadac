"""Classical inpainting with OpenCV: Telea's fast marching and Navier–Stokes.

Works on 8- and 16-bit grey or RGB. Only the damaged regions are restored, each with a
margin of context (crop-around-damage), so sparse damage on a large scan is fast and
memory stays bounded; crops run on a few threads (OpenCV releases the GIL); known pixels
come back bit-identical.
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

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
from muralstudio.ops.crop import Box, Crop, plan_crops


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
        ParamSpec("margin", "Context margin", "int", 32, 0, 2048, in_name=False,
                  help="Pixels of context kept around each damaged region."),
        ParamSpec("strategy", "Strategy", "choice", "crop", choices=("crop", "whole"), in_name=False,
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
            whole = Box(0, 0, h, w)
            crops = [Crop(whole, whole)]
        else:
            crops = plan_crops(mask, max(params["margin"], params["radius"] + 2))
        radius = params["radius"]

        def restore(crop: Crop) -> Patch:
            filled = inpaint_pixels(image[crop.box.slices], mask[crop.box.slices], radius, self.flag)
            p = crop.paste
            return Patch(p.y0, p.x0, filled[crop.inner], mask[p.slices].copy())

        n = len(crops)
        yield Progress(0.0, f"Restoring {n} region{'s' if n != 1 else ''}")
        patches: list[Patch | None] = [None] * n
        workers = max(1, min(WORKERS, n))
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inpaint")
        try:
            pending: dict[Future[Patch], int] = {}
            queue = iter(range(n))
            for i in queue:  # keep at most two crops per worker in flight: memory stays bounded
                pending[pool.submit(restore, crops[i])] = i
                if len(pending) >= 2 * workers:
                    break
            done_count = 0
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    patches[pending.pop(fut)] = fut.result()
                    done_count += 1
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(restore, crops[nxt])] = nxt
                yield Progress(done_count / n, f"Region {done_count} of {n}")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        made = [p for p in patches if p is not None]
        return InpaintResult(self.name, made, params, elapsed_s=clock.elapsed, name=self.candidate_name(params))


WORKERS = max(1, min(4, os.cpu_count() or 1))

TELEA = register(
    ClassicalEngine("telea", "Telea (fast marching)", cv2.INPAINT_TELEA,
                    "Fast, smooth fill from the edges inwards; good for cracks and small losses.")
)
NAVIER_STOKES = register(
    ClassicalEngine("ns", "Navier–Stokes", cv2.INPAINT_NS,
                    "Continues isophote lines into the hole; good for thin damage across lines.")
)
