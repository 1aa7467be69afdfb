"""Loading one published snapshot for queries: every table mapped once, then only read.

A snapshot is loaded whole (FAISS, BM25, per-row tables as numpy arrays, the SQLite
store for texts); ``load_snapshot`` retries when a writer replaced it while it was being
read. Filters become boolean masks over rows here, before any top-k cut.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np

from index import snapshot
from index.compat import check_compatible
from index.dense import DenseIndex
from index.errors import IndexMismatchError, QueryError
from index.langdir import LangDirection
from index.lexical import LexicalIndex
from index.rows import DOC_TYPES, LANGS, NO_DATE, Rows, doc_type_code, lang_code, load_rows
from index.store import Store
from index.types import Filters
from ingest.clean import fold
from ingest.embed import Embedder

__all__ = ["LoadedSnapshot", "check_filters", "load_snapshot"]


class LoadedSnapshot:
    """Everything one published snapshot needs at query time, mapped once."""

    def __init__(self, ref: snapshot.SnapshotRef, *, with_use: bool = False) -> None:
        self.ref = ref
        self.snapshot_id = ref.snapshot_id
        self.store = Store.open_readonly(ref.path / snapshot.STORE)
        self.lock = threading.Lock()  # one sqlite connection shared by reader threads
        tables = load_rows(ref.path)
        docs = tables.docs
        self.docs = docs
        self.doc_ids = docs.doc_ids
        self.titles = docs.titles
        self.dates = docs.dates
        self.doc_types = docs.doc_types
        self.doc_index = docs.doc_index
        self.chunks = tables.chunks
        self.sentences = tables.sentences
        # Which sentences lie in which chunk (chunks overlap, so a sentence may be in two).
        self.chunk_sentences = tables.chunk_sentences
        self.sentence_chunks = tables.sentence_chunks
        self.chunk_dense = DenseIndex.load(ref.path / snapshot.CHUNKS_FAISS)
        self.sentence_dense = DenseIndex.load(ref.path / snapshot.SENTENCES_FAISS)
        self.lexical = LexicalIndex.load(ref.path / snapshot.LEXICAL_DIR)
        # The second dense channel (USE), loaded only when the Searcher has its embedder.
        self.chunk_use: DenseIndex | None = None
        self.sentence_use: DenseIndex | None = None
        if with_use:
            self.chunk_use = DenseIndex.load(ref.path / snapshot.CHUNKS_USE_FAISS)
            self.sentence_use = DenseIndex.load(ref.path / snapshot.SENTENCES_USE_FAISS)
            if self.chunk_use.size != len(self.chunks.vids):
                raise IndexMismatchError(
                    f"snapshot {ref.path} is inconsistent (USE and e5 vectors disagree); "
                    "re-run partnersearch ingest --rebuild PATH"
                )
        langdir = LangDirection.load(ref.path / snapshot.LANGDIR)
        self.lang_direction = langdir.direction if langdir is not None else None
        if not np.array_equal(self.lexical.vids, self.chunks.vids) or (
            self.chunk_dense.size != len(self.chunks.vids)
        ):
            raise IndexMismatchError(
                f"snapshot {ref.path} is inconsistent (store, FAISS and BM25 disagree); "
                "re-run partnersearch ingest --rebuild PATH"
            )

    def close(self) -> None:
        self.store.close()

    def doc_mask(self, filters: Filters) -> np.ndarray:
        docs = self.docs
        mask = np.ones(len(docs.doc_ids), dtype=bool)
        if filters.doc_type is not None:
            mask &= docs.doc_type_code == doc_type_code(filters.doc_type)
        if filters.date_from is not None:
            mask &= (docs.date_ord != NO_DATE) & (docs.date_ord >= filters.date_from.toordinal())
        if filters.date_to is not None:
            mask &= (docs.date_ord != NO_DATE) & (docs.date_ord <= filters.date_to.toordinal())
        if filters.partner is not None:
            needle = fold(filters.partner.strip())
            named = np.zeros(len(docs.doc_ids), dtype=bool)
            for partner, members in docs.partner_docs.items():
                if needle in partner:
                    named[members] = True
            mask &= named
        if filters.doc_id is not None:
            only = np.zeros(len(docs.doc_ids), dtype=bool)
            if filters.doc_id in docs.doc_index:
                only[docs.doc_index[filters.doc_id]] = True
            mask &= only
        return mask

    def row_mask(self, rows: Rows, filters: Filters | None) -> np.ndarray | None:
        """Allowed rows, or None when nothing is filtered (the fast path)."""
        if filters is None or filters == Filters():
            return None
        mask = self.doc_mask(filters)[rows.doc]
        if filters.lang is not None:
            mask &= rows.lang == lang_code(filters.lang)
        return mask


def load_snapshot(
    data_dir: Path, embedder: Embedder, use_embedder: Embedder | None, *, attempts: int = 3
) -> LoadedSnapshot:
    """Load the published snapshot, retrying if a writer replaced it while we read it."""
    for attempt in range(attempts):
        ref = snapshot.require_current(data_dir)
        check_compatible(ref.manifest, embedder, data_dir)
        if use_embedder is not None:
            if "use" not in ref.manifest:
                raise IndexMismatchError(
                    f"index in {data_dir} was built without the USE channel; run "
                    "partnersearch ingest PATH once to add its vectors (e5 vectors are kept), "
                    "or set PARTNERSEARCH_USE_CHANNEL=false"
                )
            check_compatible(ref.manifest["use"], use_embedder, data_dir)
        try:
            return LoadedSnapshot(ref, with_use=use_embedder is not None)
        except (OSError, sqlite3.Error, IndexMismatchError):
            # Collected by a later ingest between reading CURRENT and opening the files?
            if attempt + 1 < attempts and snapshot.current_id(data_dir) != ref.snapshot_id:
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def check_filters(filters: Filters | None) -> None:
    """QueryError for a filter no snapshot can match (unknown value, empty range, blank)."""
    if filters is None:
        return
    if filters.lang is not None and filters.lang not in LANGS:
        raise QueryError(f"unknown language {filters.lang!r}; use one of {', '.join(LANGS)}")
    if filters.doc_type is not None and filters.doc_type not in DOC_TYPES:
        raise QueryError(
            f"unknown document type {filters.doc_type!r}; use one of {', '.join(DOC_TYPES)}"
        )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise QueryError(
            f"date range is empty: date_from {filters.date_from} is after date_to {filters.date_to}"
        )
    if filters.partner is not None and not filters.partner.strip():
        raise QueryError("partner filter is blank; give part of a partner's name or leave it out")
