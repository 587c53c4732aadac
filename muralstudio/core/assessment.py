"""Expert judgement of restoration candidates on S1's four criteria.

A conservator's rating is part of the record of a restoration: who judged which candidate,
how, and why. Each rater gives each candidate at most one rating (rating again replaces it);
scores run from 1 (poor) to 5 (excellent) and may be left out for a criterion not judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from muralstudio.core.candidate import now_iso

#: The criteria raters score restorations on (S1), in display order.
CRITERIA = ("factual accuracy", "textural detail", "contextual semantics", "holistic visual coherence")
CRITERIA_HELP = {
    "factual accuracy": "Does the fill agree with what the painting must have shown (lines, figures, colours)?",
    "textural detail": "Does the fill carry the grain, brushwork and wear of the paint around it?",
    "contextual semantics": "Does the fill make sense in its place in the composition?",
    "holistic visual coherence": "Seen as a whole, does the restored area sit in the mural without a seam?",
}
LOWEST, HIGHEST = 1, 5


@dataclass(frozen=True)
class Rating:
    """One rater's judgement of one candidate."""

    rater: str
    scores: Mapping[str, int]
    note: str = ""
    created: str = field(default_factory=now_iso)

    def __post_init__(self) -> None:
        if not self.rater.strip():
            raise ValueError("a rating needs the rater's name")
        for criterion, score in self.scores.items():
            if criterion not in CRITERIA:
                raise ValueError(f"unknown criterion '{criterion}'")
            if isinstance(score, bool) or not isinstance(score, int) or not LOWEST <= score <= HIGHEST:
                raise ValueError(f"the score for {criterion} must be a whole number from {LOWEST} to {HIGHEST}")
        object.__setattr__(self, "scores", {c: self.scores[c] for c in CRITERIA if c in self.scores})

    def mean(self) -> float | None:
        """The mean of the given scores (None when none was given)."""
        values = list(self.scores.values())
        return sum(values) / len(values) if values else None

    def to_dict(self) -> dict[str, Any]:
        return {"rater": self.rater, "scores": dict(self.scores), "note": self.note, "created": self.created}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Rating":
        """Raises ValueError (or KeyError/TypeError) on a malformed record."""
        return cls(rater=str(d["rater"]), scores=dict(d.get("scores") or {}), note=str(d.get("note") or ""),
                   created=str(d.get("created") or now_iso()))


def mean_scores(ratings: list[Rating]) -> dict[str, float]:
    """Per criterion, the mean over the raters that scored it (criteria nobody scored left out)."""
    out: dict[str, float] = {}
    for c in CRITERIA:
        values = [r.scores[c] for r in ratings if c in r.scores]
        if values:
            out[c] = sum(values) / len(values)
    return out


def overall(ratings: list[Rating]) -> float | None:
    """The mean of every score given to a candidate by every rater (None when unrated)."""
    values = [s for r in ratings for s in r.scores.values()]
    return sum(values) / len(values) if values else None
