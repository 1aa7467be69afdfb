"""The query commands: search, ask and similar, each printing text or the API's JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from index.types import AskMode, Mode
from service import cli_common as common
from service.cli_common import QueryRun


@common.query_command
def search_cmd(
    query: Annotated[str, typer.Argument(help="words or a question, French or English")],
    *,
    run: QueryRun,
    mode: Annotated[
        Mode | None, typer.Option(help="retrieval mode (default PARTNERSEARCH_DEFAULT_MODE)")
    ] = None,
) -> None:
    """Ranked passages, each cited by document id, date and character span."""
    from service.schemas import HitOut, SearchResponse

    chosen = mode or run.settings.default_mode
    _, searcher = run.open_index(rerank=chosen == "rerank")
    hits, took = common.timed(searcher.search, query, k=run.k, mode=chosen, filters=run.filters)
    if run.as_json:
        response = SearchResponse(results=[HitOut.from_hit(h) for h in hits], took_ms=took)
        typer.echo(response.model_dump_json(indent=2))
        return
    if not hits:
        typer.echo("no results")
    common.print_hits(hits)


@common.query_command
def ask_cmd(
    question: Annotated[str, typer.Argument(help="a question, French or English")],
    *,
    run: QueryRun,
    mode: Annotated[
        AskMode | None,
        typer.Option(help="retrieval read: hybrid or rerank (default PARTNERSEARCH_ASK_MODE)"),
    ] = None,
) -> None:
    """One verbatim answering sentence with its citation, or 'no answer'."""
    from service import queries
    from service.answer_model import load_answer_model
    from service.schemas import AskResponse

    settings = run.settings
    model = common.guarded(load_answer_model, settings.answer_model_path())
    chosen = mode or settings.ask_mode
    embedder, searcher = run.open_index(rerank=chosen == "rerank")
    result, took = common.timed(
        queries.ask,
        settings,
        searcher,
        embedder,
        question,
        k=run.k,
        filters=run.filters,
        mode=chosen,
        model=model,
    )
    if run.as_json:
        typer.echo(AskResponse.from_result(result, took_ms=took).model_dump_json(indent=2))
        return
    if result.answer is None:
        typer.echo(
            f"no answer (confidence {result.confidence:.2f} < threshold "
            f"{settings.answer_threshold:.2f})"
        )
    else:
        s = result.answer.sentence
        typer.echo(f"answer (confidence {result.confidence:.2f}):")
        typer.echo(f"  {common.one_line(s.text, 600)}")
        hit = result.answer.hit
        typer.echo(f"  {hit.title}  {common.cite(s.doc_id, hit.date, s.start, s.end)}")
        if result.span is not None:
            sp = result.span
            typer.echo(f"  {sp.type}: {sp.text}  [chars {sp.start}–{sp.end}]")
    if result.passages:
        typer.echo("supporting passages:")
    common.print_hits([p.hit for p in result.passages])


@common.query_command
def similar_cmd(
    text: Annotated[str, typer.Argument(help="a sentence to find precedent wordings for")],
    *,
    run: QueryRun,
) -> None:
    """Closest earlier sentences across documents and languages, duplicates collapsed."""
    from service import queries
    from service.schemas import SimilarMatch, SimilarResponse

    _, searcher = run.open_index()
    groups, took = common.timed(
        queries.similar, run.settings, searcher, text, k=run.k, filters=run.filters
    )
    if run.as_json:
        matches = [SimilarMatch.from_group(g) for g in groups]
        typer.echo(SimilarResponse(results=matches, took_ms=took).model_dump_json(indent=2))
        return
    if not groups:
        typer.echo("no results")
    for rank, group in enumerate(groups, start=1):
        typer.echo(f"{rank}. ({group.best.score:.3f}) {common.one_line(group.best.text, 400)}")
        for occ in group.occurrences:
            typer.echo(f"   {occ.title}  {common.cite(occ.doc_id, occ.date, occ.start, occ.end)}")
