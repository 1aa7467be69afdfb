"""The ``partnersearch`` command line: one line per error, non-zero exit on failure."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from index.types import AskMode, Mode
from ingest.errors import PartnerSearchError
from ingest.types import DocType, Lang
from service.settings import Settings

if TYPE_CHECKING:
    from index import Searcher
    from index.types import Filters
    from ingest.embed import Embedder

app = typer.Typer(
    add_completion=False, help="PartnerSearch: cited search over FR/EN partnership documents."
)


def _settings() -> Settings:
    return Settings()


def _embedders(ctx: typer.Context, settings: Settings) -> tuple[Embedder, Embedder | None]:
    """The embedders a command uses: ``ctx.obj["embedders"](settings)`` when the caller
    injected a factory (tests: ``CliRunner().invoke(app, args, obj={"embedders": f})``),
    else what the settings name (service.wiring)."""
    factory = (ctx.obj or {}).get("embedders")
    if factory is not None:
        return factory(settings)
    from service.wiring import load_embedders

    return load_embedders(settings)


def _injected(ctx: typer.Context, settings: Settings) -> dict[str, Embedder | None]:
    """Keyword arguments handing injected embedders to eval's entry points (none: they
    load the settings' own after checking their inputs)."""
    if (ctx.obj or {}).get("embedders") is None:
        return {}
    embedder, use = _embedders(ctx, settings)
    return {"embedder": embedder, "use_embedder": use}


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=1)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress details")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command("build-model")
def build_model() -> None:
    """Build (once) the offline multilingual-e5-small model directory and its ONNX float32
    and int8 exports; print both paths."""
    from ingest.model_build import ensure_model_dir
    from ingest.onnx_build import ensure_onnx_dir

    settings = _settings()
    try:
        path = ensure_model_dir(Path(settings.cache))
        onnx_path = ensure_onnx_dir(Path(settings.cache))
    except PartnerSearchError as exc:
        _fail(exc)
    typer.echo(str(path))
    typer.echo(str(onnx_path))


# --- ingest (owner: index) --------------------------------------------------------------------


@app.command("ingest")
def ingest_cmd(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="files or folders (searched recursively)")],
    prune: Annotated[
        bool, typer.Option("--prune", help="remove documents whose files are gone from PATHs")
    ] = False,
    rebuild: Annotated[
        bool,
        typer.Option("--rebuild", help="ignore the existing index (e.g. after changing model)"),
    ] = False,
) -> None:
    """Add or update documents in the index; unchanged files are skipped without embedding.

    Exits 1 only when nothing could be ingested.
    """
    from service.wiring import make_indexer

    settings = _settings()
    try:
        embedder, use = _embedders(ctx, settings)
        indexer = make_indexer(settings, embedder, use, show_progress=sys.stderr.isatty())
        report = indexer.ingest(paths, prune=prune, rebuild=rebuild)
    except PartnerSearchError as exc:
        _fail(exc)
    ok = len(report.added) + len(report.updated) + len(report.unchanged)
    typer.echo(f"files read: {report.files_read}")
    typer.echo(f"skipped: {len(report.skipped)}")
    for path, reason in report.skipped:
        typer.echo(f"  {path}: {reason}")
    typer.echo(
        f"documents: {report.documents} (added {len(report.added)}, updated "
        f"{len(report.updated)}, unchanged {len(report.unchanged)}, removed {len(report.removed)})"
    )
    typer.echo(f"chunks: {report.chunks} ({report.chunks_embedded} embedded)")
    typer.echo(f"sentences: {report.sentences} ({report.sentences_embedded} embedded)")
    langs = ", ".join(f"{lang} {n}" for lang, n in sorted(report.languages.items()))
    typer.echo(f"languages: {langs or 'none'}")
    typer.echo(f"index: {settings.data_dir} (snapshot {report.snapshot_id or 'none'})")
    if ok == 0 and not report.removed:
        typer.echo("error: nothing could be ingested; see the skipped files above", err=True)
        raise typer.Exit(code=1)


