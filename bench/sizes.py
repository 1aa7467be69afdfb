"""What one run measures, per size and on corpus/: the plan's query slices, a size from
corpus generation to serving, corpus/ served by each backend, the gold-set hit@k, and the
txtai peer over the same chunks.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.build import (
    Plan,
    bench_ingest,
    chunk_texts,
    cli_reingest,
    current_snapshot,
    dir_bytes,
    our_chunk_vectors,
    time_ingest,
)
from bench.embedders import DerivedEmbedder, EmbeddingCache, PrecomputedEmbedder
from bench.peer import TxtaiPeer
from bench.scale_corpus import write_corpus
from bench.server import cold_start_breakdown, serve_once
from bench.system import (
    REPO,
    all_cores,
    cache_dir,
    cpu_mark,
    git_head,
    latency,
    others_cores,
    settings,
    torch_all_cores,
)

logger = logging.getLogger(__name__)

__all__ = [
    "PHASES",
    "REAL_MAX",
    "bench_corpus",
    "bench_peer",
    "bench_size",
    "gold_hits",
    "in_process_latency",
    "phase_counts",
    "query_embedding_latency",
    "slice_queries",
]

#: Sizes ingested with the real model; larger ones use derived vectors.
REAL_MAX = 10_000
#: Query slices per size, in this order; the counts come from --requests.
PHASES = ("search_1", "search_8", "ask_1", "ask_8", "inproc", "qembed")


def phase_counts(requests: int) -> dict[str, int]:
    """Queries per phase: 2x for the 8-client tests (each client gets enough to overlap)."""
    return {
        "search_1": requests,
        "search_8": 2 * requests,
        "ask_1": max(10, requests // 2),
        "ask_8": requests,
        "inproc": requests,
        "qembed": requests,
    }


def slice_queries(
    pool: Sequence[str], labels: Sequence[str], counts: dict[str, int]
) -> dict[str, dict[str, list[str]]]:
    """Disjoint slices of ``pool`` per size and phase: no query repeats between sizes or
    phases. Every backend gets the same slices (same queries, fresh caches)."""
    need = sum(counts.values()) * len(labels)
    if len(pool) < need:
        raise ValueError(f"query pool has {len(pool)} queries, {need} needed")
    out: dict[str, dict[str, list[str]]] = {}
    at = 0
    for label in labels:
        out[label] = {}
        for name in PHASES:
            out[label][name] = list(pool[at : at + counts[name]])
            at += counts[name]
    return out


def _clear(embedder: Any) -> None:
    clear = getattr(embedder, "clear_query_cache", None)
    if clear is not None:
        clear()


def in_process_latency(
    search: Callable[[str], Any], queries: Sequence[str], embedder: Any
) -> dict[str, Any]:
    """Per-query latency of ``search``; the embedder's query cache (if any) is emptied
    first, so ours and the peer's both embed every query."""
    all_cores(embedder)
    return latency(search, queries, before=functools.partial(_clear, embedder))


def query_embedding_latency(embedder: Any, queries: Sequence[str]) -> dict[str, Any]:
    """Latency of ``embed_queries([q])`` for distinct queries, cache emptied first: what
    one uncached query costs the search path."""
    return in_process_latency(lambda q: embedder.embed_queries([q]), queries, embedder)


def bench_corpus(
    embedders: dict[str, Any],
    work: Path,
    out: Path,
    queries: dict[str, list[str]],
    *,
    server_env: dict[str, str],
) -> dict[str, Any]:
    """corpus/ itself, ingested by the primary: cold start and peak RSS of a server per
    backend (after a few /search and /ask requests)."""
    primary = next(iter(embedders))
    data_dir = work / "data-corpus"
    shutil.rmtree(data_dir, ignore_errors=True)
    took, report = time_ingest(data_dir, REPO / "corpus", embedders[primary])
    res: dict[str, Any] = {
        "documents": report.documents,
        "chunks": report.chunks,
        "sentences": report.sentences,
        "ingest_seconds": took,
        "serving": {},
    }
    tests = [("search_1", "/search", queries["search"], 1), ("ask_1", "/ask", queries["ask"], 1)]
    for backend in embedders:
        res["serving"][backend] = serve_once(
            data_dir,
            backend,
            out / f"server-corpus-{backend}.log",
            extra_env=server_env,
            tests=tests,
        )
        logger.info("[corpus/] %s %s", backend, json.dumps(res["serving"][backend])[:300])
    return res


