"""PartnerSearch benchmark (a benchmark, not a timed test): every backend side by side.

One run measures each embedding backend of ``--backends`` (default ``onnx-int8,torch``)
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
import contextlib
import dataclasses
import datetime as dt
import functools
import json
import logging
import os
import platform
import queue
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import httpx
import numpy as np

from bench.embedders import (
    DerivedEmbedder,
    EmbeddingCache,
    LazyCache,
    PrecomputedEmbedder,
    RecordingEmbedder,
)
from bench.peer import TxtaiPeer
from bench.scale_corpus import generate_queries, write_corpus

logger = logging.getLogger("bench")

REPO = Path(__file__).resolve().parent.parent
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
#: Sizes ingested with the real model; larger ones use derived vectors.
REAL_MAX = 10_000
#: Largest size at which every non-primary backend also runs a full ingest.
COMPARE_INGEST_MAX = 10_000
BACKENDS = ("onnx-int8", "onnx", "torch")
DEFAULT_BACKENDS = "onnx-int8,onnx,torch"  # int8 builds fastest; onnx is the shipped default
#: Sizes (target chunk count) from which the "at 100k passages" targets apply.
LARGE = 100_000
#: The issue's targets on these 2 cores, plus the two earlier ingest targets.
TARGETS = {
    "ingest_vs_torch": 3.0,  # x the torch backend's ingest chunks/s, same texts
    "query_embed_p50_ms": 8.0,
    "cold_start_corpus_s": 2.0,
    "cold_start_large_s": 3.0,
    "rss_corpus_mb": 700.0,
    "search_p50_large_ms": 15.0,
    "search_rps_8_large": 100.0,
    "inproc_ratio_txtai": 0.6,  # ours / txtai in-process p50
    "ingest_overhead": 1.15,  # ingest / bare model, same texts
    "reingest_speedup": 50.0,
}
#: The question every cold start waits on.
FIRST_QUESTION = "Qui a signé le protocole de coopération à Lille ?"


# ------------------------------------------------------------------ small helpers


def _pct(values: Sequence[float]) -> dict[str, float]:
    """Percentiles of ``values`` (seconds) in milliseconds."""
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "n": 0}
    arr = np.asarray(values) * 1000.0
    return {
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "p99": float(np.percentile(arr, 99)),
        "mean": float(arr.mean()),
        "n": len(values),
    }


def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _current_snapshot(data_dir: Path) -> Path:
    from index import snapshot

    return snapshot.require_current(data_dir).path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _nproc() -> int:
    return len(os.sched_getaffinity(0))


def machine_info() -> dict[str, Any]:
    """Cores, CPU, RAM and package versions; imports neither torch nor onnxruntime."""
    import psutil

    model = ""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        for line in subprocess.check_output(["lscpu"], text=True).splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    versions = {}
    for pkg in ("onnxruntime", "torch", "sentence-transformers", "faiss-cpu", "txtai"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[pkg] = metadata.version(pkg)
    return {
        "nproc": _nproc(),
        "cpu": model,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "versions": versions,
        "platform": platform.platform(),
    }


def git_head() -> str:
    """The checkout's commit, "+dirty" when tracked files differ (servers run the tree)."""
    try:
        head = subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True)
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=REPO).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.strip() + ("+dirty" if dirty else "")


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_mark() -> tuple[float, float, float]:
    """(wall s, machine-wide busy CPU s, CPU s of this process and its reaped children)."""
    import psutil

    t = psutil.cpu_times()
    busy = t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
    own = os.times()
    mine = own.user + own.system + own.children_user + own.children_system
    return time.monotonic(), busy, mine


def others_cores(start: tuple[float, float, float], end: tuple[float, float, float]) -> float:
    """Average cores that other processes kept busy between two :func:`cpu_mark` calls (taken
    when no child of ours is running, so every child's CPU time has been reaped)."""
    wall = end[0] - start[0]
    if wall <= 0:
        return 0.0
    return max(0.0, (end[1] - start[1]) - (end[2] - start[2])) / wall


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


def ingest_comparisons(
    backends: Sequence[str], chunks: int, *, derived: bool, compare_max: int
) -> list[str]:
    """The non-primary backends that also run a full ingest at this size: none for derived
    sizes (no real ingest happens there), all of them up to ``compare_max`` chunks."""
    if derived or chunks > compare_max:
        return []
    return list(backends[1:])


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


# ------------------------------------------------------------------ ingest side


def _all_cores(embedder: Any) -> None:
    """Give torch every core in this thread before a torch timing. index.dense sets OpenMP
    to 1 thread while it searches (and restores it), and torch shares that OpenMP runtime
    (libgomp); resetting makes the count independent of what ran before. ONNX backends keep
    their own thread pool, and this never imports torch for them."""
    if getattr(embedder, "backend", None) == "torch":
        _torch_all_cores()


def _torch_all_cores() -> None:
    import torch

    torch.set_num_threads(_nproc())


def _settings(**overrides: Any) -> Any:
    from service.settings import Settings

    return Settings(cache=_cache_dir(), **overrides)


def load_backend(backend: str) -> Any:
    """The built-in model under ``backend``, configured as the service would run it."""
    from ingest.embed import load_embedder

    return load_embedder(**_settings(backend=backend).embedder_options())


def time_ingest(data_dir: Path, corpus: Path, embedder: Any) -> tuple[float, Any]:
    from index import Indexer

    _all_cores(embedder)
    started = time.perf_counter()
    report = Indexer(data_dir, embedder, **_settings().indexer_options()).ingest([corpus])
    return time.perf_counter() - started, report


