"""Searcher: hybrid (BM25 + dense) retrieval over one published snapshot, with filters.

A snapshot is loaded once (FAISS, BM25, per-chunk metadata as numpy arrays) and then
only read; ``refresh()`` swaps in a newer snapshot whole, so a query always runs against
exactly one snapshot. Filters become a boolean mask over chunks before any top-k cut:
FAISS searches only the allowed ids, BM25 scores outside the mask are zeroed.

Hybrid fusion is weighted reciprocal rank fusion::

    score(c) = w_dense / (fusion_k + rank_dense(c)) + w_lexical / (fusion_k + rank_bm25(c))

over the top ``depth`` chunks of each retriever. BM25 cannot judge a chunk written in
another language than the query (an English question shares few words with a French
answer), so with ``cross_lingual`` on, such a chunk's lexical rank is replaced by its
dense rank when that is better: the lexical list then never pushes a translated answer
below same-language chunks that merely share names.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import numpy as np

from index import snapshot
from index.compat import check_compatible
from index.dense import DenseIndex, stable_ids
from index.errors import IndexMismatchError, IndexNotFoundError, QueryError
from index.fusion import Channels, fuse, fuse_options
from index.langdir import LangDirection, debias
from index.lexical import LexicalIndex, analyze_query, fold
from index.options import SearchOptions
from index.rerank import rerank
from index.rows import DOC_TYPES, LANGS, NO_DATE, Rows, doc_type_code, lang_code, load_rows
from index.store import Store
from index.types import Filters, Hit, Mode, SentenceHit
from ingest.embed import Embedder
from ingest.lang import detect_lang
from ingest.types import Document, Sentence

if TYPE_CHECKING:
    from index.rerank import PairScorer

logger = logging.getLogger(__name__)

__all__ = ["Searcher"]

_MODES: tuple[str, ...] = get_args(Mode)
#: /similar leaves out sentences shorter than this many words (list items, headings).
SIMILAR_MIN_WORDS = 4
_WORD = re.compile(r"\w+")


def _word_count(text: str) -> int:
    return len(_WORD.findall(text))


class _Snapshot:
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


class Searcher:
    """Read side of the index; thread-safe for concurrent reads. Build with :meth:`open`."""

    def __init__(
        self,
        data_dir: Path,
        embedder: Embedder,
        state: _Snapshot,
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
        state = _load(data_dir, embedder, use_embedder)
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
                state = _load(self.data_dir, self.embedder, self.use_embedder)
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
        _check_filters(filters)
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
            lex_rows, lex_scores = self._lexical(state, query, depth, mask)
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
        return self._hits(state, rows, scores, _ranks(rows, dense_rows, lex_rows, use_rows))

    def hits_from_channels(
        self,
        query: str,
        channels: Channels,
        *,
        k: int,
        state: _Snapshot | None = None,
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
        ranks = _ranks(rows, channels.dense_rows, channels.lex_rows, channels.use_rows)
        return self._hits(state, rows, scores, ranks)

    def rerank(
        self,
        query: str,
        rows: np.ndarray,
        scores: np.ndarray,
        *,
        k: int,
        state: _Snapshot | None = None,
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
        _check_filters(filters)
        state = self._state
        mask = state.row_mask(state.sentences, filters)
        if mask is not None and not mask.any():
            return []
        allowed = None if mask is None else state.sentences.vids[mask]
        floor = min_words if _word_count(text) >= min_words else 0
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
        with state.lock:
            texts = state.store.sentence_texts(vids.tolist())
        keep = [i for i, vid in enumerate(vids.tolist()) if _word_count(texts[vid]) >= floor][:k]
        vids, scores = vids[keep], scores[keep]
        rows = state.sentences.rows_of(vids)
        sents = state.sentences
        out = []
        for row, vid, score in zip(rows.tolist(), vids.tolist(), scores.tolist(), strict=True):
            d = int(sents.doc[row])
            out.append(
                SentenceHit(
                    sentence_id=sents.key(row, state.doc_ids),
                    doc_id=state.doc_ids[d],
                    title=state.titles[d],
                    date=state.dates[d],
                    lang=LANGS[sents.lang[row]],
                    text=texts[vid],
                    start=int(sents.start[row]),
                    end=int(sents.end[row]),
                    page=int(sents.page[row]) or None,
                    score=float(score),
                )
            )
        return out

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
        _check_filters(filters)
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
        state: _Snapshot,
        query: str,
        depth: int,
        mask: np.ndarray | None,
        sentence_mask: np.ndarray | None,
        *,
        channel: str = "e5",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chunks by ``(1 - w) * cos(query, chunk) + w * max cos(query, sentence in chunk)``,
        with e5-small's vectors (``channel="e5"``) or USE's (``"use"``).

        A factoid answer is one sentence; its own vector matches the question better than
        the chunk's average (gold set, dense MRR@10: 0.61 chunk only, 0.68 with w = 0.7).
        Candidates are the top chunks and the chunks holding the top sentences; their
        scores are then computed exactly from the stored vectors.
        """
        if channel == "use":
            assert self.use_embedder is not None
            assert state.chunk_use is not None and state.sentence_use is not None
            chunk_index, sentence_index = state.chunk_use, state.sentence_use
            vector = self.use_embedder.embed_queries([query])[0]
        else:
            chunk_index, sentence_index = state.chunk_dense, state.sentence_dense
            vector = self.embedder.embed_queries([query])[0]
            if self.options.debias:  # the French/English direction is e5's
                vector = debias(vector, state.lang_direction)
        allowed = None if mask is None else state.chunks.vids[mask]
        scores, vids = chunk_index.search(vector, depth, allowed=allowed)
        rows = state.chunks.rows_of(vids)
        w = self.options.sentence_weight
        if w == 0 or sentence_index.size == 0:
            return rows, scores
        s_allowed = None if sentence_mask is None else state.sentences.vids[sentence_mask]
        _, s_vids = sentence_index.search(vector, 2 * depth, allowed=s_allowed)
        s_rows = state.sentences.rows_of(s_vids)
        lo, hi = state.sentence_chunks
        parents = [np.arange(a, b) for a, b in zip(lo[s_rows], hi[s_rows], strict=True)]
        candidates = np.unique(np.concatenate([rows, *parents]))
        if mask is not None:
            candidates = candidates[mask[candidates]]
        chunk_cos = chunk_index.vectors_for(state.chunks.vids[candidates]) @ vector
        lo, hi = state.chunk_sentences
        counts = hi[candidates] - lo[candidates]
        best = chunk_cos.copy()
        has = counts > 0
        if has.any():
            spans = zip(lo[candidates][has], hi[candidates][has], strict=True)
            members = np.concatenate([np.arange(a, b) for a, b in spans])
            sims = sentence_index.vectors_for(state.sentences.vids[members]) @ vector
            starts = np.concatenate([[0], np.cumsum(counts[has])[:-1]])
            best[has] = np.maximum.reduceat(sims, starts)
        fused = (1 - w) * chunk_cos + w * best
        # Float sums can differ in the last bits between calls (SIMD alignment); equal to
        # 1e-6 counts as a tie, broken by row order, so a query always ranks the same.
        order = np.lexsort((candidates, -np.round(fused, 6)))[:depth]
        return candidates[order], fused[order].astype(np.float32)

    def _lexical(
        self, state: _Snapshot, query: str, depth: int, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        scores = state.lexical.scores(analyze_query(query))
        if mask is not None and len(scores):
            scores = np.where(mask, scores, 0.0).astype(np.float32)
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > depth:
            top = np.argpartition(-scores[candidates], depth - 1)[:depth]
            candidates = candidates[top]
        # best first; ties broken by row order so results are deterministic
        order = np.lexsort((candidates, -scores[candidates]))
        rows = candidates[order]
        return rows, scores[rows]

    def fuse(
        self,
        query: str,
        channels: Channels,
        *,
        options: SearchOptions | None = None,
        state: _Snapshot | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fused (rows, scores) of one query's channels under ``options`` (default: this
        Searcher's; see index.fusion). With ``cross_lingual``, a chunk in another language
        than the detected query's takes its dense rank as lexical rank when that is better."""
        opts = options or self.options
        if opts.cross_lingual and opts.lexical_weight > 0:
            channels = self.cross_lingual_channels(query, channels, state=state)
        return fuse_options(channels, opts)

    def cross_lingual_channels(
        self, query: str, channels: Channels, *, state: _Snapshot | None = None
    ) -> Channels:
        """``channels`` with the cross-lingual rule applied (unchanged when the query's
        language is not detected): what :meth:`fuse` fuses when ``cross_lingual`` is on."""
        state = state or self._state
        if not len(channels.dense_rows):
            return channels
        query_lang = _query_lang(query)
        if query_lang == "other":
            return channels
        return _cross_lingual(channels, state.chunks.lang, lang_code(query_lang))

    def channels(
        self, query: str, *, depth: int | None = None, filters: Filters | None = None
    ) -> Channels:
        """Every channel's ranking of ``query`` before fusion (for eval's fusion sweep:
        retrieve once, fuse many ways); the USE ranking when this Searcher has the channel."""
        if not query or not query.strip():
            raise QueryError("empty query: give some words to search for")
        _check_filters(filters)
        state = self._state
        depth = depth or self.options.depth
        mask = state.row_mask(state.chunks, filters)
        sentence_mask = state.row_mask(state.sentences, filters)
        dense_rows, dense_scores = self._dense(state, query, depth, mask, sentence_mask)
        lex_rows, lex_scores = self._lexical(state, query, depth, mask)
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
        state: _Snapshot | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The first ``k`` of ``rows`` (best first) without near-copies: a passage that
        shares at least half of the shorter one's characters with a better passage of the
        same document is left out. Only sliding windows are collapsed: packed chunks share
        a few sentences by design (an answer across a boundary is found whole)."""
        state = state or self._state
        if state.ref.manifest.get("passages", "chunks") == "chunks":
            return (rows, scores) if k is None else (rows[:k], scores[:k])
        chunks = state.chunks
        kept: list[int] = []
        spans: dict[int, list[tuple[int, int]]] = {}
        for i, row in enumerate(rows.tolist()):
            if k is not None and len(kept) >= k:
                break
            doc, start, end = int(chunks.doc[row]), int(chunks.start[row]), int(chunks.end[row])
            taken = spans.setdefault(doc, [])
            if any(min(end, b) - max(start, a) >= 0.5 * min(end - start, b - a) for a, b in taken):
                continue
            taken.append((start, end))
            kept.append(i)
        index = np.asarray(kept, dtype=np.int64)
        return rows[index], scores[index]

    def doc_ids_of(self, rows: np.ndarray) -> list[str]:
        """Document id of each chunk row of the current snapshot."""
        state = self._state
        return [state.doc_ids[d] for d in state.chunks.doc[np.asarray(rows, np.int64)].tolist()]

    def chunk_ids_of(self, rows: np.ndarray) -> list[str]:
        """chunk_id of each chunk row of the current snapshot."""
        state = self._state
        return [state.chunks.key(int(r), state.doc_ids) for r in np.asarray(rows).tolist()]

    def hits_for(self, rows: np.ndarray, scores: np.ndarray) -> list[Hit]:
        """Hits for chunk rows of the current snapshot (as returned by :meth:`fuse`)."""
        return self._hits(self._state, rows, scores, {})

    @staticmethod
    def _hits(
        state: _Snapshot,
        rows: np.ndarray,
        scores: np.ndarray,
        ranks: dict[int, dict[str, int]],
    ) -> list[Hit]:
        chunks = state.chunks
        vids = chunks.vids[rows].tolist()
        with state.lock:
            texts = state.store.chunk_texts(vids)
        hits = []
        for row, vid, score in zip(rows.tolist(), vids, scores.tolist(), strict=True):
            d = int(chunks.doc[row])
            hits.append(
                Hit(
                    doc_id=state.doc_ids[d],
                    chunk_id=chunks.key(row, state.doc_ids),
                    title=state.titles[d],
                    date=state.dates[d],
                    lang=LANGS[chunks.lang[row]],
                    doc_type=state.doc_types[d],
                    text=texts[vid],
                    start=int(chunks.start[row]),
                    end=int(chunks.end[row]),
                    page=int(chunks.page[row]) or None,
                    score=float(score),
                    ranks=ranks.get(row, {}),
                )
            )
        return hits


def _ranks(rows: np.ndarray, *ranked_lists: np.ndarray | None) -> dict[int, dict[str, int]]:
    """{row: {channel: 1-based rank}} for ``rows`` in the dense, lexical and USE rankings."""
    ranks: dict[int, dict[str, int]] = {int(r): {} for r in rows}
    for name, ranked in zip(("dense", "lexical", "use"), ranked_lists, strict=True):
        if ranked is None:
            continue
        for rank, row in enumerate(ranked.tolist(), start=1):
            if row in ranks:
                ranks[row][name] = rank
    return ranks


@functools.lru_cache(maxsize=4096)
def _query_lang(query: str) -> str:
    """The query's language for the cross-lingual rule; memoised (up to ~10 ms a call, and
    /ask and eval's sweeps fuse the same query many times)."""
    return detect_lang(query, default="other", quick=True)


def _cross_lingual(channels: Channels, chunk_lang: np.ndarray, query_code: int) -> Channels:
    """Lexical ranking where each chunk in another language than the query takes its dense
    rank when better: BM25 cannot judge a translated answer."""
    lex_rank = {row: r for r, row in enumerate(channels.lex_rows.tolist(), start=1)}
    for rank, row in enumerate(channels.dense_rows.tolist(), start=1):
        if chunk_lang[row] != query_code and rank < lex_rank.get(row, rank + 1):
            lex_rank[row] = rank
    order = sorted(lex_rank.items(), key=lambda item: (item[1], item[0]))
    rows = np.fromiter((row for row, _ in order), np.int64, len(order))
    ranks = np.fromiter((rank for _, rank in order), np.int64, len(order))
    # Scores follow the new order (rank-based rules use only the order; convex needs
    # scores: a moved chunk takes the score of the lexical rank it now holds, or the
    # lowest one when it moved below the lexical list's end).
    old = channels.lex_scores
    scores = np.array(
        [old[min(rank, len(old)) - 1] if len(old) else 0.0 for _, rank in order], np.float32
    )
    return Channels(
        channels.dense_rows,
        channels.dense_scores,
        rows,
        scores,
        lex_ranks=ranks,
        use_rows=channels.use_rows,
        use_scores=channels.use_scores,
    )


def _load(
    data_dir: Path, embedder: Embedder, use_embedder: Embedder | None, *, attempts: int = 3
) -> _Snapshot:
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
            return _Snapshot(ref, with_use=use_embedder is not None)
        except (OSError, sqlite3.Error, IndexMismatchError):
            # Collected by a later ingest between reading CURRENT and opening the files?
            if attempt + 1 < attempts and snapshot.current_id(data_dir) != ref.snapshot_id:
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _check_filters(filters: Filters | None) -> None:
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