def gold_hits(primary: Any, work: Path, *, k: int = 5) -> dict[str, Any]:
    """hit@k of ours (primary backend) and of txtai on the gold set over corpus/ (same
    chunks, same model); reuses the corpus/ index of :func:`bench_corpus` when present."""
    from eval.gold import contains_answer, load_gold
    from ingest.model_build import ensure_model_dir
    from service.wiring import open_searcher

    data_dir = work / "data-corpus"
    if not (data_dir / "CURRENT").exists():
        time_ingest(data_dir, REPO / "corpus", primary)
    searcher = open_searcher(settings(), primary, data_dir=data_dir)
    peer = TxtaiPeer(vectors="model", model_dir=ensure_model_dir(cache_dir()))
    peer.index(chunk_texts(data_dir))
    items = [g for g in load_gold() if g.answerable and g.answer]
    ours = theirs = 0
    for g in items:
        answer = g.answer or ""
        ours += any(contains_answer(h.text, answer) for h in searcher.search(g.question, k=k))
        theirs += any(contains_answer(h.text, answer) for h in peer.search(g.question, k=k))
    peer.close()
    n = len(items)
    return {
        "backend": primary.backend,
        "questions": n,
        "k": k,
        "ours_hit": ours / n,
        "peer_hit": theirs / n,
        "ratio": (ours / n) / (theirs / n) if theirs else float("inf"),
    }


