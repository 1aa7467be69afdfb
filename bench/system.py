"""The machine, the checkout and the clock: machine info, CPU marks, percentiles, latency
loops, the Settings every benchmark builds its components from, and a run's output folder.

Imports neither torch nor onnxruntime (tests/test_bench_run.py checks it), and changes no
environment until a benchmark's ``main`` calls :func:`stay_offline`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import platform
import subprocess
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from service.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "OFFLINE_ENV",
    "REPO",
    "all_cores",
    "cache_dir",
    "cpu_mark",
    "git_head",
    "latency",
    "loadavg",
    "machine_info",
    "nproc",
    "others_cores",
    "percentiles",
    "provenance",
    "run_folder",
    "save_report",
    "settings",
    "stay_offline",
    "torch_all_cores",
]

REPO = Path(__file__).resolve().parent.parent
#: Hugging Face libraries never reach the network from a benchmark (models are built locally).
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def stay_offline() -> None:
    """Keep Hugging Face libraries in this process (and its children) off the network,
    unless the caller's environment already says otherwise; benchmarks call it in ``main``."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


def nproc() -> int:
    """Cores this process may run on."""
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
        "nproc": nproc(),
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


def provenance() -> dict[str, Any]:
    """When (UTC, to the second), at which commit and on which machine a result is taken."""
    return {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_head(),
        "machine": machine_info(),
    }


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages, two decimals."""
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


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of ``values`` (seconds) in milliseconds, and their count."""
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


def latency(
    call: Callable[[str], object],
    queries: Sequence[str],
    *,
    before: Callable[[], None] | None = None,
) -> dict[str, float]:
    """:func:`percentiles` of ``call(q)`` over ``queries[1:]``: ``before`` runs first (it
    empties query caches), and ``queries[0]`` is a warm-up call that pays one-time costs."""
    if before is not None:
        before()
    call(queries[0])
    times = []
    for q in queries[1:]:
        started = time.perf_counter()
        call(q)
        times.append(time.perf_counter() - started)
    return percentiles(times)


def all_cores(embedder: Any) -> None:
    """Give torch every core in this thread before a torch timing. index.dense sets OpenMP
    to 1 thread while it searches (and restores it), and torch shares that OpenMP runtime
    (libgomp); resetting makes the count independent of what ran before. ONNX backends keep
    their own thread pool, and this never imports torch for them."""
    if getattr(embedder, "backend", None) == "torch":
        torch_all_cores()


def torch_all_cores() -> None:
    """``torch.set_num_threads(nproc())`` (imports torch)."""
    import torch

    torch.set_num_threads(nproc())


def cache_dir() -> Path:
    """The built-model cache: $PARTNERSEARCH_CACHE, else the checkout's .cache/partnersearch."""
    return Path(os.environ.get("PARTNERSEARCH_CACHE", REPO / ".cache" / "partnersearch"))


def settings(**overrides: Any) -> Settings:
    """The Settings a benchmark builds with (the environment's, the cache of :func:`cache_dir`),
    any field overridden by keyword; components come from service.wiring with it."""
    from service.settings import Settings

    return Settings(cache=cache_dir(), **overrides)


def run_folder(out: Path, kind: str) -> Path:
    """A new folder ``out/<kind>-<UTC time>`` for one run's files (FileExistsError if taken)."""
    folder = out / f"{kind}-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}"
    folder.mkdir(parents=True)
    return folder


def save_report(folder: Path, kind: str, result: dict[str, Any], markdown: str) -> None:
    """Write ``<kind>.json`` (``result``) and ``<kind>.md`` (its rendering) into ``folder``,
    then print the rendering and where it went (a benchmark CLI's own output)."""
    (folder / f"{kind}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (folder / f"{kind}.md").write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"written to {folder}")
