"""Fusion of the dense and lexical rankings: pure functions over row ids and scores.

Two rules, chosen by :class:`index.options.SearchOptions.fusion`:

- ``"rrf"``, weighted reciprocal rank fusion::

      score(c) = w_dense / (k + rank_dense(c)) + w_lex(q) / (k + rank_lex(c))

- ``"convex"``, a convex mix of scores normalised per query: the dense cosine
  min-max-scaled over the dense candidates, BM25 divided by the query's best BM25::

      score(c) = w_dense * dense01(c) + w_lex(q) * bm25(c) / max bm25

``w_lex(q)`` is the lexical weight, optionally scaled by how much the two channels
agree on this query (``agreement``: the share of the dense top ``agreement_depth``
that the lexical top ``agreement_depth`` also holds). A query whose words find the
same passages as its meaning keeps its lexical weight; one whose words only meet
unrelated passages (a French question over English text, where BM25 matches names
and cognates) falls back to the dense ranking, without guessing the query's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from index.options import SearchOptions

__all__ = ["Channels", "agreement", "fuse", "fuse_options"]


@dataclass(frozen=True, slots=True)
class Channels:
    """Both rankings of one query, best first: row ids and their scores."""

    dense_rows: np.ndarray
    dense_scores: np.ndarray
    lex_rows: np.ndarray
    lex_scores: np.ndarray
    #: Rank of each lexical row when not its position (ties allowed): see Searcher.fuse.
    lex_ranks: np.ndarray | None = None
    #: The second dense channel (USE), when the index has it.
    use_rows: np.ndarray | None = None
    use_scores: np.ndarray | None = None

    def without(self, rows: np.ndarray) -> Channels:
        """These rankings as an index without ``rows`` would give them: those rows dropped
        from every list, the others moving up (eval's removed-paragraph simulation)."""
        drop = np.asarray(rows, dtype=np.int64)
        d = ~np.isin(self.dense_rows, drop)
        lx = ~np.isin(self.lex_rows, drop)
        u = None if self.use_rows is None else ~np.isin(self.use_rows, drop)
        return Channels(
            self.dense_rows[d],
            self.dense_scores[d],
            self.lex_rows[lx],
            self.lex_scores[lx],
            None if self.lex_ranks is None else self.lex_ranks[lx],
            None if u is None else self.use_rows[u],
            None if u is None or self.use_scores is None else self.use_scores[u],
        )


def agreement(channels: Channels, depth: int) -> float:
    """Share of the dense top ``depth`` that is also in the lexical top ``depth`` (0..1)."""
    top = channels.dense_rows[:depth]
    if not len(top) or not len(channels.lex_rows):
        return 0.0
    return float(np.isin(top, channels.lex_rows[:depth]).sum()) / len(top)


def fuse(
    channels: Channels,
    *,
    method: str,
    k: int,
    dense_weight: float,
    lexical_weight: float,
    adaptive: bool,
    agreement_depth: int,
    use_weight: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Fused (rows, scores), best first; ties broken by row id so results are stable."""
    w_lex = lexical_weight
    if adaptive:
        w_lex *= agreement(channels, agreement_depth)
    fused: dict[int, float] = {}
    if method == "rrf":
        lex_ranks = (
            channels.lex_ranks
            if channels.lex_ranks is not None
            else np.arange(1, len(channels.lex_rows) + 1)
        )
        lists = [
            (dense_weight, channels.dense_rows, np.arange(1, len(channels.dense_rows) + 1)),
            (w_lex, channels.lex_rows, lex_ranks),
        ]
        if channels.use_rows is not None:
            lists.append((use_weight, channels.use_rows, np.arange(1, len(channels.use_rows) + 1)))
        for weight, rows, ranks in lists:
            if weight == 0:
                continue
            for rank, row in zip(ranks.tolist(), rows.tolist(), strict=True):
                fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    elif method == "convex":
        dense_lists = [(dense_weight, channels.dense_rows, channels.dense_scores)]
        if channels.use_rows is not None and channels.use_scores is not None:
            dense_lists.append((use_weight, channels.use_rows, channels.use_scores))
        for weight, rows, scores in dense_lists:
            if weight <= 0 or not len(rows):
                continue
            d = scores.astype(np.float64)
            span = float(d.max() - d.min())
            scaled = (d - d.min()) / span if span > 0 else np.ones_like(d)
            for row, s in zip(rows.tolist(), scaled.tolist(), strict=True):
                fused[row] = fused.get(row, 0.0) + weight * s
        if w_lex > 0 and len(channels.lex_rows):
            top = float(channels.lex_scores.max())
            for row, s in zip(
                channels.lex_rows.tolist(), channels.lex_scores.tolist(), strict=True
            ):
                fused[row] = fused.get(row, 0.0) + w_lex * (s / top if top > 0 else 0.0)
    else:
        raise ValueError(f"unknown fusion method {method!r}; use 'rrf' or 'convex'")
    if not fused:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    rows = np.fromiter(fused.keys(), np.int64, len(fused))
    scores = np.fromiter(fused.values(), np.float64, len(fused))
    order = np.lexsort((rows, -np.round(scores, 12)))
    return rows[order], scores[order]


def fuse_options(channels: Channels, options: SearchOptions) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fuse` with the fusion fields of ``options``."""
    return fuse(
        channels,
        method=options.fusion,
        k=options.fusion_k,
        dense_weight=options.dense_weight,
        lexical_weight=options.lexical_weight,
        use_weight=options.use_weight,
        adaptive=options.adaptive,
        agreement_depth=options.agreement_depth,
    )