def bench_size(
    plan: Plan,
    embedders: dict[str, Any],
    work: Path,
    out: Path,
    *,
    reuse: bool,
    peer: bool,
    real_max: int = REAL_MAX,
    build_only: bool = False,
    wait_cache_s: float = 0.0,
    server_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One size: generate its corpus, ingest (bench.build), re-ingest, then per backend a
    server, the start-up steps, in-process and query-embedding latency; then txtai."""
    from service.wiring import open_searcher

    backends = list(embedders)
    primary_name = backends[0]
    primary = embedders[primary_name]
    server_env = server_env or {}
    res: dict[str, Any] = {
        "label": plan.label,
        "target_chunks": plan.chunks,
        "backends": backends,
        "primary": primary_name,
        "commit": git_head(),
    }
    mark = cpu_mark()
    corpus = work / f"corpus-{plan.label}"
    gen = write_corpus(corpus, chunks=plan.chunks, seed=plan.seed)
    res["corpus"] = {
        "documents": gen.documents,
        "estimated_chunks": gen.estimated_chunks,
        "languages": gen.languages,
        "shapes": gen.shapes,
    }
    data_dir = work / f"data-{plan.label}"
    derived = plan.chunks > real_max
    res["vectors"] = "derived" if derived else "real"

    res["ingest"] = bench_ingest(
        plan,
        embedders,
        work,
        corpus,
        data_dir,
        derived=derived,
        reuse=reuse,
        build_only=build_only,
        wait_cache_s=wait_cache_s,
    )
    if build_only:
        return res

    # -- re-ingest of the unchanged corpus (primary) -------------------------------------
    # (derived sizes keep their stand-in embedder, in case a file did change)
    again = (
        DerivedEmbedder(primary, EmbeddingCache.load(work / "embeddings-real.npz"))
        if derived
        else primary
    )
    again.fingerprint()  # model loaded and warm, as it was for the first ingest
    took, report = time_ingest(data_dir, corpus, again)
    del again
    res["reingest"] = {
        "seconds": took,
        "unchanged": len(report.unchanged),
        "changed": len(report.added) + len(report.updated),
        "cli_seconds": cli_reingest(data_dir, corpus, primary_name),
    }
    res["counts"] = {"chunks": report.chunks, "sentences": report.sentences}
    res["index_bytes"] = dir_bytes(current_snapshot(data_dir))
    logger.info("[%s] re-ingest %.2f s, index %d bytes", plan.label, took, res["index_bytes"])

    # -- per backend: server, start-up steps, in-process latency ---------------------------
    q = plan.queries
    tests = [
        ("search_1", "/search", q["search_1"], 1),
        ("search_8", "/search", q["search_8"], 8),
        ("ask_1", "/ask", q["ask_1"], 1),
        ("ask_8", "/ask", q["ask_8"], 8),
    ]
    res["server_env"] = server_env
    res["serving"] = {}
    for name, emb in embedders.items():
        s = serve_once(
            data_dir,
            name,
            out / f"server-{plan.label}-{name}.log",
            extra_env=server_env,
            tests=tests,
        )
        s["breakdown"] = cold_start_breakdown(data_dir, name, server_env)
        searcher = open_searcher(settings(), emb, data_dir=data_dir)
        s["inproc"] = in_process_latency(functools.partial(searcher.search, k=10), q["inproc"], emb)
        searcher = None  # drop this backend's index arrays before the next one opens
        s["query_embed"] = query_embedding_latency(emb, q["qembed"])
        res["serving"][name] = s
        logger.info("[%s] %s serving %s", plan.label, name, json.dumps(s)[:500])

    if peer:
        res["peer"] = bench_peer(plan, embedders, data_dir, derived)
    res["others_cores"] = others_cores(mark, cpu_mark())
    return res


def bench_peer(
    plan: Plan, embedders: dict[str, Any], data_dir: Path, derived: bool
) -> dict[str, Any]:
    """txtai over our chunks. Up to 1k chunks it embeds them with the model itself (its
    ingest throughput is comparable to ours); above, it is given our chunk vectors and
    queries are embedded by each of our backends in turn, so the latency ratio compares the
    search engines with the same query vectors."""
    import psutil

    from ingest.model_build import ensure_model_dir

    chunks = chunk_texts(data_dir)
    proc = psutil.Process()
    rss_before = proc.memory_info().rss
    own_model = not derived and plan.chunks <= 1_000
    external: PrecomputedEmbedder | None = None
    if own_model:
        tp = TxtaiPeer(vectors="model", model_dir=ensure_model_dir(cache_dir()))
        source = "txtai embeds the chunks and queries with the model itself (sentence-transformers)"
    else:
        external = PrecomputedEmbedder(next(iter(embedders.values())), our_chunk_vectors(data_dir))
        tp = TxtaiPeer(vectors="external", embedder=external)
        source = (
            "txtai given our own "
            + ("derived" if derived else "real")
            + " chunk vectors; queries embedded by each of our backends"
        )
    if own_model:
        torch_all_cores()  # txtai runs the model through sentence-transformers/torch
    took = tp.index(chunks)
    res: dict[str, Any] = {
        "vectors": source,
        "embeds": own_model,
        "index_seconds": took,
        "chunks": len(chunks),
        "chunks_per_s": len(chunks) / took,
        "rss_growth_mb": (proc.memory_info().rss - rss_before) / 1e6,
        "inproc": {},
    }
    queries = plan.queries["inproc"]
    if external is None:  # txtai embeds queries itself: one measurement serves every backend
        shared = in_process_latency(lambda text: tp.search(text, k=10), queries, None)
        res["inproc"] = {name: shared for name in embedders}
    else:
        for name, emb in embedders.items():
            external.inner = emb
            res["inproc"][name] = in_process_latency(
                lambda text: tp.search(text, k=10), queries, emb
            )
    tp.close()
    logger.info("[%s] txtai %s", plan.label, json.dumps(res)[:400])
    return res
