"""Features of candidate answer sentences, and of a question's best candidate.

Candidates are the sentences of the retrieved passages. Each gets the numbers in
``SENTENCE_FEATURES`` (same order): how close it is to the question in meaning (e5
cosine, alone and with its neighbours), in words (shared content terms, BM25 among the
candidates), whether it holds the kind of answer asked for, whether it names the
question's entities, where it sits, and how its passage ranked. ``CONFIDENCE_FEATURES``
summarise the selector's pick for the abstention model. Training and serving call these
same functions, so what is measured is what runs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from index.types import Hit
from ingest.types import Sentence
from service.answer_types import (
    AnswerType,
    content_terms,
    entity_coverage,
    has_answer_type,
    question_entities,
    term_positions,
)
from service.nlp import Entity

if TYPE_CHECKING:
    from index import Searcher

__all__ = [
    "CONFIDENCE_FEATURES",
    "ENTITY_TYPES",
    "SENTENCE_FEATURES",
    "Candidate",
    "confidence_features",
    "gather_candidates",
    "sentence_features",
]

SENTENCE_FEATURES: tuple[str, ...] = (
    "cosine",  # e5 cosine of the question with the sentence's stored vector
    "cosine_gap",  # cosine minus the best cosine among the candidates (<= 0)
    "context_cosine",  # cosine with the mean of the sentence's and its neighbours' vectors
    "context_gap",
    "overlap",  # share of the question's content terms in the sentence
    "context_overlap",  # ... in the sentence and its two neighbours
    "bm25",  # BM25 of the sentence among the candidates, divided by the best one
    "bm25_log",  # log(1 + BM25)
    "type_found",  # a type is asked and the sentence holds one
    "type_missing",  # a type is asked and the sentence holds none
    "sentence_coverage",  # share of the question's named entities the sentence names
    "passage_coverage",  # ... that its passage (with the title) names
    "position",  # place in its passage, 0 = first, 1 = last
    "first",  # 1 for a passage's first sentence
    "rank",  # 1 / sqrt(rank of its passage)
    "relative_score",  # passage score / best passage score
    "dense_rank",  # 1 / sqrt(dense rank of the passage), 0 when dense did not return it
    "lexical_rank",  # the same for BM25
    "length_log",  # log(characters)
    "novelty",  # share of the sentence's content terms that the question lacks
)
CONFIDENCE_FEATURES: tuple[str, ...] = (
    "top_logit",  # the selector's logit for its pick
    "margin",  # pick's logit minus the runner-up's (capped at 10)
    "top_cosine",
    "max_cosine",
    "top_overlap",
    "max_overlap",
    "top_bm25_log",
    "top_type_missing",
    "top_passage_coverage",
    "top_sentence_coverage",
    "top_type_found",
    "type_asked",  # the question asks for a recognised type
    "top_rank",
    "top_dense_rank",
    "top_lexical_rank",
    "top_context_overlap",
    "top_novelty",
    "top3_logit",  # mean logit of the three best candidates
    "max_passage_coverage",
    "max_type_found",  # some candidate holds the asked type
)
#: Answer types whose check needs spaCy's entities.
ENTITY_TYPES: frozenset[str] = frozenset({"person", "organisation", "place"})
_F = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
_BM25_K1, _BM25_B = 1.2, 0.75
_MARGIN_CAP = 10.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence read in a retrieved passage (the best-ranked one containing it)."""

    sentence: Sentence
    hit: Hit
    rank: int  # 1-based rank of that passage
    position: int  # 0-based index of the sentence among the passage's sentences
    count: int  # sentences in the passage


def gather_candidates(searcher: Searcher, hits: Sequence[Hit]) -> list[Candidate]:
    """Sentences of ``hits`` in retrieval order, each once (credited to its best passage)."""
    seen: set[str] = set()
    out = []
    for rank, hit in enumerate(hits, start=1):
        sentences = [
            s for s in searcher.sentences_in(hit.doc_id, hit.start, hit.end) if s.text.strip()
        ]
        for position, sent in enumerate(sentences):
            if sent.sentence_id in seen:
                continue
            seen.add(sent.sentence_id)
            out.append(Candidate(sent, hit, rank, position, len(sentences)))
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def _terms_list(text: str) -> list[str]:
    return [t for t, _, _ in term_positions(text)]


