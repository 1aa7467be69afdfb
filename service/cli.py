"""The ``partnersearch`` command line: one line per error, non-zero exit on failure."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from ingest.errors import PartnerSearchError
from service.settings import Settings

app = typer.Typer(
    add_completion=False, help="PartnerSearch: cited search over FR/EN partnership documents."
)


def _settings() -> Settings:
    return Settings()


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
    """Build (once) the offline multilingual-e5-small model directory and print its path."""
    from ingest.model_build import ensure_model_dir

    settings = _settings()
    try:
        path = ensure_model_dir(Path(settings.cache))
    except PartnerSearchError as exc:
        _fail(exc)
    typer.echo(str(path))


# --- ingest (owner: index) --------------------------------------------------------------------


@app.command("ingest")
def ingest_cmd(
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
    from index import Indexer
    from ingest.embed import load_embedder

    settings = _settings()
    try:
        embedder = load_embedder(
            settings.model, cache_dir=Path(settings.cache), batch_size=settings.batch_size
        )
        indexer = Indexer(
            Path(settings.data_dir),
            embedder,
            max_tokens=settings.chunk_max_tokens,
            overlap_tokens=settings.chunk_overlap_tokens,
            hnsw_threshold=settings.hnsw_threshold,
            show_progress=sys.stderr.isatty(),
        )
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


@app.command("eval")
def eval_cmd(
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
        bool, typer.Option("--sweep/--no-sweep", help="sweep hybrid fusion weights on the gold set")
    ] = True,
) -> None:
    """Score every retrieval mode (gold set and/or BEIR datasets) and write a report."""
    from eval.report import quality_checks
    from eval.run import ALL_MODES, run_eval

    settings = _settings()
    chosen = [m.strip() for m in ",".join(modes or ALL_MODES).split(",") if m.strip()]
    try:
        report = run_eval(
            settings,
            gold=gold if gold is not None else not beir,
            corpus=corpus,
            beir=beir or (),
            modes=chosen,
            out=out,
            work_dir=work_dir,
            max_queries=max_queries,
            seed=seed,
            sweep=sweep,
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
    typer.echo(str(report))


if __name__ == "__main__":  # pragma: no cover
    app()
