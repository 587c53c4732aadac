"""Progress of a long job: what engines and exporters yield while they work."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Progress:
    """How far a job is: ``fraction`` 0..1, a message, and optionally a preview image."""

    fraction: float
    message: str = ""
    preview: np.ndarray | None = None
