import pytest

from muralstudio.core.assessment import CRITERIA, Rating, mean_scores, overall
from tests.core.test_document import make_candidate, make_doc


def test_rating_validates_and_orders_criteria():
    r = Rating("Li Wei", {"textural detail": 2, "factual accuracy": 5}, "crisp")
    assert list(r.scores) == ["factual accuracy", "textural detail"]
    assert r.mean() == 3.5 and r.created
    assert Rating.from_dict(r.to_dict()) == r
    for bad in ({"factual accuracy": 0}, {"factual accuracy": 6}, {"factual accuracy": 2.5},
                {"factual accuracy": True}, {"beauty": 3}):
        with pytest.raises(ValueError):
            Rating("Li Wei", bad)
    with pytest.raises(ValueError):
        Rating("  ", {})
    assert Rating("X", {}).mean() is None


def test_means_over_raters():
    a = Rating("A", {c: 4 for c in CRITERIA})
    b = Rating("B", {"textural detail": 2})
    assert mean_scores([a, b]) == {"factual accuracy": 4, "textural detail": 3, "contextual semantics": 4,
                                   "holistic visual coherence": 4}
    assert overall([a, b]) == pytest.approx(18 / 5)
    assert overall([]) is None and mean_scores([]) == {}


def test_rate_replaces_per_rater_and_undoes():
    doc = make_doc()
    cand = make_candidate()
    doc.add_candidate(cand)
    seen = []
    doc.add_listener(lambda key, rect: seen.append(key))
    doc.rate(cand.id, Rating("A", {"factual accuracy": 3}))
    doc.rate(cand.id, Rating("B", {"factual accuracy": 5}))
    doc.rate(cand.id, Rating("A", {"factual accuracy": 1}, "changed my mind"))
    assert [(r.rater, r.scores["factual accuracy"]) for r in doc.ratings_of(cand.id)] == [("A", 1), ("B", 5)]
    assert seen == ["ratings"] * 3 and doc.history.labels[-1].startswith("Rate ")
    doc.undo()
    assert [(r.rater, r.scores["factual accuracy"]) for r in doc.ratings_of(cand.id)] == [("A", 3), ("B", 5)]
    doc.unrate(cand.id, "B")
    assert [r.rater for r in doc.ratings_of(cand.id)] == ["A"]
    doc.unrate(cand.id, "nobody")  # nothing to withdraw: no step
    assert doc.history.labels[-1].startswith("Withdraw")
    doc.unrate(cand.id, "A")
    assert cand.id not in doc.ratings
    doc.undo()
    doc.undo()
    assert [r.rater for r in doc.ratings_of(cand.id)] == ["A", "B"]
    with pytest.raises(KeyError):
        doc.rate("missing", Rating("A", {}))
