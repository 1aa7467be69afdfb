"""Work that is timed in a fresh interpreter, with the environment of the process that
spawns it (Settings read from PARTNERSEARCH_*):

    python -m bench.fresh startup QUESTION   # the server's start-up steps (bench.server)
    python -m bench.fresh searches < Q.json  # distinct searches in a row (bench.threads)

Each prints one JSON line. Only the standard library is imported before the clock starts,
so "import service.app" is timed and ``torch_imported`` says whether the path loaded torch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index import Searcher

__all__ = ["main", "search_seconds", "startup_steps"]


def startup_steps(question: str) -> dict[str, Any]:
    """The steps the server's lifespan takes before its first answer (minus uvicorn), one
    after the other (the lifespan overlaps the spaCy load with an ONNX model's): cumulative
    seconds to each, and whether torch got imported. The model loads through service.wiring,
    so only the torch backend imports sentence-transformers/torch."""
    t0 = time.perf_counter()
    marks: dict[str, float] = {}

    def mark(name: str) -> None:
        marks[name] = round(time.perf_counter() - t0, 3)

    import service.app  # noqa: F401  (fastapi, index, ingest: numpy, faiss, bm25s)

    mark("import service.app")
    from service.answer_model import load_answer_model
    from service.nlp import load_entity_tagger
    from service.settings import Settings
    from service.wiring import load_embedders, open_searcher

    settings = Settings()
    embedder, use = load_embedders(settings)
    mark("load model")
    embedder.fingerprint()
    mark("fingerprint")
    if use is not None:  # an index with the USE channel: the lifespan reads its weights
        use.fingerprint()
        mark("load USE weights")
    load_entity_tagger(hide_torch=settings.backend != "torch")
    mark("load spaCy tagger")
    load_answer_model(settings.answer_model_path())
    mark("load answer model")
    searcher = open_searcher(settings, embedder, use)
    mark("open index")
    searcher.search(question, k=10)
    mark("first search")
    return {"steps": marks, "torch_imported": "torch" in sys.modules}


def search_seconds(searcher: Searcher, queries: Sequence[str], *, k: int = 100) -> float:
    """Seconds for ``searcher.search(q, k=k)`` over ``queries[1:]`` one after another, after
    one warm-up search of ``queries[0]``: an evaluation's pattern of distinct queries."""
    searcher.search(queries[0])
    started = time.perf_counter()
    for q in queries[1:]:
        searcher.search(q, k=k)
    return time.perf_counter() - started


def _searches(queries: Sequence[str]) -> float:
    from service.settings import Settings
    from service.wiring import load_embedders, open_searcher

    settings = Settings()
    embedder, use = load_embedders(settings)
    return search_seconds(open_searcher(settings, embedder, use), queries)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    step = parser.add_subparsers(dest="what", required=True)
    step.add_parser("startup", help="start-up steps, then one search").add_argument("question")
    step.add_parser("searches", help="a JSON list of queries on stdin, searched in a row")
    args = parser.parse_args(argv)
    if args.what == "startup":
        result: object = startup_steps(args.question)
    else:
        result = _searches(json.loads(sys.stdin.read()))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
