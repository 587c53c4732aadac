"""Running a PConv U-Net only where its output is used.

The engine keeps the network's output at hole pixels only, and on a mural with thin cracks
those are a few per cent of the image. The decoder's finest layers cost most (they run at
full and half resolution, with their skips), yet their outputs matter only at and near the
hole. This forward pass computes the encoder in full and every decoder layer only at the
positions the wanted outputs depend on: a finer layer's 3×3 window over its nearest-neighbour
upsampled input reaches the coarse cells under that window, so the wanted set is dilated by
one pixel and halved per level. Layers whose set covers more than ``dense_above`` of their
grid run in full as usual. Since nearest-neighbour upsampling repeats each coarse cell, the
window's coarse part folds into a 2×2 kernel per pixel parity (4 of 9 taps). Encoder layers
whose inputs are all valid run as one convolution with the batch norm folded in. The wanted
outputs equal those of :meth:`PConvUNet.forward` (up to float rounding); everything else in
the returned map is not meaningful. Inference only; torch, numpy and OpenCV.
"""

from __future__ import annotations

import weakref

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from muralstudio.nets.pconv import PartialConv2d, PConvUNet, _Down, _Up, all_valid

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
    rows[1:-1, 1:-1] = (x if m is None or all_valid(m) else x * m)[0].permute(1, 2, 0)
    return rows


# The rows of a 3×3 window on a nearest-neighbour upsampled map fall on two coarse rows: for
# an even fine row on the coarse rows above and at it (kernel rows 0 | 1, 2), for an odd one
# on the coarse rows at and below it (kernel rows 0, 1 | 2). Columns alike.
_OFFSETS = ((-1, 0), (0, 1))
_FOLD = (((1.0, 0.0, 0.0), (0.0, 1.0, 1.0)), ((1.0, 1.0, 0.0), (0.0, 0.0, 1.0)))
_TAPS = torch.tensor([(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)])


# folded weights per layer, with the (address, version) stamps of the tensors they came from
_FOLDED: weakref.WeakKeyDictionary[torch.nn.Module, tuple[tuple, list[torch.Tensor]]] = weakref.WeakKeyDictionary()


def _coarse_kernels(pc: PartialConv2d, cin: int) -> list[torch.Tensor]:
    """For the fine-pixel parities (0, 0), (0, 1), (1, 0), (1, 1), the (out, 2 * 2 * cin)
    kernels of the first ``cin`` input channels over the 2×2 coarse cells a 3×3 window reaches,
    ordered (cell row, cell column, channel). Kept while the layer's weights stay unchanged."""
    weight = pc.conv.weight
    stamp = ((weight.data_ptr(), weight._version),)
    cached = _FOLDED.get(pc)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with torch.no_grad():
        folds = [weight.new_tensor(f) for f in _FOLD]
        kernels = [torch.einsum("oikl,ak,bl->oabi", weight[:, :cin], folds[py], folds[px]).reshape(weight.shape[0], -1)
                   for py in (0, 1) for px in (0, 1)]
    _FOLDED[pc] = (stamp, kernels)
    return kernels