# --- service commands: serve, search, ask, similar (owner: service) --------------------------

_FilterLang = Annotated[Lang | None, typer.Option("--lang", help="document language")]
_FilterType = Annotated[DocType | None, typer.Option("--type", help="document type")]
_FilterFrom = Annotated[
    datetime | None,
    typer.Option("--from", formats=["%Y-%m-%d"], help="earliest document date, YYYY-MM-DD"),
]
_FilterTo = Annotated[
    datetime | None,
    typer.Option("--to", formats=["%Y-%m-%d"], help="latest document date, YYYY-MM-DD"),
]
_FilterPartner = Annotated[
    str | None, typer.Option("--partner", help="substring of a partner name")
]
_FilterDoc = Annotated[str | None, typer.Option("--doc", help="only this document id")]
_K = Annotated[int, typer.Option("--k", "-k", min=1, max=100, help="number of results")]
_Json = Annotated[bool, typer.Option("--json", help="print the API's JSON instead of text")]


def _cli_filters(
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
        _fail(ValueError(exc.errors()[0]["msg"]))
    return filters.to_filters()


def _open_index(
    ctx: typer.Context, settings: Settings, *, rerank: bool = False
) -> tuple[Embedder, Searcher]:
    """The embedder and Searcher; the reranker is loaded only for a command that reranks."""
    from service.wiring import load_reranker, open_searcher

    # Loaded here, not at import: `partnersearch --help` must not touch the model.
    embedder, use = _embedders(ctx, settings)
    reranker = load_reranker(settings) if rerank else None
    return embedder, open_searcher(settings, embedder, use, reranker=reranker)


def _cite(doc_id: str, date: object, start: int, end: int) -> str:
    return f"[{doc_id}, {date or 'undated'}, chars {start}–{end}]"


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _check_query(text: str, settings: Settings) -> None:
    from service.schemas import is_blank

    if is_blank(text):
        _fail(ValueError("the query is empty; type a few words"))
    if len(text) > settings.max_query_chars:
        _fail(
            ValueError(
                f"the query has {len(text)} characters; the limit is "
                f"{settings.max_query_chars} (PARTNERSEARCH_MAX_QUERY_CHARS)"
            )
        )


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="interface (default PARTNERSEARCH_HOST)")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="port (default PARTNERSEARCH_PORT)")
    ] = None,
) -> None:
    """Serve the API and the web page (model and index load once at start-up)."""
    import uvicorn

    from service.app import create_app

    settings = _settings()
    typer.echo(f"PartnerSearch on http://{host or settings.host}:{port or settings.port}", err=True)
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port)


@app.command("search")
def search_cmd(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="words or a question, French or English")],
    k: _K = 10,
    mode: Annotated[
        Mode | None, typer.Option(help="retrieval mode (default PARTNERSEARCH_DEFAULT_MODE)")
    ] = None,
    lang: _FilterLang = None,
    doc_type: _FilterType = None,
    date_from: _FilterFrom = None,
    date_to: _FilterTo = None,
    partner: _FilterPartner = None,
    doc: _FilterDoc = None,
    as_json: _Json = False,
) -> None:
    """Ranked passages, each cited by document id, date and character span."""
    import time

    from service.schemas import HitOut, SearchResponse

    settings = _settings()
    _check_query(query, settings)
    filters = _cli_filters(lang, doc_type, date_from, date_to, partner, doc)
    chosen = mode or settings.default_mode
    try:
        _, searcher = _open_index(ctx, settings, rerank=chosen == "rerank")
        started = time.perf_counter()
        hits = searcher.search(query, k=k, mode=chosen, filters=filters)
    except PartnerSearchError as exc:
        _fail(exc)
    took = round((time.perf_counter() - started) * 1000, 2)
    if as_json:
        response = SearchResponse(results=[HitOut.from_hit(h) for h in hits], took_ms=took)
        typer.echo(response.model_dump_json(indent=2))
        return
    if not hits:
        typer.echo("no results")
    for rank, hit in enumerate(hits, start=1):
        typer.echo(f"{rank}. {hit.title}  {_cite(hit.doc_id, hit.date, hit.start, hit.end)}")
        typer.echo(f"   {_one_line(hit.text)}")


