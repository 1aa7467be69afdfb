"""The service's errors, and the one place that turns any error into its JSON answer.

Every answer that is not a success is ``{"error": {"code", "message"}}`` with the status
the error carries: a PartnerSearchError subclass carries its status and code on the
class (``ingest.errors``, ``index.errors``, ...); an ``ApiError`` carries them per
instance, for the refusals only the HTTP layer makes (a token, a name sent twice in one
upload, a full queue).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingest.errors import PartnerSearchError
from service.schemas import ErrorResponse

logger = logging.getLogger(__name__)

__all__ = [
    "ERROR_RESPONSES",
    "AnswerModelError",
    "ApiError",
    "error_response",
    "install_error_handlers",
]


class AnswerModelError(PartnerSearchError, status=503, code="answer_model_unavailable"):
    """The answer-selection artifact is missing, corrupt or from another feature set."""


class ApiError(PartnerSearchError):
    """A refusal the HTTP layer makes, with its status, stable code and optional headers."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status  # type: ignore[misc]  # per instance, not per class
        self.code = code  # type: ignore[misc]
        self.headers = headers


# Starlette's own refusals (a route that does not exist, a wrong method...).
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}

#: The error answers every route may give, for the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": desc}
    for code, desc in {
        400: "invalid file name",
        422: "invalid request body, parameters, filters or file",
        503: "no index yet, or the write queue is full (Retry-After)",
    }.items()
}


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """The one error body; ``details`` and ``headers`` are optional extras."""
    body: dict[str, Any] = {"code": code, "message": message}
    details = extra.pop("details", None)
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=extra.pop("headers", None))


def _validation_message(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    details = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err.get("loc", ()))
        details.append({"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type"))})
    first = details[0] if details else {"loc": "request", "msg": "invalid"}
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"{first['loc']}: {first['msg']}{more}", details


def install_error_handlers(app: FastAPI, *, bug_headers: Mapping[str, str]) -> None:
    """Map every error to its answer. ``bug_headers`` go on the 500, which is answered
    outside the middleware stack that adds them to every other response."""

    @app.exception_handler(PartnerSearchError)
    async def _known(_: Request, exc: PartnerSearchError) -> JSONResponse:
        headers = exc.headers if isinstance(exc, ApiError) else None
        return error_response(exc.status, exc.code, str(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, details = _validation_message(exc)
        return error_response(422, "invalid_request", message, details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or _STATUS_CODES.get(
            exc.status_code, f"http_{exc.status_code}"
        )
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            500,
            "internal_error",
            "internal error; the server log has the details",
            headers=dict(bug_headers),
        )