def _sparse_up(layer: _Up, coarse: torch.Tensor, m: torch.Tensor, skip: torch.Tensor, mskip: torch.Tensor,
               where: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """One decoder layer computed at ``where`` only, from the coarser level's output as a
    padded map (:func:`_padded`) and mask ``m``; returns its output as a padded map (other
    positions unset, or zero for the last layer) and its full updated mask."""
    pc = layer.pconv
    _, wp, cin = coarse.shape  # wp: the padded coarse width
    H, W = skip.shape[2:]
    m_up = F.interpolate(m, scale_factor=2.0, mode="nearest")
    scale, valid = pc.renormalisation([(cin, m_up), (skip.shape[1], mskip)], m.dtype)
    mask_out, scale, valid = valid, scale.reshape(-1), valid.reshape(-1)

    coarse, fine = coarse.view(-1, cin), _padded(skip, mskip).view(-1, skip.shape[1])
    coarse_mask = None if all_valid(m) else _padded(m).view(-1, 1)
    weight = pc.conv.weight
    coarse_kernels = _coarse_kernels(pc, cin)
    fine_kernel = weight[:, cin:].permute(0, 2, 3, 1).reshape(weight.shape[0], -1)
    fine_taps = (_TAPS[:, 0] * (W + 2) + _TAPS[:, 1]).to(weight.device)
    out = _empty_padded(H, W, weight.shape[0], weight, zero=layer.last)
    out_rows = out.view(-1, weight.shape[0])
    ys, xs = torch.from_numpy(where).to(weight.device).nonzero(as_tuple=True)
    for py in (0, 1):
        for px in (0, 1):
            pick = ((ys % 2) == py) & ((xs % 2) == px)
            ys_p, xs_p = ys[pick], xs[pick]
            cells = torch.tensor([oy * wp + ox for oy in _OFFSETS[py] for ox in _OFFSETS[px]], device=ys.device)
            for lo in range(0, ys_p.numel(), CHUNK):
                y, x = ys_p[lo : lo + CHUNK], xs_p[lo : lo + CHUNK]
                n = y.numel()
                at = (torch.div(y, 2, rounding_mode="floor") + 1) * wp + torch.div(x, 2, rounding_mode="floor") + 1
                at = (at[:, None] + cells).reshape(-1)
                near = coarse.index_select(0, at)
                if coarse_mask is not None:
                    near = near * coarse_mask.index_select(0, at)
                padded_at = (y + 1) * (W + 2) + x + 1
                taps = fine.index_select(0, (padded_at[:, None] + fine_taps).reshape(-1)).view(n, -1)
                flat = y * W + x
                rows = (near.view(n, -1) @ coarse_kernels[2 * py + px].T + taps @ fine_kernel.T) * scale[flat, None]
                if pc.bias is not None:
                    rows = rows + pc.bias * valid[flat, None]
                if not layer.last:
                    norm = layer.norm
                    rows = F.leaky_relu(F.batch_norm(rows, norm.running_mean, norm.running_var, norm.weight,
                                                     norm.bias, False, 0.0, norm.eps), 0.2)
                out_rows[padded_at] = rows
    return out, mask_out


def _folded_norm(layer: _Down) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's convolution weights and bias with its batch norm folded in (eval mode)."""
    conv, norm = layer.pconv.conv, layer.norm
    stamp = tuple((t.data_ptr(), t._version) for t in (conv.weight, norm.weight, norm.bias,
                                                       norm.running_mean, norm.running_var))
    cached = _FOLDED.get(layer)
    if cached is not None and cached[0] == stamp:
        return cached[1][0], cached[1][1]
    with torch.no_grad():
        gain = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        folded = [conv.weight * gain[:, None, None, None], norm.bias - norm.running_mean * gain]
    _FOLDED[layer] = (stamp, folded)
    return folded[0], folded[1]


def _down(layer: _Down, x: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One encoder layer; where every input pixel is valid, one convolution with the batch
    norm folded in, which spares a pass over the layer's output."""
    pc = layer.pconv
    if not isinstance(layer.norm, torch.nn.BatchNorm2d) or pc.bias is not None or not all_valid(m):
        return layer(x, m)
    weight, bias = _folded_norm(layer)
    out = F.relu_(F.conv2d(x, weight, bias, stride=pc.stride, padding=pc.kernel // 2))
    return out, out.new_ones(1, 1, *out.shape[2:])


def forward_where(model: PConvUNet, image: torch.Tensor, mask: torch.Tensor, want: np.ndarray,
                  dense_above: float | None = None) -> torch.Tensor:
    """The network's raw output for one ``image`` (1, C, H, W) with ``mask`` (1, 1, H, W),
    1 = known, correct at the ``want`` (H, W) positions only."""
    if image.shape[0] != 1:
        raise ValueError("forward_where takes one image at a time")
    dense_above = DENSE_ABOVE if dense_above is None else dense_above
    sets = wanted_sets(want, model.config.depth)
    sparse_from = len(sets)  # the coarsest level computed sparsely; levels below it too
    for level, s in enumerate(sets):
        if s.mean() > dense_above:
            sparse_from = level
            break
    x, m = image - 0.5, mask
    feats = [(x, m)]
    for layer in model.down:
        x, m = _down(layer, x, m)
        feats.append((x, m))
    feats.pop()
    for i, layer in zip(reversed(range(model.config.depth)), model.up):
        skip, mskip = feats.pop()
        if i < sparse_from:
            if i == sparse_from - 1:
                x = _padded(x)
            x, m = _sparse_up(layer, x, m, skip, mskip, sets[i])
        else:
            x, m = layer(x, m, skip, mskip)
    if sparse_from > 0:
        x = x[1:-1, 1:-1].permute(2, 0, 1)[None]
    return x + 0.5
