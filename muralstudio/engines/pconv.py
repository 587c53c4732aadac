"""Learned inpainting with the PConv U-Net (partial convolutions, Liu et al. 2018).

Only damaged regions are restored, each with a margin of context (crop-around-damage).
A crop is reflect-padded to a multiple of the network's stride; a crop larger than the
tile size is split into overlapping tiles whose outputs are feathered together with ramp
weights; damage scattered over a large area is cut into pieces that fit one tile
(:func:`crop_cell`). The network runs in eval mode without autograd, in channels_last
memory format (about 1.5x faster on CPU), and its decoder only where the hole is
(``muralstudio.nets.pconv_sparse``: about twice as fast on thin cracks), in bfloat16 on
CPUs with native bfloat16 arithmetic (``precision``: 1.7x faster again; the fill differs from
float32's by about 0.15 of a level of 255 on average and at most about one level; which
pixels are valid is still decided exactly). Stray dots the
network leaves deep inside large holes are refilled from their surroundings
(``muralstudio.ops.specks``) unless switched off. Known
pixels come back bit-identical: only masked pixels are taken from the network. Grey images
are restored as three equal channels and averaged back.

The engine registers even when no trained weights are shipped yet; running it then raises
a :class:`ModelError` that asks for a weights file. torch is imported only when the engine
runs, so listing engines (GUI start, ``muralstudio --help``) stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Generator

import numpy as np

from muralstudio.core.candidate import Patch
from muralstudio.engines import models
from muralstudio.engines.base import (
    Engine,
    EngineRun,
    InpaintRequest,
    InpaintResult,
    ParamSpec,
    Progress,
    Stopwatch,
    crop_patch,
    register,
)
from muralstudio.engines.precision import PRECISIONS, compute_dtype, dtype_name
from muralstudio.ops.blend import TileBlender, to_float
from muralstudio.ops.crop import Box, network_tiles, plan_crops
from muralstudio.ops.specks import remove_specks

if TYPE_CHECKING:
    import torch

    from muralstudio.nets.pconv import PConvUNet

SHIPPED = "pconv"  # the manifest name of the shipped model
MODEL = models.NetworkSpec(SHIPPED, "The PConv engine", "muralstudio.nets.pconv", "PConvConfig", "PConvUNet")

TILE = 1152  # default tile: a 1024-px piece of scattered damage with 64 px of context each side


def crop_cell(tile: int, margin: int, multiple: int) -> int:
    """Grid cell that damage scattered over a large area is cut into: a cell with its margin
    on both sides fits one tile, so each piece runs as one pass of the network (fewer, larger
    pieces repeat less context)."""
    return max(128, (tile - 2 * margin) // multiple * multiple)


# -- running the network ------------------------------------------------------------------

def _run_net(model: PConvUNet, image: np.ndarray, hole: np.ndarray, dtype: torch.dtype | None = None
             ) -> np.ndarray:
    """Network output (h, w, 3) float32 for one tile, reflect-padded to the net's multiple;
    computed at the hole pixels only (elsewhere it is not meaningful), its features in
    ``dtype`` (float32 when None)."""
    import torch

    from muralstudio.nets.pconv_sparse import forward_where

    h, w = hole.shape
    m = model.config.multiple
    pad = ((0, -h % m), (0, -w % m))
    img = np.pad(image.astype(np.float32, copy=False), (*pad, (0, 0)), mode="reflect")
    known = np.pad(~hole, pad, mode="reflect").astype(np.float32)
    device = next(model.parameters()).device
    # an (H, W, C) array permuted to (1, C, H, W) already has channels_last strides
    x = torch.from_numpy(img).permute(2, 0, 1)[None].to(device, memory_format=torch.channels_last)
    k = torch.from_numpy(known)[None, None].to(device, memory_format=torch.channels_last)
    want = np.pad(hole, pad)
    with torch.inference_mode():
        out = forward_where(model, x, k, want, dtype=dtype or torch.float32)
    return out[0, :, :h, :w].clamp(0.0, 1.0).permute(1, 2, 0).float().cpu().numpy()


def restore_tiles(model: PConvUNet, image: np.ndarray, hole: np.ndarray, tile: int = TILE,
                  despeckle: bool = True, dtype: torch.dtype | None = None
                  ) -> Generator[tuple[int, int], None, np.ndarray]:
    """Restore ``image`` (h, w, 3) float32 in [0, 1] where ``hole`` (h, w) is set, with stray
    dots removed from the fill when ``despeckle``, the network's features in ``dtype``
    (float32 when None).

    Yields (tiles done, tiles in all) after each tile so callers can report progress and
    stop between tiles; returns the restored float32 array with known pixels unchanged.
    """
    model.eval()
    h, w = hole.shape
    tiles, overlap = network_tiles(h, w, tile, model.config.multiple)
    if len(tiles) == 1:
        out = _run_net(model, image, hole, dtype)
        yield 1, 1
    else:
        blender = TileBlender(Box(0, 0, h, w), 3, overlap)
        for i, t in enumerate(tiles):
            if hole[t.slices].any():
                blender.add(t, _run_net(model, image[t.slices], hole[t.slices], dtype))
            yield i + 1, len(tiles)
        out = blender.result()
    out = np.where(hole[..., None], out, image).astype(np.float32, copy=False)
    if despeckle:
        out, _ = remove_specks(out, hole)
    return out


def restore_array(model: PConvUNet, image: np.ndarray, hole: np.ndarray, tile: int = TILE,
                  despeckle: bool = True) -> np.ndarray:
    """:func:`restore_tiles` run to its end: for benchmarks and scripts on a whole image."""
    run = restore_tiles(model, image, hole, tile, despeckle)
    while True:
        try:
            next(run)
        except StopIteration as stop:
            return stop.value


# -- the engine ---------------------------------------------------------------------------

class PConvEngine(Engine):
    """The PConv U-Net behind the engine protocol."""

    name = "pconv"
    label = "PConv U-Net (learned)"
    description = ("A network trained on mural patches fills each damaged region from its "
                   "surroundings; good for losses and flaking larger than cracks.")
    params = (
        ParamSpec("weights", "Weights", "path", SHIPPED, in_name=False,
                  help="'pconv' for the shipped model, or a .pt weights file (fine-tuned)."),
        ParamSpec("margin", "Context margin", "int", 64, 0, 2048, in_name=False,
                  help="Pixels of context kept around each damaged region."),
        ParamSpec("tile", "Max tile size", "int", TILE, 64, 8192, in_name=False,
                  help="Larger regions are split into overlapping tiles of at most this size, and "
                       "damage scattered over a large area into pieces that fit one tile."),
        ParamSpec("despeckle", "Remove stray dots", "bool", True, in_name=False,
                  help="Refill the small dark or light dots the network sometimes leaves deep "
                       "inside large holes."),
        ParamSpec("device", "Device", "choice", "auto", choices=("auto", "cpu", "cuda", "mps"), in_name=False,
                  help="Where the network runs; auto takes CUDA, then MPS, then the CPU."),
        ParamSpec("precision", "Precision", "choice", "auto", choices=PRECISIONS, in_name=False,
                  help="auto: bfloat16 on a CPU that computes it natively (about 1.7x faster; the fill "
                       "differs from float32's by about a tenth of a level of 255), float32 elsewhere."),
    )

    def candidate_name(self, params: dict[str, Any], seed: int | None = None) -> str:
        """'pconv', with the weights file's stem when it is not the shipped model."""
        w = str(params.get("weights", SHIPPED)).strip() or SHIPPED
        return self.name if w == SHIPPED else f"{self.name} weights={Path(w).stem}"

    def run(self, request: InpaintRequest) -> EngineRun:
        request.validate()
        params = self.resolve_params(request.params)
        clock = Stopwatch()
        model, weights, _ = MODEL.load(params["weights"], params["device"])
        dtype = compute_dtype(params["precision"], next(model.parameters()).device)
        params["precision"] = dtype_name(dtype)  # the provenance names what ran
        image, mask = request.image, request.mask
        mult = model.config.multiple
        crops = plan_crops(mask, params["margin"], cell=crop_cell(params["tile"], params["margin"], mult))
        counts = [len(network_tiles(c.box.height, c.box.width, params["tile"], mult)[0]) for c in crops]
        total, done = sum(counts), 0
        n = len(crops)
        yield Progress(0.0, f"Restoring {n} region{'s' if n != 1 else ''}")
        patches: list[Patch] = []
        for i, crop in enumerate(crops):
            pixels = image[crop.box.slices]
            rgb = to_float(pixels)
            if rgb.shape[2] == 1:
                rgb = np.repeat(rgb, 3, axis=2)
            run = restore_tiles(model, rgb, mask[crop.box.slices], params["tile"], params["despeckle"], dtype)
            try:
                while True:
                    try:
                        t, tiles = next(run)
                    except StopIteration as stop:
                        restored: np.ndarray = stop.value
                        break
                    where = f", tile {t} of {tiles}" if tiles > 1 else ""
                    yield Progress((done + t) / total, f"Region {i + 1} of {n}{where}")
            finally:
                run.close()
            done += counts[i]
            patches.append(crop_patch(crop, pixels, restored, mask))
        return InpaintResult(self.name, patches, params, weights_sha256=weights.sha256,
                             elapsed_s=clock.elapsed, name=self.candidate_name(params))


PCONV = register(PConvEngine())
