"""Errors the index stage raises: a snapshot missing or built otherwise, a bad query."""

from __future__ import annotations

from ingest.errors import PartnerSearchError


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
