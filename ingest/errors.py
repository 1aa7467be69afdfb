"""The base of the project's one error family, and the ingest stage's own errors.

Every expected failure is a PartnerSearchError. Each class carries the HTTP status and
the stable code the API answers it with, so the service maps every one of them in one
handler and the README's error table is checked against these classes
(tests/test_docs.py). Each package keeps the errors it raises: ``index.errors``,
``eval.errors``, ``service.errors``; this one is the first stage, so the base lives here.
"""

from __future__ import annotations

from typing import ClassVar


class PartnerSearchError(Exception):
    """Base of every error PartnerSearch raises on purpose; the message names value and fix.

    A subclass names its answer in its header:
    ``class IndexNotFoundError(PartnerSearchError, status=503, code="index_not_ready")``;
    one that names none answers as its parent does.
    """

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None) -> None:
        super().__init_subclass__()
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code


class ModelBuildError(PartnerSearchError, status=503, code="model_unavailable"):
    """The embedding model could not be built or loaded."""


class IngestError(PartnerSearchError, status=422, code="unreadable_file"):
    """One input file could not be read or cleaned; the run goes on with the others."""


class FileLimitError(IngestError, status=413, code="file_over_limits"):
    """An input file is over a size or complexity limit (a .docx that expands too far)."""


class FileNameError(IngestError, status=400, code="bad_filename"):
    """An upload's file name is not a plain name (directories, a leading dot, control
    characters); refused, never repaired."""


class UnsupportedFileTypeError(IngestError, status=415, code="unsupported_file_type"):
    """A file type PartnerSearch cannot read."""
