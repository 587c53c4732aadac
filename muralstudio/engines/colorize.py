"""Colour restoration: new chroma (Lab a, b) for faded regions and grey scans.

Lightness is never changed: the result inside the mask has the input's L with new a and b,
made displayable by :func:`~muralstudio.ops.colour.lab_to_rgb_in_gamut` (chroma shrunk, not
RGB clipped, where the colour would leave sRGB). Known pixels come back bit-identical.

Two methods:

- ``network``: the colorization U-Net (:mod:`muralstudio.nets.colorize`) corrects the
  statistics method's a and b inside each region from lightness, the faded colour, the
  intact colour around it and the conservator's colour hints;
- ``statistics``: the colour-statistics baseline (a and b of each region matched to a ring
  of intact colour around it); needs no weights.

With either, the conservator's colour hints then pull the colour near each of them
(:func:`~muralstudio.ops.hints.spread_hints`).

Both run at a working scale, the scale the network was trained at
(:mod:`muralstudio.engines.colorize_scale` plans the crops, shrinks them and brings the
change of chroma back to full resolution along the scan's lightness edges).

torch is imported only when the network runs, so listing engines stays fast. The engine
registers without shipped weights; running the network then raises a :class:`ModelError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator, TypeVar

import numpy as np

from muralstudio.core.candidate import Patch
from muralstudio.core.errors import EngineError
from muralstudio.engines import models
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
from muralstudio.engines.colorize_scale import finish, plan_jobs, shrink, working_hints
from muralstudio.ops.blend import TileBlender
from muralstudio.ops.colour import match_surroundings, region_depth
from muralstudio.ops.crop import Box, network_tiles
from muralstudio.ops.hints import HINT_RADIUS, hint_maps, spread_hints

if TYPE_CHECKING:
    from muralstudio.nets.colorize import ColorizeUNet

T = TypeVar("T")

SHIPPED = "colorize"  # the manifest name of the shipped model
WORK_SIDE = 512  # the network's training windows are this size: scans are worked on as if this long
RING = 32  # statistics method: width of the ring of intact colour, in working pixels
METHODS = ("network", "statistics")

MODEL = models.NetworkSpec(SHIPPED, "Colour restoration with the network", "muralstudio.nets.colorize",
                           "ColorizeConfig", "ColorizeUNet")


# -- running the network ------------------------------------------------------------------

def _run_net(model: ColorizeUNet, lab: np.ndarray, estimate: np.ndarray, region: np.ndarray, depth: np.ndarray,
             hints: list[tuple[float, float, float, float]]) -> np.ndarray:
    """Network a, b (h, w, 2) for one working tile, reflect-padded to the net's multiple;
    ``estimate`` is the statistics method's a, b (h, w, 2) that the network corrects and
    ``depth`` the region's (h, w, 2), both made over the whole working image."""
    import torch

    from muralstudio.nets.colorize import pack_inputs

    h, w = region.shape
    m = model.multiple
    pad = ((0, -h % m), (0, -w % m))
    hint_ab, hint_map = hint_maps((h, w), hints, HINT_RADIUS)
    arrays = [
        np.pad(lab.astype(np.float32, copy=False), (*pad, (0, 0)), mode="reflect"),
        np.pad(estimate.astype(np.float32, copy=False), (*pad, (0, 0)), mode="reflect"),
        np.pad(region.astype(np.float32), pad, mode="reflect")[..., None],
        np.pad(depth, (*pad, (0, 0)), mode="reflect"),
        np.pad(hint_ab, (*pad, (0, 0))),
        np.pad(hint_map, pad)[..., None],
    ]
    device = next(model.parameters()).device
    t = [torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].to(device) for a in arrays]
    with torch.inference_mode():
        x = pack_inputs(*t).contiguous(memory_format=torch.channels_last)
        out = model(x)
    return out[0, :, :h, :w].float().permute(1, 2, 0).cpu().numpy()


