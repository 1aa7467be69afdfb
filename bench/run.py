"""PartnerSearch benchmark (a benchmark, not a timed test): every backend side by side.

One run measures each embedding backend of ``--backends`` (default ``onnx-int8,onnx,torch``)
on the same texts and the same cores. The first backend is the primary: at each size
(1k, 10k, 100k chunks of the seeded scale corpus, bench/scale_corpus.py) it ingests the
corpus into the index that every backend then serves. Per size:

- ingest: the primary's ingest, and for each other backend (up to
  ``--compare-ingest-max`` chunks) a full ingest of the same corpus into its own data
  dir; each beside the bare model's time on exactly the texts the primary's pipeline
  embedded (texts/s, chunks/s, ratios); re-ingest of the unchanged corpus;
- serving, per backend, on the primary's index: ``partnersearch serve`` with
  ``PARTNERSEARCH_BACKEND=<backend>``, cold start to the first answered POST /ask,
  /search and /ask latency with 1 and 8 concurrent clients, errors, peak RSS; the
  start-up steps in a fresh interpreter; in-process search latency; query-embedding
  latency (uncached, one query per call);
- txtai (bench/peer.py) on the same chunks, once per size: its ingest throughput and its
  in-process latency beside ours.

Also, on corpus/ itself: cold start and RSS per backend, and hit@5 of ours and txtai's on
the gold set. At 100k chunks the index is built from the 10k run's real passage vectors
plus vectors derived from them (bench/embedders.py); the tables say so. Results go to
bench/out/<timestamp>/results.{json,md} and performance.md (the README's Performance
section).

    .venv/bin/python -m bench.run                   # make bench
    .venv/bin/python -m bench.run --sizes 1k        # one size, for a quick look
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import sys
from pathlib import Path
from typing import Any

from bench.build import COMPARE_INGEST_MAX, Plan, load_backend
from bench.report import corpus_table, extrapolate, gold_table, write_results
from bench.scale_corpus import generate_queries
from bench.sizes import (
    REAL_MAX,
    bench_corpus,
    bench_size,
    gold_hits,
    phase_counts,
    slice_queries,
)
from bench.system import REPO, cpu_mark, loadavg, machine_info, others_cores, settings, stay_offline
from bench.tables import size_section

logger = logging.getLogger("bench")

__all__ = ["BACKENDS", "DEFAULT_BACKENDS", "SIZES", "main", "parse_backends", "parse_size"]

SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
BACKENDS = ("onnx-int8", "onnx", "torch")
DEFAULT_BACKENDS = "onnx-int8,onnx,torch"  # int8 builds fastest; onnx is the shipped default


def parse_backends(text: str) -> list[str]:
    """'onnx-int8,torch' -> ['onnx-int8', 'torch']; the first is the primary."""
    names = [b.strip() for b in text.split(",") if b.strip()]
    if not names:
        raise ValueError("--backends needs at least one of " + ", ".join(BACKENDS))
    unknown = [b for b in names if b not in BACKENDS]
    if unknown:
        raise ValueError(f"unknown backend {unknown[0]!r}; choose from {', '.join(BACKENDS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"--backends lists a backend twice: {text!r}")
    return names


def parse_size(label: str) -> int:
    """'1k' -> 1000, '100k' -> 100000, '300' -> 300."""
    if label in SIZES:
        return SIZES[label]
    try:
        value = int(label[:-1]) * 1000 if label.endswith("k") else int(label)
    except ValueError:
        raise ValueError(f"size {label!r} is not a chunk count such as 1k, 10k or 300") from None
    if value < 1:
        raise ValueError(f"size {label!r} must be at least 1 chunk")
    return value


def _query_pool(n: int, *, seed: int) -> list[str]:
    """Gold-set questions then generated FR/EN queries, shuffled once; all distinct, so a
    query-embedding cache gets no hits inside one measurement."""
    from eval.gold import load_gold

    gold = [g.question for g in load_gold()]
    extra = generate_queries(n, seed=seed)
    pool = list(dict.fromkeys(gold + extra))[:n]
    random.Random(seed).shuffle(pool)
    return pool


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="PartnerSearch benchmark (prints tables)")
    parser.add_argument("--sizes", default="1k,10k,100k", help="comma list: 1k,10k,100k,300…")
    parser.add_argument(
        "--backends",
        default=DEFAULT_BACKENDS,
        help="comma list of onnx-int8, onnx, torch; the first builds the shared index",
    )
    parser.add_argument(
        "--compare-ingest-max",
        type=int,
        default=COMPARE_INGEST_MAX,
        help="largest size at which the other backends also run a full ingest",
    )
    parser.add_argument(
        "--real-max",
        type=int,
        default=REAL_MAX,
        help="largest size ingested with the real model; larger sizes use derived vectors",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=REPO / "bench" / "out" / "work")
    parser.add_argument("--out", type=Path, default=None, help="default bench/out/<timestamp>")
    parser.add_argument("--requests", type=int, default=100, help="requests per 1-client test")
    parser.add_argument("--raw-sample", type=int, default=3000, help="texts the bare model times")
    parser.add_argument("--no-peer", action="store_true", help="skip txtai")
    parser.add_argument("--no-gold", action="store_true", help="skip the gold-set hit@5")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse an already built 100k (derived) index"
    )
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="only generate and index (e.g. build the 100k index ahead, then run with --reuse)",
    )
    parser.add_argument(
        "--wait-cache",
        type=float,
        default=0.0,
        help="seconds a derived build waits for the real-vector cache of the 10k size",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the servers (e.g. OMP_NUM_THREADS=1); repeatable",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    bad = [kv for kv in args.server_env if "=" not in kv]
    if bad:
        parser.error(f"--server-env wants KEY=VALUE, got {bad}")
    if args.requests < 2:
        parser.error("--requests must be at least 2 (one warm-up call, then measurements)")
    labels = [s.strip() for s in args.sizes.split(",") if s.strip()]
    try:
        sizes = {label: parse_size(label) for label in labels}
        backends = parse_backends(args.backends)
    except ValueError as exc:
        parser.error(str(exc))
    stay_offline()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "sentence_transformers", "faiss", "bm25s", "txtai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    started = dt.datetime.now(dt.UTC)
    out = args.out or REPO / "bench" / "out" / started.strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine_info(),
        "loadavg_start": loadavg(),
        "argv": sys.argv if argv is None else ["bench.run", *argv],
        "backends": backends,
        "order": list(sizes),  # as given: a 100k index built ahead can go first (--reuse)
        "sizes": {},
    }
    chosen = settings()
    results["indexer_options"] = chosen.indexer_options()
    results["embed_settings"] = {
        "embed_threads": chosen.embed_threads,
        "embed_spinning": chosen.embed_spinning,
        "batch_size": chosen.batch_size,
    }
    run_mark = cpu_mark()
    embedders = {b: load_backend(b) for b in backends}
    server_env = dict(kv.split("=", 1) for kv in args.server_env)
    counts = phase_counts(args.requests)
    corpus_counts = {"search": max(10, args.requests // 5), "ask": max(10, args.requests // 10)}
    pool = _query_pool(
        sum(counts.values()) * len(sizes) + sum(corpus_counts.values()), seed=args.seed
    )
    n_corpus = sum(corpus_counts.values())
    corpus_q = {
        "search": pool[: corpus_counts["search"]],
        "ask": pool[corpus_counts["search"] : n_corpus],
    }
    per_size = slice_queries(pool[n_corpus:], list(sizes), counts)
    results["queries"] = counts

    if not args.build_only:
        results["corpus"] = bench_corpus(embedders, args.work, out, corpus_q, server_env=server_env)
        print(corpus_table(results["corpus"]), flush=True)
        if not args.no_gold:
            results["gold"] = gold_hits(embedders[backends[0]], args.work)
            print(gold_table(results["gold"]), flush=True)
        results["others_cores"] = others_cores(run_mark, cpu_mark())
        write_results(out, results)
    for label in results["order"]:
        plan = Plan(
            label,
            sizes[label],
            per_size[label],
            args.raw_sample,
            args.seed,
            compare_ingest_max=args.compare_ingest_max,
        )
        r = bench_size(
            plan,
            embedders,
            args.work,
            out,
            reuse=args.reuse,
            peer=not args.no_peer,
            real_max=args.real_max,
            build_only=args.build_only,
            wait_cache_s=args.wait_cache,
            server_env=server_env,
        )
        if args.build_only:
            logger.info("[%s] built: %s", label, r.get("ingest"))
            continue
        results["sizes"][label] = r
        results["others_cores"] = others_cores(run_mark, cpu_mark())
        extrapolate(results)
        print(size_section(r), flush=True)
        write_results(out, results)
    print(f"results: {out / 'results.md'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
