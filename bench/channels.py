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
import datetime as dt
import json
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.run import REPO, _pct, _settings, git_head, machine_info
from bench.scale_corpus import generate_queries


def _latency(call: Callable[[str], Any], queries: Sequence[str], clear: Callable[[], None]):
    clear()
    call(queries[0])  # one-time costs
    times = []
    for q in queries[1:]:
        started = time.perf_counter()
        call(q)
        times.append(time.perf_counter() - started)
    return _pct(times)


def run(
    data: Path, corpus: Path, work: Path, *, queries: int, backend: str | None = None
) -> dict[str, Any]:
    from index import snapshot
    from ingest.embed import UseEmbedder, load_embedder
    from service.similar import similar_wordings
    from service.wiring import make_indexer, open_searcher

    target = work / "data-use"
    if not target.exists():
        shutil.copytree(data, target)
    manifest = snapshot.current(target).manifest
    # The shipped backend by default: an index built by another one is searched as is when
    # its probe vectors agree (index/compat.py), as the service would.
    settings = _settings(
        data_dir=target, use_channel=True, **({"backend": backend} if backend else {})
    )
    embedder = load_embedder(**settings.embedder_options())
    use = UseEmbedder(threads=settings.use_threads)
    started = time.perf_counter()
    report = make_indexer(settings, embedder, use).ingest([corpus])
    add_seconds = time.perf_counter() - started
    counts = snapshot.current(target).manifest["counts"]

    pool = generate_queries(queries, seed=7)
    with_use = open_searcher(settings, embedder, use)
    without = open_searcher(settings.model_copy(update={"use_channel": False}), embedder)

    def clear() -> None:
        embedder.clear_query_cache()
        use.clear_query_cache()

    results = {
        "search, e5 + BM25": _latency(lambda q: without.search(q, k=10), pool, clear),
        "search, e5 + BM25 + USE": _latency(lambda q: with_use.search(q, k=10), pool, clear),
        "similar, e5": _latency(lambda q: similar_wordings(without, q, k=10), pool, clear),
        "similar, e5 + USE": _latency(lambda q: similar_wordings(with_use, q, k=10), pool, clear),
        "USE query embedding": _latency(lambda q: use.embed_queries([q]), pool, clear),
    }
    return {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_head(),
        "machine": machine_info(),
        "index": str(data),
        "backend": settings.backend,
        "index_backend": manifest["backend"],
        "counts": counts,
        "use_added_seconds": round(add_seconds, 1),
        "use_vectors_embedded": report.chunks + report.sentences,
        "latency": results,
    }


def serve_runs(
    data: Path, backend: str, work: Path, *, tag: str, runs: int, env: dict[str, str] | None = None
) -> dict[str, list]:
    """``runs`` cold starts of ``partnersearch serve`` over ``data`` (spawn to first /ask)
    and their peak RSS; RuntimeError when a server does not come up."""
    from bench.run import serve_once

    got = [
        serve_once(data, backend, work / f"serve-{tag}-{i}.log", extra_env=env) for i in range(runs)
    ]
    failed = [g["failed"] for g in got if "failed" in g]
    if failed:
        raise RuntimeError(f"server failed: {failed[0]}")
    return {
        "cold_start_s": [round(g["cold_start_s"], 2) for g in got],
        "peak_rss_mb": [round(g["peak_rss_mb"]) for g in got],
    }


def cold_start(work: Path, *, backend: str | None = None, runs: int = 3) -> dict[str, Any]:
    """Cold start (spawn to first /ask) and peak RSS of ``partnersearch serve`` over corpus/,
    indexed with and without the USE channel (bench.run's server helpers; the server runs
    the channel exactly when its index has it)."""
    from service.wiring import load_embedders, make_indexer

    out: dict[str, Any] = {}
    for label, on in (("e5 + BM25", False), ("e5 + BM25 + USE", True)):
        data = work / f"corpus-{'use' if on else 'plain'}"
        settings = _settings(
            data_dir=data, use_channel=on, **({"backend": backend} if backend else {})
        )
        embedder, use = load_embedders(settings)
        make_indexer(settings, embedder, use).ingest([REPO / "corpus"])
        out[label] = serve_runs(data, settings.backend, work, tag=str(on), runs=runs)
    return out


def render_cold_start(rows: dict[str, Any]) -> list[str]:
    """The cold-start table: each run's seconds and the highest peak RSS."""
    lines = ["", "| server over corpus/ | cold start s (each run) | peak RSS MB |", "|---|---|---|"]
    for name, r in rows.items():
        cold = ", ".join(f"{x:.2f}" for x in r["cold_start_s"])
        lines.append(f"| {name} | {cold} | {max(r['peak_rss_mb'])} |")
    return lines


def render(result: dict[str, Any]) -> str:
    c = result["counts"]
    lines = [
        f"Index: {c['chunks']} chunks, {c['sentences']} sentences (queries embedded with "
        f"{result['backend']}, passages with {result.get('index_backend', result['backend'])}); "
        f"adding the USE channel took {result['use_added_seconds']} s.",
        "",
        "| call | p50 ms | p95 ms | mean ms |",
        "|---|---|---|---|",
    ]
    for name, r in result["latency"].items():
        lines.append(f"| {name} | {r['p50']:.2f} | {r['p95']:.2f} | {r['mean']:.2f} |")
    if result.get("cold_start"):
        lines += render_cold_start(result["cold_start"])
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
    folder = args.out / ("channels-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ"))
    folder.mkdir(parents=True)
    result = run(args.data, args.corpus, folder, queries=args.queries, backend=args.backend)
    if args.cold_start:
        result["cold_start"] = cold_start(folder, backend=args.backend)
    shutil.rmtree(folder / "data-use", ignore_errors=True)
    (folder / "channels.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (folder / "channels.md").write_text(render(result), encoding="utf-8")
    print(render(result))
    print(f"written to {folder}")


if __name__ == "__main__":
    main()
