"""The HTTP API and web page: ``create_app(settings)`` builds a FastAPI app.

The lifespan loads the embedder, /ask's answer model and spaCy, and opens the index
once; routes receive them through dependencies. Reads go to one thread-safe Searcher
that switches to a newer snapshot when an ingest has published one; writes (upload,
delete) go through one Indexer under one lock. Every error answers
``{"error": {"code", "message"}}`` with a 4xx status
(5xx only for an index that is not there yet or a bug).
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import threading
import time
import unicodedata
from collections.abc import AsyncIterator
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

from index import Indexer, IngestReport, Searcher
from ingest import SUPPORTED_SUFFIXES, parse_file
from ingest.embed import Embedder, load_embedder
from ingest.errors import (
    AnswerModelError,
    IndexMismatchError,
    IndexNotFoundError,
    IngestError,
    ModelBuildError,
    PartnerSearchError,
    QueryError,
)
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
)
from service.settings import Settings
from service.similar import similar_wordings

logger = logging.getLogger(__name__)

__all__ = ["ApiError", "create_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
_MAX_FILENAME = 255


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


# PartnerSearchError subclass -> (status, code); the first matching class wins.
_ERROR_MAP: tuple[tuple[type[PartnerSearchError], int, str], ...] = (
    (QueryError, 400, "invalid_query"),
    (IngestError, 422, "unreadable_file"),
    (IndexNotFoundError, 503, "index_not_ready"),
    (IndexMismatchError, 409, "index_mismatch"),
    (ModelBuildError, 503, "model_unavailable"),
    (AnswerModelError, 503, "answer_model_unavailable"),
    (PartnerSearchError, 400, "bad_request"),
)
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
        400: "invalid query or file name",
        422: "invalid request body, parameters or file",
        503: "no index yet",
    }.items()
}


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    details = extra.pop("details", None)
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=extra.pop("headers", None))


class _Service:
    """What the lifespan puts on ``app.state``: the loaded model, the index, the write lock."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        answer_model: AnswerModel,
        tagger: EntityTagger,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.answer_model = answer_model
        self.tagger = tagger
        self.write_lock = threading.Lock()
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
        s = self.settings
        return Searcher.open(Path(s.data_dir), self.embedder, **s.search_options())

    def after_write(self) -> None:
        with self._read_lock:
            self._checked = time.monotonic()
            self._reload()

    def indexer(self) -> Indexer:
        if self._indexer is None:
            s = self.settings
            self._indexer = Indexer(
                Path(s.data_dir),
                self.embedder,
                max_tokens=s.chunk_max_tokens,
                overlap_tokens=s.chunk_overlap_tokens,
                hnsw_threshold=s.hnsw_threshold,
            )
        return self._indexer

    def peek(self) -> Searcher | None:
        return self._searcher


def _service(request: Request) -> _Service:
    return request.app.state.service


ServiceDep = Annotated[_Service, Depends(_service)]


def _searcher(service: ServiceDep) -> Searcher:
    return service.searcher()


SearcherDep = Annotated[Searcher, Depends(_searcher)]

_bearer = HTTPBearer(auto_error=False, description="PARTNERSEARCH_API_TOKEN")


