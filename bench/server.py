"""``partnersearch serve`` under measurement: the server subprocess and its environment,
concurrent HTTP load, cold starts and peak RSS, and the start-up steps in a fresh interpreter.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from bench.system import OFFLINE_ENV, REPO, cache_dir, percentiles

logger = logging.getLogger(__name__)

__all__ = [
    "FIRST_QUESTION",
    "Server",
    "backend_env",
    "cold_start_breakdown",
    "free_port",
    "index_has_use",
    "last_error",
    "load_test",
    "post_all",
    "serve_once",
    "serve_runs",
]

#: The question every cold start waits on.
FIRST_QUESTION = "Qui a signé le protocole de coopération à Lille ?"
PARTNERSEARCH = REPO / ".venv" / "bin" / "partnersearch"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def index_has_use(data_dir: Path) -> bool:
    """Whether the published snapshot of ``data_dir`` holds USE vectors (False: no index)."""
    from index import snapshot

    try:
        ref = snapshot.current(data_dir)
    except Exception:  # no index, or another format: the process reports it itself
        return False
    return ref is not None and "use" in ref.manifest


def backend_env(backend: str, data_dir: Path) -> dict[str, str]:
    """The environment of a ``partnersearch`` process over ``data_dir``. The USE channel
    follows the index: this benchmark builds e5 + BM25 indexes (the channel's own cost is
    bench/channels.py's), so servers and re-ingests run without it unless the index has it."""
    return {
        **os.environ,
        "PARTNERSEARCH_DATA_DIR": str(data_dir),
        "PARTNERSEARCH_CACHE": str(cache_dir()),
        "PARTNERSEARCH_BACKEND": backend,
        "PARTNERSEARCH_USE_CHANNEL": "true" if index_has_use(data_dir) else "false",
        **OFFLINE_ENV,
    }


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
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = backend_env(backend, data_dir) | (extra_env or {})
        self._log = log_path.open("w")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [str(PARTNERSEARCH), "serve", "--port", str(self.port)],
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


def post_all(
    url: str, endpoint: str, bodies: Sequence[dict[str, Any]], *, clients: int
) -> tuple[list[tuple[float, bool, str]], float]:
    """POST each body once to ``endpoint`` from ``clients`` threads, one httpx client each:
    (seconds, answered 200, status and text or the transport error) per request, and the
    wall seconds of the whole run."""
    work: queue.Queue[dict[str, Any]] = queue.Queue()
    for body in bodies:
        work.put(body)
    samples: list[tuple[float, bool, str]] = []
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=60.0) as client:
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                try:
                    r = client.post(endpoint, json=body)
                    ok, why = r.status_code == 200, f"{r.status_code} {r.text[:120]}"
                except httpx.HTTPError as exc:
                    ok, why = False, repr(exc)
                took = time.perf_counter() - started
                with lock:
                    samples.append((took, ok, why))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return samples, time.perf_counter() - started


def load_test(url: str, endpoint: str, queries: Sequence[str], *, clients: int) -> dict[str, Any]:
    """POST each query once to ``endpoint`` from ``clients`` threads; latency percentiles,
    requests/s over the whole run, and errors (non-200 or transport failures)."""
    field = "question" if endpoint == "/ask" else "query"
    samples, wall = post_all(url, endpoint, [{field: q, "k": 10} for q in queries], clients=clients)
    latencies = [took for took, ok, _ in samples if ok]
    errors = [why for _, ok, why in samples if not ok]
    return {
        **percentiles(latencies),
        "rps": len(latencies) / wall if wall else 0.0,
        "errors": len(errors),
        "error_samples": errors[:3],
        "clients": clients,
        "requests": len(queries),
    }


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
            reason = f"{exc} ({last_error(log_path.read_text(errors='replace'))})"
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


def serve_runs(
    data: Path, backend: str, work: Path, *, tag: str, runs: int, env: dict[str, str] | None = None
) -> dict[str, list]:
    """``runs`` cold starts of ``partnersearch serve`` over ``data`` (spawn to first /ask)
    and their peak RSS; RuntimeError when a server does not come up."""
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


def last_error(log: str) -> str:
    """The last exception line of a log ("NameError: ..."), else its last line."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^[A-Za-z_.]+(Error|Exception)\b", ln)]
    return (errors or lines or ["empty log"])[-1][:300]


def cold_start_breakdown(
    data_dir: Path, backend: str, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Cumulative seconds to each start-up step in a fresh interpreter with the server's
    environment (``python -m bench.fresh startup``), and whether torch got imported on the
    way; ``{"failed": reason}`` if it does not get through."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.fresh", "startup", FIRST_QUESTION],
        env=backend_env(backend, data_dir) | (extra_env or {}),
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if out.returncode != 0:
        return {"failed": f"exit {out.returncode} ({last_error(out.stderr)})"}
    return json.loads(out.stdout.strip().splitlines()[-1])
