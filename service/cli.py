"""The ``partnersearch`` command line: one line per error, non-zero exit on failure.

This module is the app, its options and the index commands (build-model, ingest, serve);
the query commands live in ``service.cli_query``, evaluation and training in
``service.cli_train``, what they share in ``service.cli_common``. Library logs stay at
WARNING and model-loading progress bars are off unless ``--verbose``: the user sees the
project's own lines and progress bars.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ingest.errors import PartnerSearchError
from service import cli_common as common
from service import cli_query, cli_train

app = typer.Typer(
    add_completion=False, help="PartnerSearch: cited search over FR/EN partnership documents."
)


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress details")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        # transformers' "Loading weights" bars read this when first imported (lazily, after).
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


@app.command("build-model")
def build_model() -> None:
    """Build (once) the offline multilingual-e5-small model directory and its ONNX float32
    and int8 exports; print both paths."""
    from ingest.model_build import ensure_model_dir
    from ingest.onnx_build import ensure_onnx_dir

    settings = common.settings()
    try:
        path = ensure_model_dir(Path(settings.cache))
        onnx_path = ensure_onnx_dir(Path(settings.cache))
    except PartnerSearchError as exc:
        common.fail(exc)
    typer.echo(str(path))
    typer.echo(str(onnx_path))


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

    settings = common.settings()
    try:
        embedder, use = common.embedders(ctx, settings)
        indexer = make_indexer(settings, embedder, use, show_progress=sys.stderr.isatty())
        report = indexer.ingest(paths, prune=prune, rebuild=rebuild)
    except PartnerSearchError as exc:
        common.fail(exc)
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

    settings = common.settings()
    typer.echo(f"PartnerSearch on http://{host or settings.host}:{port or settings.port}", err=True)
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port)


# The commands of the other CLI modules, after this module's own (the order of --help).
app.command("search")(cli_query.search_cmd)
app.command("ask")(cli_query.ask_cmd)
app.command("similar")(cli_query.similar_cmd)
app.command("eval")(cli_train.eval_cmd)
app.command("train-answerer")(cli_train.train_answerer_cmd)
app.command("train-reranker")(cli_train.train_reranker_cmd)


if __name__ == "__main__":  # pragma: no cover
    app()
