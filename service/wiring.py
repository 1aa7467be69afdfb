"""Wiring: the one place that turns Settings into embedders, an Indexer and a Searcher.

The CLI, the service, eval and bench build their components here, so a setting means the
same thing everywhere; each accepts already-built embedders (tests inject fakes).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from service.settings import Settings

if TYPE_CHECKING:  # loading index/ingest pulls numpy, FAISS: only when a component is built
    from index import Indexer, Searcher
    from index.options import SearchOptions
    from index.rerank import PairScorer
    from ingest.embed import Embedder

__all__ = [
    "DEFAULT_RERANKER_DIR",
    "load_embedders",
    "load_reranker",
    "make_indexer",
    "open_searcher",
    "use_embedder_for",
]

#: The shipped cross-encoder (``partnersearch train-reranker`` writes it).
DEFAULT_RERANKER_DIR = Path(__file__).resolve().parent / "data" / "reranker"


def use_embedder_for(settings: Settings) -> Embedder | None:
    """The USE embedder when ``use_channel`` is on (its weights load on first use), else None."""
    if not settings.use_channel:
        return None
    from ingest.embed import UseEmbedder

    return UseEmbedder(threads=settings.use_threads)


def load_e5(settings: Settings) -> Embedder:
    """The e5 embedder ``settings`` name (model, backend, threads, batch size, cache)."""
    from ingest.embed import load_embedder

    return load_embedder(**settings.embedder_options())


def load_embedders(settings: Settings) -> tuple[Embedder, Embedder | None]:
    """The e5 embedder of ``settings`` and, with ``use_channel`` on, the USE embedder."""
    return load_e5(settings), use_embedder_for(settings)


def load_reranker(settings: Settings) -> PairScorer | None:
    """The cross-encoder of mode "rerank" when ``reranker`` is on, else None; ModelBuildError
    names the folder when the artifact is missing or unreadable."""
    if not settings.reranker:
        return None
    from index.rerank import OnnxReranker

    return OnnxReranker(settings.reranker_path(), threads=settings.reranker_threads)


def make_indexer(
    settings: Settings,
    embedder: Embedder,
    use_embedder: Embedder | None = None,
    *,
    data_dir: Path | None = None,
    show_progress: bool = False,
    **overrides: object,
) -> Indexer:
    """An Indexer writing ``data_dir`` (default: ``settings.data_dir``) as the settings say,
    any Indexer option overridden by keyword (eval's BEIR indexes: ``windows=None``)."""
    from index import Indexer

    return Indexer(
        Path(data_dir if data_dir is not None else settings.data_dir),
        embedder,
        **(settings.indexer_options() | overrides),  # type: ignore[arg-type]
        use_embedder=use_embedder,
        show_progress=show_progress,
    )


def open_searcher(
    settings: Settings,
    embedder: Embedder,
    use_embedder: Embedder | None = None,
    *,
    data_dir: Path | None = None,
    options: SearchOptions | None = None,
    reranker: PairScorer | None = None,
) -> Searcher:
    """The Searcher over ``data_dir`` (default: ``settings.data_dir``) with ``options``
    (default: the settings' retrieval options) and, when given, the reranker."""
    from index import Searcher

    return Searcher.open(
        Path(data_dir if data_dir is not None else settings.data_dir),
        embedder,
        options or settings.search_options_object(),
        use_embedder=use_embedder,
        reranker=reranker,
    )
