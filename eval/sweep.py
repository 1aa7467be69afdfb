"""Fusion sweep over the whole suite: retrieve once, fuse every candidate rule, choose on
the macro average.

Each query's dense and lexical rankings are fetched once per set
(``Searcher.channels``); every candidate :class:`SearchOptions` then only re-runs the
fusion (``Searcher.fuse``), which is pure and cheap. A candidate is *admissible* when on
every set it scores at least the better of its own two channels minus ``tolerance``
nDCG@10 (fusion must never lose to one of its parts); the chosen one is the admissible
candidate with the best macro nDCG@10 over the sets, gold set included, or, when none
is admissible, the best macro average with the sets it loses named.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from tqdm import tqdm

from eval.beir import rank_documents
from eval.metrics import Qrels, mean_scores, score_per_query
from index.errors import QueryError
from index.fusion import Channels, fuse_options
from index.options import SearchOptions

logger = logging.getLogger(__name__)

__all__ = ["SweepSet", "candidate_grid", "sweep_suite"]

_MEASURES: dict[str, object] = {}


def _measures() -> dict[str, object]:
    if not _MEASURES:
        from ir_measures import RR, nDCG

        _MEASURES.update({"ndcg@10": nDCG @ 10, "mrr@10": RR @ 10})
    return _MEASURES


@dataclass(frozen=True, slots=True)
class SweepSet:
    """One set of the suite as the sweep needs it. ``unit``: what a ranking lists and
    qrels judge (BEIR: documents, the gold set: chunks); ``k``: the search's cut."""

    name: str
    searcher: Any  # index.Searcher
    queries: Mapping[str, str]
    qrels: Qrels
    unit: Literal["doc", "chunk"]
    k: int


#: USE weights tried when the sets have the USE channel (0 = fusion without it).
USE_WEIGHTS = (0.0, 0.5, 1.0, 2.0)


def candidate_grid(base: SearchOptions, *, use: bool = False) -> list[SearchOptions]:
    """The fusion rules compared: weighted RRF over k and the lexical weight, convex score
    mixes over the lexical weight, each with and without agreement scaling and with and
    without language-based cross-lingual handling; with ``use``, each at every weight of
    :data:`USE_WEIGHTS` for the USE channel."""
    if use:
        return [opts.with_(use_weight=w) for w in USE_WEIGHTS for opts in candidate_grid(base)]
    rules: list[dict[str, Any]] = [
        {"fusion": "rrf", "fusion_k": k, "lexical_weight": w}
        for k, w in itertools.product((10, 30, 60, 100), (0.25, 0.5, 1.0, 2.0))
    ]
    rules += [{"fusion": "convex", "lexical_weight": w} for w in (0.1, 0.25, 0.5, 1.0)]
    return [
        base.with_(**rule, adaptive=adaptive, cross_lingual=cross, dense_weight=1.0)
        for cross, adaptive in itertools.product((False, True), (False, True))
        for rule in rules
    ]


def _ids(searcher: Any, rows: np.ndarray, unit: str, k: int) -> list[str]:
    if hasattr(searcher, "collapse"):  # the near-copy rule search applies to its results
        rows, _ = searcher.collapse(rows, np.zeros(len(rows), np.float32))
    if unit == "doc":
        return rank_documents(searcher.doc_ids_of(rows[: max(k, 1) * 4]), depth=k)
    return searcher.chunk_ids_of(rows[:k])


def _score(s: SweepSet, ranking: dict[str, list[str]]) -> dict[str, float]:
    per_query = score_per_query(s.qrels, ranking, measures=_measures(), query_ids=s.queries)
    return mean_scores(per_query)


