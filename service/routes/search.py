"""Read routes over the current index: ranked passages, an answer, similar wordings."""

from __future__ import annotations

import time

from fastapi import APIRouter

from index.types import Filters
from service import queries
from service.schemas import (
    AskRequest,
    AskResponse,
    HitOut,
    SearchRequest,
    SearchResponse,
    SimilarMatch,
    SimilarRequest,
    SimilarResponse,
)
from service.state import SearcherDep, ServiceDep, check_text, ms_since

router = APIRouter(tags=["search"])


def _filters(body: SearchRequest | AskRequest | SimilarRequest) -> Filters | None:
    return body.filters.to_filters() if body.filters else None


@router.post("/search", response_model=SearchResponse)
def search(body: SearchRequest, service: ServiceDep, searcher: SearcherDep) -> SearchResponse:
    """Passages ranked for ``query``, each with its document offsets."""
    started = time.perf_counter()
    query = check_text(body.query, "query", service.settings)
    mode = body.mode or service.settings.default_mode
    hits = searcher.search(query, k=body.k, mode=mode, filters=_filters(body))
    return SearchResponse(results=[HitOut.from_hit(h) for h in hits], took_ms=ms_since(started))


@router.post("/ask", response_model=AskResponse)
def ask(body: AskRequest, service: ServiceDep, searcher: SearcherDep) -> AskResponse:
    """One verbatim answering sentence with its citation, or no_answer."""
    started = time.perf_counter()
    question = check_text(body.question, "question", service.settings)
    result = queries.ask(
        service.settings,
        searcher,
        service.embedder,
        question,
        k=body.k,
        filters=_filters(body),
        mode=body.mode,
        model=service.answer_model,
        tagger=service.tagger,
    )
    return AskResponse.from_result(result, took_ms=ms_since(started))


@router.post("/similar", response_model=SimilarResponse)
def similar(body: SimilarRequest, service: ServiceDep, searcher: SearcherDep) -> SimilarResponse:
    """Closest sentences across documents and languages; near-duplicates collapsed."""
    started = time.perf_counter()
    text = check_text(body.text, "text", service.settings)
    groups = queries.similar(service.settings, searcher, text, k=body.k, filters=_filters(body))
    results = [SimilarMatch.from_group(g) for g in groups]
    return SimilarResponse(results=results, took_ms=ms_since(started))
