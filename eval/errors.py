"""Errors the eval harness raises: an evaluation input missing or malformed."""

from __future__ import annotations

from ingest.errors import PartnerSearchError


class EvalDataError(PartnerSearchError):
    """An evaluation input (gold set, BEIR dataset, previous report) is missing or malformed."""
