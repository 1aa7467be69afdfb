"""The gold set's section of a run: pooled qrels, per-mode scores and breakdowns, /ask's
abstention trade-off, the hybrid fusion sweep and the hybrid misses.

Relevance is pooled: a chunk is relevant to a question when its text holds the gold
answer, judged over every chunk any mode retrieved down to ``depth``; on a corpus smaller
than ``depth`` chunks that is every chunk of the index, so recall is exact. /ask is
called once per question; thresholds are applied afterwards, so the abstention trade-off
costs no extra queries.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.gold import GoldItem, contains_answer
from eval.metrics import (
    GOLD_MEASURES,
    AskOutcome,
    Qrels,
    breakdown,
    mean_scores,
    pick_threshold,
    score_per_query,
    threshold_sweep,
)
from eval.retrieval import ALL_MODES, available_modes, retrieve
from eval.sweep import SweepSet
from index.options import SearchOptions
from index.types import AskMode, Hit
from ingest.embed import Embedder

if TYPE_CHECKING:
    from index import Searcher
    from index.rerank import PairScorer

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FUSION_GRID",
    "ask_outcomes",
    "evaluate_gold",
    "gold_qrels",
    "gold_sweep_set",
    "score_gold",
    "sweep_fusion",
]

#: /ask thresholds tried in the abstention sweep.
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(20))
#: Hybrid fusion settings tried by the sweep. Only the ratio of the two weights matters
#: to weighted RRF's ordering, so dense_weight stays 1.
FUSION_GRID: dict[str, tuple[float, ...]] = {
    "dense_weight": (1.0,),
    "lexical_weight": (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
    "fusion_k": (1, 5, 10, 20, 40, 60, 100),
}


def gold_qrels(
    items: Sequence[GoldItem], retrieved: Mapping[str, Mapping[str, Sequence[Hit]]]
) -> dict[str, dict[str, int]]:
    """Pooled qrels: every chunk retrieved by any mode whose text holds the item's answer."""
    qrels: dict[str, dict[str, int]] = {}
    for item in items:
        if not item.answerable or item.answer is None:
            continue
        relevant = qrels.setdefault(item.id, {})
        for ranking in retrieved.values():
            for hit in ranking.get(item.id, ()):
                if contains_answer(hit.text, item.answer):
                    relevant[hit.chunk_id] = 1
    return qrels


def score_gold(
    items: Sequence[GoldItem],
    retrieved: Mapping[str, Mapping[str, Sequence[Hit]]],
    qrels: Qrels,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, dict[str, float]]]]:
    """Per-mode overall scores and breakdowns over the answerable items, and per-query scores."""
    answerable = [i for i in items if i.answerable]
    by_id = {i.id: i for i in answerable}
    sections: dict[str, dict[str, Any]] = {}
    per_mode: dict[str, dict[str, dict[str, float]]] = {}
    for mode, ranking in retrieved.items():
        ids = {qid: [h.chunk_id for h in hits[:10]] for qid, hits in ranking.items()}
        pq = score_per_query(qrels, ids, measures=GOLD_MEASURES, query_ids=by_id)
        per_mode[mode] = pq
        sections[mode] = {
            "overall": mean_scores(pq),
            "by_lang_pair": breakdown(pq, lambda q: by_id[q].lang_pair),
            "cross_lingual": breakdown(pq, lambda q: "yes" if by_id[q].cross_lingual else "no"),
            "by_type": breakdown(pq, lambda q: by_id[q].type),
        }
    return sections, per_mode


def ask_outcomes(
    searcher: Searcher,
    embedder: Embedder,
    items: Sequence[GoldItem],
    *,
    k: int = 10,
    mode: AskMode = "hybrid",
) -> list[AskOutcome]:
    """Call /ask's answerer once per item (threshold 0, passages from ``mode``) and record
    its best candidate."""
    from service.answer import answer_question

    outcomes = []
    for item in items:
        result = answer_question(searcher, embedder, item.question, k=k, threshold=0.0, mode=mode)
        best = result.best
        answer = item.answer or ""
        outcomes.append(
            AskOutcome(
                item_id=item.id,
                answerable=item.answerable,
                confidence=float(result.confidence),
                has_candidate=best is not None,
                sentence_has_answer=bool(
                    best and item.answerable and contains_answer(best.sentence.text, answer)
                ),
                passage_has_answer=bool(
                    best and item.answerable and contains_answer(best.hit.text, answer)
                ),
            )
        )
    return outcomes


