"""Rerank benchmark: /search latency of hybrid against hybrid + the cross-encoder.

Opens an existing index (``python -m bench.run`` builds them; its USE channel is searched
when the index has it), loads the shipped reranker, and measures in-process latency of
distinct generated queries (query caches emptied first): hybrid search, mode "rerank" at
each ``--top-n``, and the cross-encoder alone over the head. A benchmark, not a test; its
numbers are the README's "Rerank stage" latency figures.

    python -m bench.rerank --data bench/out/work/data-10k
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.channels import _latency
from bench.run import REPO, _settings, git_head, machine_info
from bench.scale_corpus import generate_queries


def run(data: Path, *, queries: int, top_ns: Sequence[int]) -> dict[str, Any]:
    from index import snapshot
    from service.wiring import load_embedders, load_reranker, open_searcher

    manifest = snapshot.current(data).manifest
    settings = _settings(data_dir=data, use_channel="use" in manifest, reranker=True)
    embedder, use = load_embedders(settings)
    reranker = load_reranker(settings)
    searcher = open_searcher(settings, embedder, use, reranker=reranker)
    pool = generate_queries(queries, seed=7)

    def clear() -> None:
        embedder.clear_query_cache()
        if use is not None:
            use.clear_query_cache()

    results = {"search, hybrid": _latency(lambda q: searcher.search(q, k=10), pool, clear)}
    for n in top_ns:
        view = searcher.with_options(rerank_top_n=n)
        results[f"search, rerank top {n}"] = _latency(
            lambda q, view=view: view.search(q, k=10, mode="rerank"), pool, clear
        )
        heads = {q: [h.text for h in searcher.search(q, k=n)] for q in pool}
        results[f"cross-encoder alone, {n} passages"] = _latency(
            lambda q, heads=heads: reranker.score(q, heads[q]), pool, lambda: None
        )
    return {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_head(),
        "machine": machine_info(),
        "index": str(data),
        "counts": manifest["counts"],
        "use_channel": use is not None,
        "reranker": reranker.name,
        "reranker_threads": settings.reranker_threads,
        "latency": results,
    }


def render(result: dict[str, Any]) -> str:
    c = result["counts"]
    lines = [
        f"Index: {c['chunks']} chunks (USE channel {'on' if result['use_channel'] else 'off'}); "
        f"reranker {result['reranker']}, {result['reranker_threads']} threads.",
        "",
        "| call | p50 ms | p95 ms | mean ms |",
        "|---|---|---|---|",
    ]
    for name, r in result["latency"].items():
        lines.append(f"| {name} | {r['p50']:.1f} | {r['p95']:.1f} | {r['mean']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="index to search")
    parser.add_argument("--queries", type=int, default=101, help="distinct queries per call")
    parser.add_argument("--top-n", type=int, nargs="+", default=[10, 20], help="heads reranked")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args(argv)
    folder = args.out / ("rerank-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ"))
    folder.mkdir(parents=True)
    result = run(args.data, queries=args.queries, top_ns=args.top_n)
    (folder / "rerank.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (folder / "rerank.md").write_text(render(result), encoding="utf-8")
    print(render(result))
    print(f"written to {folder}")


if __name__ == "__main__":
    main()
