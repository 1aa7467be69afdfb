"""Index: store parsed documents in crash-safe snapshots and retrieve chunks from them.

:class:`Indexer` writes (SQLite store + FAISS dense indexes + BM25 lexical index, one
snapshot per ingest, switched atomically); :class:`Searcher` reads one snapshot at a
time with hybrid, dense or lexical retrieval and filters applied before the top-k cut.
"""

from index.build import Indexer
from index.search import Searcher
from index.types import Filters, Hit, IngestReport, Mode, SentenceHit

__all__ = ["Filters", "Hit", "Indexer", "IngestReport", "Mode", "Searcher", "SentenceHit"]
