"""Service: the HTTP API, the web page and the command line over the index.

``create_app(settings)`` builds the FastAPI app (cited /search, extractive /ask,
precedent-wording /similar, document management, /health, /metrics, the page at /);
``answer_question`` is the extractive answerer the API and the evaluation share.
Both are imported lazily so that ``service.settings`` and the CLI stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["AnswerResult", "Settings", "answer_question", "create_app"]

if TYPE_CHECKING:
    from service.answer import AnswerResult, answer_question
    from service.app import create_app
    from service.settings import Settings


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from service.app import create_app

        return create_app
    if name in {"answer_question", "AnswerResult"}:
        from service import answer

        return getattr(answer, name)
    if name == "Settings":
        from service.settings import Settings

        return Settings
    raise AttributeError(f"module 'service' has no attribute {name!r}")
