"""Feature networks for perceptual and style losses.

No pretrained weights can be downloaded, so the features come from networks trained here:
a small VGG-like network trained self-supervised on mural patches (it learns to tell by how
much a patch was rotated, 0, 90, 180 or 270°), or the encoder of our damage detector.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from muralstudio.core.errors import ModelError
from muralstudio.nets.weights import load_state, load_weights

ARCH = "features"  # the architecture name in weight files
FEATURE_WIDTHS = (32, 64, 128)


class FeatureNet(nn.Module):
    """Three stages of two 3×3 convolutions with batch norm; :meth:`features` returns each stage's output."""

    def __init__(self, widths: tuple[int, ...] = FEATURE_WIDTHS) -> None:
        super().__init__()
        stages, cin = [], 3
        for w in widths:
            stages.append(nn.Sequential(
                nn.Conv2d(cin, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                nn.Conv2d(w, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            ))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.head = nn.Linear(cin, 4)
        self.register_buffer("mean", torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1), persistent=False)

    def features(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Stage outputs for RGB ``image`` in [0, 1]; each stage after the first halves the size."""
        x = (image - self.mean.to(image.dtype)) / 0.25
        out = []
        for i, stage in enumerate(self.stages):
            if i:
                x = F.max_pool2d(x, 2)
            x = stage(x)
            out.append(x)
        return out

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Rotation logits (the self-supervised task)."""
        return self.head(self.features(image)[-1].mean(dim=(2, 3)))


def rotation_batch(patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each patch turned by a random multiple of 90°, with the multiple as the label."""
    labels = torch.randint(0, 4, (patches.shape[0],))
    turned = torch.stack([torch.rot90(p, int(k), dims=(1, 2)) for p, k in zip(patches, labels)])
    return turned, labels


def feature_function(path: str | Path, device: torch.device
                     ) -> tuple[Callable[[torch.Tensor], list[torch.Tensor]], str]:
    """The frozen feature maps a perceptual or style loss compares, and the file's sha256:
    from a feature network of ``train features``, or from the encoder of a damage detector
    (``train detector``, as shipped); any other file raises :class:`ModelError`."""
    from muralstudio.nets.detector import ARCH as DETECTOR_ARCH
    from muralstudio.nets.detector import DamageUNet, DetectorConfig

    w = load_weights(path)
    if w.arch == ARCH:
        net: nn.Module = load_state(FeatureNet(tuple(w.config["widths"])), w)
        fn = net.features
    elif w.arch == DETECTOR_ARCH:
        net = load_state(DamageUNet(DetectorConfig(**w.config)), w)
        fn = net.encoder_features
    else:
        raise ModelError(f"{Path(path).name} holds a '{w.arch}' network; the perceptual and style terms need a "
                         f"feature network ('{ARCH}') or a damage detector ('{DETECTOR_ARCH}').")
    net.to(device).eval().requires_grad_(False)
    return fn, w.sha256