@app.command("ask")
def ask_cmd(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="a question, French or English")],
    k: _K = 10,
    lang: _FilterLang = None,
    doc_type: _FilterType = None,
    date_from: _FilterFrom = None,
    date_to: _FilterTo = None,
    partner: _FilterPartner = None,
    doc: _FilterDoc = None,
    as_json: _Json = False,
    mode: Annotated[
        AskMode | None,
        typer.Option(help="retrieval read: hybrid or rerank (default PARTNERSEARCH_ASK_MODE)"),
    ] = None,
) -> None:
    """One verbatim answering sentence with its citation, or 'no answer'."""
    import time

    from service.answer import answer_question
    from service.answer_model import load_answer_model
    from service.schemas import AskResponse

    settings = _settings()
    _check_query(question, settings)
    filters = _cli_filters(lang, doc_type, date_from, date_to, partner, doc)
    try:
        model = load_answer_model(settings.answer_model_path())
        chosen = mode or settings.ask_mode
        embedder, searcher = _open_index(ctx, settings, rerank=chosen == "rerank")
        started = time.perf_counter()
        result = answer_question(
            searcher,
            embedder,
            question,
            k=k,
            filters=filters,
            threshold=settings.answer_threshold,
            model=model,
            mode=chosen,
        )
    except PartnerSearchError as exc:
        _fail(exc)
    took = round((time.perf_counter() - started) * 1000, 2)
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
        typer.echo(f"  {_one_line(s.text, 600)}")
        hit = result.answer.hit
        typer.echo(f"  {hit.title}  {_cite(s.doc_id, hit.date, s.start, s.end)}")
        if result.span is not None:
            sp = result.span
            typer.echo(f"  {sp.type}: {sp.text}  [chars {sp.start}–{sp.end}]")
    if result.passages:
        typer.echo("supporting passages:")
    for rank, p in enumerate(result.passages, start=1):
        h = p.hit
        typer.echo(f"{rank}. {h.title}  {_cite(h.doc_id, h.date, h.start, h.end)}")
        typer.echo(f"   {_one_line(p.hit.text)}")


@app.command("similar")
def similar_cmd(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="a sentence to find precedent wordings for")],
    k: _K = 10,
    lang: _FilterLang = None,
    doc_type: _FilterType = None,
    date_from: _FilterFrom = None,
    date_to: _FilterTo = None,
    partner: _FilterPartner = None,
    doc: _FilterDoc = None,
    as_json: _Json = False,
) -> None:
    """Closest earlier sentences across documents and languages, duplicates collapsed."""
    import time

    from service.schemas import SimilarMatch, SimilarResponse
    from service.similar import similar_wordings

    settings = _settings()
    _check_query(text, settings)
    filters = _cli_filters(lang, doc_type, date_from, date_to, partner, doc)
    try:
        _, searcher = _open_index(ctx, settings)
        started = time.perf_counter()
        groups = similar_wordings(
            searcher, text, k=k, filters=filters, dup_overlap=settings.similar_dup_overlap
        )
    except PartnerSearchError as exc:
        _fail(exc)
    took = round((time.perf_counter() - started) * 1000, 2)
    if as_json:
        matches = [SimilarMatch.from_group(g) for g in groups]
        response = SimilarResponse(results=matches, took_ms=took)
        typer.echo(response.model_dump_json(indent=2))
        return
    if not groups:
        typer.echo("no results")
    for rank, group in enumerate(groups, start=1):
        typer.echo(f"{rank}. ({group.best.score:.3f}) {_one_line(group.best.text, 400)}")
        for occ in group.occurrences:
            typer.echo(f"   {occ.title}  {_cite(occ.doc_id, occ.date, occ.start, occ.end)}")


