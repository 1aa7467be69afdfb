"""Errors the service raises, and the one place that turns any error into its JSON answer."""

from __future__ import annotations

from ingest.errors import PartnerSearchError


class AnswerModelError(PartnerSearchError):
    """The answer-selection artifact is missing, corrupt or from another feature set."""

    status = 503
    code = "answer_model_unavailable"
