"""Progress of a long job: what engines, exporters and map makers yield while they work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    """How far a job is: ``fraction`` 0..1, a message, and optionally a partial result.

    ``preview`` is what the job can already show: an engine's preview image (an ndarray), or
    a finished tile of a comparison map (:class:`muralstudio.ops.compare.MapTile`).
    """

    fraction: float
    message: str = ""
    preview: Any = None
