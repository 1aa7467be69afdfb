"""Thread settings benchmark: onnxruntime threads and spinning, quiet machine vs a busy core.

For each setting (PARTNERSEARCH_EMBED_THREADS x PARTNERSEARCH_EMBED_SPINNING), measures
/search over HTTP with 1 and 8 clients against ``partnersearch serve`` and an eval-like
run (distinct queries one after another, in process), once on a quiet machine and once
beside a competing CPU-bound process that keeps one core busy. The numbers chose the
shipped defaults (README, "Threads"). A benchmark, not a test.

    .venv/bin/python -m bench.threads --data-dir DIR [--queries 300]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.server import PARTNERSEARCH, free_port, index_has_use, post_all
from bench.system import REPO, stay_offline


def _burn() -> None:
    while True:
        pass


def _queries(n: int) -> list[str]:
    from eval.gold import load_gold

    base = [g.question for g in load_gold()]
    out = list(base)
    i = 0
    while len(out) < n:
        out.append(f"{base[i % len(base)]} ({i // len(base)})")
        i += 1
    return out[:n]


def _env(data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    """A server's or a search run's environment over ``data_dir``: the USE channel follows
    the index (as in bench.run), then ``extra``."""
    return {
        **os.environ,
        "PARTNERSEARCH_DATA_DIR": str(data_dir),
        "PARTNERSEARCH_USE_CHANNEL": "true" if index_has_use(data_dir) else "false",
        **extra,
    }


def _http(url: str, queries: list[str], clients: int) -> dict[str, float]:
    """/search once per query from ``clients`` threads: p50 and p95 ms over every request
    (answered or not), requests/s, and the requests not answered 200."""
    samples, wall = post_all(
        url, "/search", [{"query": q, "k": 10} for q in queries], clients=clients
    )
    lat = sorted(took for took, _, _ in samples)
    return {
        "p50_ms": 1000 * statistics.median(lat),
        "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))],
        "rps": len(lat) / wall,
        "errors": sum(not ok for _, ok, _ in samples),
    }


def _serve(data_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(PARTNERSEARCH), "serve", "--port", str(port)],
        env=_env(data_dir, env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return proc, url
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _eval_like(data_dir: Path, queries: list[str], env: dict[str, str]) -> float:
    """Seconds for distinct hybrid searches one after another, in a fresh interpreter
    (``python -m bench.fresh searches``)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.fresh", "searches"],
        input=json.dumps(queries),
        env=_env(data_dir, env),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="an ingested index")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--out", type=Path, default=None, help="JSON results file")
    args = parser.parse_args(argv)
    stay_offline()
    queries = _queries(args.queries)
    results: list[dict[str, Any]] = []
    for busy in (False, True):
        burner = multiprocessing.Process(target=_burn, daemon=True) if busy else None
        if burner:
            burner.start()
        try:
            for threads in [int(t) for t in args.threads.split(",")]:
                for spinning in (False, True):
                    env = {
                        "PARTNERSEARCH_EMBED_THREADS": str(threads),
                        "PARTNERSEARCH_EMBED_SPINNING": str(spinning).lower(),
                    }
                    proc, url = _serve(args.data_dir, env)
                    try:
                        _http(url, queries[:10], 1)  # warm up
                        one = _http(url, queries, 1)
                        eight = _http(url, queries, 8)
                    finally:
                        proc.terminate()
                        proc.wait(timeout=20)
                    row = {
                        "machine": "one core busy" if busy else "quiet",
                        "threads": threads,
                        "spinning": spinning,
                        "search_1": one,
                        "search_8": eight,
                        "eval_like_s": _eval_like(args.data_dir, queries, env),
                    }
                    results.append(row)
                    print(json.dumps(row), flush=True)
        finally:
            if burner:
                burner.terminate()
    print(
        "| machine | threads | spinning | /search 1 client p50 ms | 8 clients req/s "
        f"(p50 ms) | {len(queries)} searches in process, s |"
    )
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['machine']} | {r['threads']} | {'on' if r['spinning'] else 'off'} | "
            f"{r['search_1']['p50_ms']:.1f} | {r['search_8']['rps']:.1f} "
            f"({r['search_8']['p50_ms']:.0f}) | {r['eval_like_s']:.1f} |"
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
