"""Channels benchmark: /search and /similar latency with the USE channel off and on.

Takes an index built by ``python -m bench.run`` (or any index of generated documents),
copies it, adds the USE channel's vectors by re-ingesting the same corpus with
PARTNERSEARCH_USE_CHANNEL on (e5 vectors are reused: only USE embeds), then measures
in-process latency of distinct queries (query caches emptied first), hybrid search with
e5 + BM25 against e5 + BM25 + USE, and /similar with and without USE. A benchmark, not a
test; its numbers are the README's "Second dense channel" figures.

    python -m bench.channels --data bench/out/work/data-10k --corpus bench/out/work/corpus-10k
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.scale_corpus import generate_queries
from bench.server import serve_runs
from bench.system import REPO, latency, provenance, run_folder, save_report, settings, stay_offline
from bench.tables import cold_start_rows, latency_rows


def run(
    data: Path, corpus: Path, work: Path, *, queries: int, backend: str | None = None
) -> dict[str, Any]:
    from index import snapshot
    from service.similar import similar_wordings
    from service.wiring import load_embedders, make_indexer, open_searcher

    target = work / "data-use"
    if not target.exists():
        shutil.copytree(data, target)
    manifest = snapshot.current(target).manifest
    # The shipped backend by default: an index built by another one is searched as is when
    # its probe vectors agree (index/compat.py), as the service would.
    chosen = settings(
        data_dir=target, use_channel=True, **({"backend": backend} if backend else {})
    )
    embedder, use = load_embedders(chosen)  # with use_channel on: e5 and USE
    started = time.perf_counter()
    report = make_indexer(chosen, embedder, use).ingest([corpus])
    add_seconds = time.perf_counter() - started
    counts = snapshot.current(target).manifest["counts"]

    pool = generate_queries(queries, seed=7)
    with_use = open_searcher(chosen, embedder, use)
    without = open_searcher(chosen.model_copy(update={"use_channel": False}), embedder)

    def clear() -> None:
        embedder.clear_query_cache()
        use.clear_query_cache()

    calls = {
        "search, e5 + BM25": lambda q: without.search(q, k=10),
        "search, e5 + BM25 + USE": lambda q: with_use.search(q, k=10),
        "similar, e5": lambda q: similar_wordings(without, q, k=10),
        "similar, e5 + USE": lambda q: similar_wordings(with_use, q, k=10),
        "USE query embedding": lambda q: use.embed_queries([q]),
    }
    results = {name: latency(call, pool, before=clear) for name, call in calls.items()}
    return {
        **provenance(),
        "index": str(data),
        "backend": chosen.backend,
        "index_backend": manifest["backend"],
        "counts": counts,
        "use_added_seconds": round(add_seconds, 1),
        "use_vectors_embedded": report.chunks + report.sentences,
        "latency": results,
    }


def cold_start(work: Path, *, backend: str | None = None, runs: int = 3) -> dict[str, Any]:
    """Cold start (spawn to first /ask) and peak RSS of ``partnersearch serve`` over corpus/,
    indexed with and without the USE channel (bench.server's helpers; the server runs the
    channel exactly when its index has it)."""
    from service.wiring import load_embedders, make_indexer

    out: dict[str, Any] = {}
    for label, on in (("e5 + BM25", False), ("e5 + BM25 + USE", True)):
        data = work / f"corpus-{'use' if on else 'plain'}"
        chosen = settings(
            data_dir=data, use_channel=on, **({"backend": backend} if backend else {})
        )
        embedder, use = load_embedders(chosen)
        make_indexer(chosen, embedder, use).ingest([REPO / "corpus"])
        out[label] = serve_runs(data, chosen.backend, work, tag=str(on), runs=runs)
    return out


def render(result: dict[str, Any]) -> str:
    """The report: the index, each call's latency, and the cold-start table if measured."""
    c = result["counts"]
    lines = [
        f"Index: {c['chunks']} chunks, {c['sentences']} sentences (queries embedded with "
        f"{result['backend']}, passages with {result.get('index_backend', result['backend'])}); "
        f"adding the USE channel took {result['use_added_seconds']} s.",
        "",
        *latency_rows(result["latency"], digits=2),
    ]
    if result.get("cold_start"):
        lines += cold_start_rows(result["cold_start"])
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="index to copy")
    parser.add_argument("--corpus", type=Path, required=True, help="the files it was built from")
    parser.add_argument("--queries", type=int, default=201, help="distinct queries per call")
    parser.add_argument("--backend", default=None, help="e5 backend [default: the shipped one]")
    parser.add_argument(
        "--cold-start", action="store_true", help="also time server start-up over corpus/"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args(argv)
    stay_offline()
    folder = run_folder(args.out, "channels")
    result = run(args.data, args.corpus, folder, queries=args.queries, backend=args.backend)
    if args.cold_start:
        result["cold_start"] = cold_start(folder, backend=args.backend)
    shutil.rmtree(folder / "data-use", ignore_errors=True)
    save_report(folder, "channels", result, render(result))


if __name__ == "__main__":
    main()
