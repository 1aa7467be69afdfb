"""The metric layer against values computed by hand on tiny rankings."""

from __future__ import annotations

import math

import pytest

from eval.metrics import (
    AskOutcome,
    abstention_at,
    breakdown,
    mean_scores,
    pick_threshold,
    score_per_query,
    threshold_sweep,
)

# q1: relevant c2 (rank 2) and c9 (never retrieved); q2: relevant c5 at rank 1;
# q3: relevant x, not retrieved; q4: no relevant chunk at all; q5: no ranking at all.
QRELS = {"q1": {"c2": 1, "c9": 1}, "q2": {"c5": 1}, "q3": {"x": 1}, "q5": {"c1": 1}}
RANKING = {
    "q1": ["c1", "c2", "c3"],
    "q2": ["c5", "c6"],
    "q3": ["c7", "c8", "c1", "c2", "c3", "c4"],
    "q4": ["c1"],
}
IDS = ["q1", "q2", "q3", "q4", "q5"]


def test_per_query_values_match_hand_computation():
    pq = score_per_query(QRELS, RANKING, query_ids=IDS)
    # q1: first relevant at rank 2 -> RR 1/2; DCG = 1/log2(3); IDCG (2 relevant) = 1 + 1/log2(3)
    dcg = 1 / math.log2(3)
    assert pq["q1"]["hit@1"] == 0.0
    assert pq["q1"]["hit@5"] == 1.0
    assert pq["q1"]["mrr@10"] == pytest.approx(0.5)
    assert pq["q1"]["ndcg@10"] == pytest.approx(dcg / (1 + dcg))
    assert pq["q1"]["recall@5"] == pytest.approx(0.5)
    assert pq["q2"] == {
        "hit@1": 1.0,
        "hit@5": 1.0,
        "hit@10": 1.0,
        "mrr@10": 1.0,
        "ndcg@10": 1.0,
        "recall@5": 1.0,
        "recall@10": 1.0,
    }
    for qid in ("q3", "q4", "q5"):  # misses, no qrels, no ranking: all count as zero
        assert set(pq[qid].values()) == {0.0}


def test_ranking_order_is_kept_even_when_ids_sort_differently():
    # ir-measures breaks score ties by id; the ranking's order must win.
    pq = score_per_query({"q": {"a": 1}}, {"q": ["z", "a"]})
    assert pq["q"]["mrr@10"] == pytest.approx(0.5)


def test_duplicate_ids_in_a_ranking_count_once():
    pq = score_per_query({"q": {"b": 1}}, {"q": ["a", "a", "b"]})
    assert pq["q"]["mrr@10"] == pytest.approx(0.5)


def test_mean_and_breakdown():
    pq = score_per_query(QRELS, RANKING, query_ids=IDS)
    means = mean_scores(pq)
    assert means["hit@1"] == pytest.approx(1 / 5)
    assert means["mrr@10"] == pytest.approx((0.5 + 1.0) / 5)
    groups = breakdown(pq, {"q1": "fr", "q2": "fr", "q3": "en", "q4": "en", "q5": "en"}.get)
    assert groups["fr"]["mrr@10"] == pytest.approx(0.75)
    assert groups["fr"]["n"] == 2.0
    assert groups["en"]["hit@5"] == 0.0
    assert groups["en"]["n"] == 3.0


def _outcome(i, answerable, conf, *, cand=True, sent=False, passage=False):
    return AskOutcome(f"q{i}", answerable, conf, cand, sent, passage)


OUTCOMES = [
    _outcome(1, True, 0.9, sent=True, passage=True),
    _outcome(2, True, 0.7, passage=True),
    _outcome(3, True, 0.4, passage=True),
    _outcome(4, True, 0.0, cand=False),
    _outcome(5, False, 0.8),
    _outcome(6, False, 0.3),
]


def test_abstention_rates_by_hand():
    row = abstention_at(OUTCOMES, 0.5)
    assert row.abstain_unanswerable == pytest.approx(0.5)  # q6 declined, q5 answered
    assert row.answered_answerable == pytest.approx(0.5)  # q1, q2 answered
    assert row.false_abstain == pytest.approx(0.5)
    assert row.answered_supported == pytest.approx(0.5)
    assert row.answered_exact == pytest.approx(0.25)
    # threshold 0 answers everything that has a candidate, never q4
    zero = abstention_at(OUTCOMES, 0.0)
    assert zero.answered_answerable == pytest.approx(0.75)
    assert zero.abstain_unanswerable == 0.0


def test_sweep_and_pick():
    rows = threshold_sweep(OUTCOMES, [0.2, 0.35, 0.85])
    assert [r.abstain_unanswerable for r in rows] == [0.0, 0.5, 1.0]
    assert [r.answered_answerable for r in rows] == [0.75, 0.75, 0.25]
    assert pick_threshold(rows) is None  # no threshold meets 0.8 / 0.1 here
    picked = pick_threshold(rows, min_abstain=0.5, max_false_abstain=0.3)
    assert picked is not None and picked.threshold == 0.35
