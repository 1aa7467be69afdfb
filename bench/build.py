"""The ingest side of one size: timed ingests by each backend, the bare model's time on the
same texts, re-ingest through the CLI, and what a built index holds (texts, vectors, bytes).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.embedders import DerivedEmbedder, LazyCache, RecordingEmbedder
from bench.server import PARTNERSEARCH, backend_env
from bench.system import all_cores, settings

logger = logging.getLogger(__name__)

__all__ = [
    "COMPARE_INGEST_MAX",
    "Plan",
    "bench_ingest",
    "chunk_texts",
    "cli_reingest",
    "current_snapshot",
    "dir_bytes",
    "ingest_comparisons",
    "load_backend",
    "our_chunk_vectors",
    "raw_model_seconds",
    "raw_sample",
    "time_ingest",
]

#: Largest size at which every non-primary backend also runs a full ingest.
COMPARE_INGEST_MAX = 10_000


@dataclasses.dataclass
class Plan:
    """One size: its label, target chunk count, queries per phase, bare-model sample."""

    label: str
    chunks: int
    queries: dict[str, list[str]]
    raw_sample: int
    seed: int
    compare_ingest_max: int = COMPARE_INGEST_MAX


def load_backend(backend: str) -> Any:
    """The built-in model under ``backend``, configured as the service would run it."""
    from service.wiring import load_embedders

    # e5 only: this benchmark's indexes are e5 + BM25 (bench/channels.py measures USE).
    embedder, _ = load_embedders(settings(backend=backend, use_channel=False))
    return embedder


def time_ingest(data_dir: Path, corpus: Path, embedder: Any) -> tuple[float, Any]:
    """Seconds and IngestReport of ingesting ``corpus`` into ``data_dir`` with ``embedder``."""
    from service.wiring import make_indexer

    all_cores(embedder)
    started = time.perf_counter()
    report = make_indexer(settings(), embedder, data_dir=data_dir).ingest([corpus])
    return time.perf_counter() - started, report


def ingest_comparisons(
    backends: Sequence[str], chunks: int, *, derived: bool, compare_max: int
) -> list[str]:
    """The non-primary backends that also run a full ingest at this size: none for derived
    sizes (no real ingest happens there), all of them up to ``compare_max`` chunks."""
    if derived or chunks > compare_max:
        return []
    return list(backends[1:])


def raw_sample(texts: list[str], *, sample: int, seed: int) -> list[str]:
    """All of ``texts``, or a fixed random sample of ``sample`` of them (same for every
    backend: the same seed over the same list)."""
    return texts if len(texts) <= sample else random.Random(seed).sample(texts, sample)


def raw_model_seconds(embedder: Any, texts: list[str], chosen: list[str]) -> float:
    """Seconds the bare model takes for ``texts``, timed on ``chosen`` (all of them or a
    sample) and extrapolated by count."""
    all_cores(embedder)
    started = time.perf_counter()
    embedder.embed_passages(chosen)
    took = time.perf_counter() - started
    return took * len(texts) / len(chosen)


def cli_reingest(data_dir: Path, corpus: Path, backend: str) -> float:
    """Wall time of ``partnersearch ingest CORPUS`` on an unchanged corpus: process start,
    imports and model load included."""
    started = time.perf_counter()
    subprocess.run(
        [str(PARTNERSEARCH), "ingest", str(corpus)],
        env=backend_env(backend, data_dir),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def current_snapshot(data_dir: Path) -> Path:
    """The folder of the published snapshot of ``data_dir``."""
    from index import snapshot

    return snapshot.require_current(data_dir).path


def dir_bytes(path: Path) -> int:
    """Bytes of every file below ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _read_store(snap: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` over a snapshot's SQLite store, opened read-only."""
    from index import snapshot

    conn = sqlite3.connect(f"file:{snap / snapshot.STORE}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def chunk_texts(data_dir: Path) -> list[tuple[str, str]]:
    """(chunk_id, text) of the published snapshot, read-only from its SQLite store."""
    sql = "SELECT chunk_id, text FROM chunks ORDER BY doc_id, ordinal"
    return _read_store(current_snapshot(data_dir), sql)  # type: ignore[return-value]


def our_chunk_vectors(data_dir: Path) -> dict[str, np.ndarray]:
    """Chunk text -> the vector our published snapshot holds for that chunk (for the peer's
    external vectors, so both engines rank with the very same dense vectors)."""
    from index import snapshot
    from index.dense import DenseIndex

    snap = current_snapshot(data_dir)
    ids, vectors = DenseIndex.load(snap / snapshot.CHUNKS_FAISS).all_vectors()
    row_of = {int(v): i for i, v in enumerate(ids.tolist())}
    rows = _read_store(snap, "SELECT vid, text FROM chunks")
    return {text: vectors[row_of[int(vid)]] for vid, text in rows}


def _raw_record(raw_s: float, timed: int, texts: int, chunks: int) -> dict[str, Any]:
    return {
        "raw_model_seconds": raw_s,
        "raw_model_timed_texts": timed,
        "raw_texts_per_s": texts / raw_s,
        "raw_chunks_per_s": chunks / raw_s,
    }


def _ingest_record(
    took: float, report: Any, rec: RecordingEmbedder, raw_s: float, timed: int
) -> dict[str, Any]:
    texts = len(rec.texts)
    return {
        "seconds": took,
        "embed_seconds_in_pipeline": rec.seconds,
        "embedded_texts": texts,
        "texts_per_s": texts / took,
        "chunks": report.chunks,
        "sentences": report.sentences,
        "documents": report.documents,
        "skipped": len(report.skipped),
        "chunks_per_s": report.chunks / took,
        **_raw_record(raw_s, timed, texts, report.chunks),
        "overhead": took / raw_s,
    }


def _derived_build(
    label: str, primary: Any, corpus: Path, data_dir: Path, cache_path: Path, wait_cache_s: float
) -> dict[str, Any]:
    """An index of ``corpus`` from the real-vector cache plus vectors derived from it."""
    emb = DerivedEmbedder(primary, LazyCache(cache_path, wait_s=wait_cache_s))
    took, report = time_ingest(data_dir, corpus, emb)
    res = {
        "derived": True,
        "seconds": took,
        "real_vectors": emb.real,
        "derived_vectors": emb.derived,
        "chunks": report.chunks,
        "sentences": report.sentences,
        "documents": report.documents,
        "chunks_per_s": report.chunks / took,
    }
    logger.info("[%s] derived build %s", label, res)
    return res


def bench_ingest(
    plan: Plan,
    embedders: dict[str, Any],
    work: Path,
    corpus: Path,
    data_dir: Path,
    *,
    derived: bool,
    reuse: bool,
    build_only: bool,
    wait_cache_s: float,
) -> dict[str, Any]:
    """The primary's ingest into ``data_dir`` (real or derived vectors), then the other
    backends' full ingests and bare-model timings on the primary's texts."""
    backends = list(embedders)
    primary = embedders[backends[0]]
    cache_path = work / "embeddings-real.npz"
    res: dict[str, dict[str, Any]] = {}
    if derived and reuse and (data_dir / "CURRENT").exists():
        logger.info("[%s] reusing the index already built in %s", plan.label, data_dir)
        res[backends[0]] = {"reused": True}
        return res
    shutil.rmtree(data_dir, ignore_errors=True)
    if derived:
        res[backends[0]] = _derived_build(
            plan.label, primary, corpus, data_dir, cache_path, wait_cache_s
        )
        return res
    rec = RecordingEmbedder(primary)
    took, report = time_ingest(data_dir, corpus, rec)
    rec.cache().save(cache_path)
    if build_only:
        res[backends[0]] = {"seconds": took, "chunks": report.chunks}
        return res
    texts = rec.texts
    chosen = raw_sample(texts, sample=plan.raw_sample, seed=plan.seed)
    raw_s = raw_model_seconds(primary, texts, chosen)
    res[backends[0]] = _ingest_record(took, report, rec, raw_s, len(chosen))
    logger.info("[%s] %s ingest %s", plan.label, backends[0], res[backends[0]])
    full = ingest_comparisons(
        backends, plan.chunks, derived=False, compare_max=plan.compare_ingest_max
    )
    for name in backends[1:]:
        emb = embedders[name]
        raw_b = raw_model_seconds(emb, texts, chosen)
        if name not in full:
            res[name] = {
                "full_ingest": False,
                "embedded_texts": len(texts),
                **_raw_record(raw_b, len(chosen), len(texts), report.chunks),
            }
        else:
            other = work / f"data-{plan.label}-{name}"
            shutil.rmtree(other, ignore_errors=True)
            rec_b = RecordingEmbedder(emb)
            took_b, report_b = time_ingest(other, corpus, rec_b)
            res[name] = _ingest_record(took_b, report_b, rec_b, raw_b, len(chosen))
            res[name]["same_texts"] = sorted(rec_b.texts) == sorted(texts)
            shutil.rmtree(other, ignore_errors=True)
        logger.info("[%s] %s ingest %s", plan.label, name, res[name])
    return res
