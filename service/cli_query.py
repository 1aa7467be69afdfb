"""The query commands: search, ask and similar, each printing text or the API's JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from index.types import AskMode, Mode
from service import cli_common as common


def search_cmd(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="words or a question, French or English")],
    k: common.K = 10,
    mode: Annotated[
        Mode | None, typer.Option(help="retrieval mode (default PARTNERSEARCH_DEFAULT_MODE)")
    ] = None,
    lang: common.FilterLang = None,
    doc_type: common.FilterType = None,
    date_from: common.FilterFrom = None,
    date_to: common.FilterTo = None,
    partner: common.FilterPartner = None,
    doc: common.FilterDoc = None,
    as_json: common.Json = False,
) -> None:
    """Ranked passages, each cited by document id, date and character span."""
    from service.schemas import HitOut, SearchResponse

    settings = common.settings()
    common.check_query(query, settings)
    filters = common.cli_filters(lang, doc_type, date_from, date_to, partner, doc)
    chosen = mode or settings.default_mode
    _, searcher = common.guarded(common.open_index, ctx, settings, rerank=chosen == "rerank")
    hits, took = common.timed(searcher.search, query, k=k, mode=chosen, filters=filters)
    if as_json:
        response = SearchResponse(results=[HitOut.from_hit(h) for h in hits], took_ms=took)
        typer.echo(response.model_dump_json(indent=2))
        return
    if not hits:
        typer.echo("no results")
    for rank, hit in enumerate(hits, start=1):
        typer.echo(f"{rank}. {hit.title}  {common.cite(hit.doc_id, hit.date, hit.start, hit.end)}")
        typer.echo(f"   {common.one_line(hit.text)}")


def ask_cmd(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="a question, French or English")],
    k: common.K = 10,
    lang: common.FilterLang = None,
    doc_type: common.FilterType = None,
    date_from: common.FilterFrom = None,
    date_to: common.FilterTo = None,
    partner: common.FilterPartner = None,
    doc: common.FilterDoc = None,
    as_json: common.Json = False,
    mode: Annotated[
        AskMode | None,
        typer.Option(help="retrieval read: hybrid or rerank (default PARTNERSEARCH_ASK_MODE)"),
    ] = None,
) -> None:
    """One verbatim answering sentence with its citation, or 'no answer'."""
    from service.answer import answer_question
    from service.answer_model import load_answer_model
    from service.schemas import AskResponse

    settings = common.settings()
    common.check_query(question, settings)
    filters = common.cli_filters(lang, doc_type, date_from, date_to, partner, doc)
    model = common.guarded(load_answer_model, settings.answer_model_path())
    chosen = mode or settings.ask_mode
    embedder, searcher = common.guarded(common.open_index, ctx, settings, rerank=chosen == "rerank")
    result, took = common.timed(
        answer_question,
        searcher,
        embedder,
        question,
        k=k,
        filters=filters,
        threshold=settings.answer_threshold,
        model=model,
        mode=chosen,
    )
    if as_json:
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
    for rank, p in enumerate(result.passages, start=1):
        h = p.hit
        typer.echo(f"{rank}. {h.title}  {common.cite(h.doc_id, h.date, h.start, h.end)}")
        typer.echo(f"   {common.one_line(p.hit.text)}")


def similar_cmd(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="a sentence to find precedent wordings for")],
    k: common.K = 10,
    lang: common.FilterLang = None,
    doc_type: common.FilterType = None,
    date_from: common.FilterFrom = None,
    date_to: common.FilterTo = None,
    partner: common.FilterPartner = None,
    doc: common.FilterDoc = None,
    as_json: common.Json = False,
) -> None:
    """Closest earlier sentences across documents and languages, duplicates collapsed."""
    from service.schemas import SimilarMatch, SimilarResponse
    from service.similar import similar_wordings

    settings = common.settings()
    common.check_query(text, settings)
    filters = common.cli_filters(lang, doc_type, date_from, date_to, partner, doc)
    _, searcher = common.guarded(common.open_index, ctx, settings)
    groups, took = common.timed(
        similar_wordings,
        searcher,
        text,
        k=k,
        filters=filters,
        dup_overlap=settings.similar_dup_overlap,
    )
    if as_json:
        matches = [SimilarMatch.from_group(g) for g in groups]
        response = SimilarResponse(results=matches, took_ms=took)
        typer.echo(response.model_dump_json(indent=2))
        return
    if not groups:
        typer.echo("no results")
    for rank, group in enumerate(groups, start=1):
        typer.echo(f"{rank}. ({group.best.score:.3f}) {common.one_line(group.best.text, 400)}")
        for occ in group.occurrences:
            typer.echo(f"   {occ.title}  {common.cite(occ.doc_id, occ.date, occ.start, occ.end)}")