def raw_sample(texts: list[str], *, sample: int, seed: int) -> list[str]:
    """All of ``texts``, or a fixed random sample of ``sample`` of them (same for every
    backend: the same seed over the same list)."""
    return texts if len(texts) <= sample else random.Random(seed).sample(texts, sample)


def raw_model_seconds(embedder: Any, texts: list[str], chosen: list[str]) -> float:
    """Seconds the bare model takes for ``texts``, timed on ``chosen`` (all of them or a
    sample) and extrapolated by count."""
    _all_cores(embedder)
    started = time.perf_counter()
    embedder.embed_passages(chosen)
    took = time.perf_counter() - started
    return took * len(texts) / len(chosen)


def chunk_texts(data_dir: Path) -> list[tuple[str, str]]:
    """(chunk_id, text) of the published snapshot, read-only from its SQLite store."""
    from index import snapshot

    path = _current_snapshot(data_dir) / snapshot.STORE
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT chunk_id, text FROM chunks ORDER BY doc_id, ordinal").fetchall()
    finally:
        conn.close()


def _backend_env(backend: str, data_dir: Path) -> dict[str, str]:
    """The environment of a ``partnersearch`` process over ``data_dir``. The USE channel
    follows the index: this benchmark builds e5 + BM25 indexes (the channel's own cost is
    bench/channels.py's), so servers and re-ingests run without it unless the index has it."""
    return {
        **os.environ,
        "PARTNERSEARCH_DATA_DIR": str(data_dir),
        "PARTNERSEARCH_CACHE": str(_cache_dir()),
        "PARTNERSEARCH_BACKEND": backend,
        "PARTNERSEARCH_USE_CHANNEL": "true" if _index_has_use(data_dir) else "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


def _index_has_use(data_dir: Path) -> bool:
    from index import snapshot

    try:
        ref = snapshot.current(data_dir)
    except Exception:  # no index, or another format: the process reports it itself
        return False
    return ref is not None and "use" in ref.manifest


def _cli_reingest(data_dir: Path, corpus: Path, backend: str) -> float:
    """Wall time of ``partnersearch ingest CORPUS`` on an unchanged corpus: process start,
    imports and model load included."""
    started = time.perf_counter()
    subprocess.run(
        [str(REPO / ".venv/bin/partnersearch"), "ingest", str(corpus)],
        env=_backend_env(backend, data_dir),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


# Runs in a fresh interpreter with the server's environment: the steps the lifespan takes
# before the first answer (minus uvicorn), one after the other (the lifespan overlaps the
# spaCy load with an ONNX model's), cumulative seconds. Loading the model goes through
# load_embedder, so only the torch backend imports sentence-transformers/torch.
_BREAKDOWN = r"""
import json, sys, time
t0 = time.perf_counter()
marks = {}
def mark(name):
    marks[name] = round(time.perf_counter() - t0, 3)
import service.app  # fastapi, index, ingest (numpy, faiss, bm25s)
mark("import service.app")
from pathlib import Path
from index import Searcher
from ingest.embed import load_embedder
from service.answer_model import load_answer_model
from service.nlp import load_entity_tagger
from service.settings import Settings
settings = Settings()
emb = load_embedder(**settings.embedder_options())
mark("load model")
emb.fingerprint()
mark("fingerprint")
load_entity_tagger(hide_torch=settings.backend != "torch")
mark("load spaCy tagger")
load_answer_model(settings.answer_model_path())
mark("load answer model")
searcher = Searcher.open(Path(settings.data_dir), emb, **settings.search_options())
mark("open index")
searcher.search(sys.argv[1], k=10)
mark("first search")
print(json.dumps({"steps": marks, "torch_imported": "torch" in sys.modules}))
"""


def cold_start_breakdown(
    data_dir: Path, backend: str, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Cumulative seconds to each start-up step in a fresh interpreter, and whether torch
    got imported on the way; ``{"failed": reason}`` if it does not get through."""
    out = subprocess.run(
        [sys.executable, "-c", _BREAKDOWN, FIRST_QUESTION],
        env=_backend_env(backend, data_dir) | (extra_env or {}),
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if out.returncode != 0:
        return {"failed": f"exit {out.returncode} ({_last_error(out.stderr)})"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def our_chunk_vectors(data_dir: Path) -> dict[str, np.ndarray]:
    """Chunk text -> the vector our published snapshot holds for that chunk (for the peer's
    external vectors, so both engines rank with the very same dense vectors)."""
    from index import snapshot
    from index.dense import DenseIndex

    snap = _current_snapshot(data_dir)
    ids, vectors = DenseIndex.load(snap / snapshot.CHUNKS_FAISS).all_vectors()
    row_of = {int(v): i for i, v in enumerate(ids.tolist())}
    conn = sqlite3.connect(f"file:{snap / snapshot.STORE}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT vid, text FROM chunks").fetchall()
    finally:
        conn.close()
    return {text: vectors[row_of[int(vid)]] for vid, text in rows}


# ------------------------------------------------------------------ server side


class Server:
    """``partnersearch serve`` in a subprocess with one backend, and its memory high-water mark."""

    def __init__(
        self,
        data_dir: Path,
        backend: str,
        log_path: Path,
        *,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = _backend_env(backend, data_dir) | (extra_env or {})
        self._log = log_path.open("w")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(REPO / ".venv/bin/partnersearch"), "serve", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_first_answer(self, question: str, *, timeout: float = 300.0) -> float:
        """Seconds from spawn to the first 200 from POST /ask."""
        deadline = self.started + timeout
        with httpx.Client(timeout=60.0) as client:
            while time.perf_counter() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self.proc.returncode}; see {self._log.name}"
                    )
                try:
                    r = client.post(f"{self.url}/ask", json={"question": question})
                    if r.status_code == 200:
                        return time.perf_counter() - self.started
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        raise TimeoutError(f"no answer from {self.url} within {timeout} s")

    def peak_rss_mb(self) -> float:
        """VmHWM (peak resident set) of the server and its children, in MB (10^6 bytes)."""
        import psutil

        total = 0
        procs = [psutil.Process(self.proc.pid)]
        with contextlib.suppress(psutil.Error):
            procs += procs[0].children(recursive=True)
        for p in procs:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) * 1024
        return total / 1e6

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def load_test(url: str, endpoint: str, queries: Sequence[str], *, clients: int) -> dict[str, Any]:
    """POST each query once to ``endpoint`` from ``clients`` threads; latency percentiles,
    requests/s over the whole run, and errors (non-200 or transport failures)."""
    field = "question" if endpoint == "/ask" else "query"
    work: queue.Queue[str] = queue.Queue()
    for q in queries:
        work.put(q)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=60.0) as client:
            while True:
                try:
                    q = work.get_nowait()
                except queue.Empty:
                    return
                body: dict[str, Any] = {field: q, "k": 10}
                started = time.perf_counter()
                try:
                    r = client.post(endpoint, json=body)
                    ok = r.status_code == 200
                    why = f"{r.status_code} {r.text[:120]}"
                except httpx.HTTPError as exc:
                    ok, why = False, repr(exc)
                took = time.perf_counter() - started
                with lock:
                    if ok:
                        latencies.append(took)
                    else:
                        errors.append(why)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return {
        **_pct(latencies),
        "rps": len(latencies) / wall if wall else 0.0,
        "errors": len(errors),
        "error_samples": errors[:3],
        "clients": clients,
        "requests": len(queries),
    }


def _clear(embedder: Any) -> None:
    clear = getattr(embedder, "clear_query_cache", None)
    if clear is not None:
        clear()


def in_process_latency(
    search: Callable[[str], Any], queries: Sequence[str], embedder: Any
) -> dict[str, Any]:
    """Per-query latency of ``search``; the embedder's query cache (if any) is emptied
    first, so ours and the peer's both embed every query."""
    _all_cores(embedder)
    _clear(embedder)
    search(queries[0])  # first call pays one-time costs (lazy allocations)
    times = []
    for q in queries[1:]:
        started = time.perf_counter()
        search(q)
        times.append(time.perf_counter() - started)
    return _pct(times)


def query_embedding_latency(embedder: Any, queries: Sequence[str]) -> dict[str, Any]:
    """Latency of ``embed_queries([q])`` for distinct queries, cache emptied first: what
    one uncached query costs the search path."""
    _all_cores(embedder)
    _clear(embedder)
    embedder.embed_queries([queries[0]])
    times = []
    for q in queries[1:]:
        started = time.perf_counter()
        embedder.embed_queries([q])
        times.append(time.perf_counter() - started)
    return _pct(times)


def serve_once(
    data_dir: Path,
    backend: str,
    log_path: Path,
    *,
    extra_env: dict[str, str] | None = None,
    tests: Sequence[tuple[str, str, Sequence[str], int]] = (),
) -> dict[str, Any]:
    """Start a server with ``backend``, time its cold start, run ``tests`` (name, endpoint,
    queries, clients) in order, and read its peak RSS. A server that does not come up is
    recorded as ``{"failed": reason}`` (the other backends are still measured)."""
    server = Server(data_dir, backend, log_path, extra_env=extra_env)
    try:
        try:
            cold = server.wait_first_answer(FIRST_QUESTION)
        except (RuntimeError, TimeoutError) as exc:
            reason = f"{exc} ({_last_error(log_path.read_text(errors='replace'))})"
            logger.error("%s server failed: %s", backend, reason)
            return {"failed": reason}
        out: dict[str, Any] = {"cold_start_s": cold}
        out["http"] = {
            name: load_test(server.url, endpoint, queries, clients=clients)
            for name, endpoint, queries, clients in tests
        }
        out["peak_rss_mb"] = server.peak_rss_mb()
    finally:
        server.stop()
    return out


def _last_error(log: str) -> str:
    """The last exception line of a log ("NameError: ..."), else its last line."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^[A-Za-z_.]+(Error|Exception)\b", ln)]
    return (errors or lines or ["empty log"])[-1][:300]


# ------------------------------------------------------------------ corpus/ and gold set


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
    from index import Searcher
    from ingest.model_build import ensure_model_dir

    data_dir = work / "data-corpus"
    if not (data_dir / "CURRENT").exists():
        time_ingest(data_dir, REPO / "corpus", primary)
    searcher = Searcher.open(data_dir, primary, **_settings().search_options())
    peer = TxtaiPeer(vectors="model", model_dir=ensure_model_dir(_cache_dir()))
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


# ------------------------------------------------------------------ one size


def _cache_dir() -> Path:
    return Path(os.environ.get("PARTNERSEARCH_CACHE", REPO / ".cache" / "partnersearch"))


@dataclasses.dataclass
class Plan:
    label: str
    chunks: int
    queries: dict[str, list[str]]
    raw_sample: int
    seed: int
    compare_ingest_max: int = COMPARE_INGEST_MAX


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


def _raw_record(raw_s: float, timed: int, texts: int, chunks: int) -> dict[str, Any]:
    return {
        "raw_model_seconds": raw_s,
        "raw_model_timed_texts": timed,
        "raw_texts_per_s": texts / raw_s,
        "raw_chunks_per_s": chunks / raw_s,
    }


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
        emb = DerivedEmbedder(primary, LazyCache(cache_path, wait_s=wait_cache_s))
        took, report = time_ingest(data_dir, corpus, emb)
        res[backends[0]] = {
            "derived": True,
            "seconds": took,
            "real_vectors": emb.real,
            "derived_vectors": emb.derived,
            "chunks": report.chunks,
            "sentences": report.sentences,
            "documents": report.documents,
            "chunks_per_s": report.chunks / took,
        }
        logger.info("[%s] derived build %s", plan.label, res[backends[0]])
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
    from index import Searcher

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
        "cli_seconds": _cli_reingest(data_dir, corpus, primary_name),
    }
    res["counts"] = {"chunks": report.chunks, "sentences": report.sentences}
    res["index_bytes"] = _dir_bytes(_current_snapshot(data_dir))
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
        searcher = Searcher.open(data_dir, emb, **_settings().search_options())
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
        tp = TxtaiPeer(vectors="model", model_dir=ensure_model_dir(_cache_dir()))
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
        _torch_all_cores()  # txtai runs the model through sentence-transformers/torch
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


# ------------------------------------------------------------------ report


def _ok(flag: bool | None) -> str:
    return "" if flag is None else ("met" if flag else "**missed**")


def _cell(text: str, flag: bool | None = None) -> str:
    mark = _ok(flag)
    return f"{text} {mark}" if mark else text


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _three(m: dict[str, Any]) -> str:
    return f"{m['p50']:.1f} / {m['p95']:.1f} / {m['p99']:.1f}"


def is_large(r: dict[str, Any]) -> bool:
    """Whether the "at 100k passages" targets apply to this size."""
    return r["target_chunks"] >= LARGE


def ingest_table(r: dict[str, Any]) -> str:
    """Ingest throughput, one column per backend, with the targets."""
    backends: list[str] = r["backends"]
    ing = r["ingest"]
    prim = ing[backends[0]]
    head = ["ingest", *[f"`{b}`" for b in backends], "target"]
    if prim.get("reused") or prim.get("derived"):
        what = (
            "index reused from an earlier build"
            if prim.get("reused")
            else f"{prim['seconds']:.1f} s; {prim['real_vectors']} real + "
            f"{prim['derived_vectors']} derived passage vectors"
        )
        rows = [["index build (derived vectors, not a real ingest)", what] + [""] * len(backends)]
        rows += _reingest_rows(r, len(backends))
        return "\n".join(_table(head, rows)) + "\n"

    def per(fn: Callable[[str, dict[str, Any]], str]) -> list[str]:
        return [fn(b, ing[b]) if b in ing else "" for b in backends]

    def full(b: str, m: dict[str, Any]) -> bool:
        return "seconds" in m

    torch_m = ing.get("torch")
    peer = r.get("peer")
    rows: list[list[str]] = []
    rows.append(
        [
            "texts embedded (chunks + sentences)",
            *per(
                lambda b, m: (
                    f"{m['embedded_texts']}"
                    + ("" if m.get("same_texts", True) else " (other texts than the primary's!)")
                    if full(b, m)
                    else "no full ingest at this size"
                )
            ),
            "",
        ]
    )
    rows.append(["ingest s", *per(lambda b, m: f"{m['seconds']:.1f}" if full(b, m) else ""), ""])
    rows.append(
        ["ingest texts/s", *per(lambda b, m: f"{m['texts_per_s']:.1f}" if full(b, m) else ""), ""]
    )
    rows.append(
        [
            "ingest chunks/s",
            *per(lambda b, m: f"**{m['chunks_per_s']:.1f}**" if full(b, m) else ""),
            "",
        ]
    )

    def vs_primary(b: str, m: dict[str, Any]) -> str:
        if b == backends[0] or not full(b, m):
            return ""
        return f"{m['chunks_per_s'] / prim['chunks_per_s']:.2f}x"

    rows.append(["ingest speed / primary's", *per(vs_primary), ""])
    if torch_m is not None and "seconds" in torch_m:

        def vs_torch(b: str, m: dict[str, Any]) -> str:
            if b == "torch" or not full(b, m):
                return ""
            ratio = m["chunks_per_s"] / torch_m["chunks_per_s"]
            return _cell(f"{ratio:.2f}x", ratio >= TARGETS["ingest_vs_torch"])

        rows.append(
            [
                "ingest speed / torch's (same texts)",
                *per(vs_torch),
                f">= {TARGETS['ingest_vs_torch']:.0f}x",
            ]
        )

    def raw(b: str, m: dict[str, Any]) -> str:
        how = (
            "all texts"
            if m["raw_model_timed_texts"] >= m["embedded_texts"]
            else f"sample of {m['raw_model_timed_texts']}"
        )
        return f"{m['raw_texts_per_s']:.1f} ({m['raw_chunks_per_s']:.1f} chunks/s; {how})"

    rows.append(["bare model texts/s, the primary's texts", *per(raw), ""])

    def raw_vs(b: str, m: dict[str, Any]) -> str:
        if b == backends[0]:
            return ""
        return f"{m['raw_texts_per_s'] / prim['raw_texts_per_s']:.2f}x"

    rows.append(["bare model speed / primary's", *per(raw_vs), ""])
    rows.append(
        [
            "pipeline overhead (ingest / bare model)",
            *per(
                lambda b, m: (
                    _cell(f"{m['overhead']:.2f}x", m["overhead"] <= TARGETS["ingest_overhead"])
                    if full(b, m)
                    else ""
                )
            ),
            f"<= {TARGETS['ingest_overhead']}x",
        ]
    )
    if peer:
        if peer["embeds"]:

            def vs_peer(b: str, m: dict[str, Any]) -> str:
                if not full(b, m):
                    return ""
                ratio = m["chunks_per_s"] / peer["chunks_per_s"]
                return _cell(f"{peer['chunks_per_s']:.1f} (ours {ratio:.2f}x)", ratio > 1)

            rows.append(
                ["txtai ingest chunks/s (embeds chunks only)", *per(vs_peer), "ours faster"]
            )
        else:
            rows.append(
                [
                    "txtai ingest chunks/s",
                    f"not comparable: txtai was given our vectors "
                    f"(index build {peer['chunks_per_s']:.0f} chunks/s)",
                    *[""] * (len(backends) - 1),
                    "",
                ]
            )
    rows += _reingest_rows(r, len(backends))
    return "\n".join(_table(head, rows)) + "\n"


def _reingest_rows(r: dict[str, Any], n: int) -> list[list[str]]:
    ri = r.get("reingest")
    if not ri:
        return []
    prim = r["ingest"][r["backends"][0]]
    first = prim.get("seconds") if not prim.get("derived") else r.get("extrapolated_ingest_s")
    if prim.get("reused"):
        first = r.get("extrapolated_ingest_s")
    speed = first / ri["seconds"] if first and ri["seconds"] else None
    basis = (
        f" (vs the real ingest extrapolated from {r['extrapolated_from']})"
        if r["vectors"] == "derived" and speed
        else ""
    )
    blank = [""] * (n - 1)
    rows = [
        [
            "re-ingest, unchanged corpus (model loaded)",
            _cell(
                f"{ri['seconds']:.2f} s"
                + (f" = {speed:.0f}x faster than first{basis}" if speed else ""),
                speed >= TARGETS["reingest_speedup"] if speed else None,
            ),
            *blank,
            f">= {TARGETS['reingest_speedup']:.0f}x",
        ]
    ]
    if "cli_seconds" in ri:
        rows.append(
            [
                "re-ingest via `partnersearch ingest` (process start + model load)",
                f"{ri['cli_seconds']:.2f} s",
                *blank,
                "",
            ]
        )
    return rows


def serving_table(r: dict[str, Any]) -> str:
    """Serving measures on the primary's index, one column per backend, with the targets."""
    backends: list[str] = r["backends"]
    sv = r["serving"]
    large = is_large(r)
    peer = r.get("peer")
    head = ["serving", *[f"`{b}`" for b in backends], "target"]

    def per(fn: Callable[[str, dict[str, Any]], str], need: str = "server") -> list[str]:
        cells = []
        for b in backends:
            s = sv[b]
            if need == "server" and "failed" in s:
                cells.append("n/a: server failed")
            elif need == "breakdown" and "failed" in s["breakdown"]:
                cells.append(f"failed: {s['breakdown']['failed']}")
            else:
                cells.append(fn(b, s))
        return cells

    rows: list[list[str]] = []
    if any("failed" in sv[b] for b in backends):
        rows.append(
            [
                "server start",
                *[
                    f"**failed**: {sv[b]['failed']}" if "failed" in sv[b] else "ok"
                    for b in backends
                ],
                "",
            ]
        )
    cold_t = TARGETS["cold_start_large_s"]
    rows.append(
        [
            "cold start to first /ask (s)",
            *per(
                lambda b, s: _cell(
                    f"**{s['cold_start_s']:.2f}**", s["cold_start_s"] <= cold_t if large else None
                )
            ),
            f"<= {cold_t:.0f} s at 100k" if large else "",
        ]
    )

    def steps(b: str, s: dict[str, Any]) -> str:
        bd = s["breakdown"]
        return "; ".join(f"{k} by {v:.2f}" for k, v in bd["steps"].items())

    rows.append(
        ["start-up steps in a fresh interpreter (cumulative s)", *per(steps, "breakdown"), ""]
    )
    rows.append(
        [
            "torch imported on the query path",
            *per(lambda b, s: "yes" if s["breakdown"]["torch_imported"] else "no", "breakdown"),
            "",
        ]
    )
    p50_t, rps_t = TARGETS["search_p50_large_ms"], TARGETS["search_rps_8_large"]
    for key, label in (
        ("search_1", "/search, 1 client"),
        ("search_8", "/search, 8 clients"),
        ("ask_1", "/ask, 1 client"),
        ("ask_8", "/ask, 8 clients"),
    ):

        def http(b: str, s: dict[str, Any], key: str = key) -> str:
            m = s["http"][key]
            text = f"{_three(m)}; {m['rps']:.1f} req/s; {m['errors']} errors / {m['requests']}"
            flag = None
            if large and key == "search_1":
                flag = m["p50"] <= p50_t
            elif large and key == "search_8":
                flag = m["rps"] >= rps_t and m["errors"] == 0
            return _cell(text, flag)

        target = ""
        if large and key == "search_1":
            target = f"p50 <= {p50_t:.0f} ms"
        elif large and key == "search_8":
            target = f">= {rps_t:.0f} req/s, 0 errors"
        rows.append([f"{label} (ms p50/p95/p99)", *per(http), target])
    rows.append(["peak RSS of the server (MB)", *per(lambda b, s: f"{s['peak_rss_mb']:.0f}"), ""])
    qe_t = TARGETS["query_embed_p50_ms"]
    rows.append(
        [
            "query embedding, uncached (ms p50/p95)",
            *per(
                lambda b, s: _cell(
                    f"**{s['query_embed']['p50']:.1f}** / {s['query_embed']['p95']:.1f}",
                    s["query_embed"]["p50"] <= qe_t,
                ),
                "in-process",
            ),
            f"p50 <= {qe_t:.0f} ms",
        ]
    )
    rows.append(
        [
            "in-process search, ours (ms p50/p95/p99)",
            *per(lambda b, s: _three(s["inproc"]), "in-process"),
            "",
        ]
    )
    if peer:
        ratio_t = TARGETS["inproc_ratio_txtai"]
        rows.append(
            [
                "in-process search, txtai (ms p50/p95/p99)",
                *per(lambda b, s: _three(peer["inproc"][b]), "in-process"),
                "",
            ]
        )

        def ratio(b: str, s: dict[str, Any]) -> str:
            value = s["inproc"]["p50"] / peer["inproc"][b]["p50"]
            return _cell(f"{value:.2f}", value <= ratio_t)

        rows.append(
            ["in-process p50 ratio ours / txtai", *per(ratio, "in-process"), f"<= {ratio_t}"]
        )
    return "\n".join(_table(head, rows)) + "\n"


def size_section(r: dict[str, Any]) -> str:
    """Heading, corpus line and both tables of one size."""
    c = r["counts"]
    vec = "real" if r["vectors"] == "real" else "DERIVED"
    lines = [
        f"### {r['label']} chunks ({vec} passage vectors)",
        "",
        f"{r['corpus']['documents']} documents, {c['chunks']} chunks (estimated "
        f"{r['corpus']['estimated_chunks']}), {c['sentences']} sentences; index "
        f"{r['index_bytes'] / 1e6:.1f} MB on disk, built by `{r['primary']}` at "
        f"{r.get('commit', 'unknown')}. "
        f"Other processes kept {r['others_cores']:.2f} cores busy on average meanwhile.",
    ]
    if r.get("server_env"):
        env = " ".join(f"{k}={v}" for k, v in r["server_env"].items())
        lines[-1] += f" Servers run with {env}."
    if r.get("peer"):
        lines[-1] += f" txtai: {r['peer']['vectors']}."
    lines += ["", ingest_table(r), serving_table(r)]
    return "\n".join(lines)


def corpus_table(c: dict[str, Any]) -> str:
    """corpus/ served by each backend: cold start and RSS against the corpus/ targets."""
    backends = list(c["serving"])
    cold_t, rss_t = TARGETS["cold_start_corpus_s"], TARGETS["rss_corpus_mb"]
    sv = c["serving"]

    def per(fn: Callable[[dict[str, Any]], str]) -> list[str]:
        return [
            f"**failed**: {sv[b]['failed']}" if "failed" in sv[b] else fn(sv[b]) for b in backends
        ]

    rows = [
        [
            "cold start to first /ask (s)",
            *per(lambda s: _cell(f"**{s['cold_start_s']:.2f}**", s["cold_start_s"] <= cold_t)),
            f"<= {cold_t:.0f} s",
        ],
        [
            "peak RSS of the server (MB)",
            *per(lambda s: _cell(f"**{s['peak_rss_mb']:.0f}**", s["peak_rss_mb"] <= rss_t)),
            f"<= {rss_t:.0f} MB",
        ],
    ]
    for key, label in (("search_1", "/search, 1 client"), ("ask_1", "/ask, 1 client")):
        rows.append(
            [
                f"{label} (ms p50/p95/p99)",
                *per(
                    lambda s, key=key: (
                        f"{_three(s['http'][key])}; {s['http'][key]['errors']} errors"
                    )
                ),
                "",
            ]
        )
    lines = [
        f"### corpus/ ({c['documents']} documents, {c['chunks']} chunks, "
        f"{c['sentences']} sentences)",
        "",
        *_table(["corpus/", *[f"`{b}`" for b in backends], "target"], rows),
    ]
    return "\n".join(lines) + "\n"


def gold_table(g: dict[str, Any]) -> str:
    return (
        f"### Gold set (corpus/, {g['questions']} answerable questions, `{g['backend']}`)\n\n"
        "| measure | ours | txtai | ratio ours/txtai |\n|---|---|---|---|\n"
        f"| hit@{g['k']} (a top-{g['k']} passage contains the answer) | {g['ours_hit']:.3f} | "
        f"{g['peer_hit']:.3f} | {g['ratio']:.2f} |\n"
    )


def target_summary(results: dict[str, Any]) -> list[str]:
    """One line per checked target (the issue's, plus ingest overhead): met or missed."""
    lines: list[str] = []

    def add(what: str, value: str, flag: bool) -> None:
        lines.append(f"- {_ok(flag)}: {what}: {value}")

    c = results.get("corpus")
    if c:
        for b, s in c["serving"].items():
            if "failed" in s:
                add(f"corpus/ server starts (`{b}`)", s["failed"], False)
                continue
            add(
                f"cold start with corpus/ <= {TARGETS['cold_start_corpus_s']:.0f} s (`{b}`)",
                f"{s['cold_start_s']:.2f} s",
                s["cold_start_s"] <= TARGETS["cold_start_corpus_s"],
            )
            add(
                f"server RSS with corpus/ <= {TARGETS['rss_corpus_mb']:.0f} MB (`{b}`)",
                f"{s['peak_rss_mb']:.0f} MB",
                s["peak_rss_mb"] <= TARGETS["rss_corpus_mb"],
            )
    for label in results["order"]:
        r = results["sizes"].get(label)
        if not r:
            continue
        ing = r["ingest"]
        torch_m = ing.get("torch", {})
        peer = r.get("peer")
        for b in r["backends"]:
            m = ing.get(b, {})
            comparable = "chunks_per_s" in m and "chunks_per_s" in torch_m
            if b != "torch" and comparable and not (m.get("derived") or torch_m.get("derived")):
                ratio = m["chunks_per_s"] / torch_m["chunks_per_s"]
                add(
                    f"{label}: ingest >= {TARGETS['ingest_vs_torch']:.0f}x torch (`{b}`)",
                    f"{ratio:.2f}x ({m['chunks_per_s']:.1f} vs "
                    f"{torch_m['chunks_per_s']:.1f} chunks/s)",
                    ratio >= TARGETS["ingest_vs_torch"],
                )
            if peer and peer["embeds"] and "seconds" in m and not m.get("derived"):
                add(
                    f"{label}: ingest faster than txtai (`{b}`)",
                    f"{m['chunks_per_s']:.1f} vs {peer['chunks_per_s']:.1f} chunks/s",
                    m["chunks_per_s"] > peer["chunks_per_s"],
                )
            s = r["serving"][b]
            add(
                f"{label}: query embedding p50 <= {TARGETS['query_embed_p50_ms']:.0f} ms (`{b}`)",
                f"{s['query_embed']['p50']:.1f} ms",
                s["query_embed"]["p50"] <= TARGETS["query_embed_p50_ms"],
            )
            if is_large(r) and "failed" in s:
                add(f"{label}: server starts (`{b}`)", s["failed"], False)
            elif is_large(r):
                add(
                    f"{label}: cold start <= {TARGETS['cold_start_large_s']:.0f} s (`{b}`)",
                    f"{s['cold_start_s']:.2f} s",
                    s["cold_start_s"] <= TARGETS["cold_start_large_s"],
                )
                s1, s8 = s["http"]["search_1"], s["http"]["search_8"]
                add(
                    f"{label}: /search p50 <= {TARGETS['search_p50_large_ms']:.0f} ms, "
                    f"1 client (`{b}`)",
                    f"{s1['p50']:.1f} ms",
                    s1["p50"] <= TARGETS["search_p50_large_ms"],
                )
                add(
                    f"{label}: /search >= {TARGETS['search_rps_8_large']:.0f} req/s, 8 clients, "
                    f"0 errors (`{b}`)",
                    f"{s8['rps']:.1f} req/s, {s8['errors']} errors",
                    s8["rps"] >= TARGETS["search_rps_8_large"] and s8["errors"] == 0,
                )
            if peer:
                ratio = s["inproc"]["p50"] / peer["inproc"][b]["p50"]
                add(
                    f"{label}: in-process p50 ours / txtai <= {TARGETS['inproc_ratio_txtai']} "
                    f"(`{b}`)",
                    f"{ratio:.2f} ({s['inproc']['p50']:.1f} vs {peer['inproc'][b]['p50']:.1f} ms)",
                    ratio <= TARGETS["inproc_ratio_txtai"],
                )
    return lines


def _method_notes(results: dict[str, Any]) -> list[str]:
    """How the numbers were taken; generated, so it stays true to the code."""
    m = results["machine"]
    backends = results["backends"]
    cmd = " ".join(["python -m bench.run", *results["argv"][1:]])
    embed = results.get("embed_settings", {})
    threads, spinning = embed.get("embed_threads", 0), embed.get("embed_spinning", False)
    pool = "one thread per core" if threads == 0 else f"{threads} threads"
    notes = [
        f"- Command: `{cmd}`. Backends: "
        + ", ".join(f"`{b}`" for b in backends)
        + f"; `{backends[0]}` (the first) builds the index at every size, and every backend "
        "serves that same index (a compatible backend of the same model opens it; the "
        "manifest's probe vectors agree).",
        f"- Cores: every backend embeds with all {m['nproc']} cores. onnxruntime runs its own "
        f"intra-op pool (PARTNERSEARCH_EMBED_THREADS={threads}: {pool}; spinning "
        f"{'on' if spinning else 'off'}), in the servers as in process; the benchmark never "
        "imports torch for it. For `torch` the benchmark calls `torch.set_num_threads("
        f"{m['nproc']})` before each torch timing: index/dense.py sets OpenMP to one "
        "thread while FAISS searches (and restores the count), and torch shares that "
        "OpenMP runtime, so the reset keeps the count independent of what ran before.",
        "- Same texts: each non-primary backend ingests the same corpus into its own "
        "data dir (up to --compare-ingest-max chunks) and its bare model is timed on exactly "
        "the texts the primary's pipeline embedded (the same fixed random sample where the "
        'table says so, extrapolated by count). "Texts" are everything the pipeline '
        "embedded (chunk and sentence texts, with the document title as context); "
        "chunks/s divides the same time by the chunks indexed.",
        "- Servers run one at a time, each `partnersearch serve` with "
        "PARTNERSEARCH_BACKEND=<backend>; cold start is spawn to the first answered "
        "POST /ask, index files already in the OS page cache. Each backend gets the same "
        "queries; every query is distinct within a measurement, so the query-vector cache "
        "only spares /ask its second embedding of the same question. The start-up steps "
        "run the lifespan's work (model, spaCy tagger, answer model, index) one after the "
        "other in a fresh interpreter with the server's environment; the server overlaps "
        "the spaCy load with an ONNX model's.",
        "- Query embedding: `embed_queries([q])` in process for distinct queries, cache "
        "emptied first; in-process search is `Searcher.search(q, k=10)`, query embedding "
        "included.",
        "- txtai (bench/peer.py, hybrid dense + BM25, content stored): at 1k chunks it "
        "embeds the chunks itself with the same model through sentence-transformers on all "
        "cores (chunks only, no sentences), so its chunks/s compares with ours, and it "
        "embeds its queries the same way, so at 1k the latency ratio includes the "
        "difference between our backend and torch; at larger sizes it is "
        "given our chunk vectors and embeds queries with each of our backends in turn, so "
        "the latency ratio compares search engines on the same query vectors.",
        "- At 100k chunks the passage vectors are the 10k run's real ones plus random convex "
        "mixes of them (the real model embeds every query): retrieval quality is not "
        "measured at that size, only speed and memory.",
        f"- Competing load: other processes kept {results.get('others_cores', 0.0):.2f} of "
        f"the {m['nproc']} cores busy on average over the whole run (machine-wide CPU time "
        "minus the benchmark's own and its children's); each size's heading gives its share. "
        f"Load average when the run started: {results['loadavg_start'][0]:.2f}.",
        f"- Ingest settings: {results.get('indexer_options', {})}.",
    ]
    return notes


def _sections(results: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if "corpus" in results:
        out.append(corpus_table(results["corpus"]))
    if "gold" in results:
        out.append(gold_table(results["gold"]))
    for label in results["order"]:
        if label in results["sizes"]:
            out.append(size_section(results["sizes"][label]))
    summary = target_summary(results)
    if summary:
        out += ["### Targets", "", *summary, ""]
    return out


def readme_section(results: dict[str, Any]) -> str:
    """The README's Performance section: machine, command, tables, how they were taken."""
    m = results["machine"]
    v = m["versions"]
    versions = ", ".join(f"{k} {val}" for k, val in v.items())
    lines = [
        "## Performance",
        "",
        f"Measured {results['started'][:10]} on {m['nproc']} CPU cores ({m['cpu']}), "
        f"{m['ram_gib']} GiB RAM, no GPU (Python {m['python']}; {versions}). Reproduce "
        "with `make bench` (runs `.venv/bin/python -m bench.run`; results land in "
        "`bench/out/<timestamp>/results.{md,json}`, this section in `performance.md`).",
        "",
        "The corpus is synthetic (bench/scale_corpus.py, seed 0): French and English press "
        "releases, conventions and interviews recombined from the sentences of corpus/ with "
        "other partners, places, dates and figures. Latencies are over HTTP against "
        "`partnersearch serve` unless marked in-process; milliseconds p50 / p95 / p99.",
        "",
        *_sections(results),
        "#### How these numbers were taken",
        "",
        *_method_notes(results),
        "",
    ]
    return "\n".join(lines)


def write_results(out: Path, results: dict[str, Any]) -> str:
    m = results["machine"]
    md = [
        f"# PartnerSearch benchmark {results['started']}",
        "",
        f"Machine: {m['nproc']} CPU cores ({m['cpu']}), {m['ram_gib']} GiB RAM, no GPU; "
        f"Python {m['python']}; "
        + ", ".join(f"{k} {val}" for k, val in m["versions"].items())
        + ".",
        "",
        *_sections(results),
        "## How these numbers were taken",
        "",
        *_method_notes(results),
        "",
    ]
    text = "\n".join(md)
    (out / "results.md").write_text(text, encoding="utf-8")
    (out / "performance.md").write_text(readme_section(results), encoding="utf-8")
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    return text


def extrapolate(results: dict[str, Any]) -> None:
    """Give derived sizes the real ingest time the largest real size predicts for them
    (linear in chunks, primary backend), the basis of their re-ingest speed-up."""
    real = []
    for r in results["sizes"].values():
        prim = r["ingest"].get(r["primary"], {})
        if r["vectors"] == "real" and "seconds" in prim and "counts" in r:
            real.append((r, prim))
    if not real:
        return
    ref, prim = max(real, key=lambda pair: pair[0]["counts"]["chunks"])
    rate = prim["seconds"] / ref["counts"]["chunks"]
    for r in results["sizes"].values():
        if r["vectors"] == "derived" and "counts" in r:
            r["extrapolated_ingest_s"] = rate * r["counts"]["chunks"]
            r["extrapolated_from"] = ref["label"]


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
        "loadavg_start": _loadavg(),
        "argv": sys.argv if argv is None else ["bench.run", *argv],
        "backends": backends,
        "order": list(sizes),  # as given: a 100k index built ahead can go first (--reuse)
        "sizes": {},
    }
    settings = _settings()
    results["indexer_options"] = settings.indexer_options()
    results["embed_settings"] = {
        "embed_threads": settings.embed_threads,
        "embed_spinning": settings.embed_spinning,
        "batch_size": settings.batch_size,
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
