"""Retrieval over an evaluation set: which modes can run, a ranking per mode and query,
eval's own indexes (rebuilt when stale), and run-long caches in front of the models.

A mode is an index mode (``ALL_MODES``) or ``"rerank@W"``: mode "rerank" with the
reranker's score blended at weight W in [0, 1].
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, get_args

import numpy as np

from index.errors import IndexMismatchError
from index.types import Hit, IngestReport, Mode
from ingest.embed import Embedder, QueryCache

if TYPE_CHECKING:
    from index import Searcher
    from index.rerank import PairScorer
    from service.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "ALL_MODES",
    "RUN_QUERY_CACHE",
    "CachedPairScorer",
    "CachedQueryEmbedder",
    "available_modes",
    "index_files",
    "known_mode",
    "own_index",
    "retrieve",
    "searcher_for",
]

#: Every retrieval mode the index offers (a reranker added to ``Mode`` is picked up here).
ALL_MODES: tuple[str, ...] = get_args(Mode)
#: Query vectors one run keeps: the development suite asks about 7,000 distinct queries
#: (every PIAF query with --beir alone: about 13,000), each 1.5 KB at e5-small's 384 dims.
RUN_QUERY_CACHE = 65_536


class CachedQueryEmbedder:
    """``inner`` behind a :class:`~ingest.embed.QueryCache` of ``size`` queries, so each
    query is embedded once per run (sweeps re-ask every query); passages pass through."""

    def __init__(self, inner: Embedder, *, size: int = RUN_QUERY_CACHE) -> None:
        self.inner = inner
        self.queries = QueryCache(size)

    name = property(lambda self: self.inner.name)
    dim = property(lambda self: self.inner.dim)
    max_tokens = property(lambda self: self.inner.max_tokens)
    backend = property(lambda self: self.inner.backend)
    prompts = property(lambda self: self.inner.prompts)

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.queries.embed(texts, self.inner.embed_queries, self.inner.dim)

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        return self.inner.embed_passages(texts, show_progress=show_progress)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


class CachedPairScorer:
    """Wraps a reranker so each (query, passage) pair is scored once per run: the weight
    sweep re-ranks the same heads."""

    def __init__(self, inner: PairScorer) -> None:
        self.inner = inner
        self.name = inner.name
        self._cache: dict[tuple[str, str], float] = {}

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        todo = [p for p in dict.fromkeys(passages) if (query, p) not in self._cache]
        if todo:
            for passage, value in zip(todo, self.inner.score(query, todo), strict=True):
                self._cache[(query, passage)] = float(value)
        return np.array([self._cache[(query, p)] for p in passages], dtype=np.float32)


def known_mode(mode: str) -> bool:
    """Whether ``mode`` names an index mode or ``rerank@W`` with W in [0, 1]."""
    if mode.startswith("rerank@"):
        try:
            return 0.0 <= float(mode.split("@", 1)[1]) <= 1.0
        except ValueError:
            return False
    return mode in ALL_MODES


def available_modes(
    modes: Sequence[str] | None,
    use_embedder: Embedder | None,
    reranker: PairScorer | None = None,
) -> list[str]:
    """``modes`` (default: every mode), without "use" when the USE channel is off and
    without the rerank modes when there is no reranker."""
    chosen = list(modes or ALL_MODES)
    return [
        m
        for m in chosen
        if (m != "use" or use_embedder is not None)
        and (not m.startswith("rerank") or reranker is not None)
    ]


def searcher_for(searcher: Searcher, mode: str) -> tuple[Searcher, str]:
    """The Searcher and index mode behind an eval mode: "rerank@0.3" is mode "rerank"
    with ``rerank_weight`` 0.3; every other name is the index's own mode."""
    if mode.startswith("rerank@"):
        return searcher.with_options(rerank_weight=float(mode.split("@", 1)[1])), "rerank"
    return searcher, mode


def retrieve(
    searcher: Searcher, queries: Mapping[str, str], *, modes: Sequence[str], depth: int
) -> dict[str, dict[str, list[Hit]]]:
    """{mode: {query id: top-``depth`` hits}} for every query in every mode."""
    out: dict[str, dict[str, list[Hit]]] = {}
    for mode in modes:
        mode_searcher, index_mode = searcher_for(searcher, mode)
        out[mode] = {
            qid: mode_searcher.search(text, k=depth, mode=index_mode)  # type: ignore[arg-type]
            for qid, text in queries.items()
        }
    return out


def own_index(data_dir: Path, ingest: Callable[[], IngestReport]) -> IngestReport:
    """Run ``ingest`` on one of eval's own indexes; one built by another model or index
    format is eval's cache, not user data, so it is deleted and built again."""
    try:
        return ingest()
    except IndexMismatchError as exc:
        logger.warning("rebuilding eval index %s: %s", data_dir, exc)
        shutil.rmtree(data_dir)
        return ingest()


def index_files(
    data_dir: Path,
    inputs: Sequence[Path],
    settings: Settings,
    embedder: Embedder,
    use_embedder: Embedder | None = None,
    *,
    show_progress: bool = False,
) -> IngestReport:
    """Index the files under ``inputs`` into ``data_dir`` as the settings say (incremental,
    pruned to ``inputs``), through :func:`own_index`."""
    from service.wiring import make_indexer

    def ingest() -> IngestReport:
        indexer = make_indexer(
            settings, embedder, use_embedder, data_dir=data_dir, show_progress=show_progress
        )
        return indexer.ingest(list(inputs), prune=True)

    return own_index(data_dir, ingest)
