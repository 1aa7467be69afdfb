"""Searcher: hybrid (BM25 + dense) retrieval over one published snapshot, with filters.

A snapshot is loaded once (``index.loaded``) and then only read; ``refresh()`` swaps in
a newer snapshot whole, so a query always runs against exactly one snapshot. Filters
become a boolean mask over chunks before any top-k cut: FAISS searches only the allowed
ids, BM25 scores outside the mask are zeroed. Each channel's ranking, the cross-lingual
rule and the cited hits are functions of ``index.retrieve``; fusion is ``index.fusion``.

Hybrid fusion (``index.fusion``) mixes the channels' scores over the top ``depth`` chunks
of each: a weighted convex mix of per-query normalised scores (the default), or weighted
reciprocal rank fusion, ``w_dense / (fusion_k + rank_dense(c)) + w_lexical / (fusion_k +
rank_bm25(c))``; the cross-lingual rule of ``index.retrieve`` is applied to the lexical
list first when ``cross_lingual`` is on.

Why this module is near 480 lines: Searcher is the index's one read API (search, the
channels for eval's sweeps, rerank, similar, documents, refresh); each public method
checks its input and names the fix, and their bodies are the functions named above.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import numpy as np

from index import snapshot
from index.dense import stable_ids
from index.errors import IndexNotFoundError, QueryError
from index.fusion import Channels, fuse, fuse_options
from index.langdir import debias
from index.loaded import LoadedSnapshot, check_filters, load_snapshot
from index.options import SearchOptions
from index.rerank import rerank
from index.retrieve import (
    channel_ranks,
    collapse,
    cross_lingual,
    dense_ranking,
    lexical_ranking,
    make_hits,
    make_sentence_hits,
    query_lang,
    word_count,
)
from index.rows import lang_code
from index.types import Filters, Hit, Mode, SentenceHit
from ingest.embed import Embedder
from ingest.types import Document, Sentence

if TYPE_CHECKING:
    from index.rerank import PairScorer

logger = logging.getLogger(__name__)

__all__ = ["Searcher"]

_MODES: tuple[str, ...] = get_args(Mode)
#: /similar leaves out sentences shorter than this many words (list items, headings).
SIMILAR_MIN_WORDS = 4


class Searcher:
    """Read side of the index; thread-safe for concurrent reads. Build with :meth:`open`."""

    def __init__(
        self,
        data_dir: Path,
        embedder: Embedder,
        state: LoadedSnapshot,
        options: SearchOptions,
        use_embedder: Embedder | None = None,
        reranker: PairScorer | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.embedder = embedder
        self.use_embedder = use_embedder
        self.reranker = reranker
        self._state = state
        self._current_key = snapshot.current_key(data_dir)
        self._refresh_lock = threading.Lock()
        self.options = options

    @classmethod
    def open(
        cls,
        data_dir: Path,
        embedder: Embedder,
        options: SearchOptions | None = None,
        *,
        use_embedder: Embedder | None = None,
        reranker: PairScorer | None = None,
        **overrides: Any,
    ) -> Searcher:
        """Open the published snapshot of ``data_dir`` with ``options`` (default: the
        service's :class:`SearchOptions`), any field overridden by keyword. With
        ``use_embedder`` the USE channel is searched too (mode "use", and fused in hybrid
        with ``options.use_weight``); the snapshot must hold its vectors. With ``reranker``
        mode "rerank" is offered (hybrid, then the reranker over the head: index.rerank).

        Raises IndexNotFoundError (nothing ingested yet) or IndexMismatchError (other model,
        or no USE vectors); ValueError for an option out of range.
        """
        options = (options or SearchOptions()).with_(**overrides)
        data_dir = Path(data_dir)
        state = load_snapshot(data_dir, embedder, use_embedder)
        return cls(data_dir, embedder, state, options, use_embedder, reranker)

    def with_options(self, **changes: Any) -> Searcher:
        """A Searcher over the same loaded snapshot with some options changed (eval sweeps)."""
        view = Searcher(
            self.data_dir,
            self.embedder,
            self._state,
            self.options.with_(**changes),
            self.use_embedder,
            self.reranker,
        )
        view._current_key = self._current_key
        return view

    @property
    def has_use(self) -> bool:
        """Whether the USE channel is searched (its embedder given, its vectors loaded)."""
        return self._state.chunk_use is not None

    # -- snapshot ---------------------------------------------------------------------

    @property
    def snapshot_id(self) -> str:
        return self._state.snapshot_id

    @property
    def model_name(self) -> str:
        return str(self._state.ref.manifest["model"])

    @property
    def manifest(self) -> dict:
        return dict(self._state.ref.manifest)

    def counts(self) -> dict[str, int]:
        counts = self._state.ref.manifest["counts"]
        return {k: int(counts[k]) for k in ("documents", "chunks", "sentences")}

    def refresh(self) -> bool:
        """Switch to a newer published snapshot; cheap (one stat) when there is none."""
        key = snapshot.current_key(self.data_dir)
        if key == self._current_key:
            return False
        with self._refresh_lock:
            key = snapshot.current_key(self.data_dir)
            if key == self._current_key:
                return False
            new_id = snapshot.current_id(self.data_dir)
            if new_id is None or new_id == self._state.snapshot_id:
                self._current_key = key
                return False
            try:
                state = load_snapshot(self.data_dir, self.embedder, self.use_embedder)
            except (OSError, sqlite3.Error, IndexNotFoundError) as exc:
                # Published then collected by a faster writer: try again on the next call.
                logger.warning(
                    "snapshot %s vanished while loading (%s); keeping %s",
                    new_id,
                    exc,
                    self._state.snapshot_id,
                )
                return False
            self._state = state  # old state stays valid for queries already holding it
            self._current_key = key
            logger.info("switched to snapshot %s", state.snapshot_id)
            return True

    # -- queries ----------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
    ) -> list[Hit]:
        """Top ``k`` chunks for ``query``; ``score`` is the fused score (hybrid), cosine
        (dense), BM25 (lexical) or the fused and reranker scores blended (rerank). Raises
        QueryError on an empty query or bad filter, or a mode this Searcher cannot run."""
        if not query or not query.strip():
            raise QueryError("empty query: give some words to search for")
        if mode not in _MODES:
            raise QueryError(f"unknown mode {mode!r}; use one of {', '.join(_MODES)}")
        check_filters(filters)
        if k < 1:
            raise QueryError(f"k must be at least 1, got {k}")
        state = self._state
        if mode == "use" and state.chunk_use is None:
            raise QueryError(
                "mode 'use' needs the USE channel: set PARTNERSEARCH_USE_CHANNEL=true and "
                "run partnersearch ingest PATH once to add its vectors"
            )
        if mode == "rerank" and self.reranker is None:
            raise QueryError(
                "mode 'rerank' needs the reranker: set PARTNERSEARCH_RERANKER=true (the "
                "artifact is service/data/reranker, built by partnersearch train-reranker)"
            )
        mask = state.row_mask(state.chunks, filters)
        if mask is not None and not mask.any():
            return []
        depth = max(k, self.options.depth)
        if mode == "rerank":  # the head must come from the channels, not be cut by them
            depth = max(depth, self.options.rerank_top_n)
        dense_rows = dense_scores = lex_rows = lex_scores = use_rows = use_scores = None
        sentence_mask = None if mode == "lexical" else state.row_mask(state.sentences, filters)
        fused = mode in ("hybrid", "rerank")
        if mode == "dense" or fused:
            dense_rows, dense_scores = self._dense(state, query, depth, mask, sentence_mask)
        if mode == "lexical" or fused:
            lex_rows, lex_scores = lexical_ranking(state, query, depth, mask)
        if mode == "use" or (fused and state.chunk_use is not None and self.options.use_weight > 0):
            use_rows, use_scores = self._dense(
                state, query, depth, mask, sentence_mask, channel="use"
            )
        if mode == "dense":
            rows, scores = dense_rows, dense_scores
        elif mode == "lexical":
            rows, scores = lex_rows, lex_scores
        elif mode == "use":
            rows, scores = use_rows, use_scores
        else:
            channels = Channels(
                dense_rows, dense_scores, lex_rows, lex_scores, None, use_rows, use_scores
            )
            return self.hits_from_channels(
                query, channels, k=k, state=state, rerank=mode == "rerank"
            )
        rows, scores = self.collapse(rows, scores, k=k, state=state)
        return make_hits(state, rows, scores, channel_ranks(rows, dense_rows, lex_rows, use_rows))

    def hits_from_channels(
        self,
        query: str,
        channels: Channels,
        *,
        k: int,
        state: LoadedSnapshot | None = None,
        rerank: bool = False,
    ) -> list[Hit]:
        """The top ``k`` hybrid hits of ``channels`` (from :meth:`channels`, possibly with
        rows removed): fused, near-copies collapsed, each with its rank in every channel;
        with ``rerank``, the first ``rerank_top_n`` re-scored by the reranker first."""
        state = state or self._state
        rows, scores = self.fuse(query, channels, state=state)
        if rerank:
            rows, scores = self.rerank(query, rows, scores, k=k, state=state)
        else:
            rows, scores = self.collapse(rows, scores, k=k, state=state)
        ranks = channel_ranks(rows, channels.dense_rows, channels.lex_rows, channels.use_rows)
        return make_hits(state, rows, scores, ranks)

    def rerank(
        self,
        query: str,
        rows: np.ndarray,
        scores: np.ndarray,
        *,
        k: int,
        state: LoadedSnapshot | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The top ``k`` of a fused ranking after the reranker re-scored its first
        ``rerank_top_n`` passages (near-copies collapsed first, so the head is distinct)."""
        if self.reranker is None:
            raise QueryError("this Searcher has no reranker")
        state = state or self._state
        top_n = self.options.rerank_top_n
        rows, scores = self.collapse(rows, scores, k=max(k, top_n), state=state)
        head = rows[:top_n]
        vids = state.chunks.vids[head].tolist()
        with state.lock:
            texts = state.store.chunk_texts(vids)
        pair_scores = self.reranker.score(query, [texts[v] for v in vids])
        rows, scores = rerank(rows, scores, pair_scores, weight=self.options.rerank_weight)
        return rows[:k], scores[:k]

    def rows_of_documents(self, doc_ids: Sequence[str]) -> np.ndarray:
        """Chunk rows of ``doc_ids`` in the current snapshot (unknown ids have none)."""
        state = self._state
        index = [state.doc_index[d] for d in doc_ids if d in state.doc_index]
        return np.flatnonzero(np.isin(state.chunks.doc, index))

    def similar(
        self,
        text: str,
        *,
        k: int = 10,
        filters: Filters | None = None,
        min_words: int = SIMILAR_MIN_WORDS,
    ) -> list[SentenceHit]:
        """Sentences closest in meaning to ``text`` (precedent wording), best first.

        With the USE channel, the e5 and USE sentence rankings are fused by the same
        weighted reciprocal-rank rule as search (``score`` is then the fused score, else
        the e5 cosine). Sentences of fewer than ``min_words`` words ("· Cardiologie") are
        left out unless the draft is that short itself: a fragment has a high cosine with
        any text and is no wording the press office can reuse.
        """
        if not text or not text.strip():
            raise QueryError("empty text: give a sentence to find similar wording for")
        if k < 1:
            raise QueryError(f"k must be at least 1, got {k}")
        check_filters(filters)
        state = self._state
        mask = state.row_mask(state.sentences, filters)
        if mask is not None and not mask.any():
            return []
        allowed = None if mask is None else state.sentences.vids[mask]
        floor = min_words if word_count(text) >= min_words else 0
        fetch = 3 * k if floor else k
        vector = self.embedder.embed_queries([text])[0]
        scores, vids = state.sentence_dense.search(vector, fetch, allowed=allowed)
        opts = self.options
        if state.sentence_use is not None and self.use_embedder is not None and opts.use_weight:
            use_vector = self.use_embedder.embed_queries([text])[0]
            use_scores, use_vids = state.sentence_use.search(use_vector, fetch, allowed=allowed)
            none = np.zeros(0, np.int64)
            sentences = Channels(vids, scores, none, none, use_rows=use_vids, use_scores=use_scores)
            vids, scores = fuse(
                sentences,
                method="rrf",
                k=opts.fusion_k,
                dense_weight=opts.dense_weight,
                lexical_weight=0.0,
                use_weight=opts.use_weight,
                adaptive=False,
                agreement_depth=1,
            )
        return make_sentence_hits(state, vids, scores, k=k, min_words=floor)

    def sentences_in(self, doc_id: str, start: int, end: int) -> list[Sentence]:
        """Sentences of ``doc_id`` overlapping the character span [start, end)."""
        state = self._state
        with state.lock:
            return state.store.sentences_in(doc_id, start, end)

    def sentence_vectors(self, sentence_ids: Sequence[str]) -> np.ndarray:
        """Stored embeddings of ``sentence_ids`` as float32 [n, dim]; QueryError if unknown."""
        ids = list(sentence_ids)
        return self._state.sentence_dense.reconstruct(stable_ids(ids), ids)

    def document(self, doc_id: str) -> Document | None:
        state = self._state
        with state.lock:
            return state.store.document(doc_id)

    def documents(
        self, *, filters: Filters | None = None, offset: int = 0, limit: int = 50
    ) -> tuple[list[Document], int]:
        """A page of documents (ordered by doc_id) matching ``filters``, and the total count.

        Here ``filters.lang`` is the document's language (in search, the chunk's).
        """
        if offset < 0 or limit < 0:
            raise QueryError(f"offset and limit must be >= 0, got {offset} and {limit}")
        check_filters(filters)
        state = self._state
        mask = state.doc_mask(filters or Filters())
        if filters is not None and filters.lang is not None:
            mask &= state.docs.doc_lang == lang_code(filters.lang)
        selected = np.flatnonzero(mask)
        page = [state.doc_ids[i] for i in selected[offset : offset + limit]]
        with state.lock:
            return state.store.documents(page), len(selected)

    # -- retrieval internals ----------------------------------------------------------

    def _dense(
        self,
        state: LoadedSnapshot,
        query: str,
        depth: int,
        mask: np.ndarray | None,
        sentence_mask: np.ndarray | None,
        *,
        channel: str = "e5",
    ) -> tuple[np.ndarray, np.ndarray]:
        """One dense channel's ranking (index.retrieve.dense_ranking), with e5-small's
        vectors (``channel="e5"``, debiased when the option is on) or USE's (``"use"``)."""
        if channel == "use":
            assert self.use_embedder is not None
            assert state.chunk_use is not None and state.sentence_use is not None
            indexes = state.chunk_use, state.sentence_use
            vector = self.use_embedder.embed_queries([query])[0]
        else:
            indexes = state.chunk_dense, state.sentence_dense
            vector = self.embedder.embed_queries([query])[0]
            if self.options.debias:  # the French/English direction is e5's
                vector = debias(vector, state.lang_direction)
        return dense_ranking(
            state,
            *indexes,
            vector,
            depth,
            mask,
            sentence_mask,
            sentence_weight=self.options.sentence_weight,
        )

    def fuse(
        self,
        query: str,
        channels: Channels,
        *,
        options: SearchOptions | None = None,
        state: LoadedSnapshot | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fused (rows, scores) of one query's channels under ``options`` (default: this
        Searcher's; see index.fusion). With ``cross_lingual``, a chunk in another language
        than the detected query's takes its dense rank as lexical rank when that is better."""
        opts = options or self.options
        if opts.cross_lingual and opts.lexical_weight > 0:
            channels = self.cross_lingual_channels(query, channels, state=state)
        return fuse_options(channels, opts)

    def cross_lingual_channels(
        self, query: str, channels: Channels, *, state: LoadedSnapshot | None = None
    ) -> Channels:
        """``channels`` with the cross-lingual rule applied (unchanged when the query's
        language is not detected): what :meth:`fuse` fuses when ``cross_lingual`` is on."""
        state = state or self._state
        if not len(channels.dense_rows):
            return channels
        lang = query_lang(query)
        if lang == "other":
            return channels
        return cross_lingual(channels, state.chunks.lang, lang_code(lang))

    def channels(
        self, query: str, *, depth: int | None = None, filters: Filters | None = None
    ) -> Channels:
        """Every channel's ranking of ``query`` before fusion (for eval's fusion sweep:
        retrieve once, fuse many ways); the USE ranking when this Searcher has the channel."""
        if not query or not query.strip():
            raise QueryError("empty query: give some words to search for")
        check_filters(filters)
        state = self._state
        depth = depth or self.options.depth
        mask = state.row_mask(state.chunks, filters)
        sentence_mask = state.row_mask(state.sentences, filters)
        dense_rows, dense_scores = self._dense(state, query, depth, mask, sentence_mask)
        lex_rows, lex_scores = lexical_ranking(state, query, depth, mask)
        use_rows = use_scores = None
        if state.chunk_use is not None:
            use_rows, use_scores = self._dense(
                state, query, depth, mask, sentence_mask, channel="use"
            )
        return Channels(dense_rows, dense_scores, lex_rows, lex_scores, None, use_rows, use_scores)

    def collapse(
        self,
        rows: np.ndarray,
        scores: np.ndarray,
        *,
        k: int | None = None,
        state: LoadedSnapshot | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The first ``k`` of ``rows`` without near-copies (index.retrieve.collapse)."""
        return collapse(state or self._state, rows, scores, k=k)

    def doc_ids_of(self, rows: np.ndarray) -> list[str]:
        """Document id of each chunk row of the current snapshot."""
        state = self._state
        return [state.doc_ids[d] for d in state.chunks.doc[np.asarray(rows, np.int64)].tolist()]

    def chunk_ids_of(self, rows: np.ndarray) -> list[str]:
        """chunk_id of each chunk row of the current snapshot."""
        state = self._state
        return [state.chunks.key(int(r), state.doc_ids) for r in np.asarray(rows).tolist()]
