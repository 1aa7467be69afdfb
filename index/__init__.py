"""Index: store parsed documents in crash-safe snapshots and retrieve chunks from them.

:class:`Indexer` writes (SQLite store + FAISS dense indexes + BM25 lexical index, one
snapshot per ingest, switched atomically); :class:`Searcher` reads one snapshot at a
time with hybrid, dense or lexical retrieval and filters applied before the top-k cut;
:func:`clean_leftovers` removes what a killed writer left (every write also does).
Both are imported on first use, so ``import index`` loads neither FAISS nor bm25s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from index.types import Filters, Hit, IngestReport, Mode, SentenceHit

if TYPE_CHECKING:
    from index.build import Indexer
    from index.cleanup import clean_leftovers
    from index.search import Searcher

__all__ = [
    "Filters",
    "Hit",
    "Indexer",
    "IngestReport",
    "Mode",
    "Searcher",
    "SentenceHit",
    "clean_leftovers",
]


def __getattr__(name: str) -> object:
    if name == "Indexer":
        from index.build import Indexer

        return Indexer
    if name == "clean_leftovers":
        from index.cleanup import clean_leftovers

        return clean_leftovers
    if name == "Searcher":
        from index.search import Searcher

        return Searcher
    raise AttributeError(f"module 'index' has no attribute {name!r}")
