"""The Mural document: everything a conservator works on, with an undo history."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

import numpy as np

from muralstudio.core import masks as maskops
from muralstudio.core.assessment import Rating
from muralstudio.core.brush import Brush, Rect, StrokeRasterizer, apply_coverage
from muralstudio.core.candidate import Candidate
from muralstudio.core.damage import DamageClass
from muralstudio.core.errors import MaskMismatchError
from muralstudio.core.hints import ColourHint
from muralstudio.core.history import CallbackStep, History, TileRecorder
from muralstudio.core.raster import RasterImage

GUIDE = "guide"
Listener = Callable[[str, Rect | None], None]


def mask_key(cls: DamageClass) -> str:
    return f"mask:{cls.value}"


class StrokeSession:
    """A brush or eraser stroke in progress; :meth:`end` makes it one undo step."""

    def __init__(self, doc: "Mural", key: str, brush: Brush, erase: bool, label: str | None = None) -> None:
        self.doc = doc
        self.key = key
        self.erase = erase
        self.threshold = brush.mark_threshold
        self._raster = StrokeRasterizer(brush, doc.shape)
        self._rec = TileRecorder(doc, label or ("Erase" if erase else "Brush stroke"))
        self._open = True

    def add_point(self, x: float, y: float) -> Rect | None:
        """Extend the stroke to (x, y); returns the rectangle that may have changed."""
        if not self._open:
            raise RuntimeError("stroke already ended")
        hit = self._raster.add_point(x, y)
        if hit is None:
            return None
        rect, cov = hit
        self._rec.touch(self.key, *rect)
        apply_coverage(self.doc.layer_array(self.key), rect, cov, self.erase, self.threshold)
        self.doc._notify(self.key, rect)
        return rect

    def end(self) -> bool:
        """Close the stroke; True when it changed anything (and so became an undo step)."""
        self._open = False
        step = self._rec.finish()
        if step is None:
            return False
        self.doc.history.push(step)
        return True


class Mural:
    """A scan under restoration: original, damage masks, guide lines, candidates, notes.

    The original is read-only. Masks are boolean (H, W) arrays, one per damage class; the
    guide layer holds lines the fill should follow. Edits go through :meth:`edit`,
    :meth:`begin_stroke` or the candidate methods, so each is one step of ``history``.
    """

    def __init__(self, original: RasterImage, history: History | None = None) -> None:
        self.original = original
        h, w = original.height, original.width
        # np.zeros maps untouched pages lazily, so empty layers cost next to nothing.
        self._layers: dict[str, np.ndarray] = {mask_key(c): np.zeros((h, w), bool) for c in DamageClass}
        self._layers[GUIDE] = np.zeros((h, w), bool)
        self.candidates: list[Candidate] = []
        self.chosen_id: str | None = None
        self.ratings: dict[str, list[Rating]] = {}  # candidate id -> one rating per rater
        self.notes: str = ""
        self._hints: list[ColourHint] = []  # colour hints, in the order they were given
        self.history = history if history is not None else History()
        self._listeners: list[Listener] = []

    # -- layers -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        return (self.original.height, self.original.width)

    def layer_array(self, key: str) -> np.ndarray:
        return self._layers[key]

    def mask(self, cls: DamageClass) -> np.ndarray:
        """The live mask of one class (edit it through :meth:`edit` to keep undo)."""
        return self._layers[mask_key(cls)]

    @property
    def guide(self) -> np.ndarray:
        return self._layers[GUIDE]

    def union_mask(self, classes: Iterable[DamageClass] | None = None) -> np.ndarray:
        """All pixels marked in any of ``classes`` (default: every class)."""
        chosen = list(DamageClass) if classes is None else list(classes)
        return maskops.union((self.mask(c) for c in chosen), self.shape)

    def add_listener(self, fn: Listener) -> None:
        """``fn(key, rect)`` after a layer changes; key "candidates" for candidate changes."""
        self._listeners.append(fn)

    def _notify(self, key: str, rect: Rect | None) -> None:
        for fn in list(self._listeners):
            fn(key, rect)

    # -- raster edits -------------------------------------------------------------------
    @contextmanager
    def edit(self, label: str) -> Iterator[TileRecorder]:
        """Group raster changes into one undo step: touch rectangles, then write them."""
        rec = TileRecorder(self, label)
        yield rec
        step = rec.finish()
        if step is not None:
            self.history.push(step)
            for key, rect in step.dirty.items():
                self._notify(key, rect)

    def begin_stroke(self, key: str, brush: Brush, erase: bool = False, label: str | None = None) -> StrokeSession:
        """A stroke on layer ``key``; ``label`` names its undo step (default "Brush stroke"/"Erase")."""
        return StrokeSession(self, key, brush, erase, label)

    def set_layer(self, key: str, value: np.ndarray, label: str) -> None:
        """Replace a whole layer as one step (only tiles that change are stored)."""
        arr = self._layers[key]
        if value.shape != arr.shape:
            h, w = arr.shape
            raise MaskMismatchError(
                f"The mask is {value.shape[1]} × {value.shape[0]} but the image is {w} × {h}."
            )
        changed = maskops.bbox(value != arr)
        if changed is None:
            return
        with self.edit(label) as rec:
            rec.touch(key, *changed)
            y0, x0, y1, x1 = changed
            arr[y0:y1, x0:x1] = value[y0:y1, x0:x1]

    def apply_mask_op(self, key: str, op: Callable[[np.ndarray], np.ndarray], label: str) -> None:
        """Run a mask operation (grow, shrink, ...) on a layer as one undoable step."""
        self.set_layer(key, op(self._layers[key]), label)

    # -- candidates ---------------------------------------------------------------------
    def candidate(self, cid: str) -> Candidate:
        for c in self.candidates:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def add_candidate(self, cand: Candidate) -> None:
        """Add an engine result as one undo step; a repeated name gets a number (#2, #3…)."""
        self.add_candidates([cand])

    def add_candidates(self, cands: list[Candidate]) -> None:
        """Add the candidates of one run (e.g. several seeds) as one undo step."""
        names = {c.name for c in self.candidates}
        for cand in cands:
            if cand.name in names:
                n = 2
                while f"{cand.name} #{n}" in names:
                    n += 1
                cand.name = f"{cand.name} #{n}"
            names.add(cand.name)

        def do(_: object) -> None:
            self.candidates.extend(cands)
            self._notify("candidates", None)

        def undo(_: object) -> None:
            ids = {c.id for c in cands}  # by id: candidates holding equal arrays do not compare
            self.candidates[:] = [c for c in self.candidates if c.id not in ids]
            if self.chosen_id in ids:
                self.chosen_id = None
            self._notify("candidates", None)

        do(self)
        label = f"Add {cands[0].name}" if len(cands) == 1 else f"Add {len(cands)} {cands[0].provenance.engine} candidates"
        self.history.push(CallbackStep(label, do, undo, sum(c.nbytes for c in cands)))

    def remove_candidate(self, cid: str) -> None:
        cand = self.candidate(cid)
        index = self.candidates.index(cand)
        was_chosen = self.chosen_id == cid

        def do(_: object) -> None:
            self.candidates.remove(cand)
            if was_chosen:
                self.chosen_id = None
            self._notify("candidates", None)

        def undo(_: object) -> None:
            self.candidates.insert(index, cand)
            if was_chosen:
                self.chosen_id = cid
            self._notify("candidates", None)

        do(self)
        self.history.push(CallbackStep(f"Remove {cand.name}", do, undo, cand.nbytes))

    def choose(self, cid: str | None) -> None:
        """Make a candidate (or None: the original) the chosen result, as one step."""
        if cid is not None:
            self.candidate(cid)  # KeyError for unknown ids
        before, after = self.chosen_id, cid
        if before == after:
            return

        def setter(value: str | None) -> Callable[[object], None]:
            def apply(_: object) -> None:
                self.chosen_id = value
                self._notify("candidates", None)

            return apply

        setter(after)(self)
        self.history.push(CallbackStep("Choose result", setter(after), setter(before)))

    def ratings_of(self, cid: str) -> list[Rating]:
        """The ratings given to a candidate, in the order they were first given."""
        return list(self.ratings.get(cid, ()))

    def rate(self, cid: str, rating: Rating) -> None:
        """Record a rater's judgement of a candidate as one step (it replaces theirs, if any)."""
        self._set_rating(cid, rating.rater, rating, f"Rate {self.candidate(cid).name}")

    def unrate(self, cid: str, rater: str) -> None:
        """Withdraw a rater's judgement of a candidate as one step."""
        self._set_rating(cid, rater, None, f"Withdraw rating of {self.candidate(cid).name}")

    def _set_rating(self, cid: str, rater: str, rating: Rating | None, label: str) -> None:
        before = list(self.ratings.get(cid, []))
        after = list(before)
        index = next((i for i, r in enumerate(after) if r.rater == rater), None)
        if rating is None:
            if index is None:
                return
            del after[index]
        elif index is None:
            after.append(rating)
        else:
            after[index] = rating

        def setter(value: list[Rating]) -> Callable[[object], None]:
            def apply(_: object) -> None:
                if value:
                    self.ratings[cid] = list(value)
                else:
                    self.ratings.pop(cid, None)
                self._notify("ratings", None)

            return apply

        setter(after)(self)
        self.history.push(CallbackStep(label, setter(after), setter(before)))

    # -- colour hints -------------------------------------------------------------------
    @property
    def hints(self) -> tuple[ColourHint, ...]:
        """The colour hints, oldest first (change them through the methods below)."""
        return tuple(self._hints)

    def add_hint(self, hint: ColourHint) -> None:
        """Add a colour hint as one step; ValueError for a point outside the image."""
        if not isinstance(hint, ColourHint):
            raise TypeError("add_hint takes a ColourHint")
        self.add_hints([hint], f"Add colour hint {hint.hex()}")

    def add_hints(self, hints: Iterable[ColourHint], label: str) -> None:
        """Add several colour hints (an imported file's) as one step named ``label``; nothing
        is added when any of them lies outside the image (ValueError)."""
        new, (h, w) = list(hints), self.shape
        for hint in new:
            if not isinstance(hint, ColourHint):
                raise TypeError("add_hints takes ColourHint objects")
            if not (0.0 <= hint.x < w and 0.0 <= hint.y < h):
                raise ValueError(f"the hint at x {hint.x:g}, y {hint.y:g} lies outside the {w} × {h} image")
        if new:
            self._set_hints(self._hints + new, label)

    def remove_hint(self, which: int | ColourHint) -> None:
        """Remove a hint, given by its index or itself, as one step (IndexError, ValueError)."""
        if isinstance(which, ColourHint):
            index = next((i for i, h in enumerate(self._hints) if h is which), None)
            if index is None:
                index = self._hints.index(which)  # an equal hint; ValueError when there is none
        else:
            index = range(len(self._hints))[which]  # IndexError; negative indices count back
        gone = self._hints[index]
        self._set_hints(self._hints[:index] + self._hints[index + 1 :], f"Remove colour hint {gone.hex()}")

    def clear_hints(self) -> None:
        """Remove every hint as one step (nothing happens when there are none)."""
        if self._hints:
            self._set_hints([], "Clear colour hints")

    def load_hints(self, hints: Iterable[ColourHint]) -> None:
        """Set the hints without an undo step: for documents being loaded."""
        self._hints = list(hints)
        self._notify("hints", None)

    def _set_hints(self, after: list[ColourHint], label: str) -> None:
        before = list(self._hints)

        def setter(value: list[ColourHint]) -> Callable[[object], None]:
            def apply(_: object) -> None:
                self._hints = list(value)
                self._notify("hints", None)

            return apply

        setter(after)(self)
        self.history.push(CallbackStep(label, setter(after), setter(before), 64 * len(after)))

    @property
    def chosen(self) -> Candidate | None:
        return None if self.chosen_id is None else self.candidate(self.chosen_id)

    def composite(self) -> np.ndarray:
        """The original with the chosen candidate applied (a new array)."""
        cand = self.chosen
        base = self.original.pixels
        return base.copy() if cand is None else cand.render(base)

    # -- history ------------------------------------------------------------------------
    def undo(self) -> bool:
        step = self.history.undo(self)
        self._after_history(step)
        return step is not None

    def redo(self) -> bool:
        step = self.history.redo(self)
        self._after_history(step)
        return step is not None

    def jump_to(self, position: int) -> None:
        """Undo or redo until ``position`` steps of the history are applied."""
        for step in self.history.jump_to(position, self):
            self._after_history(step)

    def _after_history(self, step: object) -> None:
        dirty = getattr(step, "dirty", None)
        if dirty:
            for key, rect in dirty.items():
                self._notify(key, rect)