def sentence_features(
    question: str,
    query: np.ndarray,
    candidates: Sequence[Candidate],
    vectors: np.ndarray,
    *,
    entities: Sequence[Sequence[Entity]] | None = None,
    answer_type: AnswerType | None = None,
) -> np.ndarray:
    """[len(candidates), len(SENTENCE_FEATURES)] float64 features.

    ``query`` is the question's unit query vector, ``vectors`` the candidates' stored unit
    vectors (same order); ``entities[i]`` are candidate i's spaCy entities (needed only
    when ``answer_type`` is a person, organisation or place).
    """
    n = len(candidates)
    x = np.zeros((n, len(SENTENCE_FEATURES)), dtype=np.float64)
    if n == 0:
        return x
    vectors = np.asarray(vectors, dtype=np.float64)
    q = np.asarray(query, dtype=np.float64)
    cos = vectors @ q
    # Neighbours: the previous and next sentence of the same passage, when candidates.
    slot = {(c.hit.chunk_id, c.position): i for i, c in enumerate(candidates)}
    ctx = np.empty(n, dtype=np.float64)
    q_terms = content_terms(question)
    terms = [_terms_list(c.sentence.text) for c in candidates]
    term_sets = [set(t) for t in terms]
    ctx_overlap = np.zeros(n)
    for i, c in enumerate(candidates):
        idx = [
            j
            for j in (
                slot.get((c.hit.chunk_id, c.position - 1)),
                i,
                slot.get((c.hit.chunk_id, c.position + 1)),
            )
            if j is not None
        ]
        ctx[i] = float(_unit(vectors[idx].sum(axis=0)) @ q)
        if q_terms:
            around = set().union(*(term_sets[j] for j in idx))
            ctx_overlap[i] = len(q_terms & around) / len(q_terms)
    x[:, _F["cosine"]] = cos
    x[:, _F["cosine_gap"]] = cos - cos.max()
    x[:, _F["context_cosine"]] = ctx
    x[:, _F["context_gap"]] = ctx - ctx.max()
    if q_terms:
        x[:, _F["overlap"]] = [len(q_terms & s) / len(q_terms) for s in term_sets]
    x[:, _F["context_overlap"]] = ctx_overlap
    bm25 = _bm25(q_terms, terms)
    top = bm25.max()
    x[:, _F["bm25"]] = bm25 / top if top > 0 else 0.0
    x[:, _F["bm25_log"]] = np.log1p(bm25)
    wanted = answer_type
    if wanted is not None:
        for i, c in enumerate(candidates):
            ents = entities[i] if entities is not None else ()
            found = has_answer_type(c.sentence.text, wanted, ents)
            x[i, _F["type_found"]] = float(found)
            x[i, _F["type_missing"]] = float(not found)
    q_entities = question_entities(question)
    best_score = max((c.hit.score for c in candidates), default=0.0)
    for i, c in enumerate(candidates):
        x[i, _F["sentence_coverage"]] = entity_coverage(q_entities, c.sentence.text)
        x[i, _F["passage_coverage"]] = entity_coverage(q_entities, f"{c.hit.title} {c.hit.text}")
        x[i, _F["position"]] = c.position / (c.count - 1) if c.count > 1 else 0.0
        x[i, _F["first"]] = float(c.position == 0)
        x[i, _F["rank"]] = 1.0 / math.sqrt(c.rank)
        x[i, _F["relative_score"]] = c.hit.score / best_score if best_score > 0 else 0.0
        dense, lexical = c.hit.ranks.get("dense"), c.hit.ranks.get("lexical")
        x[i, _F["dense_rank"]] = 1.0 / math.sqrt(dense) if dense else 0.0
        x[i, _F["lexical_rank"]] = 1.0 / math.sqrt(lexical) if lexical else 0.0
        x[i, _F["length_log"]] = math.log(max(1, len(c.sentence.text.strip())))
        s = term_sets[i]
        x[i, _F["novelty"]] = len(s - q_terms) / len(s) if s else 0.0
    return x


def _bm25(q_terms: set[str], docs: Sequence[Sequence[str]]) -> np.ndarray:
    """Okapi BM25 of each term list against ``q_terms``, IDF over ``docs`` themselves."""
    n = len(docs)
    scores = np.zeros(n)
    if not q_terms or n == 0:
        return scores
    df = Counter(t for d in docs for t in set(d) if t in q_terms)
    avg = sum(len(d) for d in docs) / n or 1.0
    for i, d in enumerate(docs):
        tf = Counter(t for t in d if t in q_terms)
        norm = _BM25_K1 * (1 - _BM25_B + _BM25_B * len(d) / avg)
        for t, f in tf.items():
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            scores[i] += idf * f * (_BM25_K1 + 1) / (f + norm)
    return scores


def confidence_features(x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """[1, len(CONFIDENCE_FEATURES)] summary of the candidate with the highest logit."""
    if len(logits) == 0:
        raise ValueError("no candidates: nothing to be confident about")
    order = np.argsort(-logits, kind="stable")
    top = int(order[0])
    margin = float(logits[top] - logits[order[1]]) if len(order) > 1 else _MARGIN_CAP
    t = x[top]
    row = [
        float(logits[top]),
        min(margin, _MARGIN_CAP),
        t[_F["cosine"]],
        float(x[:, _F["cosine"]].max()),
        t[_F["overlap"]],
        float(x[:, _F["overlap"]].max()),
        t[_F["bm25_log"]],
        t[_F["type_missing"]],
        t[_F["passage_coverage"]],
        t[_F["sentence_coverage"]],
        t[_F["type_found"]],
        t[_F["type_found"]] + t[_F["type_missing"]],
        t[_F["rank"]],
        t[_F["dense_rank"]],
        t[_F["lexical_rank"]],
        t[_F["context_overlap"]],
        t[_F["novelty"]],
        float(logits[order[:3]].mean()),
        float(x[:, _F["passage_coverage"]].max()),
        float(x[:, _F["type_found"]].max()),
    ]
    return np.asarray([row], dtype=np.float64)