def network_delta(model: ColorizeUNet, lab: np.ndarray, region: np.ndarray,
                  hints: list[tuple[float, float, float, float]], tile: int = 768
                  ) -> Generator[tuple[int, int], None, np.ndarray]:
    """Change of a, b (h, w, 2) the network makes inside ``region`` (zero outside) of a
    working Lab array; yields (tiles done, tiles in all) after each tile."""
    model.eval()
    h, w = region.shape
    estimate = lab[..., 1:] + statistics_delta(lab, region, model.prior_table())
    depth = region_depth(region)
    tiles, overlap = network_tiles(h, w, tile, model.multiple)
    if len(tiles) == 1:
        ab = _run_net(model, lab, estimate, region, depth, hints)
        yield 1, 1
    else:
        blender = TileBlender(Box(0, 0, h, w), 2, overlap)
        for i, t in enumerate(tiles):
            if region[t.slices].any():
                local = [(y - t.y0, x - t.x0, a, b) for y, x, a, b in hints
                         if -HINT_RADIUS <= y - t.y0 < t.height + HINT_RADIUS
                         and -HINT_RADIUS <= x - t.x0 < t.width + HINT_RADIUS]
                blender.add(t, _run_net(model, lab[t.slices], estimate[t.slices], region[t.slices], depth[t.slices],
                                        local))
            yield i + 1, len(tiles)
        ab = blender.result()
    ab = spread_hints(ab, lab[..., 0], region, hints)
    return np.where(region[..., None], ab - lab[..., 1:], 0.0).astype(np.float32)


def statistics_delta(lab: np.ndarray, region: np.ndarray, prior: np.ndarray | None = None,
                     hints: list[tuple[float, float, float, float]] = ()) -> np.ndarray:
    """Change of a, b (h, w, 2) the colour-statistics baseline makes inside ``region``, hints
    spread over it; a region with no intact colour around takes ``prior``'s colour per
    lightness when one is given."""
    ab = spread_hints(match_surroundings(lab, region, RING, prior)[..., 1:], lab[..., 0], region, list(hints))
    return (ab - lab[..., 1:]).astype(np.float32)


# -- the engine ---------------------------------------------------------------------------

def _relay(steps: Generator[tuple[int, int], None, T], report: Callable[[int, int], Progress]
           ) -> Generator[Progress, None, T]:
    """Run ``steps`` to its end, yielding ``report(done, total)`` for each of its steps; it is
    closed when the caller is (cancel), so work stops between steps."""
    try:
        while True:
            try:
                step = next(steps)
            except StopIteration as stop:
                return stop.value
            yield report(*step)
    finally:
        steps.close()


