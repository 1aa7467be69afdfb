"""Retrieval metrics through ir-measures, and /ask abstention rates.

Rankings go in as ordered id lists (best first) and are handed to ir-measures as
scores ``n, n-1, ..., 1`` so its tie-breaking never reorders them. A query with no
relevant id in the qrels scores 0 on every measure instead of being dropped (which is
what trec_eval would do), so a question whose answer no chunk holds counts as a miss.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import ir_measures
from ir_measures import RR, R, Success, nDCG

logger = logging.getLogger(__name__)

__all__ = [
    "BEIR_MEASURES",
    "GOLD_MEASURES",
    "AbstentionRow",
    "AskOutcome",
    "Qrels",
    "Ranking",
    "abstention_at",
    "breakdown",
    "mean_scores",
    "pick_threshold",
    "score_per_query",
    "threshold_sweep",
]

#: query id -> {relevant id: grade}
Qrels = Mapping[str, Mapping[str, int]]
#: query id -> ids in ranked order, best first
Ranking = Mapping[str, Sequence[str]]

#: Our names for the gold-set measures, in report order.
GOLD_MEASURES: dict[str, object] = {
    "hit@1": Success @ 1,
    "hit@5": Success @ 5,
    "hit@10": Success @ 10,
    "mrr@10": RR @ 10,
    "ndcg@10": nDCG @ 10,
    "recall@5": R @ 5,
    "recall@10": R @ 10,
}

#: The measures BEIR papers report.
BEIR_MEASURES: dict[str, object] = {
    "ndcg@10": nDCG @ 10,
    "recall@100": R @ 100,
    "mrr@10": RR @ 10,
}


def score_per_query(
    qrels: Qrels,
    ranking: Ranking,
    *,
    measures: Mapping[str, object] = GOLD_MEASURES,
    query_ids: Iterable[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Score every query of ``query_ids`` (default: those of ``ranking``) on ``measures``.

    Returns {query id: {measure name: value}}; queries without relevant ids or without
    a ranking get 0.0 everywhere.
    """
    ids = list(query_ids) if query_ids is not None else list(ranking)
    names = {m: name for name, m in measures.items()}
    per_query = {qid: dict.fromkeys(measures, 0.0) for qid in ids}
    wanted = set(ids)
    ir_qrels = [
        ir_measures.Qrel(qid, doc, int(grade))
        for qid, docs in qrels.items()
        if qid in wanted
        for doc, grade in docs.items()
    ]
    run = [
        ir_measures.ScoredDoc(qid, doc, float(len(docs) - i))
        for qid, docs in ranking.items()
        if qid in wanted
        for i, doc in enumerate(_dedupe(docs))
    ]
    if ir_qrels and run:
        for metric in ir_measures.iter_calc(list(measures.values()), ir_qrels, run):
            per_query[metric.query_id][names[metric.measure]] = float(metric.value)
    return per_query


def mean_scores(
    per_query: Mapping[str, Mapping[str, float]], query_ids: Iterable[str] | None = None
) -> dict[str, float]:
    """Mean of each measure over ``query_ids`` (default: all); {} when there are none."""
    ids = list(query_ids) if query_ids is not None else list(per_query)
    if not ids:
        return {}
    names = list(per_query[ids[0]])
    return {name: sum(per_query[q][name] for q in ids) / len(ids) for name in names}


def breakdown(
    per_query: Mapping[str, Mapping[str, float]], group_of: Callable[[str], str]
) -> dict[str, dict[str, float]]:
    """Mean scores per group (``group_of(query_id)``), with the group size under ``"n"``."""
    groups: dict[str, list[str]] = defaultdict(list)
    for qid in per_query:
        groups[group_of(qid)].append(qid)
    return {
        g: {**mean_scores(per_query, ids), "n": float(len(ids))}
        for g, ids in sorted(groups.items())
    }


@dataclass(frozen=True, slots=True)
class AskOutcome:
    """What /ask did with one gold question (threshold-free: the sweep applies thresholds)."""

    item_id: str
    answerable: bool
    confidence: float  # confidence of the best candidate sentence, 0.0 when none
    has_candidate: bool
    sentence_has_answer: bool  # the best sentence contains the gold answer
    passage_has_answer: bool  # the passage it was read in contains the gold answer


@dataclass(frozen=True, slots=True)
class AbstentionRow:
    """Rates at one threshold. Rates are fractions in [0, 1]."""

    threshold: float
    abstain_unanswerable: float  # share of unanswerable questions declined (want high)
    false_abstain: float  # share of answerable questions declined (want low)
    answered_answerable: float  # 1 - false_abstain
    answered_supported: (
        float  # share of answerable questions answered from a passage holding the answer
    )
    answered_exact: float  # share of answerable questions answered by a sentence holding the answer


def abstention_at(outcomes: Sequence[AskOutcome], threshold: float) -> AbstentionRow:
    """Apply /ask's rule (answer iff a candidate exists and confidence >= threshold)."""
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]

    def answers(o: AskOutcome) -> bool:
        return o.has_candidate and o.confidence >= threshold

    def share(items: Sequence[AskOutcome], pred: Callable[[AskOutcome], bool]) -> float:
        return sum(1 for o in items if pred(o)) / len(items) if items else 0.0

    answered = share(answerable, answers)
    return AbstentionRow(
        threshold=threshold,
        abstain_unanswerable=share(unanswerable, lambda o: not answers(o)),
        false_abstain=1.0 - answered if answerable else 0.0,
        answered_answerable=answered,
        answered_supported=share(answerable, lambda o: answers(o) and o.passage_has_answer),
        answered_exact=share(answerable, lambda o: answers(o) and o.sentence_has_answer),
    )


def threshold_sweep(
    outcomes: Sequence[AskOutcome], thresholds: Iterable[float]
) -> list[AbstentionRow]:
    """One AbstentionRow per threshold, in the order given."""
    return [abstention_at(outcomes, t) for t in thresholds]


def pick_threshold(
    rows: Sequence[AbstentionRow], *, min_abstain: float = 0.8, max_false_abstain: float = 0.1
) -> AbstentionRow | None:
    """The row meeting both targets with the most margin, or None when no threshold does.

    Margin is the smaller of the two slacks, so the pick sits in the middle of the
    feasible band rather than on its edge.
    """
    feasible = [
        r
        for r in rows
        if r.abstain_unanswerable >= min_abstain and r.false_abstain <= max_false_abstain
    ]
    if not feasible:
        return None
    return max(
        feasible,
        key=lambda r: min(
            r.abstain_unanswerable - min_abstain, max_false_abstain - r.false_abstain
        ),
    )


def _dedupe(ids: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i in ids:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out
