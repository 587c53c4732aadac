"""Undo history whose steps store only the tiles an edit changed, so memory stays bounded.

One brush stroke, one mask operation or one engine result is one step. A stroke on a
100-megapixel mask records the few 256 × 256 tiles it touched, not a copy of the layer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

TILE = 256


class LayerOwner(Protocol):
    """What a step needs of the document: its layer arrays by key."""

    def layer_array(self, key: str) -> np.ndarray: ...


class Step(ABC):
    """One undoable change of the document."""

    label: str

    @abstractmethod
    def undo(self, doc: object) -> None: ...

    @abstractmethod
    def redo(self, doc: object) -> None: ...

    @property
    @abstractmethod
    def nbytes(self) -> int: ...


@dataclass
class TileChange:
    """Before and after contents of one tile of one layer."""

    key: str
    y: int
    x: int
    before: np.ndarray
    after: np.ndarray


@dataclass
class TileStep(Step):
    """A raster edit stored as the changed tiles of one or more layers."""

    label: str
    changes: list[TileChange]
    dirty: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)

    def _apply(self, doc: LayerOwner, which: str) -> None:
        for ch in self.changes:
            data = ch.before if which == "before" else ch.after
            arr = doc.layer_array(ch.key)
            arr[ch.y : ch.y + data.shape[0], ch.x : ch.x + data.shape[1]] = data

    def undo(self, doc: object) -> None:
        self._apply(doc, "before")  # type: ignore[arg-type]

    def redo(self, doc: object) -> None:
        self._apply(doc, "after")  # type: ignore[arg-type]

    @property
    def nbytes(self) -> int:
        return sum(ch.before.nbytes + ch.after.nbytes for ch in self.changes)


@dataclass
class CallbackStep(Step):
    """A non-raster change (candidate added, choice made, notes) given as two callables."""

    label: str
    do: Callable[[object], None]
    undo_fn: Callable[[object], None]
    size: int = 0

    def undo(self, doc: object) -> None:
        self.undo_fn(doc)

    def redo(self, doc: object) -> None:
        self.do(doc)

    @property
    def nbytes(self) -> int:
        return self.size


class TileRecorder:
    """Snapshots tiles of layers just before they first change during one edit.

    Call :meth:`touch` with the rectangle about to be written, write into the layer, and
    call :meth:`finish` at the end of the edit to get a step holding only changed tiles.
    """

    def __init__(self, doc: LayerOwner, label: str, tile: int = TILE) -> None:
        self.doc = doc
        self.label = label
        self.tile = tile
        self._before: dict[tuple[str, int, int], np.ndarray] = {}

    def touch(self, key: str, y0: int, x0: int, y1: int, x1: int) -> None:
        """Record the tiles of layer ``key`` overlapping rows y0:y1 and columns x0:x1."""
        arr = self.doc.layer_array(key)
        h, w = arr.shape[:2]
        y0, x0, y1, x1 = max(0, y0), max(0, x0), min(h, y1), min(w, x1)
        if y0 >= y1 or x0 >= x1:
            return
        t = self.tile
        for ty in range(y0 // t * t, y1, t):
            for tx in range(x0 // t * t, x1, t):
                k = (key, ty, tx)
                if k not in self._before:
                    self._before[k] = arr[ty : ty + t, tx : tx + t].copy()

    def finish(self) -> TileStep | None:
        """The step with the tiles that really changed, or None when nothing did."""
        changes: list[TileChange] = []
        dirty: dict[str, list[int]] = {}
        for (key, ty, tx), before in self._before.items():
            arr = self.doc.layer_array(key)
            after = arr[ty : ty + before.shape[0], tx : tx + before.shape[1]]
            if np.array_equal(before, after):
                continue
            changes.append(TileChange(key, ty, tx, before, after.copy()))
            r = dirty.setdefault(key, [ty, tx, ty + before.shape[0], tx + before.shape[1]])
            r[0], r[1] = min(r[0], ty), min(r[1], tx)
            r[2], r[3] = max(r[2], ty + before.shape[0]), max(r[3], tx + before.shape[1])
        self._before.clear()
        if not changes:
            return None
        return TileStep(self.label, changes, {k: tuple(v) for k, v in dirty.items()})  # type: ignore[misc]


class History:
    """A linear undo stack bounded by total bytes and by number of steps.

    When a new step pushes the total over ``max_bytes`` (or the count over ``max_steps``)
    the oldest steps are dropped; the newest step is always kept.
    """

    def __init__(self, max_bytes: int = 512 * 2**20, max_steps: int = 200) -> None:
        self.max_bytes = max_bytes
        self.max_steps = max_steps
        self._steps: list[Step] = []
        self._pos = 0  # number of steps currently applied
        self._listeners: list[Callable[[], None]] = []

    def add_listener(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` whenever the stack or position changes."""
        self._listeners.append(fn)

    def _notify(self) -> None:
        for fn in list(self._listeners):
            fn()

    def push(self, step: Step) -> None:
        """Add an already applied step; discards the redo branch and trims to the budget."""
        del self._steps[self._pos :]
        self._steps.append(step)
        self._pos = len(self._steps)
        while len(self._steps) > 1 and (
            self.nbytes > self.max_bytes or len(self._steps) > self.max_steps
        ):
            self._steps.pop(0)
            self._pos -= 1
        self._notify()

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self._steps)

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self._steps]

    @property
    def position(self) -> int:
        """How many steps are applied (0 = all undone)."""
        return self._pos

    def __len__(self) -> int:
        return len(self._steps)

    def can_undo(self) -> bool:
        return self._pos > 0

    def can_redo(self) -> bool:
        return self._pos < len(self._steps)

    def undo(self, doc: object) -> Step | None:
        """Revert the newest applied step; returns it, or None when there is none."""
        if not self.can_undo():
            return None
        self._pos -= 1
        step = self._steps[self._pos]
        step.undo(doc)
        self._notify()
        return step

    def redo(self, doc: object) -> Step | None:
        """Re-apply the next undone step; returns it, or None when there is none."""
        if not self.can_redo():
            return None
        step = self._steps[self._pos]
        step.redo(doc)
        self._pos += 1
        self._notify()
        return step

    def jump_to(self, position: int, doc: object) -> list[Step]:
        """Undo or redo until ``position`` steps are applied; returns the steps touched."""
        position = max(0, min(position, len(self._steps)))
        touched: list[Step] = []
        while self._pos > position:
            touched.append(self.undo(doc))  # type: ignore[arg-type]
        while self._pos < position:
            touched.append(self.redo(doc))  # type: ignore[arg-type]
        return touched

    def clear(self) -> None:
        self._steps.clear()
        self._pos = 0
        self._notify()