@app.command("eval")
def eval_cmd(
    ctx: typer.Context,
    suite: Annotated[
        str | None,
        typer.Option(
            "--suite",
            help="'dev': the gold set and every set of the shared evaluation data "
            "(PIAF sampled to 1,000 queries, seed 0)",
        ),
    ] = None,
    evaldata: Annotated[
        Path | None,
        typer.Option("--evaldata", help="folder of the suite's sets [default: ../shared/evaldata]"),
    ] = None,
    beir: Annotated[
        list[Path] | None,
        typer.Option(
            "--beir", help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv); repeatable"
        ),
    ] = None,
    modes: Annotated[
        list[str] | None,
        typer.Option("--modes", help="retrieval modes, comma-separated or repeated [default: all]"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="reports folder [default: eval/reports]")
    ] = None,
    gold: Annotated[
        bool | None,
        typer.Option("--gold/--no-gold", help="score the gold set [default: only without --beir]"),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="folder indexed for the gold set [default: corpus/]"),
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option("--work-dir", help="where eval keeps its indexes [default: <data_dir>-eval]"),
    ] = None,
    max_queries: Annotated[
        int | None, typer.Option("--max-queries", min=1, help="sample this many BEIR queries")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the BEIR query sample")] = 0,
    sweep: Annotated[
        bool,
        typer.Option(
            "--sweep/--no-sweep",
            help="also sweep fusion rules and weights (with --suite: on every set, chosen on "
            "the macro average; adds minutes)",
        ),
    ] = False,
    answer_passages: Annotated[
        Path | None,
        typer.Option(
            "--answer-passages",
            help="PIAF folder with answers.jsonl: ingest its paragraphs as files and score "
            "passages that hold the whole answer [default with --suite: the suite's PIAF]",
        ),
    ] = None,
    beir_sentences: Annotated[
        bool,
        typer.Option(
            "--beir-sentences",
            help="give BEIR passages their sentence tables (best-sentence scoring, pooled "
            "chunk vectors), as the service indexes documents",
        ),
    ] = False,
) -> None:
    """Score every retrieval mode (gold set and/or BEIR datasets) and write a report."""
    from eval.report import quality_checks
    from eval.run import ALL_MODES, run_eval

    settings = _settings()
    chosen = [m.strip() for m in ",".join(modes or ALL_MODES).split(",") if m.strip()]
    try:
        limits: dict[str, int] = {}
        if suite is not None:
            from eval.run import suite_sets

            paths, limits = suite_sets(suite, evaldata)
            beir = [*paths, *(beir or [])]
            if answer_passages is None:
                answer_passages = next((p for p in paths if (p / "answers.jsonl").is_file()), None)
            gold = True if gold is None else gold
        report = run_eval(
            settings,
            **_injected(ctx, settings),
            gold=gold if gold is not None else not beir,
            corpus=corpus,
            beir=beir or (),
            beir_max_queries=limits,
            modes=chosen,
            out=out,
            work_dir=work_dir,
            max_queries=max_queries,
            seed=seed,
            sweep=sweep,
            beir_sentences=beir_sentences,
            answer_passages=answer_passages,
            show_progress=sys.stderr.isatty(),
        )
    except PartnerSearchError as exc:
        _fail(exc)
    import json

    metrics = json.loads((report.parent / "metrics.json").read_text(encoding="utf-8"))
    for name, data in (metrics.get("gold") or {}).get("modes", {}).items():
        o = data["overall"]
        typer.echo(
            f"gold {name:8s} hit@1 {o['hit@1']:.3f}  hit@5 {o['hit@5']:.3f}  "
            f"MRR@10 {o['mrr@10']:.3f}  nDCG@10 {o['ndcg@10']:.3f}"
        )
    if "gold" in metrics:
        for label, value, minimum, ok in quality_checks(metrics):
            shown = "n/a" if value is None else f"{value:.3f}"
            typer.echo(f"  {'pass' if ok else 'FAIL'}  {label} {shown} (bar {minimum:.2f})")
    for name, data in (metrics.get("beir") or {}).items():
        for mode, scores in data["modes"].items():
            typer.echo(f"{name} {mode:8s} " + "  ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    for mode, scores in (metrics.get("macro") or {}).items():
        typer.echo(
            f"macro ({scores['sets']} sets) {mode:8s} nDCG@10 {scores['ndcg@10']:.3f}  "
            f"MRR@10 {scores['mrr@10']:.3f}"
        )
    typer.echo(str(report))


@app.command("train-answerer")
def train_answerer_cmd(
    ctx: typer.Context,
    piaf: Annotated[
        Path,
        typer.Option("--piaf", help="PIAF BEIR folder with answers.jsonl"),
    ] = Path("../shared/evaldata/piaf_v1.1"),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="artifact to write [default: the shipped service/data/answerer.json]"
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="report folder [default: eval/reports/answerer-<timestamp>]"),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="folder of the gold set's documents [default: corpus/]"),
    ] = None,
    gold: Annotated[
        bool, typer.Option("--gold/--no-gold", help="also measure the gold set")
    ] = True,
    work_dir: Annotated[
        Path | None,
        typer.Option("--work-dir", help="where the indexes go [default: <data_dir>-eval/answerer]"),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the PIAF article split")] = 0,
    held_out: Annotated[
        float, typer.Option("--held-out", min=0.05, max=0.9, help="share of articles held out")
    ] = 0.3,
    k: _K = 10,
    extra: Annotated[
        int, typer.Option("--extra", min=1, max=100, help="extra passages fetched to drop the gold")
    ] = 10,
    max_questions: Annotated[
        int | None, typer.Option("--max-questions", min=10, help="sample this many PIAF questions")
    ] = None,
) -> None:
    """Learn /ask's sentence selector and abstention model from PIAF; write artifact + report."""
    import datetime as dt

    from eval.answerer import render_report, save_records, train_answerer
    from eval.run import default_corpus_dir, default_reports_dir, default_work_dir
    from service.answer_model import DEFAULT_MODEL_PATH

    settings = _settings()
    corpus_dir = (corpus or default_corpus_dir()) if gold else None
    try:
        result = train_answerer(
            settings,
            **_injected(ctx, settings),
            piaf=piaf,
            work_dir=work_dir or default_work_dir(settings) / "answerer",
            corpus=corpus_dir,
            seed=seed,
            held_out=held_out,
            k=k,
            extra=extra,
            max_questions=max_questions,
            show_progress=sys.stderr.isatty(),
            progress=lambda msg: typer.echo(msg, err=True),
        )
    except PartnerSearchError as exc:
        _fail(exc)
    import json

    target = out or DEFAULT_MODEL_PATH
    result.model.save(target)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = report or default_reports_dir() / f"answerer-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(result.metrics, indent=1), encoding="utf-8")
    (folder / "report.md").write_text(render_report(result.metrics), encoding="utf-8")
    save_records(folder / "records.npz", result.records)
    for name in ("train", "held_out", "gold"):
        if name in result.metrics:
            s = result.metrics[name]
            at = s["at_threshold"]
            typer.echo(
                f"{name:8s} sentence accuracy {s['sentence_accuracy']:.3f}  abstain "
                f"{at['abstain_unanswerable']:.3f}  false abstain {at['false_abstain']:.3f}"
            )
    typer.echo(f"threshold {result.threshold:.2f} (set PARTNERSEARCH_ANSWER_THRESHOLD)")
    typer.echo(f"artifact: {target} ({target.stat().st_size} bytes)")
    typer.echo(f"report: {folder / 'report.md'}")


