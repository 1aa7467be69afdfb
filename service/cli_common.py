"""What the CLI's commands share: settings, injected embedders, one-line errors, the
filter options and citations (service.cli registers the commands)."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    from index.types import Filters, Hit
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


K = Annotated[int, typer.Option("--k", "-k", min=1, max=100, help="number of results")]
Json = Annotated[bool, typer.Option("--json", help="print the API's JSON instead of text")]

#: The options search, ask and similar share, declared once: ``query_command`` puts them
#: where a command declares its ``run: QueryRun`` parameter.
QUERY_OPTIONS: dict[str, tuple[Any, Any]] = {
    "k": (K, 10),
    "lang": (Annotated[Lang | None, typer.Option("--lang", help="document language")], None),
    "doc_type": (Annotated[DocType | None, typer.Option("--type", help="document type")], None),
    "date_from": (
        Annotated[
            datetime | None,
            typer.Option("--from", formats=["%Y-%m-%d"], help="earliest document date, YYYY-MM-DD"),
        ],
        None,
    ),
    "date_to": (
        Annotated[
            datetime | None,
            typer.Option("--to", formats=["%Y-%m-%d"], help="latest document date, YYYY-MM-DD"),
        ],
        None,
    ),
    "partner": (
        Annotated[str | None, typer.Option("--partner", help="substring of a partner name")],
        None,
    ),
    "doc_id": (Annotated[str | None, typer.Option("--doc", help="only this document id")], None),
    "as_json": (Json, False),
}
_FILTER_NAMES = ("lang", "doc_type", "date_from", "date_to", "partner", "doc_id")


@dataclass(frozen=True)
class QueryRun:
    """What a query command is handed once its text and options are checked."""

    ctx: typer.Context
    settings: Settings
    filters: Filters | None
    k: int
    as_json: bool

    def open_index(self, *, rerank: bool = False) -> tuple[Embedder, Searcher]:
        """The embedder and Searcher; the reranker is loaded only for a command that reranks."""
        from service.wiring import load_reranker, open_searcher

        # Loaded here, not at import: `partnersearch --help` must not touch the model.
        def load() -> tuple[Embedder, Searcher]:
            embedder, use = embedders(self.ctx, self.settings)
            reranker = load_reranker(self.settings) if rerank else None
            return embedder, open_searcher(self.settings, embedder, use, reranker=reranker)

        return guarded(load)


def query_command(command: Callable[..., None]) -> Callable[..., None]:
    """``command(text, *, run, ...)`` as a typer command: QUERY_OPTIONS stand in the
    signature where ``run`` is, and ``run`` receives them checked, as a QueryRun.

    typer reads one signature per command, so without this each query command would
    declare the eight options again. The text is checked before the filters, so an empty
    query is the first error named.
    """
    signature = inspect.signature(command, eval_str=True)
    text_name = next(iter(signature.parameters))
    params = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    ]
    for param in signature.parameters.values():
        if param.name != "run":
            params.append(param)
            continue
        params += [
            inspect.Parameter(name, param.kind, default=default, annotation=annotation)
            for name, (annotation, default) in QUERY_OPTIONS.items()
        ]

    @functools.wraps(command)
    def wrapper(ctx: typer.Context, **kwargs: Any) -> None:
        given = {name: kwargs.pop(name) for name in QUERY_OPTIONS}
        settings_ = settings()
        check_query(kwargs[text_name], settings_)
        filters = cli_filters({name: given[name] for name in _FILTER_NAMES})
        command(**kwargs, run=QueryRun(ctx, settings_, filters, given["k"], given["as_json"]))

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper


def cli_filters(given: dict[str, Any]) -> Filters | None:
    """The filter options, validated as the API validates its filters (one error line
    and exit 1 when they are not valid)."""
    from pydantic import ValidationError

    from service.schemas import FiltersIn

    dates = {k: v.date() for k in ("date_from", "date_to") if (v := given.get(k)) is not None}
    try:
        filters = FiltersIn(**(given | dates))
    except ValidationError as exc:
        fail(ValueError(exc.errors()[0]["msg"]))
    return filters.to_filters()


def cite(doc_id: str, date: object, start: int, end: int) -> str:
    return f"[{doc_id}, {date or 'undated'}, chars {start}–{end}]"


def print_hits(hits: Sequence[Hit]) -> None:
    """Ranked passages, two lines each: title and citation, then the text on one line."""
    for rank, hit in enumerate(hits, start=1):
        typer.echo(f"{rank}. {hit.title}  {cite(hit.doc_id, hit.date, hit.start, hit.end)}")
        typer.echo(f"   {one_line(hit.text)}")


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
