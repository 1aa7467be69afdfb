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
    """Base of every error PartnerSearch raises on purpose; the message names value and fix."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"


class ModelBuildError(PartnerSearchError):
    """The embedding model could not be built or loaded."""

    status = 503
    code = "model_unavailable"


class IngestError(PartnerSearchError):
    """One input file could not be read or cleaned; the run goes on with the others."""

    status = 422
    code = "unreadable_file"


class FileLimitError(IngestError):
    """An input file is over a size or complexity limit (a .docx that expands too far)."""

    status = 413
    code = "file_over_limits"


class FileNameError(IngestError):
    """An upload's file name is not a plain name (directories, a leading dot, control
    characters); refused, never repaired."""

    status = 400
    code = "bad_filename"


class UnsupportedFileTypeError(IngestError):
    """A file type PartnerSearch cannot read."""

    status = 415
    code = "unsupported_file_type"
