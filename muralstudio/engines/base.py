"""The engine protocol: restoration engines are generators that yield progress.

``result = yield from engine.run(request)`` runs an engine inside another generator; the
GUI drives it on a worker thread and cancels by closing the generator, the CLI drives the
same generator with a progress bar (:func:`drive`).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Generator

import numpy as np

from muralstudio.core.candidate import Candidate, Patch, Provenance
from muralstudio.core.errors import Cancelled, EngineError, MaskMismatchError
from muralstudio.core.hints import ColourHint
from muralstudio.core.progress import Progress
from muralstudio.ops.blend import from_float
from muralstudio.ops.crop import Crop


_BOOL_WORDS = {w: True for w in ("1", "true", "yes", "on")} | {w: False for w in ("0", "false", "no", "off")}


@dataclass(frozen=True)
class ParamSpec:
    """One engine parameter, described well enough for a form or a CLI option."""

    name: str
    label: str
    kind: str  # "int", "float", "choice", "bool" or "path" (a file path or a name, free text)
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""
    in_name: bool = True  # shown in candidate names (technical knobs like margins are not)

    def coerce(self, value: Any) -> Any:
        """``value`` converted to this parameter's type and checked against its range."""
        try:
            if self.kind == "int":
                v: Any = int(value)
            elif self.kind == "float":
                v = float(value)
            elif self.kind == "bool":
                v = value if isinstance(value, bool) else _BOOL_WORDS[str(value).strip().lower()]
            elif self.kind == "path":
                v = str(value).strip()
            else:
                v = str(value)
        except KeyError:
            raise EngineError(f"{self.label} must be on or off (true/false, yes/no, 1/0), not '{value}'.") from None
        except (TypeError, ValueError):
            raise EngineError(f"{self.label} must be a{'n integer' if self.kind == 'int' else ' number'}, not '{value}'.") from None
        if self.kind == "choice" and v not in self.choices:
            raise EngineError(f"{self.label} must be one of {', '.join(self.choices)}, not '{v}'.")
        if self.minimum is not None and v < self.minimum or self.maximum is not None and v > self.maximum:
            raise EngineError(f"{self.label} must be between {self.minimum} and {self.maximum}, not {v}.")
        return v


@dataclass
class InpaintRequest:
    """What to restore: pixels (H, W, C) uint8/uint16, a boolean mask, optional guide lines
    and colour hints (engines that take no hints ignore them), and optionally all the damage
    marked on the image, restored in this run or not: engines that measure the intact paint
    around a hole leave unrestored damage out of it."""

    image: np.ndarray
    mask: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)
    guide: np.ndarray | None = None
    seed: int | None = None
    hints: list[ColourHint] = field(default_factory=list)
    damage: np.ndarray | None = None

    def unrestored(self) -> np.ndarray | None:
        """Marked damage this run leaves as it is (None when the request names none)."""
        return None if self.damage is None else self.damage & ~self.mask

    def validate(self) -> None:
        """Raise a typed error when the request cannot be run."""
        img = self.image
        if img.ndim != 3 or img.shape[2] not in (1, 3) or img.dtype not in (np.uint8, np.uint16):
            raise EngineError("Engines restore 8- or 16-bit grey or RGB images.")
        if self.mask.shape != img.shape[:2]:
            raise MaskMismatchError(
                f"The mask is {self.mask.shape[1]} × {self.mask.shape[0]} but the image is "
                f"{img.shape[1]} × {img.shape[0]}."
            )
        if not self.mask.any():
            raise EngineError("The mask is empty: there is nothing to restore.")
        if self.damage is not None and self.damage.shape != self.mask.shape:
            raise MaskMismatchError("The damage map and the mask differ in size.")


