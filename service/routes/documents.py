"""Document routes: list and read what is indexed; upload and delete through the write queue.

An upload is checked in full before anything is indexed: every file name (one rule,
``ingest.check_upload_name``), size and type, then every file parsed once in the
writer thread; one refused file refuses the whole upload and leaves the index as it was.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi import Path as PathParam

from index import IngestReport
from ingest import check_upload_name
from service.errors import ApiError
from service.schemas import (
    DeleteResponse,
    DocumentDetail,
    DocumentList,
    DocumentQuery,
    DocumentSummary,
    ErrorResponse,
    UploadFileResult,
    UploadResponse,
)
from service.settings import Settings
from service.state import SearcherDep, ServiceDep, ServiceState, WriterDep
from service.uploads import sent_filename

router = APIRouter(tags=["documents"])

_DocId = Annotated[str, PathParam(min_length=1, max_length=300, description="document id")]
_WRITE_REFUSALS = {
    401: {"model": ErrorResponse, "description": "missing or wrong token"},
    403: {"model": ErrorResponse, "description": "writes disabled (no token configured)"},
}


@router.get("/documents", response_model=DocumentList)
def list_documents(query: Annotated[DocumentQuery, Query()], searcher: SearcherDep) -> DocumentList:
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


@router.get(
    "/documents/{doc_id}",
    response_model=DocumentDetail,
    responses={404: {"model": ErrorResponse, "description": "no such document"}},
)
def get_document(doc_id: _DocId, searcher: SearcherDep) -> DocumentDetail:
    """Metadata and cleaned text; every offset the API returns points into ``text``."""
    doc = searcher.document(doc_id)
    if doc is None:
        raise _not_found(doc_id)
    return DocumentDetail.from_document(doc)


@router.post(
    "/documents",
    response_model=UploadResponse,
    responses={
        **_WRITE_REFUSALS,
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


@router.delete(
    "/documents/{doc_id}",
    response_model=DeleteResponse,
    responses={**_WRITE_REFUSALS, 404: {"model": ErrorResponse, "description": "no such document"}},
)
async def delete_document(doc_id: _DocId, _: WriterDep, service: ServiceDep) -> DeleteResponse:
    """Remove a document and its passages from the index (through the write queue)."""

    def delete() -> bool:
        removed = service.indexer().delete(doc_id)
        if removed:
            service.after_write()
        return removed

    if not await service.writes.run(delete):
        raise _not_found(doc_id)
    current = service.peek()
    return DeleteResponse(
        deleted=doc_id,
        snapshot_id=current.snapshot_id if current else None,
        documents=current.counts().get("documents", 0) if current else 0,
    )


def _not_found(doc_id: str) -> ApiError:
    return ApiError(404, "document_not_found", f"no document {doc_id!r} in the index")


async def _read_uploads(files: list[UploadFile], settings: Settings) -> list[tuple[str, bytes]]:
    """Every file's checked name and bytes, or the first refusal (nothing is indexed)."""
    payload: list[tuple[str, bytes]] = []
    seen: set[str] = set()
    for upload in files:
        name = check_upload_name(sent_filename(upload))
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


def _ingest_upload(payload: list[tuple[str, bytes]], service: ServiceState) -> IngestReport:
    """The write job (writer thread): parse every file once, then index them all or none.
    A file that does not parse raises its IngestError, whose class carries the answer."""
    indexer = service.indexer()
    uploads = [indexer.parse_upload(name, data) for name, data in payload]
    report = indexer.ingest_uploads(uploads)
    service.after_write()
    return report


def _file_result(name: str, report: IngestReport) -> UploadFileResult:
    doc_id = PurePosixPath(name).stem
    for path, reason in report.skipped:
        if PurePosixPath(str(path).replace("\\", "/")).name == name:
            return UploadFileResult(filename=name, status="skipped", reason=reason)
    for status, ids in (
        ("added", report.added),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
    ):
        if doc_id in ids:
            return UploadFileResult(filename=name, status=status, doc_id=doc_id)
    return UploadFileResult(
        filename=name, status="skipped", reason="the indexer did not report this file"
    )