class ColorizeEngine(Engine):
    """Colour restoration behind the engine protocol."""

    name = "colorize"
    label = "Colour restoration"
    description = ("Restores the colour of faded regions, or colours a grey scan, keeping its "
                   "lightness: by the colour statistics of the intact paint around each region, or "
                   "by a trained network (a weights file); colour hints steer either.")
    takes_hints = True
    needs_rgb = True
    params = (
        ParamSpec("method", "Method", "choice", "statistics", choices=METHODS, in_name=False,
                  help="statistics: match the colour around each region (no weights needed); "
                       "network: a trained colorization network (no weights are shipped yet, give "
                       "a .pt file). Colour hints steer both."),
        ParamSpec("weights", "Weights", "path", SHIPPED, in_name=False,
                  help="'colorize' for the shipped model, or a .pt weights file."),
        ParamSpec("margin", "Context margin", "int", 96, 0, 2048, in_name=False,
                  help="Context kept around each region, in working pixels."),
        ParamSpec("work_side", "Working size", "int", WORK_SIDE, 64, 16384, in_name=False,
                  help="The image is processed as if its long side were this many pixels (the "
                       "scale the network was trained at); smaller images are not enlarged."),
        ParamSpec("tile", "Max tile size", "int", 768, 64, 8192, in_name=False,
                  help="Larger working areas are split into overlapping tiles of at most this size."),
        ParamSpec("device", "Device", "choice", "auto", choices=("auto", "cpu", "cuda", "mps"), in_name=False,
                  help="Where the network runs; auto takes CUDA, then MPS, then the CPU."),
    )

    def candidate_name(self, params: dict[str, Any], seed: int | None = None) -> str:
        """'colorize', 'colorize hints=5', 'colorize method=statistics', with the weights
        file's stem when it is not the shipped model."""
        parts = [self.name]
        if params.get("method", "statistics") != "network":
            parts.append("method=statistics")
        else:
            w = str(params.get("weights", SHIPPED)).strip() or SHIPPED
            if w != SHIPPED:
                parts.append(f"weights={Path(w).stem}")
        if params.get("hints"):
            parts.append(f"hints={len(params['hints'])}")
        return " ".join(parts)

    def run(self, request: InpaintRequest) -> EngineRun:
        request.validate()
        if request.image.shape[2] != 3:
            raise EngineError("Colour restoration needs an RGB image; this one is grey. Convert it to "
                              "RGB (three equal channels) first, then restore its colour ('muralstudio "
                              "restore --engine colorize' does this by itself).")
        params = self.resolve_params(request.params)
        clock = Stopwatch()
        use_net = params["method"] == "network"
        model = weights = None
        if use_net:
            model, weights, _ = MODEL.load(params["weights"], params["device"])
        image, mask = request.image, request.mask
        h, w = mask.shape
        used = [hint for hint in request.hints if 0 <= round(hint.y) < h and 0 <= round(hint.x) < w
                and mask[int(round(hint.y)), int(round(hint.x))]]
        jobs = plan_jobs(mask, params["margin"], params["work_side"])
        mult = model.multiple if model is not None else 1
        counts = [len(network_tiles(*j.size, params["tile"], mult)[0]) if use_net else 1 for j in jobs]
        counts = [c + 1 for c in counts]  # one unit for the finishing at full resolution
        total, done = sum(counts), 0
        n = len(jobs)
        note = ""
        if len(used) < len(request.hints):
            note = f" ({len(request.hints) - len(used)} hint(s) outside the marked region not used)"
        yield Progress(0.0, f"Restoring the colour of {n} region{'s' if n != 1 else ''}{note}")
        patches: list[Patch] = []
        for i, job in enumerate(jobs):
            pixels = image[job.box.slices]
            lab, region = shrink(pixels, mask[job.box.slices], job.size)
            where = f"Region {i + 1} of {n}"
            hints = working_hints(used, mask, job)
            if model is not None:
                at = done  # progress of the jobs before this one

                def tile_progress(t: int, tiles: int) -> Progress:
                    return Progress((at + t) / total, where + (f", tile {t} of {tiles}" if tiles > 1 else ""))

                delta = yield from _relay(network_delta(model, lab, region, hints, params["tile"]), tile_progress)
            else:
                delta = statistics_delta(lab, region, hints=hints)
                yield Progress((done + 1) / total, where)
            done += counts[i] - 1
            hole = mask[job.paste.slices]
            at = done

            def band_progress(k: int, bands: int) -> Progress:
                return Progress((at + k / bands) / total, f"{where}, full resolution")

            out = yield from _relay(finish(pixels, hole, delta, region, job), band_progress)
            done += 1
            patches.append(Patch(job.paste.y0, job.paste.x0, out, hole.copy()))
        result_params = dict(params)
        result_params["hints"] = [hint.to_dict() for hint in used]
        return InpaintResult(self.name, patches, result_params,
                             weights_sha256=weights.sha256 if weights is not None else None,
                             elapsed_s=clock.elapsed, name=self.candidate_name(result_params))


COLORIZE = register(ColorizeEngine())
