"""Running a PConv U-Net only where its output is used.

The engine keeps the network's output at hole pixels only, and on a mural with thin cracks
those are a few per cent of the image. The decoder's finest layers cost most (they run at
full and half resolution, with their skips), yet their outputs matter only at and near the
hole. This forward pass computes the encoder in full and every decoder layer only at the
positions the wanted outputs depend on: a finer layer's 3×3 window over its nearest-neighbour
upsampled input reaches the coarse cells under that window, so the wanted set is dilated by
one pixel and halved per level. Layers whose set covers more than ``dense_above`` of their
grid run in full as usual. Since nearest-neighbour upsampling repeats each coarse cell, the
window's coarse part folds into a 2×2 kernel per pixel parity (4 of 9 taps). A sparse layer
counts valid inputs for its rescaling at its own positions only, has its batch norm folded
into its kernels, and hands on its output already times its mask, so no pass runs over a
whole grid beyond the skip's copy. Encoder layers whose inputs are all valid run as one
convolution with the batch norm folded in. Features and kernels may run in bfloat16 (about
1.7x faster on CPUs with native bfloat16 arithmetic) while masks, valid counts and rescaling
factors are computed in float32, so which outputs are valid is decided exactly; decoder
layers that run in full stay in float32. The wanted
outputs equal those of :meth:`PConvUNet.forward` (up to float rounding); everything else in
the returned map is not meaningful. Inference only; torch, numpy and OpenCV.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, NamedTuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from muralstudio.nets.pconv import PConvUNet, _Down, _Up, all_valid

DENSE_ABOVE = 0.9  # a decoder layer runs in full where it must produce this share of its grid
CHUNK = 16384  # positions gathered at once: bounds the column buffer to a few hundred MB


def wanted_sets(want: np.ndarray, levels: int) -> list[np.ndarray]:
    """Boolean (H_i, W_i) maps of the positions each decoder level must produce, finest first,
    for the outputs ``want`` (H, W; both even at every level) of the last layer."""
    sets = [want.astype(bool)]
    reach = np.ones((4, 4), np.uint8)  # coarse cell c holds fine rows 2c, 2c+1; their windows reach 2c-1 to 2c+2
    for _ in range(levels - 1):
        grown = cv2.dilate(sets[-1].view(np.uint8), reach, anchor=(1, 1))
        sets.append(np.ascontiguousarray(grown[::2, ::2]).view(bool))
    return sets


def _empty_padded(h: int, w: int, c: int, like: torch.Tensor, zero: bool = False) -> torch.Tensor:
    """An (h + 2, w + 2, c) map with a border of zeros (a 3×3 convolution's padding); its
    inside is zero too if ``zero``, else left to be written."""
    if zero:
        return like.new_zeros(h + 2, w + 2, c)
    rows = like.new_empty(h + 2, w + 2, c)
    rows[0] = rows[-1] = 0.0
    rows[:, 0] = rows[:, -1] = 0.0
    return rows


def _padded(x: torch.Tensor, m: torch.Tensor | None = None) -> torch.Tensor:
    """``x * m`` (1, C, H, W) as an (H + 2, W + 2, C) map with a border of zeros."""
    c, h, w = x.shape[1:]
    rows = _empty_padded(h, w, c, x)
    inside = x[0].permute(1, 2, 0)
    if m is None or all_valid(m):
        rows[1:-1, 1:-1] = inside
    else:
        torch.mul(inside, m[0].permute(1, 2, 0), out=rows[1:-1, 1:-1])
    return rows


# The rows of a 3×3 window on a nearest-neighbour upsampled map fall on two coarse rows: for
# an even fine row on the coarse rows above and at it (kernel rows 0 | 1, 2), for an odd one
# on the coarse rows at and below it (kernel rows 0, 1 | 2). Columns alike.
_OFFSETS = ((-1, 0), (0, 1))
_FOLD = (((1.0, 0.0, 0.0), (0.0, 1.0, 1.0)), ((1.0, 1.0, 0.0), (0.0, 0.0, 1.0)))
_TAPS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
# how many of a 3×3 window's taps fall on each of those 2×2 coarse cells, per fine-pixel parity
_CELL_TAPS = [[[sum(r) * sum(c) for r in _FOLD[py] for c in _FOLD[px]] for px in (0, 1)] for py in (0, 1)]


class _UpKernels(NamedTuple):
    """A decoder layer's weights as matrices for gathered rows, with its batch norm folded in."""

    coarse: list[torch.Tensor]  # per fine-pixel parity (0, 0), (0, 1), (1, 0), (1, 1): (2 * 2 * cin, out)
    fine: torch.Tensor  # (3 * 3 * cskip, out)
    shift: torch.Tensor | None  # added after the rescaling: the norm's shift, or None for the last layer


# folded weights per layer, with the (address, version) stamps of the tensors they came from
_FOLDED: weakref.WeakKeyDictionary[torch.nn.Module, tuple[tuple, Any]] = weakref.WeakKeyDictionary()


def _cached(layer: torch.nn.Module, tensors: list[torch.Tensor], make: Callable[[], Any],
            dtype: torch.dtype = torch.float32) -> Any:
    """``make()`` for ``layer`` in ``dtype``, kept while none of ``tensors`` changes."""
    stamp = (dtype, *((t.data_ptr(), t._version) for t in tensors))
    cached = _FOLDED.get(layer)
    if cached is None or cached[0] != stamp:
        with torch.no_grad():
            cached = (stamp, make())
        _FOLDED[layer] = cached
    return cached[1]


def _up_kernels(layer: _Up, cin: int, dtype: torch.dtype) -> _UpKernels:
    """The layer's kernels over the 2×2 coarse cells a 3×3 window reaches (ordered cell row,
    cell column, channel) and over its 3×3 skip taps, in ``dtype``; the batch norm's gain
    folded in before rounding, its shift kept in float32."""
    weight = layer.pconv.conv.weight
    tensors = [weight]
    if not layer.last:
        norm = layer.norm
        tensors += [norm.weight, norm.bias, norm.running_mean, norm.running_var]

    def make() -> _UpKernels:
        gain, shift = weight.new_ones(weight.shape[0]), None
        if not layer.last:
            gain = layer.norm.weight / torch.sqrt(layer.norm.running_var + layer.norm.eps)
            shift = layer.norm.bias - layer.norm.running_mean * gain
        scaled = weight * gain[:, None, None, None]
        folds = [weight.new_tensor(f) for f in _FOLD]
        coarse = [torch.einsum("oikl,ak,bl->abio", scaled[:, :cin], folds[py], folds[px]).reshape(-1, weight.shape[0])
                  for py in (0, 1) for px in (0, 1)]
        fine = scaled[:, cin:].permute(2, 3, 1, 0).reshape(-1, weight.shape[0]).contiguous()
        return _UpKernels([k.to(dtype).contiguous() for k in coarse], fine.to(dtype), shift)

    return _cached(layer, tensors, make, dtype)


def _padded_mask(m: torch.Tensor) -> torch.Tensor | None:
    """A one-channel mask (1, 1, H, W) as a flat (H + 2) * (W + 2) map whose border counts
    as valid, as zero padding does; None if every pixel is valid."""
    return None if all_valid(m) else F.pad(m, (1, 1, 1, 1), value=1.0).view(-1)


def _sparse_up(layer: _Up, coarse: torch.Tensor, coarse_mask: torch.Tensor | None, skip: torch.Tensor,
               mskip: torch.Tensor, where: np.ndarray) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One decoder layer computed at ``where`` only, from the coarser level's output times its
    mask as a padded map (:func:`_padded`), that mask (:func:`_padded_mask`), and the encoder's
    ``skip`` already times its mask ``mskip``. Returns the layer's output times its updated
    mask, and that mask, alike; both are set at ``where`` only (the output is zero elsewhere
    for the last layer)."""
    pc = layer.pconv
    _, wp, cin = coarse.shape  # wp: the padded coarse width
    cskip, H, W = skip.shape[1:]
    coarse, fine = coarse.view(-1, cin), _padded(skip).view(-1, cskip)  # the skip comes masked
    fine_mask = _padded_mask(mskip)
    masked = coarse_mask is not None or fine_mask is not None
    kernels = _up_kernels(layer, cin, coarse.dtype)
    cout = kernels.fine.shape[1]
    out = _empty_padded(H, W, cout, coarse, zero=layer.last)
    out_rows = out.view(-1, cout)
    mask_out = coarse.new_ones((H + 2) * (W + 2), dtype=torch.float32) if masked else None
    device = out.device
    fine_taps = torch.tensor([dy * (W + 2) + dx for dy, dx in _TAPS], device=device)
    for py in (0, 1):
        for px in (0, 1):
            cy, cx = np.nonzero(where[py::2, px::2])  # the coarse cells of this parity's fine pixels
            cells = torch.tensor([oy * wp + ox for oy in _OFFSETS[py] for ox in _OFFSETS[px]], device=device)
            cell_taps = torch.tensor(_CELL_TAPS[py][px], dtype=torch.float32, device=device)
            for lo in range(0, cy.size, CHUNK):
                y, x = (torch.from_numpy(c[lo : lo + CHUNK]).to(device) for c in (cy, cx))
                n = y.numel()
                at = (((y + 1) * wp + x + 1)[:, None] + cells).view(-1)
                near = coarse.index_select(0, at).view(n, -1)
                y, x = 2 * y + py, 2 * x + px
                padded_at = (y + 1) * (W + 2) + x + 1
                tap_at = (padded_at[:, None] + fine_taps).view(-1)
                taps = fine.index_select(0, tap_at).view(n, -1)
                rows = torch.mm(near, kernels.coarse[2 * py + px]).addmm_(taps, kernels.fine)
                if masked:
                    count = (near.new_full((n,), 9.0 * cin, dtype=torch.float32) if coarse_mask is None
                             else coarse_mask.index_select(0, at).view(n, 4) @ cell_taps * cin)
                    count += (9.0 * cskip if fine_mask is None
                              else fine_mask.index_select(0, tap_at).view(n, 9).sum(1) * cskip)
                    scale, valid = pc.rescaling(count)
                    rows.mul_(scale[:, None].to(rows.dtype))  # in one dtype: mixed is slow
                    mask_out.index_copy_(0, padded_at, valid)
                if kernels.shift is None:
                    if pc.bias is not None:
                        rows.add_(pc.bias if not masked else valid[:, None] * pc.bias)  # 3 channels: mixing costs little
                else:
                    F.leaky_relu_(rows.add_(kernels.shift), 0.2)
                    if masked:  # the next layer sees this output times its mask
                        rows.mul_(valid[:, None].to(rows.dtype))
                out_rows.index_copy_(0, padded_at, rows)
    return out, mask_out


def _folded_norm(layer: _Down, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's convolution weights and the shift added after its rescaling, both in
    ``dtype``: its batch norm folded in (eval mode), or its bias where it has no norm."""
    pc, norm = layer.pconv, layer.norm

    def make() -> tuple[torch.Tensor, torch.Tensor]:
        weight = pc.conv.weight
        if not isinstance(norm, torch.nn.BatchNorm2d):
            shift = pc.bias if pc.bias is not None else weight.new_zeros(weight.shape[0])
            return weight.to(dtype), shift.to(dtype)
        gain = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        shift = norm.bias - norm.running_mean * gain
        if pc.bias is not None:
            shift = shift + pc.bias * gain
        return (weight * gain[:, None, None, None]).to(dtype), shift.to(dtype)

    norms = (norm.weight, norm.bias, norm.running_mean, norm.running_var) if isinstance(
        norm, torch.nn.BatchNorm2d) else ()
    return _cached(layer, [t for t in (pc.conv.weight, pc.bias, *norms) if t is not None], make, dtype)


def _down(layer: _Down, x: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One encoder layer, its input ``x`` already times its mask ``m``; returns its output
    likewise times the updated mask. One convolution with the batch norm folded in, and where
    some input is not valid, one pass that rescales, shifts and zeroes what is not valid."""
    pc = layer.pconv
    weight, shift = _folded_norm(layer, x.dtype)
    if all_valid(m):
        out = F.relu_(F.conv2d(x, weight, shift, stride=pc.stride, padding=pc.kernel // 2))
        return out, m.new_ones(1, 1, *out.shape[2:])
    out = F.conv2d(x, weight, stride=pc.stride, padding=pc.kernel // 2)
    scale, valid = pc.renormalisation([(x.shape[1], m)], m.dtype)
    scale, gate = scale.to(out.dtype), valid.to(out.dtype)  # in one dtype: mixed is slow
    return F.relu_(out.mul_(scale).addcmul_(gate, shift.view(1, -1, 1, 1))), valid


def forward_where(model: PConvUNet, image: torch.Tensor, mask: torch.Tensor, want: np.ndarray,
                  dense_above: float | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The network's raw output (float32) for one ``image`` (1, C, H, W) with ``mask``
    (1, 1, H, W), 1 = known, correct at the ``want`` (H, W) positions only; its features
    computed in ``dtype`` (float32 or bfloat16)."""
    if image.shape[0] != 1:
        raise ValueError("forward_where takes one image at a time")
    dense_above = DENSE_ABOVE if dense_above is None else dense_above
    sets = wanted_sets(want, model.config.depth)
    sparse_from = len(sets)  # the coarsest level computed sparsely; levels below it too
    for level, s in enumerate(sets):
        if s.mean() > dense_above:
            sparse_from = level
            break
    mask = mask.float()
    x, m = (image - 0.5).mul_(mask).to(dtype), mask  # encoder features are kept times their masks
    feats = [(x, m)]
    for layer in model.down:
        x, m = _down(layer, x, m)
        feats.append((x, m))
    feats.pop()
    for i, layer in zip(reversed(range(model.config.depth)), model.up):
        skip, mskip = feats.pop()
        if i < sparse_from:
            if i == sparse_from - 1:
                x, m = _padded(x.to(dtype), m), _padded_mask(m)
            x, m = _sparse_up(layer, x, m, skip, mskip, sets[i])
        else:  # the module itself, in float32
            x, m = layer(x.float(), m, skip.float(), mskip)
    if sparse_from > 0:
        x = x[1:-1, 1:-1].permute(2, 0, 1)[None]
    return x.float() + 0.5
