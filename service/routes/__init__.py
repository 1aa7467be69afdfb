"""The API's routes, one router per area: search (/search, /ask, /similar), documents
(list, read, upload, delete) and ops (/health, /metrics, the page, /docs)."""

from service.routes.documents import router as documents_router
from service.routes.ops import router as ops_router
from service.routes.search import router as search_router

__all__ = ["documents_router", "ops_router", "search_router"]
