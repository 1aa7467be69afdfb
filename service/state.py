"""What a running server holds, and how routes get it: the loaded components, the
current Searcher, the write queue, and the FastAPI dependencies that hand them out.

Reads go to one thread-safe Searcher that switches to a newer snapshot when an ingest
has published one. Writes (upload, delete) wait in a bounded queue served by one writer
thread, so a queued write never holds a thread that serves reads; a full queue answers
503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from index import Indexer, Searcher, clean_leftovers
from index.errors import IndexNotFoundError
from index.rerank import PairScorer
from ingest.embed import Embedder
from service.answer_model import AnswerModel
from service.errors import ApiError
from service.middleware import token_refusal
from service.nlp import EntityTagger
from service.schemas import is_blank
from service.settings import Settings
from service.wiring import make_indexer, open_searcher

logger = logging.getLogger(__name__)

__all__ = [
    "SearcherDep",
    "ServiceDep",
    "ServiceState",
    "WriteQueue",
    "WriterDep",
    "check_text",
    "clean_at_startup",
    "ms_since",
]

# Older versions parsed uploads in temp folders named so; a killed one could leave them.
_UPLOAD_TMP_PREFIX = "partnersearch-upload-"
# A temp folder named without a pid (older versions) is taken as abandoned after this long.
_LEGACY_TMP_AGE_S = 3600.0


class WriteQueue:
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


class ServiceState:
    """What the lifespan puts on ``app.state``: the loaded models, the index, the write queue."""

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
        self.writes = WriteQueue(settings.write_queue_size, settings.write_retry_after_s)
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
        """Serve the snapshot a write has just published."""
        with self._read_lock:
            self._checked = time.monotonic()
            self._reload()

    def indexer(self) -> Indexer:
        if self._indexer is None:
            self._indexer = make_indexer(self.settings, self.embedder, self.use_embedder)
        return self._indexer

    def peek(self) -> Searcher | None:
        """The Searcher as it is, without a refresh (None before any index exists)."""
        return self._searcher


# async: a sync dependency would take a threadpool thread, the ones reads need.
async def _service(request: Request) -> ServiceState:
    return request.app.state.service


ServiceDep = Annotated[ServiceState, Depends(_service)]


def _searcher(service: ServiceDep) -> Searcher:
    return service.searcher()


SearcherDep = Annotated[Searcher, Depends(_searcher)]

_bearer = HTTPBearer(auto_error=False, description="PARTNERSEARCH_API_TOKEN")


async def _require_writer(
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    # The write guard has refused most bad requests already; this is the route's own
    # check, and what declares the bearer scheme in the OpenAPI schema.
    refusal = token_refusal(service.settings, credentials.credentials if credentials else None)
    if refusal is not None:
        raise refusal


WriterDep = Annotated[None, Depends(_require_writer)]


def check_text(text: str, field: str, settings: Settings) -> str:
    """``text`` if it has something to search for and is within the length limit."""
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


def ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000.0, 2)


def clean_at_startup(data_dir: Path) -> None:
    """Remove what a killed server or ingest left: temp upload folders of older versions,
    and (when no other writer holds the data directory) incoming folders, orphan uploads
    and snapshots that are neither CURRENT nor the one before it."""
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
