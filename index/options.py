"""Retrieval options: the one home of every retrieval default.

The service's settings, eval, the benchmark and the tests all start from
``SearchOptions()``; Settings reads its defaults from here, so a Searcher opened
without options runs exactly what the service ships.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, get_args

__all__ = ["BOUNDS", "FusionMethod", "SearchOptions"]

FusionMethod = Literal["rrf", "convex"]


#: Inclusive bounds of the numeric options: the one copy, checked on every SearchOptions,
#: so also on the settings that override them (service.settings).
BOUNDS: dict[str, tuple[float, float]] = {
    "fusion_k": (1, 1000),
    "dense_weight": (0.0, 10.0),
    "lexical_weight": (0.0, 10.0),
    "use_weight": (0.0, 10.0),
    "agreement_depth": (1, 100),
    "depth": (1, 1000),
    "sentence_weight": (0.0, 1.0),
    "rerank_top_n": (1, 200),
    "rerank_weight": (0.0, 1.0),
}


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """How a Searcher ranks. The fusion fields were chosen by ``partnersearch eval --suite dev
    --sweep`` on the macro nDCG@10 over the development suite, among the 320 candidates that
    never lose to a channel (report 20261201T112930Z, commit 296d888: convex, BM25 weight 1,
    USE weight 0.5, cross-lingual; macro 0.840 against dense alone 0.786; README, "Retrieval:
    the development suite")."""

    #: Hybrid fusion: reciprocal rank (rrf) or a convex mix of normalised scores.
    fusion: FusionMethod = "convex"
    #: Reciprocal-rank constant (rrf fusion, and /similar's e5 + USE sentence fusion).
    fusion_k: int = 10
    #: Weights of the dense (e5) and lexical (BM25) rankings in fusion.
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    #: Weight of the USE ranking in fusion (used only when the USE channel is on).
    use_weight: float = 0.5
    #: Scale the lexical weight by channel agreement (see index.fusion).
    adaptive: bool = False
    #: Top-n of the two rankings compared for that agreement.
    agreement_depth: int = 10
    #: Candidates taken from each channel before fusion.
    depth: int = 50
    #: Replace the BM25 rank of a chunk in another language than the detected query's by
    #: its dense rank when better (needs language detection of the query).
    cross_lingual: bool = True
    #: Dense score of a chunk: weight of its best sentence's cosine (rest: the chunk's).
    sentence_weight: float = 0.7
    #: Project the French/English direction out of query vectors.
    debias: bool = True
    #: Mode "rerank": passages of the fused ranking the cross-encoder re-scores.
    rerank_top_n: int = 20
    #: Mode "rerank": weight of the cross-encoder's score against the fused one (index.rerank).
    #: Chosen on the suite's macro nDCG@10 among 0.1, 0.2, 0.3, 1 (report 20261201T153221Z,
    #: code of commit dd4db05, one pair per pass: 0.840, 0.834, 0.831, 0.684; hybrid 0.840).
    rerank_weight: float = 0.1

    def __post_init__(self) -> None:
        if self.fusion not in get_args(FusionMethod):
            raise ValueError(f"fusion must be 'rrf' or 'convex', got {self.fusion!r}")
        for name, (low, high) in BOUNDS.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{name} must be within [{low}, {high}], got {value}")

    def with_(self, **changes: Any) -> SearchOptions:
        """A copy with ``changes`` (validated)."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
