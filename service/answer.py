"""Extractive answers: the best sentence of the retrieved passages, verbatim, with its citation.

Nothing is generated. Passages come from the Searcher (hybrid); every sentence inside
them is a candidate, described by ``service.answer_features`` and scored by a logistic
selector learned on PIAF (``service.answer_model``, ``partnersearch train-answerer``).
A second small model turns the pick into ``confidence``, calibrated on questions whose
answering paragraph was taken out of the index; below ``threshold`` the answer is
withheld (``no_answer``). When the question asks for a recognisable type, ``span`` marks
the shortest piece of the sentence that answers (``service.answer_span``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from index.errors import QueryError
from index.types import AskMode, Filters, Hit
from ingest.embed import Embedder
from ingest.types import Sentence
from service.answer_features import (
    ENTITY_TYPES,
    Candidate,
    confidence_features,
    gather_candidates,
    sentence_features,
)
from service.answer_model import AnswerModel, default_answer_model
from service.answer_span import AnswerSpan, find_answer_span
from service.answer_types import content_terms, expected_type
from service.nlp import EntityTagger, load_entity_tagger

if TYPE_CHECKING:
    from index import Searcher

logger = logging.getLogger(__name__)

__all__ = [
    "AnswerResult",
    "Passage",
    "ScoredSentence",
    "answer_from_hits",
    "answer_question",
    "content_terms",
]


@dataclass(frozen=True, slots=True)
class ScoredSentence:
    """A candidate answer, its features and the selector's verdict."""

    sentence: Sentence
    hit: Hit  # the passage it was read in (the best-ranked one containing it)
    rank: int  # 1-based rank of that passage
    cosine: float
    overlap: float  # share of the question's content terms found in the sentence, in [0, 1]
    logit: float  # the selector's logit
    score: float  # logistic(logit): the selector's probability that it holds the answer
    features: tuple[float, ...] = ()  # SENTENCE_FEATURES, in order


@dataclass(frozen=True, slots=True)
class Passage:
    """A supporting passage and its best sentence (the one to highlight)."""

    hit: Hit
    best: ScoredSentence | None


@dataclass(frozen=True, slots=True)
class AnswerResult:
    """What /ask returns. ``best`` is the top candidate even when the answer is withheld;
    ``span`` (document offsets, inside ``best``'s sentence) only comes with an answer."""

    answer: ScoredSentence | None
    confidence: float
    no_answer: bool
    passages: tuple[Passage, ...]
    best: ScoredSentence | None
    span: AnswerSpan | None = None


def answer_question(
    searcher: Searcher,
    embedder: Embedder,
    question: str,
    *,
    k: int = 10,
    filters: Filters | None = None,
    threshold: float,
    model: AnswerModel | None = None,
    tagger: EntityTagger | None = None,
    mode: AskMode = "hybrid",
) -> AnswerResult:
    """Answer ``question`` with one verbatim sentence from the top-``k`` passages of
    ``mode`` (hybrid, or hybrid then the reranker).

    ``model`` defaults to the shipped artifact, ``tagger`` to spaCy's French NER (both
    loaded once). Raises QueryError for a blank question; AnswerModelError when the
    artifact cannot be read. ``no_answer`` is true when no passage was found or the
    confidence is below ``threshold``; ``answer`` is then None.
    """
    if not question.strip():
        raise QueryError("the question is empty; type a few words")
    hits = searcher.search(question, k=k, mode=mode, filters=filters)
    return answer_from_hits(
        searcher, embedder, question, hits, threshold=threshold, model=model, tagger=tagger
    )


