"""The HTTP API and web page: ``create_app(settings)`` builds a FastAPI app.

The lifespan loads the embedder, /ask's answer model and spaCy, opens the index once
and cleans what a crash left; routes receive them through dependencies. Reads go to one
thread-safe Searcher that switches to a newer snapshot when an ingest has published one.
Writes (upload, delete) wait in a bounded queue served by one writer thread, so a queued
write never holds a thread that serves reads; a full queue answers 503 with Retry-After.
Write requests are checked (token, Content-Length) before their body is read. Every
response carries the security headers; /docs is Swagger UI served from the bundled files,
not a CDN. Every error answers ``{"error": {"code", "message"}}`` with a 4xx status (5xx
only for an index that is not there yet, a full write queue, or a bug).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import queue
import re
import secrets
import shutil
import tempfile
import threading
import time
import unicodedata
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index import Indexer, IngestReport, Searcher, clean_leftovers
from index.errors import IndexNotFoundError
from index.rerank import PairScorer
from ingest import SUPPORTED_SUFFIXES, parse_file
from ingest.embed import DEFAULT_MODEL, Embedder, load_embedder
from ingest.errors import IngestError, PartnerSearchError
from service.answer import answer_question
from service.answer_model import AnswerModel, load_answer_model
from service.metrics import CONTENT_TYPE_LATEST, Metrics, MetricsMiddleware
from service.nlp import EntityTagger, load_entity_tagger
from service.schemas import (
    AskRequest,
    AskResponse,
    DeleteResponse,
    DocumentDetail,
    DocumentList,
    DocumentQuery,
    DocumentSummary,
    ErrorResponse,
    HealthResponse,
    HitOut,
    SearchRequest,
    SearchResponse,
    SimilarMatch,
    SimilarRequest,
    SimilarResponse,
    UploadFileResult,
    UploadResponse,
    is_blank,
)
from service.settings import Settings
from service.similar import similar_wordings
from service.wiring import load_reranker, make_indexer, open_searcher, use_embedder_for

logger = logging.getLogger(__name__)

__all__ = ["ApiError", "create_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
_MAX_FILENAME = 255
_UPLOAD_TMP_PREFIX = "partnersearch-upload-"
# A temp folder named without a pid (older versions) is taken as abandoned after this long.
_LEGACY_TMP_AGE_S = 3600.0

# Every response: the page and /docs load only their own files, are never framed, and
# nothing is sniffed into another type. 'data:' images are Swagger UI's inline icons.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _project_version() -> str:
    try:
        return version("partnersearch")
    except PackageNotFoundError:
        return "0+unknown"


class ApiError(Exception):
    """An expected failure with its HTTP status and stable error code."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}
_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": desc}
    for code, desc in {
        400: "invalid file name",
        422: "invalid request body, parameters, filters or file",
        503: "no index yet, or the write queue is full (Retry-After)",
    }.items()
}


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    details = extra.pop("details", None)
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=extra.pop("headers", None))


class _WriteQueue:
    """Writes wait here, not in the threads that serve reads: one worker thread runs them
    in order, and a request awaits its job's future on the event loop. Bounded: a full
    queue is refused at once (503 + Retry-After) instead of piling up bodies in memory."""

    def __init__(self, size: int, retry_after_s: int) -> None:
        self._queue: queue.Queue[tuple[Callable[[], Any], asyncio.AbstractEventLoop, Any] | None]
        self._queue = queue.Queue(maxsize=size)
        self.size = size
        self._retry_after = retry_after_s
        self._thread = threading.Thread(target=self._run, name="partnersearch-writer", daemon=True)
        self._thread.start()

    def pending(self) -> int:
        """Jobs waiting (not counting the one running)."""
        return self._queue.qsize()

    async def run(self, job: Callable[[], Any]) -> Any:
        """Queue ``job`` and wait for its result (or exception) without holding a thread."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        try:
            self._queue.put_nowait((job, loop, future))
        except queue.Full:
            raise ApiError(
                503,
                "write_queue_full",
                f"{self.size} writes are already waiting (PARTNERSEARCH_WRITE_QUEUE_SIZE); "
                f"retry in {self._retry_after} s",
                headers={"Retry-After": str(self._retry_after)},
            ) from None
        return await future

    def close(self, timeout: float = 60.0) -> None:
        """Let the queued jobs finish, then stop the worker."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, loop, future = item
            try:
                result = job()
            except BaseException as exc:  # handed to the waiting request, which answers it
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)


