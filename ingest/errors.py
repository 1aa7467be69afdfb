"""The project's one error family: every expected failure is a PartnerSearchError.

Each class carries the HTTP status and the stable code the API answers it with, so the
service maps every one of them in one handler and the README's error table is checked
against these classes (tests/test_docs.py).
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


class IndexMismatchError(PartnerSearchError):
    """The index on disk was built with another embedding model, format or channel set."""

    status = 409
    code = "index_mismatch"


class IndexNotFoundError(PartnerSearchError):
    """No complete index snapshot exists in the data directory yet."""

    status = 503
    code = "index_not_ready"


class QueryError(PartnerSearchError):
    """A search request is invalid (empty text, unknown filter value, bad date...)."""

    status = 422
    code = "invalid_query"


class EvalDataError(PartnerSearchError):
    """An evaluation input (gold set, BEIR dataset, previous report) is missing or malformed."""


class AnswerModelError(PartnerSearchError):
    """The answer-selection artifact is missing, corrupt or from another feature set."""

    status = 503
    code = "answer_model_unavailable"