def sweep_fusion(
    data_dir: Path,
    embedder: Embedder,
    items: Sequence[GoldItem],
    qrels: Qrels,
    *,
    grid: Mapping[str, Iterable[float]] = FUSION_GRID,
    base: SearchOptions | None = None,
    depth: int = 10,
    use_embedder: Embedder | None = None,
) -> list[dict[str, float]]:
    """Hybrid scores for every fusion setting of ``grid``, best first (MRR@10, hit@1, hit@5)."""
    from index import Searcher  # loads FAISS: on first use, not when eval is imported

    answerable = {i.id: i for i in items if i.answerable}
    questions = {i.id: i.question for i in answerable.values()}
    xling = [q for q, i in answerable.items() if i.cross_lingual]
    rows = []
    for dense_w, lex_w, fk in itertools.product(
        grid["dense_weight"], grid["lexical_weight"], grid["fusion_k"]
    ):
        config = (base or SearchOptions()).with_(
            fusion_k=int(fk), dense_weight=dense_w, lexical_weight=lex_w
        )
        searcher = Searcher.open(data_dir, embedder, config, use_embedder=use_embedder)
        ranking = retrieve(searcher, questions, modes=("hybrid",), depth=depth)["hybrid"]
        ids = {q: [h.chunk_id for h in hits] for q, hits in ranking.items()}
        pq = score_per_query(qrels, ids, measures=GOLD_MEASURES, query_ids=questions)
        means = mean_scores(pq)
        rows.append(
            {
                "fusion_k": config.fusion_k,
                "dense_weight": config.dense_weight,
                "lexical_weight": config.lexical_weight,
                "hit@1": means["hit@1"],
                "hit@5": means["hit@5"],
                "mrr@10": means["mrr@10"],
                "xling_hit@5": mean_scores(pq, xling).get("hit@5", 0.0),
            }
        )
    rows.sort(key=lambda r: (-r["mrr@10"], -r["hit@1"], -r["hit@5"], r["lexical_weight"]))
    return rows


def evaluate_gold(
    data_dir: Path,
    embedder: Embedder,
    items: Sequence[GoldItem],
    *,
    config: SearchOptions,
    answer_threshold: float,
    modes: Sequence[str] = ALL_MODES,
    depth: int = 100,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    sweep: bool = True,
    use_embedder: Embedder | None = None,
    reranker: PairScorer | None = None,
) -> dict[str, Any]:
    """The "gold" section of metrics.json for an index already built in ``data_dir``."""
    from index import Searcher

    modes = available_modes(modes, use_embedder, reranker)
    searcher = Searcher.open(
        data_dir, embedder, config, use_embedder=use_embedder, reranker=reranker
    )
    questions = {i.id: i.question for i in items}
    started = time.perf_counter()
    retrieved = retrieve(searcher, questions, modes=modes, depth=depth)
    search_seconds = time.perf_counter() - started
    qrels = gold_qrels(items, retrieved)
    sections, per_mode = score_gold(items, retrieved, qrels)
    answerable = [i for i in items if i.answerable]
    unjudged = [i.id for i in answerable if not qrels.get(i.id)]
    if unjudged:
        logger.warning("no retrieved chunk holds the answer of %s; they count as misses", unjudged)
    chunks = searcher.counts()["chunks"]
    gold: dict[str, Any] = {
        "n_questions": len(items),
        "n_answerable": len(answerable),
        "n_chunks": chunks,
        "pool_exhaustive": chunks <= depth and "dense" in modes,
        "answer_in_no_chunk": unjudged,
        "search_seconds": round(search_seconds, 2),
        "modes": sections,
    }

    outcomes = ask_outcomes(searcher, embedder, items)
    grid = sorted({*thresholds, answer_threshold})
    rows = threshold_sweep(outcomes, grid)
    recommended = pick_threshold(rows)
    gold["ask"] = {
        "threshold": answer_threshold,
        "at_threshold": asdict(next(r for r in rows if r.threshold == answer_threshold)),
        "sweep": [asdict(r) for r in rows],
        "recommended": asdict(recommended) if recommended else None,
        "per_question": [asdict(o) for o in outcomes],
    }
    if "rerank" in modes:
        # /ask reading the reranked passages (PARTNERSEARCH_ASK_MODE=rerank), same threshold.
        rerank_rows = threshold_sweep(ask_outcomes(searcher, embedder, items, mode="rerank"), grid)
        gold["ask_rerank"] = {
            "threshold": answer_threshold,
            "at_threshold": asdict(next(r for r in rerank_rows if r.threshold == answer_threshold)),
        }
    if sweep and "hybrid" in modes:
        gold["fusion_sweep"] = sweep_fusion(
            data_dir, embedder, items, qrels, base=config, use_embedder=use_embedder
        )
    if "hybrid" in per_mode:
        gold["misses"] = _misses(items, retrieved["hybrid"], per_mode["hybrid"])
    return gold


def gold_sweep_set(
    data_dir: Path,
    embedder: Embedder,
    items: Sequence[GoldItem],
    config: SearchOptions,
    use_embedder: Embedder | None = None,
) -> SweepSet:
    """The gold set for the suite sweep: qrels pooled over every channel at depth 100
    (every chunk of corpus/), so any fusion's ranking is judged in full."""
    from index import Searcher

    searcher = Searcher.open(data_dir, embedder, config, use_embedder=use_embedder)
    questions = {i.id: i.question for i in items if i.answerable}
    channels = available_modes(("dense", "lexical", "use"), use_embedder)
    retrieved = retrieve(searcher, questions, modes=channels, depth=100)
    qrels = gold_qrels([i for i in items if i.answerable], retrieved)
    return SweepSet(
        name="gold", searcher=searcher, queries=questions, qrels=qrels, unit="chunk", k=10
    )


def _misses(
    items: Sequence[GoldItem],
    ranking: Mapping[str, Sequence[Hit]],
    per_query: Mapping[str, Mapping[str, float]],
) -> list[dict[str, str]]:
    out = []
    for item in items:
        if not item.answerable or per_query[item.id]["hit@5"] > 0:
            continue
        top = ranking[item.id][0] if ranking[item.id] else None
        out.append(
            {
                "id": item.id,
                "type": item.type,
                "pair": item.lang_pair,
                "question": item.question,
                "answer": item.answer or "",
                "top": f"{top.chunk_id}: {top.text[:90]}…" if top else "(nothing)",
            }
        )
    return out