def _settle(future: Any, result: Any, exc: BaseException | None) -> None:
    if future.done():  # the client went away; the write itself has happened
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


class _Service:
    """What the lifespan puts on ``app.state``: the loaded model, the index, the write queue."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        answer_model: AnswerModel,
        tagger: EntityTagger,
        use_embedder: Embedder | None = None,
        reranker: PairScorer | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.use_embedder = use_embedder
        self.reranker = reranker
        self.writes = _WriteQueue(settings.write_queue_size, settings.write_retry_after_s)
        self.answer_model = answer_model
        self.tagger = tagger
        self._read_lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._indexer: Indexer | None = None
        self._checked = 0.0

    def open(self) -> None:
        """Open the index if there is one; a missing index is not fatal (uploads can create it)."""
        try:
            self._searcher = self._open_searcher()
        except IndexNotFoundError as exc:
            logger.warning("no index yet: %s", exc)
        self._checked = time.monotonic()

    def searcher(self) -> Searcher:
        """The current Searcher, switched to a newer snapshot at most every refresh_interval_s."""
        now = time.monotonic()
        if now - self._checked >= self.settings.refresh_interval_s:
            with self._read_lock:
                if now - self._checked >= self.settings.refresh_interval_s:
                    self._checked = now
                    self._reload()
        if self._searcher is None:
            raise IndexNotFoundError(
                f"no index in {self.settings.data_dir}; run `partnersearch ingest PATH` "
                "or upload documents with POST /documents"
            )
        return self._searcher

    def _reload(self) -> None:
        if self._searcher is None:
            try:
                self._searcher = self._open_searcher()
            except IndexNotFoundError:
                return
        elif self._searcher.refresh():
            logger.info("switched to index snapshot %s", self._searcher.snapshot_id)

    def _open_searcher(self) -> Searcher:
        return open_searcher(
            self.settings, self.embedder, self.use_embedder, reranker=self.reranker
        )

    def after_write(self) -> None:
        with self._read_lock:
            self._checked = time.monotonic()
            self._reload()

    def indexer(self) -> Indexer:
        if self._indexer is None:
            self._indexer = make_indexer(self.settings, self.embedder, self.use_embedder)
        return self._indexer

    def peek(self) -> Searcher | None:
        return self._searcher


# async: a sync dependency would take a threadpool thread, the ones reads need.
async def _service(request: Request) -> _Service:
    return request.app.state.service


ServiceDep = Annotated[_Service, Depends(_service)]


def _searcher(service: ServiceDep) -> Searcher:
    return service.searcher()


SearcherDep = Annotated[Searcher, Depends(_searcher)]

_bearer = HTTPBearer(auto_error=False, description="PARTNERSEARCH_API_TOKEN")


async def _require_writer(
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    token = service.settings.api_token
    if not token:
        raise ApiError(
            403,
            "writes_disabled",
            "write endpoints are disabled; set PARTNERSEARCH_API_TOKEN on the server to enable",
        )
    given = credentials.credentials if credentials else ""
    if not secrets.compare_digest(given.encode(), token.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "missing or wrong bearer token: send 'Authorization: Bearer <PARTNERSEARCH_API_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


WriterDep = Annotated[None, Depends(_require_writer)]


def _check_text(text: str, field: str, settings: Settings) -> str:
    if is_blank(text):
        raise ApiError(
            422,
            "empty_query",
            f"{field} is empty (nothing left without spaces, control or zero-width "
            "characters); type a few words",
        )
    if len(text) > settings.max_query_chars:
        raise ApiError(
            422,
            "query_too_long",
            f"{field} has {len(text)} characters; the limit is {settings.max_query_chars} "
            "(PARTNERSEARCH_MAX_QUERY_CHARS)",
        )
    return text


# filename="..." (quoted, with \\ and \" escapes) or filename=token, in a part's header.
_FILENAME_PARAM = re.compile(r'(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))', re.I)


def _sent_filename(upload: UploadFile) -> str | None:
    """The file name exactly as the client sent it. python-multipart turns
    ``C:\\Windows\\x.txt`` into ``x.txt`` (an old IE workaround); we refuse such names."""
    disposition = upload.headers.get("content-disposition", "")
    match = _FILENAME_PARAM.search(disposition)
    if match is None:
        return upload.filename
    if match.group(1) is not None:
        # The two escapes python-multipart undoes; any other backslash is the name's own.
        return match.group(1).replace("\\\\", "\\").replace('\\"', '"')
    return match.group(2).strip()


def _safe_filename(raw: str | None) -> str:
    """The upload's file name if it is a plain name; path tricks are refused, never repaired."""
    name = raw or ""
    bad = (
        not name
        or len(name) > _MAX_FILENAME
        or name in {".", ".."}
        or name.startswith(".")
        or PurePosixPath(name).name != name
        or PureWindowsPath(name).name != name
        or any(unicodedata.category(c) == "Cc" for c in name)
    )
    if bad:
        raise ApiError(
            400,
            "bad_filename",
            f"file name {name!r} is not a plain file name; send e.g. 'report.pdf' without "
            "directories, leading dots or control characters",
        )
    return name


