"""Operations routes: health, Prometheus metrics, the web page and the bundled API docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from index import Searcher
from index.errors import IndexNotFoundError
from service.metrics import CONTENT_TYPE_LATEST
from service.schemas import HealthResponse
from service.state import ServiceDep

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter()


@router.get("/health", response_model=HealthResponse, tags=["ops"])
def health(request: Request, service: ServiceDep) -> HealthResponse:
    """Which snapshot and model are serving, and how much is indexed."""
    try:
        searcher: Searcher | None = service.searcher()
    except IndexNotFoundError:
        searcher = None
    if searcher is None:
        return HealthResponse(
            status="no_index",
            snapshot_id=None,
            model=service.embedder.name,
            counts={"documents": 0, "chunks": 0, "sentences": 0},
            version=request.app.version,
            writes_queued=service.writes.pending(),
        )
    return HealthResponse(
        status="ok",
        snapshot_id=searcher.snapshot_id,
        model=searcher.model_name,
        counts=dict(searcher.counts()),
        version=request.app.version,
        writes_queued=service.writes.pending(),
        channels=[
            "dense",
            "lexical",
            *(["use"] if searcher.has_use else []),
            *(["rerank"] if searcher.reranker is not None else []),
        ],
    )


@router.get(
    "/metrics",
    tags=["ops"],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def metrics(request: Request) -> Response:
    """Request counts and latency histograms per endpoint, Prometheus text format."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/", include_in_schema=False)
def index_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")


@router.get("/docs", include_in_schema=False)
def api_docs() -> FileResponse:
    """Swagger UI from the bundled swagger-ui files (no CDN, no inline script)."""
    return FileResponse(STATIC_DIR / "docs.html")
