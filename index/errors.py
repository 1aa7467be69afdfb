"""Errors the index stage raises: a snapshot missing or built otherwise, a bad query."""

from __future__ import annotations

from ingest.errors import PartnerSearchError


class IndexMismatchError(PartnerSearchError, status=409, code="index_mismatch"):
    """The index on disk was built with another embedding model, format or channel set."""


class IndexNotFoundError(PartnerSearchError, status=503, code="index_not_ready"):
    """No complete index snapshot exists in the data directory yet."""


class QueryError(PartnerSearchError, status=422, code="invalid_query"):
    """A search request is invalid (empty text, unknown filter value, bad date...)."""