def answer_from_hits(
    searcher: Searcher,
    embedder: Embedder,
    question: str,
    hits: Sequence[Hit],
    *,
    threshold: float,
    model: AnswerModel | None = None,
    tagger: EntityTagger | None = None,
) -> AnswerResult:
    """The answering step of :func:`answer_question`, over passages already retrieved."""
    model = model or default_answer_model()
    candidates = gather_candidates(searcher, hits)
    scored, confidence = _score(searcher, embedder, question, candidates, model, tagger)

    best_by_chunk: dict[str, ScoredSentence] = {}
    for cand in scored:
        current = best_by_chunk.get(cand.hit.chunk_id)
        if current is None or cand.logit > current.logit:
            best_by_chunk[cand.hit.chunk_id] = cand
    # A sentence is credited to the best-ranked passage containing it, so a passage
    # whose sentences all belong to a better passage still gets its own highlight.
    for hit in hits:
        if hit.chunk_id not in best_by_chunk:
            own = _best_inside(hit, scored)
            if own is not None:
                best_by_chunk[hit.chunk_id] = own

    best = max(scored, key=lambda c: c.logit, default=None)
    answered = best is not None and confidence >= threshold
    passages = [Passage(hit=h, best=best_by_chunk.get(h.chunk_id)) for h in hits]
    span = None
    if answered and best is not None:
        # The passage that carries the answer comes first.
        passages.sort(key=lambda p: p.hit.chunk_id != best.hit.chunk_id)
        span = _span(best.sentence, question, tagger)
    logger.debug(
        "ask %r: %d passages, %d sentences, confidence %.3f",
        question[:80],
        len(hits),
        len(scored),
        confidence,
    )
    return AnswerResult(
        answer=best if answered else None,
        confidence=confidence,
        no_answer=not answered,
        passages=tuple(passages),
        best=best,
        span=span,
    )


def _score(
    searcher: Searcher,
    embedder: Embedder,
    question: str,
    candidates: Sequence[Candidate],
    model: AnswerModel,
    tagger: EntityTagger | None,
) -> tuple[list[ScoredSentence], float]:
    if not candidates:
        return [], 0.0
    ids = [c.sentence.sentence_id for c in candidates]
    vectors = np.asarray(searcher.sentence_vectors(ids), dtype=np.float32)
    query = np.asarray(embedder.embed_queries([question])[0], dtype=np.float32)
    wanted = expected_type(question)
    entities = None
    if wanted in ENTITY_TYPES:
        entities = (tagger or load_entity_tagger()).entities([c.sentence.text for c in candidates])
    x = sentence_features(
        question, query, candidates, vectors, entities=entities, answer_type=wanted
    )
    logits = model.selector.logits(x)
    scores = 1.0 / (1.0 + np.exp(-logits))
    confidence = float(model.abstainer.probabilities(confidence_features(x, logits))[0])
    out = [
        ScoredSentence(
            sentence=c.sentence,
            hit=c.hit,
            rank=c.rank,
            cosine=float(x[i, 0]),
            overlap=float(x[i, 4]),
            logit=float(logits[i]),
            score=float(scores[i]),
            features=tuple(float(v) for v in x[i]),
        )
        for i, c in enumerate(candidates)
    ]
    return out, confidence


def _span(sentence: Sentence, question: str, tagger: EntityTagger | None) -> AnswerSpan | None:
    """The answer span in document offsets (the sentence's own offsets shifted)."""
    wanted = expected_type(question)
    if wanted is None:
        return None
    entities = ()
    if wanted in ENTITY_TYPES:
        entities = (tagger or load_entity_tagger()).entities([sentence.text])[0]
    found = find_answer_span(sentence.text, wanted, question=question, entities=entities)
    if found is None:
        return None
    return AnswerSpan(
        type=found.type,
        start=sentence.start + found.start,
        end=sentence.start + found.end,
        text=found.text,
    )


def _best_inside(hit: Hit, candidates: Sequence[ScoredSentence]) -> ScoredSentence | None:
    inside = [
        c
        for c in candidates
        if c.sentence.doc_id == hit.doc_id
        and c.sentence.start < hit.end
        and c.sentence.end > hit.start
    ]
    return max(inside, key=lambda c: c.logit, default=None)