@app.command("train-reranker")
def train_reranker_cmd(
    ctx: typer.Context,
    piaf: Annotated[
        Path, typer.Option("--piaf", help="PIAF BEIR folder (questions and paragraphs)")
    ] = Path("../shared/evaldata/piaf_v1.1"),
    out: Annotated[
        Path | None,
        typer.Option("--out", help="artifact folder [default: the shipped service/data/reranker]"),
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option("--work-dir", help="eval's index cache [default: <data_dir>-eval]"),
    ] = None,
    evaldata: Annotated[
        Path | None,
        typer.Option("--evaldata", help="suite folder, for the vocabulary coverage report"),
    ] = None,
    # Defaults live in eval.reranker.RerankerConfig (one home; importing it here would load
    # numpy and eval at CLI start-up): an option left out keeps the config's value.
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    layers: Annotated[int | None, typer.Option("--layers", min=1, max=12)] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=16, max=512)] = None,
    negatives: Annotated[int | None, typer.Option("--negatives", min=1, max=31)] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, max=20)] = None,
    max_questions: Annotated[
        int | None, typer.Option("--max-questions", min=4, help="train on this many questions")
    ] = None,
    eval_questions: Annotated[
        int | None, typer.Option("--eval-questions", min=4, help="held-out questions measured")
    ] = None,
    held_out: Annotated[
        float | None,
        typer.Option("--held-out", min=0.05, max=0.9, help="share of articles held out"),
    ] = None,
    mine_depth: Annotated[
        int | None, typer.Option("--mine-depth", min=2, max=200, help="negatives from top N")
    ] = None,
    batch_questions: Annotated[int | None, typer.Option("--batch-questions", min=1, max=64)] = None,
    lr: Annotated[float | None, typer.Option("--lr", min=1e-7, max=1e-2)] = None,
    head_lr: Annotated[float | None, typer.Option("--head-lr", min=1e-7, max=1e-1)] = None,
    warmup: Annotated[float | None, typer.Option("--warmup", min=0.0, max=0.5)] = None,
    ascii_top: Annotated[
        int | None, typer.Option("--ascii-top", min=0, help="most probable ASCII pieces kept")
    ] = None,
    top_n: Annotated[
        int | None,
        typer.Option("--top-n", min=1, max=200, help="passages reranked when measuring"),
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, max=64)] = None,
) -> None:
    """Train the rerank stage's cross-encoder from e5-small on PIAF; write the artifact."""
    from eval.reranker import RerankerConfig, render_report, summary, train_reranker
    from eval.run import default_work_dir
    from service.wiring import DEFAULT_RERANKER_DIR

    settings = _settings()
    given = {
        "seed": seed,
        "layers": layers,
        "max_tokens": max_tokens,
        "negatives": negatives,
        "epochs": epochs,
        "max_questions": max_questions,
        "eval_questions": eval_questions,
        "held_out": held_out,
        "mine_depth": mine_depth,
        "batch_questions": batch_questions,
        "lr": lr,
        "head_lr": head_lr,
        "warmup": warmup,
        "ascii_top": ascii_top,
        "top_n": top_n,
        "threads": threads,
    }
    config = RerankerConfig(**{k: v for k, v in given.items() if v is not None})
    target = out or DEFAULT_RERANKER_DIR
    try:
        manifest = train_reranker(
            settings,
            **_injected(ctx, settings),
            piaf=piaf,
            work_dir=work_dir or default_work_dir(settings),
            out=target,
            config=config,
            evaldata=evaldata,
            show_progress=sys.stderr.isatty(),
            progress=lambda msg: typer.echo(msg, err=True),
        )
    except PartnerSearchError as exc:
        _fail(exc)
    import datetime as dt
    import json

    from eval.run import default_reports_dir

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = default_reports_dir() / f"reranker-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    (folder / "report.md").write_text(render_report(manifest), encoding="utf-8")
    for line in summary(manifest):
        typer.echo(line)
    size = sum(f.stat().st_size for f in target.iterdir())
    typer.echo(f"artifact: {target} ({size} bytes)")
    typer.echo(f"report: {folder / 'report.md'}")


if __name__ == "__main__":  # pragma: no cover
    app()
