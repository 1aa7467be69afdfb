"""The app factory: ``create_app(settings)`` builds the FastAPI app and its lifespan.

The lifespan loads the embedder, /ask's answer model, spaCy and (when on) the reranker,
opens the index once and cleans what a crash left; routes (``service.routes``) receive
them through the dependencies of ``service.state``. Write requests are checked (token,
Content-Length) before their body is read (``service.middleware``). Every response
carries the security headers; /docs is Swagger UI served from the bundled files, not a
CDN. Every error answers ``{"error": {"code", "message"}}`` (``service.errors``) with a
4xx status (5xx only for an index or model that is not there, a full write queue, or a
bug).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from index.rerank import PairScorer
from ingest.embed import DEFAULT_MODEL, Embedder
from service.answer_model import load_answer_model
from service.errors import ERROR_RESPONSES, install_error_handlers
from service.metrics import Metrics, MetricsMiddleware
from service.middleware import SECURITY_HEADERS, SecurityHeaders, WriteGuard
from service.nlp import load_entity_tagger
from service.routes import documents_router, ops_router, search_router
from service.routes.ops import STATIC_DIR
from service.settings import Settings
from service.state import ServiceState, clean_at_startup
from service.wiring import load_e5, load_reranker, use_embedder_for

logger = logging.getLogger(__name__)

__all__ = ["create_app"]


def _project_version() -> str:
    try:
        return version("partnersearch")
    except PackageNotFoundError:
        return "0+unknown"


def create_app(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    use_embedder: Embedder | None = None,
    reranker: PairScorer | None = None,
) -> FastAPI:
    """Build the app. ``embedder`` (and, with ``settings.use_channel``, ``use_embedder``;
    with ``settings.reranker``, ``reranker``) are injectable for tests; otherwise the
    lifespan loads them. Nothing is loaded until the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # spaCy and an ONNX embedder load side by side (two cores): together they are most
        # of the cold start. A torch embedder loads first: while spaCy is imported with
        # torch hidden, no other thread may import torch.
        onnx = embedder is not None or (
            settings.model == DEFAULT_MODEL and settings.backend != "torch"
        )
        tagger_loading = asyncio.ensure_future(
            run_in_threadpool(functools.partial(load_entity_tagger, hide_torch=onnx))
            if onnx
            else asyncio.sleep(0)
        )
        try:
            model = embedder
            if model is None:
                model = await run_in_threadpool(functools.partial(load_e5, settings))
            use = (use_embedder or use_embedder_for(settings)) if settings.use_channel else None
            if use is not None:
                await run_in_threadpool(use.fingerprint)  # reads its weights now, not at a query
            await run_in_threadpool(clean_at_startup, Path(settings.data_dir))
            # A missing or corrupt answer artifact stops start-up with the file and the fix.
            answer_model = await run_in_threadpool(load_answer_model, settings.answer_model_path())
            rerank = None
            if settings.reranker:
                rerank = reranker or await run_in_threadpool(load_reranker, settings)
        finally:
            tagger = await tagger_loading
        if tagger is None:  # torch embedder: loaded first, spaCy now
            tagger = await run_in_threadpool(
                functools.partial(load_entity_tagger, hide_torch=False)
            )
        service = ServiceState(settings, model, answer_model, tagger, use, rerank)
        await run_in_threadpool(service.open)
        app.state.service = service
        logger.info("serving index %s with model %s", settings.data_dir, model.name)
        try:
            yield
        finally:
            await run_in_threadpool(service.writes.close)

    metrics = Metrics()
    app = FastAPI(
        title="PartnerSearch",
        version=_project_version(),
        summary="Cited search and extractive answers over FR/EN partnership documents.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
        # FastAPI's own /docs loads Swagger UI from a CDN: ours serves the bundled files.
        docs_url=None,
        redoc_url=None,
    )
    app.state.metrics = metrics
    # Last added runs first: metrics see every answer, headers go on every answer, and
    # the write guard answers before the route reads a body.
    app.add_middleware(WriteGuard, settings=settings)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    install_error_handlers(app, bug_headers=SECURITY_HEADERS)
    app.include_router(search_router)
    app.include_router(documents_router)
    app.include_router(ops_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/docs-assets", StaticFiles(directory=_swagger_ui_dir()), name="docs-assets")
    return app


def _swagger_ui_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)