def _require_writer(
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
    if not text.strip():
        raise ApiError(422, "empty_query", f"{field} is empty; type a few words")
    if len(text) > settings.max_query_chars:
        raise ApiError(
            422,
            "query_too_long",
            f"{field} has {len(text)} characters; the limit is {settings.max_query_chars} "
            "(PARTNERSEARCH_MAX_QUERY_CHARS)",
        )
    return text


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


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, headers=exc.headers)

    @app.exception_handler(PartnerSearchError)
    async def _domain_error(_: Request, exc: PartnerSearchError) -> JSONResponse:
        for cls, status, code in _ERROR_MAP:
            if isinstance(exc, cls):
                return _error(status, code, str(exc))
        return _error(400, "bad_request", str(exc))  # pragma: no cover - the map ends with the base

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _validation_message(exc)
        return _error(422, "invalid_request", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return _error(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal_error", "internal error; the server log has the details")


def create_app(settings: Settings, *, embedder: Embedder | None = None) -> FastAPI:
    """Build the app. ``embedder`` is injectable for tests; otherwise the lifespan loads
    ``settings.model``. Nothing is loaded until the app starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = embedder
        if model is None:
            model = await run_in_threadpool(
                load_embedder,
                settings.model,
                cache_dir=Path(settings.cache),
                batch_size=settings.batch_size,
            )
        # A missing or corrupt answer artifact stops start-up with the file and the fix.
        answer_model = await run_in_threadpool(load_answer_model, settings.answer_model_path())
        tagger = await run_in_threadpool(load_entity_tagger)
        service = _Service(settings, model, answer_model, tagger)
        await run_in_threadpool(service.open)
        app.state.service = service
        logger.info("serving index %s with model %s", settings.data_dir, model.name)
        yield

    metrics = Metrics()
    app = FastAPI(
        title="PartnerSearch",
        version=_project_version(),
        summary="Cited search and extractive answers over FR/EN partnership documents.",
        lifespan=lifespan,
        responses=_ERROR_RESPONSES,
    )
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    _install_error_handlers(app)
    _add_read_routes(app)
    _add_document_routes(app)
    _add_ops_routes(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


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
            413: {"model": ErrorResponse, "description": "file larger than the limit"},
            415: {"model": ErrorResponse, "description": "unsupported file type"},
        },
    )
    def upload_documents(
        files: Annotated[
            list[UploadFile], File(description="one or more .txt .md .html .htm .pdf .docx files")
        ],
        _: WriterDep,
        service: ServiceDep,
    ) -> UploadResponse:
        """Add or update documents. All files are checked first; if any is refused the
        index is left as it was."""
        payload = _read_uploads(files, service.settings)
        _parse_all(payload, service)
        with service.write_lock:
            report = service.indexer().ingest_files(payload)
            service.after_write()
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
    def delete_document(doc_id: _DocId, _: WriterDep, service: ServiceDep) -> DeleteResponse:
        """Remove a document and its passages from the index."""
        with service.write_lock:
            removed = service.indexer().delete(doc_id)
            if removed:
                service.after_write()
        if not removed:
            raise ApiError(404, "document_not_found", f"no document {doc_id!r} in the index")
        current = service.peek()
        return DeleteResponse(
            deleted=doc_id,
            snapshot_id=current.snapshot_id if current else None,
            documents=current.counts().get("documents", 0) if current else 0,
        )


def _read_uploads(files: list[UploadFile], settings: Settings) -> list[tuple[str, bytes]]:
    payload: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for upload in files:
        name = _safe_filename(upload.filename)
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
        data = upload.file.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise ApiError(
                413,
                "file_too_large",
                f"{name} is larger than {settings.max_upload_bytes} bytes "
                "(PARTNERSEARCH_MAX_UPLOAD_BYTES)",
            )
        payload.append((name, data))
    return payload


def _parse_all(payload: list[tuple[str, bytes]], service: _Service) -> None:
    """Parse every file before touching the index, so one bad file refuses the whole upload."""
    s = service.settings
    with tempfile.TemporaryDirectory(prefix="partnersearch-upload-") as tmp:
        for name, data in payload:
            path = Path(tmp) / name
            path.write_bytes(data)
            try:
                parse_file(
                    path,
                    count_tokens=service.embedder.count_tokens,
                    max_tokens=s.chunk_max_tokens,
                    overlap_tokens=s.chunk_overlap_tokens,
                )
            except IngestError as exc:
                # The temp path means nothing to the client: name the uploaded file instead.
                reason = str(exc).replace(str(path), name)
                raise ApiError(422, "unreadable_file", reason) from exc


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
            )
        return HealthResponse(
            status="ok",
            snapshot_id=searcher.snapshot_id,
            model=searcher.model_name,
            counts=dict(searcher.counts()),
            version=app.version,
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


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 2)