def sweep_suite(
    sets: Sequence[SweepSet],
    base: SearchOptions,
    *,
    grid: Sequence[SearchOptions] | None = None,
    tolerance: float = 0.005,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Score every candidate of ``grid`` (default :func:`candidate_grid`) on every set;
    return {"channels", "rows" (best macro first), "chosen", "why"}."""
    channels: dict[str, dict[str, Channels]] = {}
    baselines: dict[str, dict[str, float]] = {}
    for s in sets:
        got: dict[str, Channels] = {}
        for qid, text in tqdm(
            s.queries.items(), desc=f"{s.name} channels", disable=not show_progress
        ):
            try:
                got[qid] = s.searcher.channels(text, depth=max(s.k, base.depth))
            except QueryError as exc:
                logger.warning("sweep: query %.60r skipped: %s", text, exc)
        channels[s.name] = got
    # The USE channel counts only when every set has it (one index without it: two channels).
    has_use = all(
        c.use_rows is not None for got in channels.values() for c in got.values()
    ) and any(channels.values())
    names = ("dense", "lexical", "use") if has_use else ("dense", "lexical")
    picks = {
        "dense": lambda c: c.dense_rows,
        "lexical": lambda c: c.lex_rows,
        "use": lambda c: c.use_rows,
    }
    for s in sets:
        got = channels[s.name]
        baselines[s.name] = {
            name: _score(
                s, {q: _ids(s.searcher, picks[name](c), s.unit, s.k) for q, c in got.items()}
            )["ndcg@10"]
            for name in names
        }
    grid = list(grid) if grid is not None else candidate_grid(base, use=has_use)
    # The cross-lingual substitution depends on the query, not on the candidate: done once.
    crossed = {
        s.name: {
            q: s.searcher.cross_lingual_channels(s.queries[q], c)
            for q, c in channels[s.name].items()
        }
        for s in sets
        if hasattr(s.searcher, "cross_lingual_channels")
    }

    def fused(s: SweepSet, q: str, c: Channels, opts: SearchOptions) -> np.ndarray:
        if s.name not in crossed:
            return s.searcher.fuse(s.queries[q], c, options=opts)[0]
        use_crossed = opts.cross_lingual and opts.lexical_weight > 0
        return fuse_options(crossed[s.name][q] if use_crossed else c, opts)[0]

    rows: list[dict[str, Any]] = []
    for opts in tqdm(grid, desc="fusion candidates", disable=not show_progress):
        per_set: dict[str, float] = {}
        for s in sets:
            ranking = {
                q: _ids(s.searcher, fused(s, q, c, opts), s.unit, s.k)
                for q, c in channels[s.name].items()
            }
            per_set[s.name] = _score(s, ranking)["ndcg@10"]
        losses = {
            name: round(per_set[name] - max(baselines[name].values()), 4)
            for name in per_set
            if per_set[name] < max(baselines[name].values()) - tolerance
        }
        rows.append(
            {
                "options": _describe(opts, use=has_use),
                "fields": opts.as_dict(),
                "sets": per_set,
                "macro_ndcg@10": float(np.mean(list(per_set.values()))),
                "admissible": not losses,
                "losses": losses,
            }
        )
    rows.sort(key=lambda r: (-r["macro_ndcg@10"], r["options"]))
    admissible = [r for r in rows if r["admissible"]]
    chosen = admissible[0] if admissible else rows[0]
    best_channel = max(
        names,
        key=lambda c: float(np.mean([baselines[s.name][c] for s in sets])),
    )
    channel_macro = float(np.mean([baselines[s.name][best_channel] for s in sets]))
    why = (
        f"best macro nDCG@10 ({chosen['macro_ndcg@10']:.4f}, best single channel "
        f"{best_channel} {channel_macro:.4f}) among the {len(admissible)} of {len(rows)} "
        f"candidates that lose to no channel by more than {tolerance} on any set"
        if admissible
        else f"no candidate is admissible; best macro nDCG@10 ({chosen['macro_ndcg@10']:.4f},"
        f" best single channel {best_channel} {channel_macro:.4f}), losing on "
        + ", ".join(f"{k} ({v:+.4f})" for k, v in chosen["losses"].items())
    )
    logger.info("fusion sweep chose %s: %s", chosen["options"], why)
    return {
        "channels": baselines,
        "channel_macro": {c: float(np.mean([baselines[s.name][c] for s in sets])) for c in names},
        "rows": rows,
        "chosen": chosen,
        "why": why,
        "tolerance": tolerance,
    }


def _describe(opts: SearchOptions, *, use: bool = False) -> str:
    rule = f"rrf k={opts.fusion_k}" if opts.fusion == "rrf" else "convex"
    return (
        f"{rule} w_lex={opts.lexical_weight:g}"
        + (" adaptive" if opts.adaptive else "")
        + (" cross-lingual" if opts.cross_lingual else "")
        + (f" w_use={opts.use_weight:g}" if use else "")
    )
