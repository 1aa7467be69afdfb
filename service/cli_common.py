"""What the CLI's commands share: settings, injected embedders, one-line errors, the
filter options and citations (service.cli registers the commands)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from ingest.errors import PartnerSearchError
from ingest.types import DocType, Lang
from service.settings import Settings

T = TypeVar("T")

if TYPE_CHECKING:
    from index import Searcher
    from index.types import Filters
    from ingest.embed import Embedder


def settings() -> Settings:
    return Settings()


def embedders(ctx: typer.Context, settings: Settings) -> tuple[Embedder, Embedder | None]:
    """The embedders a command uses: ``ctx.obj["embedders"](settings)`` when the caller
    injected a factory (tests: ``CliRunner().invoke(app, args, obj={"embedders": f})``),
    else what the settings name (service.wiring)."""
    factory = (ctx.obj or {}).get("embedders")
    if factory is not None:
        return factory(settings)
    from service.wiring import load_embedders

    return load_embedders(settings)


def injected(ctx: typer.Context, settings: Settings) -> dict[str, Embedder | None]:
    """Keyword arguments handing injected embedders to eval's entry points (none: they
    load the settings' own after checking their inputs)."""
    if (ctx.obj or {}).get("embedders") is None:
        return {}
    embedder, use = embedders(ctx, settings)
    return {"embedder": embedder, "use_embedder": use}


def guarded(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call(*args, **kwargs)``, or one error line and exit 1 on a PartnerSearchError."""
    try:
        return call(*args, **kwargs)
    except PartnerSearchError as exc:
        fail(exc)


def timed(call: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    """``guarded(call, ...)`` and how long it took, in ms (the API's ``took_ms``)."""
    started = time.perf_counter()
    result = guarded(call, *args, **kwargs)
    return result, round((time.perf_counter() - started) * 1000, 2)


def default_piaf() -> Path:
    """The suite's PIAF folder: ``$PARTNERSEARCH_EVALDATA`` or ``../shared/evaldata`` beside
    the repository (not the current directory), as ``eval`` finds the suite."""
    from eval.run import default_evaldata_dir

    return default_evaldata_dir() / "piaf_v1.1"


def fail(exc: Exception) -> NoReturn:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=1)


FilterLang = Annotated[Lang | None, typer.Option("--lang", help="document language")]
FilterType = Annotated[DocType | None, typer.Option("--type", help="document type")]
FilterFrom = Annotated[
    datetime | None,
    typer.Option("--from", formats=["%Y-%m-%d"], help="earliest document date, YYYY-MM-DD"),
]
FilterTo = Annotated[
    datetime | None,
    typer.Option("--to", formats=["%Y-%m-%d"], help="latest document date, YYYY-MM-DD"),
]
FilterPartner = Annotated[str | None, typer.Option("--partner", help="substring of a partner name")]
FilterDoc = Annotated[str | None, typer.Option("--doc", help="only this document id")]
K = Annotated[int, typer.Option("--k", "-k", min=1, max=100, help="number of results")]
Json = Annotated[bool, typer.Option("--json", help="print the API's JSON instead of text")]


def cli_filters(
    lang: str | None,
    doc_type: str | None,
    date_from: datetime | None,
    date_to: datetime | None,
    partner: str | None,
    doc_id: str | None,
) -> Filters | None:
    from pydantic import ValidationError

    from service.schemas import FiltersIn

    try:
        filters = FiltersIn(
            lang=lang,
            doc_type=doc_type,
            date_from=date_from.date() if date_from else None,
            date_to=date_to.date() if date_to else None,
            partner=partner,
            doc_id=doc_id,
        )
    except ValidationError as exc:
        fail(ValueError(exc.errors()[0]["msg"]))
    return filters.to_filters()


def open_index(
    ctx: typer.Context, settings: Settings, *, rerank: bool = False
) -> tuple[Embedder, Searcher]:
    """The embedder and Searcher; the reranker is loaded only for a command that reranks."""
    from service.wiring import load_reranker, open_searcher

    # Loaded here, not at import: `partnersearch --help` must not touch the model.
    embedder, use = embedders(ctx, settings)
    reranker = load_reranker(settings) if rerank else None
    return embedder, open_searcher(settings, embedder, use, reranker=reranker)


def cite(doc_id: str, date: object, start: int, end: int) -> str:
    return f"[{doc_id}, {date or 'undated'}, chars {start}–{end}]"


def one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def check_query(text: str, settings: Settings) -> None:
    from service.schemas import is_blank

    if is_blank(text):
        fail(ValueError("the query is empty; type a few words"))
    if len(text) > settings.max_query_chars:
        fail(
            ValueError(
                f"the query has {len(text)} characters; the limit is "
                f"{settings.max_query_chars} (PARTNERSEARCH_MAX_QUERY_CHARS)"
            )
        )