def _validation_message(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    details = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err.get("loc", ()))
        details.append({"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type"))})
    first = details[0] if details else {"loc": "request", "msg": "invalid"}
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"{first['loc']}: {first['msg']}{more}", details


class _BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` once a write body passes the cap (FastAPI re-raises HTTP
    exceptions from body parsing, so it reaches the handler as a 413)."""

    code = "request_too_large"


def _is_write(scope: Scope) -> bool:
    path = scope.get("path", "")
    return scope.get("method") in {"POST", "DELETE"} and (
        path == "/documents" or path.startswith("/documents/")
    )


class _WriteGuard:
    """Token and size checks for write requests before a byte of their body is read:
    FastAPI parses a multipart body before any dependency runs, so a 401 from the route
    would come after a 200 MB upload had been spooled to disk."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_write(scope):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        limit = self.settings.max_request_bytes
        seen = 0

        async def capped_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge(413, _too_large(limit))
            return message

        await self.app(scope, capped_receive, send)

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        token = self.settings.api_token
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not token:
            return _error(
                403,
                "writes_disabled",
                "write endpoints are disabled; set PARTNERSEARCH_API_TOKEN on the server to enable",
            )
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return _error(
                401,
                "unauthorized",
                "missing or wrong bearer token: send "
                "'Authorization: Bearer <PARTNERSEARCH_API_TOKEN>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                return _error(400, "bad_request", f"Content-Length {length!r} is not a number")
            if int(length) > self.settings.max_request_bytes:
                return _error(413, "request_too_large", _too_large(self.settings.max_request_bytes))
        return None


def _too_large(limit: int) -> str:
    return (
        f"request body is larger than {limit} bytes (PARTNERSEARCH_MAX_REQUEST_BYTES); "
        "upload fewer or smaller files per request"
    )


class _SecurityHeaders:
    """Adds SECURITY_HEADERS to every response the app sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self._headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, headers=exc.headers)

    @app.exception_handler(PartnerSearchError)
    async def _domain_error(_: Request, exc: PartnerSearchError) -> JSONResponse:
        # Each error class carries its HTTP status and code (ingest/errors.py).
        return _error(exc.status, exc.code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _validation_message(exc)
        return _error(422, "invalid_request", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or _STATUS_CODES.get(
            exc.status_code, f"http_{exc.status_code}"
        )
        return _error(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        # Answered outside the middleware stack: the security headers go on here.
        return _error(
            500,
            "internal_error",
            "internal error; the server log has the details",
            headers=SECURITY_HEADERS,
        )


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
                model = await run_in_threadpool(
                    functools.partial(load_embedder, **settings.embedder_options())
                )
            use = (use_embedder or use_embedder_for(settings)) if settings.use_channel else None
            if use is not None:
                await run_in_threadpool(use.fingerprint)  # reads its weights now, not at a query
            await run_in_threadpool(_clean_at_startup, Path(settings.data_dir))
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
        service = _Service(settings, model, answer_model, tagger, use, rerank)
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
        responses=_ERROR_RESPONSES,
        # FastAPI's own /docs loads Swagger UI from a CDN: ours serves the bundled files.
        docs_url=None,
        redoc_url=None,
    )
    app.state.metrics = metrics
    # Last added runs first: metrics see every answer, headers go on every answer, and
    # the write guard answers before the route reads a body.
    app.add_middleware(_WriteGuard, settings=settings)
    app.add_middleware(_SecurityHeaders)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    _install_error_handlers(app)
    _add_read_routes(app)
    _add_document_routes(app)
    _add_ops_routes(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/docs-assets", StaticFiles(directory=_swagger_ui_dir()), name="docs-assets")
    return app


def _swagger_ui_dir() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


def _clean_at_startup(data_dir: Path) -> None:
    """Remove what a killed server or ingest left: its temp upload folders, and (when no
    other writer holds the data directory) incoming folders, orphan uploads and
    snapshots that are neither CURRENT nor the one before it."""
    _clean_upload_temp_dirs()
    removed = clean_leftovers(data_dir, wait=False)
    if removed is None:
        logger.info("another writer holds %s; leftovers are cleaned by its next ingest", data_dir)


def _clean_upload_temp_dirs() -> list[Path]:
    removed = []
    root = Path(tempfile.gettempdir())
    for path in root.glob(_UPLOAD_TMP_PREFIX + "*"):
        if not path.is_dir() or not _abandoned(path):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
        logger.warning("removed temp upload folder %s left by a stopped server", path)
    return removed


def _abandoned(path: Path) -> bool:
    """A temp upload folder whose server process is gone."""
    pid_text = path.name[len(_UPLOAD_TMP_PREFIX) :].split("-", 1)[0]
    if not pid_text.isdigit():
        try:
            return time.time() - path.stat().st_mtime > _LEGACY_TMP_AGE_S
        except OSError:
            return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def _add_read_routes(app: FastAPI) -> None:
    @app.post("/search", response_model=SearchResponse, tags=["search"])
    def search(body: SearchRequest, service: ServiceDep, searcher: SearcherDep) -> SearchResponse:
        """Passages ranked for ``query``, each with its document offsets."""
        started = time.perf_counter()
        query = _check_text(body.query, "query", service.settings)
        mode = body.mode or service.settings.default_mode
        filters = body.filters.to_filters() if body.filters else None
        hits = searcher.search(query, k=body.k, mode=mode, filters=filters)
        return SearchResponse(
            results=[HitOut.from_hit(h) for h in hits], took_ms=_ms_since(started)
        )

    @app.post("/ask", response_model=AskResponse, tags=["search"])
    def ask(body: AskRequest, service: ServiceDep, searcher: SearcherDep) -> AskResponse:
        """One verbatim answering sentence with its citation, or no_answer."""
        started = time.perf_counter()
        question = _check_text(body.question, "question", service.settings)
        result = answer_question(
            searcher,
            service.embedder,
            question,
            k=body.k,
            filters=body.filters.to_filters() if body.filters else None,
            threshold=service.settings.answer_threshold,
            model=service.answer_model,
            tagger=service.tagger,
            mode=body.mode or service.settings.ask_mode,
        )
        return AskResponse.from_result(result, took_ms=_ms_since(started))

    @app.post("/similar", response_model=SimilarResponse, tags=["search"])
    def similar(
        body: SimilarRequest, service: ServiceDep, searcher: SearcherDep
    ) -> SimilarResponse:
        """Closest sentences across documents and languages; near-duplicates collapsed."""
        started = time.perf_counter()
        text = _check_text(body.text, "text", service.settings)
        groups = similar_wordings(
            searcher,
            text,
            k=body.k,
            filters=body.filters.to_filters() if body.filters else None,
            dup_overlap=service.settings.similar_dup_overlap,
        )
        results = [SimilarMatch.from_group(g) for g in groups]
        return SimilarResponse(results=results, took_ms=_ms_since(started))


_DocId = Annotated[str, PathParam(min_length=1, max_length=300, description="document id")]


def _add_document_routes(app: FastAPI) -> None:
    @app.get("/documents", response_model=DocumentList, tags=["documents"])
    def list_documents(
        query: Annotated[DocumentQuery, Query()], searcher: SearcherDep
    ) -> DocumentList:
        """Documents in the index, filtered and paged."""
        docs, total = searcher.documents(
            filters=query.to_filters(), offset=query.offset, limit=query.limit
        )
        return DocumentList(
            items=[DocumentSummary.from_document(d) for d in docs],
            total=total,
            offset=query.offset,
            limit=query.limit,
        )

    @app.get(
        "/documents/{doc_id}",
        response_model=DocumentDetail,
        tags=["documents"],
        responses={404: {"model": ErrorResponse, "description": "no such document"}},
    )
    def get_document(doc_id: _DocId, searcher: SearcherDep) -> DocumentDetail:
        """Metadata and cleaned text; every offset the API returns points into ``text``."""
        doc = searcher.document(doc_id)
        if doc is None:
            raise ApiError(404, "document_not_found", f"no document {doc_id!r} in the index")
        return DocumentDetail.from_document(doc)

    @app.post(
        "/documents",
        response_model=UploadResponse,
        tags=["documents"],
        responses={
            401: {"model": ErrorResponse, "description": "missing or wrong token"},
            403: {"model": ErrorResponse, "description": "writes disabled (no token configured)"},
            413: {
                "model": ErrorResponse,
                "description": "request, file or .docx expansion larger than the limits",
            },
            415: {"model": ErrorResponse, "description": "unsupported file type"},
            503: {"model": ErrorResponse, "description": "write queue full (see Retry-After)"},
        },
    )
    async def upload_documents(
        files: Annotated[
            list[UploadFile], File(description="one or more .txt .md .html .htm .pdf .docx files")
        ],
        _: WriterDep,
        service: ServiceDep,
    ) -> UploadResponse:
        """Add or update documents. All files are checked first; if any is refused the
        index is left as it was. Waits in the write queue (503 + Retry-After when full)."""
        payload = await _read_uploads(files, service.settings)
        report = await service.writes.run(lambda: _ingest_upload(payload, service))
        results = [_file_result(name, report) for name, _ in payload]
        return UploadResponse(
            results=results, snapshot_id=report.snapshot_id, documents=report.documents
        )

    @app.delete(
        "/documents/{doc_id}",
        response_model=DeleteResponse,
        tags=["documents"],
        responses={
            401: {"model": ErrorResponse, "description": "missing or wrong token"},
            403: {"model": ErrorResponse, "description": "writes disabled (no token configured)"},
            404: {"model": ErrorResponse, "description": "no such document"},
        },
    )
    async def delete_document(doc_id: _DocId, _: WriterDep, service: ServiceDep) -> DeleteResponse:
        """Remove a document and its passages from the index (through the write queue)."""

        def delete() -> bool:
            removed = service.indexer().delete(doc_id)
            if removed:
                service.after_write()
            return removed

        if not await service.writes.run(delete):
            raise ApiError(404, "document_not_found", f"no document {doc_id!r} in the index")
        current = service.peek()
        return DeleteResponse(
            deleted=doc_id,
            snapshot_id=current.snapshot_id if current else None,
            documents=current.counts().get("documents", 0) if current else 0,
        )


async def _read_uploads(files: list[UploadFile], settings: Settings) -> list[tuple[str, bytes]]:
    payload: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for upload in files:
        name = _safe_filename(_sent_filename(upload))
        suffix = PurePosixPath(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise ApiError(
                415,
                "unsupported_file_type",
                f"{name}: type {suffix or '(none)'!r} is not supported; "
                f"send one of {', '.join(sorted(SUPPORTED_SUFFIXES))}",
            )
        stem = PurePosixPath(name).stem
        if stem in seen:
            raise ApiError(
                400,
                "duplicate_filename",
                f"{name}: two files in this upload would both become document {stem!r}; rename one",
            )
        seen.add(stem)
        data = await upload.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise ApiError(
                413,
                "file_too_large",
                f"{name} is larger than {settings.max_upload_bytes} bytes "
                "(PARTNERSEARCH_MAX_UPLOAD_BYTES)",
            )
        payload.append((name, data))
    return payload


def _ingest_upload(payload: list[tuple[str, bytes]], service: _Service) -> IngestReport:
    """The write job (writer thread): parse every file, then ingest them all or none.

    The temp folder carries the pid so that a restarted server can tell it is abandoned."""
    with tempfile.TemporaryDirectory(prefix=f"{_UPLOAD_TMP_PREFIX}{os.getpid()}-") as tmp:
        _parse_all(payload, service, Path(tmp))
        report = service.indexer().ingest_files(payload)
        service.after_write()
    return report


def _parse_all(payload: list[tuple[str, bytes]], service: _Service, tmp: Path) -> None:
    """Parse every file before touching the index, so one bad file refuses the whole upload."""
    s = service.settings
    limits = s.read_limits()
    for name, data in payload:
        path = tmp / name
        path.write_bytes(data)
        try:
            parse_file(
                path,
                count_tokens=service.embedder.count_tokens,
                max_tokens=s.chunk_max_tokens,
                overlap_tokens=s.chunk_overlap_tokens,
                limits=limits,
            )
        except IngestError as exc:  # FileLimitError (413) included: the class says which
            # The temp path means nothing to the client: name the uploaded file instead.
            reason = str(exc).replace(str(path), name)
            raise ApiError(exc.status, exc.code, reason) from exc


def _file_result(name: str, report: IngestReport) -> UploadFileResult:
    doc_id = PurePosixPath(name).stem
    for path, reason in report.skipped:
        if PurePosixPath(str(path).replace("\\", "/")).name == name:
            return UploadFileResult(filename=name, status="skipped", reason=reason)
    if doc_id in report.added:
        return UploadFileResult(filename=name, status="added", doc_id=doc_id)
    if doc_id in report.updated:
        return UploadFileResult(filename=name, status="updated", doc_id=doc_id)
    if doc_id in report.unchanged:
        return UploadFileResult(filename=name, status="unchanged", doc_id=doc_id)
    return UploadFileResult(
        filename=name, status="skipped", reason="the indexer did not report this file"
    )


def _add_ops_routes(app: FastAPI) -> None:
    @app.get("/health", response_model=HealthResponse, tags=["ops"])
    def health(service: ServiceDep) -> HealthResponse:
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
                version=app.version,
                writes_queued=service.writes.pending(),
            )
        return HealthResponse(
            status="ok",
            snapshot_id=searcher.snapshot_id,
            model=searcher.model_name,
            counts=dict(searcher.counts()),
            version=app.version,
            writes_queued=service.writes.pending(),
            channels=[
                "dense",
                "lexical",
                *(["use"] if searcher.has_use else []),
                *(["rerank"] if searcher.reranker is not None else []),
            ],
        )

    @app.get(
        "/metrics",
        tags=["ops"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
    )
    def metrics(request: Request) -> Response:
        """Request counts and latency histograms per endpoint, Prometheus text format."""
        return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def index_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> FileResponse:
        """Swagger UI from the bundled swagger-ui files (no CDN, no inline script)."""
        return FileResponse(STATIC_DIR / "docs.html")


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 2)
