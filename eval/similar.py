"""Scoring /similar (precedent wording) the way the press office uses it.

A draft is answered by a list of distinct wordings (``service.similar.similar_wordings``);
the rank of a draft is the first wording that is the wanted one:

- gold set, precedent questions: a wording whose text (any occurrence) holds the answer;
- a BEIR sentence-pair set (DiaBLa: a French draft, its English translation as the wanted
  wording): a wording whose best occurrence is a relevant document.

Scored as hit@1, hit@5 and MRR@10 for each channel setup the index has: e5 alone and,
with the USE channel, e5 and USE fused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from eval.beir import BeirDataset, index_beir
from eval.gold import GoldItem, contains_answer
from index.errors import QueryError

if TYPE_CHECKING:
    from index.options import SearchOptions
    from ingest.embed import Embedder
    from service.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "SIMILAR_K",
    "SIMILAR_SETS",
    "evaluate_similar",
    "score_beir_similar",
    "score_gold_similar",
    "similar_metrics",
]

SIMILAR_K = 10
#: BEIR sets whose queries are drafts and relevant documents the wanted wording: /similar
#: is scored on them too (over an index with the documents' sentences).
SIMILAR_SETS = ("diabla_fr_en",)


def similar_metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    """hit@1, hit@5, MRR@10 of 1-based ranks (None: not in the list)."""
    n = len(ranks)
    if not n:
        return {"n": 0, "hit@1": 0.0, "hit@5": 0.0, "mrr@10": 0.0}
    found = [r for r in ranks if r is not None]
    return {
        "n": n,
        "hit@1": sum(r == 1 for r in found) / n,
        "hit@5": sum(r <= 5 for r in found) / n,
        "mrr@10": float(np.sum([1.0 / r for r in found if r <= 10])) / n,
    }


def _ranks(
    searcher: Any,
    drafts: Mapping[str, str],
    is_wanted: Callable[[str, Any], bool],
    *,
    dup_overlap: float,
    desc: str,
    show_progress: bool,
) -> list[int | None]:
    from service.similar import similar_wordings

    ranks: list[int | None] = []
    for qid, text in tqdm(drafts.items(), desc=desc, disable=not show_progress, unit="draft"):
        try:
            groups = similar_wordings(searcher, text, k=SIMILAR_K, dup_overlap=dup_overlap)
        except QueryError as exc:
            logger.warning("similar: draft %.60r skipped: %s", text, exc)
            groups = []
        ranks.append(next((i for i, g in enumerate(groups, start=1) if is_wanted(qid, g)), None))
    return ranks


def score_gold_similar(
    searcher: Any,
    items: Sequence[GoldItem],
    *,
    dup_overlap: float = 0.8,
    show_progress: bool = False,
) -> dict[str, Any]:
    """/similar on the gold set's precedent questions (and their cross-lingual share)."""
    cases = {i.id: i for i in items if i.type == "precedent" and i.answerable and i.answer}

    def wanted(qid: str, group: Any) -> bool:
        return any(contains_answer(o.text, cases[qid].answer or "") for o in group.occurrences)

    ranks = _ranks(
        searcher,
        {q: i.question for q, i in cases.items()},
        wanted,
        dup_overlap=dup_overlap,
        desc="gold precedents",
        show_progress=show_progress,
    )
    xling = [r for r, i in zip(ranks, cases.values(), strict=True) if i.cross_lingual]
    return {**similar_metrics(ranks), "cross_lingual": similar_metrics(xling)}


def score_beir_similar(
    searcher: Any,
    dataset: BeirDataset,
    *,
    dup_overlap: float = 0.8,
    show_progress: bool = False,
) -> dict[str, Any]:
    """/similar on a sentence-pair set: each query a draft, its relevant documents the
    wanted wording (the index must hold the documents' sentences)."""

    def wanted(qid: str, group: Any) -> bool:
        return dataset.qrels.get(qid, {}).get(group.best.doc_id, 0) > 0

    ranks = _ranks(
        searcher,
        dataset.queries,
        wanted,
        dup_overlap=dup_overlap,
        desc=f"{dataset.name} drafts",
        show_progress=show_progress,
    )
    return similar_metrics(ranks)


def evaluate_similar(
    settings: Settings,
    embedder: Embedder,
    use_embedder: Embedder | None,
    config: SearchOptions,
    *,
    gold_dir: Path | None,
    items: Sequence[GoldItem],
    datasets: Sequence[BeirDataset],
    work_dir: Path,
    show_progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """A run's "similar" section: {set: {channel setup: metrics}}, e5 alone and, with the
    USE channel, e5 and USE fused; the gold set over its index in ``gold_dir`` (when given),
    each BEIR set over an index of its documents' sentences under ``work_dir``."""
    from service.wiring import open_searcher

    setups = [("e5", config.with_(use_weight=0.0))]
    if use_embedder is not None:
        setups.append(("e5+use", config))
    kw = {"dup_overlap": settings.similar_dup_overlap, "show_progress": show_progress}

    def per_setup(data_dir: Path, score: Callable[..., dict[str, Any]], data: Any):
        return {
            name: score(
                open_searcher(settings, embedder, use_embedder, data_dir=data_dir, options=opts),
                data,
                **kw,
            )
            for name, opts in setups
        }

    out: dict[str, dict[str, Any]] = {}
    if gold_dir is not None and any(i.type == "precedent" for i in items):
        out["gold"] = per_setup(gold_dir, score_gold_similar, items)
    for dataset in datasets:
        data_dir = Path(work_dir) / "beir" / f"{dataset.name}-sentences"
        index_beir(
            dataset,
            data_dir,
            settings,
            embedder,
            use_embedder,
            sentences=True,
            show_progress=show_progress,
        )
        out[dataset.name] = per_setup(data_dir, score_beir_similar, dataset)
    return out
