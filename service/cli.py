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


if __name__ == "__main__":  # pragma: no cover
    app()