@dataclass
class InpaintResult:
    """What an engine made: patches of new pixels and how they were made."""

    engine: str
    patches: list[Patch]
    params: dict[str, Any]
    seed: int | None = None
    weights_sha256: str | None = None
    elapsed_s: float = 0.0
    name: str = ""  # short candidate name; the provenance's full name when empty
    other_weights: dict[str, str] = field(default_factory=dict)  # role → sha256 of further networks used
    alternatives: list[InpaintResult] = field(default_factory=list)  # more candidates of the run (other seeds)

    def all_results(self) -> list[InpaintResult]:
        """This result and its alternatives: every candidate the run made, in order."""
        return [self, *self.alternatives]

    def provenance(self, classes: tuple[str, ...] = ()) -> Provenance:
        return Provenance(
            engine=self.engine,
            params=dict(self.params),
            seed=self.seed,
            weights_sha256=self.weights_sha256,
            elapsed_s=round(self.elapsed_s, 3),
            classes=classes,
            other_weights=dict(self.other_weights),
        )

    def to_candidate(self, classes: tuple[str, ...] = ()) -> Candidate:
        return Candidate(self.provenance(classes), self.patches, name=self.name)


EngineRun = Generator[Progress, None, InpaintResult]


def crop_patch(crop: Crop, pixels: np.ndarray, restored: np.ndarray, mask: np.ndarray) -> Patch:
    """The patch a crop owns: ``restored`` (the crop's pixels as float RGB or grey in [0, 1])
    taken only where ``mask`` marks damage, in the dtype and channels of ``pixels`` (the crop's
    original pixels); a grey image restored as RGB is averaged back."""
    if pixels.shape[2] == 1 and restored.shape[2] == 3:
        restored = restored.mean(axis=2, keepdims=True)
    p = crop.paste
    hole = mask[p.slices]
    out = pixels[crop.inner].copy()
    out[hole] = from_float(restored[crop.inner][hole], pixels.dtype)  # only the hole: often a few %
    return Patch(p.y0, p.x0, out, hole.copy())


class Engine(ABC):
    """A restoration engine. Subclasses set the class attributes and implement :meth:`run`."""

    name: str = ""
    label: str = ""
    description: str = ""
    params: tuple[ParamSpec, ...] = ()
    takes_hints: bool = False  # uses InpaintRequest.hints (colour hints)
    needs_rgb: bool = False  # refuses grey (1-channel) images
    takes_guide: bool = False  # uses InpaintRequest.guide (guide lines)

    def resolve_params(self, given: dict[str, Any]) -> dict[str, Any]:
        """All parameters with defaults filled in and values checked; unknown names refused."""
        specs = {p.name: p for p in self.params}
        unknown = set(given) - set(specs)
        if unknown:
            raise EngineError(
                f"Engine '{self.name}' has no parameter {', '.join(sorted(unknown))}; "
                f"it takes {', '.join(specs) or 'none'}."
            )
        return {name: spec.coerce(given.get(name, spec.default)) for name, spec in specs.items()}

    def candidate_name(self, params: dict[str, Any], seed: int | None = None) -> str:
        """A short layer name: the engine and the parameters that shape the result."""
        shown = [f"{p.name}={params[p.name]}" for p in self.params if p.in_name and p.name in params]
        return " ".join([self.name, *shown, *([f"seed={seed}"] if seed is not None else [])])

    @abstractmethod
    def run(self, request: InpaintRequest) -> EngineRun:
        """Yield :class:`Progress` while working and return an :class:`InpaintResult`."""


_REGISTRY: dict[str, Engine] = {}


def register(engine: Engine) -> Engine:
    """Make an engine available by name to the CLI and the GUI."""
    _REGISTRY[engine.name] = engine
    return engine


def get_engine(name: str) -> Engine:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise EngineError(f"Unknown engine '{name}'; available: {', '.join(sorted(_REGISTRY))}.") from None


def engine_names() -> list[str]:
    return sorted(_REGISTRY)


def drive(
    run: Generator[Progress, None, Any],
    on_progress: Callable[[Progress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Any:
    """Run an engine generator to its end; close it and raise Cancelled when asked to stop."""
    try:
        while True:
            progress = next(run)
            if on_progress is not None:
                on_progress(progress)
            if should_cancel is not None and should_cancel():
                run.close()
                raise Cancelled("The job was cancelled.")
    except StopIteration as stop:
        return stop.value


class Stopwatch:
    """Wall-clock seconds since creation, for provenance."""

    def __init__(self) -> None:
        self._t0 = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._t0
