"""Building blocks shared by our convolutional networks."""

from __future__ import annotations

from torch import nn


def conv_block(cin: int, cout: int) -> nn.Sequential:
    """Two 3 × 3 convolutions, each with batch norm and ReLU: a U-Net level."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )
