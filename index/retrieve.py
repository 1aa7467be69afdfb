"""Retrieval over a loaded snapshot, as functions: each channel's ranking, the
cross-lingual rule, near-copy collapse and cited hits. ``Searcher`` strings them
together; fusion itself is ``index.fusion.fuse`` (pure, on the channels' rankings).

BM25 cannot judge a chunk written in another language than the query (an English
question shares few words with a French answer), so with ``cross_lingual`` on, such a
chunk's lexical rank is replaced by its dense rank when that is better: the lexical list
then never pushes a translated answer below same-language chunks that merely share names.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from index.dense import DenseIndex
from index.fusion import Channels
from index.lexical import analyze_query
from index.loaded import LoadedSnapshot
from index.rows import LANGS
from index.types import Hit, SentenceHit
from ingest.lang import detect_lang

__all__ = [
    "channel_ranks",
    "collapse",
    "cross_lingual",
    "dense_ranking",
    "lexical_ranking",
    "make_hits",
    "make_sentence_hits",
    "query_lang",
    "word_count",
]

_WORD = re.compile(r"\w+")


def dense_ranking(
    state: LoadedSnapshot,
    chunk_index: DenseIndex,
    sentence_index: DenseIndex,
    vector: np.ndarray,
    depth: int,
    mask: np.ndarray | None,
    sentence_mask: np.ndarray | None,
    *,
    sentence_weight: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Chunk rows by ``(1 - w) * cos(query, chunk) + w * max cos(query, sentence in chunk)``
    in one dense channel (e5's or USE's indexes), best first, at most ``depth``.

    A factoid answer is one sentence; its own vector matches the question better than
    the chunk's average (gold set, dense MRR@10: 0.61 chunk only, 0.68 with w = 0.7).
    Candidates are the top chunks and the chunks holding the top sentences; their
    scores are then computed exactly from the stored vectors.
    """
    allowed = None if mask is None else state.chunks.vids[mask]
    scores, vids = chunk_index.search(vector, depth, allowed=allowed)
    rows = state.chunks.rows_of(vids)
    w = sentence_weight
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


def lexical_ranking(
    state: LoadedSnapshot, query: str, depth: int, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Chunk rows by BM25 score (zero outside ``mask`` ), best first, at most ``depth``."""
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


def collapse(
    state: LoadedSnapshot, rows: np.ndarray, scores: np.ndarray, *, k: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` of ``rows`` (best first) without near-copies: a passage that
    shares at least half of the shorter one's characters with a better passage of the
    same document is left out. Only sliding windows are collapsed: packed chunks share
    a few sentences by design (an answer across a boundary is found whole)."""
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


def make_hits(
    state: LoadedSnapshot,
    rows: np.ndarray,
    scores: np.ndarray,
    ranks: dict[int, dict[str, int]],
) -> list[Hit]:
    """One cited Hit per chunk row, with its text and its rank in every channel."""
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


def make_sentence_hits(
    state: LoadedSnapshot, vids: np.ndarray, scores: np.ndarray, *, k: int, min_words: int
) -> list[SentenceHit]:
    """The first ``k`` sentences (by vector id, best first) of at least ``min_words`` words."""
    with state.lock:
        texts = state.store.sentence_texts(vids.tolist())
    keep = [i for i, vid in enumerate(vids.tolist()) if word_count(texts[vid]) >= min_words][:k]
    vids, scores = vids[keep], scores[keep]
    sents = state.sentences
    rows = sents.rows_of(vids)
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


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def channel_ranks(rows: np.ndarray, *ranked_lists: np.ndarray | None) -> dict[int, dict[str, int]]:
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
def query_lang(query: str) -> str:
    """The query's language for the cross-lingual rule; memoised (up to ~10 ms a call, and
    /ask and eval's sweeps fuse the same query many times)."""
    return detect_lang(query, default="other", quick=True)


def cross_lingual(channels: Channels, chunk_lang: np.ndarray, query_code: int) -> Channels:
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
