"""ASGI middleware: security headers on every response, and the checks a write request
passes before a byte of its body is read (token, Content-Length, a running size cap)."""

from __future__ import annotations

import secrets

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import ApiError, error_response
from service.settings import Settings

__all__ = ["SECURITY_HEADERS", "SecurityHeaders", "WriteGuard", "token_refusal"]

# Every response: the page and /docs load only their own files, are never framed, and
# nothing is sniffed into another type. 'data:' images are Swagger UI's inline icons.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def token_refusal(settings: Settings, given: str | None) -> ApiError | None:
    """Why a write with bearer token ``given`` is refused, or None when it may go on.
    The one token rule: the write guard and the route dependency both ask it."""
    token = settings.api_token
    if not token:
        return ApiError(
            403,
            "writes_disabled",
            "write endpoints are disabled; set PARTNERSEARCH_API_TOKEN on the server to enable",
        )
    if given is None or not secrets.compare_digest(given.encode(), token.encode()):
        return ApiError(
            401,
            "unauthorized",
            "missing or wrong bearer token: send 'Authorization: Bearer <PARTNERSEARCH_API_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return None


class _BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` once a write body passes the cap (FastAPI re-raises HTTP
    exceptions from body parsing, so it reaches the handler as a 413)."""

    code = "request_too_large"


def _is_write(scope: Scope) -> bool:
    path = scope.get("path", "")
    return scope.get("method") in {"POST", "DELETE"} and (
        path == "/documents" or path.startswith("/documents/")
    )


class WriteGuard:
    """Token and size checks for write requests before a byte of their body is read:
    FastAPI parses a multipart body before any dependency runs, so a 401 from the route
    would come after a 200 MB upload had been spooled to disk."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_write(scope):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            response = error_response(
                refusal.status, refusal.code, str(refusal), headers=refusal.headers
            )
            await response(scope, receive, send)
            return
        limit = self.settings.max_request_bytes
        seen = 0

        async def capped_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge(413, _too_large(limit))
            return message

        await self.app(scope, capped_receive, send)

    def _refusal(self, scope: Scope) -> ApiError | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        scheme, _, given = headers.get("authorization", "").partition(" ")
        refusal = token_refusal(
            self.settings, given.strip() if scheme.lower() == "bearer" else None
        )
        if refusal is not None:
            return refusal
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                return ApiError(400, "bad_request", f"Content-Length {length!r} is not a number")
            if int(length) > self.settings.max_request_bytes:
                return ApiError(
                    413, "request_too_large", _too_large(self.settings.max_request_bytes)
                )
        return None


def _too_large(limit: int) -> str:
    return (
        f"request body is larger than {limit} bytes (PARTNERSEARCH_MAX_REQUEST_BYTES); "
        "upload fewer or smaller files per request"
    )


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response the app sends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self._headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
