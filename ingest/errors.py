"""The project's one error family: every expected failure is a PartnerSearchError."""

from __future__ import annotations


class PartnerSearchError(Exception):
    """Base of every error PartnerSearch raises on purpose; the message names value and fix."""


class ModelBuildError(PartnerSearchError):
    """The embedding model could not be built or loaded."""


class IngestError(PartnerSearchError):
    """One input file could not be read or cleaned; the run goes on with the others."""


class FileLimitError(IngestError):
    """An input file is over a size or complexity limit (a .docx that expands too far)."""


class IndexMismatchError(PartnerSearchError):
    """The index on disk was built with another embedding model or format."""


class IndexNotFoundError(PartnerSearchError):
    """No complete index snapshot exists in the data directory yet."""


class QueryError(PartnerSearchError):
    """A search request is invalid (empty text, unknown filter value, bad date...)."""


class EvalDataError(PartnerSearchError):
    """An evaluation input (gold set, BEIR dataset, previous report) is missing or malformed."""


class AnswerModelError(PartnerSearchError):
    """The answer-selection artifact is missing, corrupt or from another feature set."""
