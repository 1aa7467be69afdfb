"""The benchmark runner's plan and report logic (bench/run.py), without the real model."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent


def _bench_modules():
    """bench.run and bench.embedders; the repository root need not be on sys.path (the
    `pytest` script does not put it there, `python -m pytest` does)."""
    if "bench" not in sys.modules and importlib.util.find_spec("bench") is None:
        spec = importlib.util.spec_from_file_location(
            "bench",
            REPO / "bench" / "__init__.py",
            submodule_search_locations=[str(REPO / "bench")],
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench"] = module
        spec.loader.exec_module(module)
    import bench.embedders
    import bench.run

    return bench.run, bench.embedders


run, embedders = _bench_modules()


# ------------------------------------------------------------------ plan


def test_backends_parse_in_order_with_the_primary_first() -> None:
    assert run.parse_backends(run.DEFAULT_BACKENDS) == ["onnx-int8", "onnx", "torch"]
    assert run.parse_backends(" torch , onnx ,onnx-int8") == ["torch", "onnx", "onnx-int8"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "needs at least one of onnx-int8, onnx, torch"),
        ("onnx-int8,cuda", "unknown backend 'cuda'; choose from onnx-int8, onnx, torch"),
        ("torch,onnx-int8,torch", "lists a backend twice"),
    ],
)
def test_bad_backends_are_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run.parse_backends(text)


def test_sizes_parse() -> None:
    assert [run.parse_size(s) for s in ("1k", "10k", "100k", "300", "2k")] == [
        1000,
        10000,
        100000,
        300,
        2000,
    ]
    with pytest.raises(ValueError, match="size 'ten' is not a chunk count"):
        run.parse_size("ten")
    with pytest.raises(ValueError, match="must be at least 1 chunk"):
        run.parse_size("0")


def test_other_backends_ingest_fully_only_up_to_the_limit_and_never_when_derived() -> None:
    backends = ["onnx-int8", "torch", "onnx"]
    assert run.ingest_comparisons(backends, 1000, derived=False, compare_max=10000) == [
        "torch",
        "onnx",
    ]
    assert run.ingest_comparisons(backends, 10000, derived=False, compare_max=10000) == [
        "torch",
        "onnx",
    ]
    assert run.ingest_comparisons(backends, 10001, derived=False, compare_max=10000) == []
    assert run.ingest_comparisons(backends, 1000, derived=True, compare_max=10000) == []
    assert run.ingest_comparisons(["torch"], 1000, derived=False, compare_max=10000) == []


def test_query_slices_are_disjoint_and_sized_per_phase() -> None:
    counts = run.phase_counts(10)
    assert counts == {
        "search_1": 10,
        "search_8": 20,
        "ask_1": 10,
        "ask_8": 10,
        "inproc": 10,
        "qembed": 10,
    }
    pool = [f"q{i}" for i in range(140)]
    slices = run.slice_queries(pool, ["1k", "10k"], counts)
    seen = [q for per_size in slices.values() for qs in per_size.values() for q in qs]
    assert len(seen) == 140 and len(set(seen)) == 140
    assert slices["1k"]["search_1"] == pool[:10]
    assert slices["10k"]["qembed"] == pool[130:140]
    with pytest.raises(ValueError, match="query pool has 139 queries, 140 needed"):
        run.slice_queries(pool[:139], ["1k", "10k"], counts)


def test_raw_sample_is_the_same_for_every_call() -> None:
    texts = [f"t{i}" for i in range(100)]
    assert run.raw_sample(texts, sample=200, seed=0) is texts
    a = run.raw_sample(texts, sample=10, seed=3)
    assert a == run.raw_sample(texts, sample=10, seed=3)
    assert len(set(a)) == 10 and set(a) <= set(texts)


def test_onnx_timings_never_import_torch() -> None:
    # A fresh interpreter: importing the runner, reading the machine and resetting cores for
    # an ONNX backend must leave torch unloaded.
    code = (
        "import sys, bench.run as r\n"
        "class E: backend = 'onnx-int8'\n"
        "r._all_cores(E()); r.machine_info()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ ingest comparison


class _Named:
    """HashEmbedder under another backend name (bench_ingest keys backends by name)."""

    def __init__(self, backend: str) -> None:
        from ingest.embed import HashEmbedder

        self._inner = HashEmbedder(32)
        self.backend = backend
        self.name, self.dim, self.max_tokens = self._inner.name, 32, self._inner.max_tokens

    def __getattr__(self, attr: str):
        return getattr(self._inner, attr)


def test_every_backend_ingests_the_same_texts_and_times_the_same_sample(tmp_path: Path) -> None:
    from bench.scale_corpus import write_corpus

    corpus = tmp_path / "corpus"
    write_corpus(corpus, chunks=30, seed=0)
    plan = run.Plan("30", 30, {}, raw_sample=25, seed=0, compare_ingest_max=30)
    embs = {"primary": _Named("hash-a"), "other": _Named("hash-b")}
    res = run.bench_ingest(
        plan,
        embs,
        tmp_path,
        corpus,
        tmp_path / "data",
        derived=False,
        reuse=False,
        build_only=False,
        wait_cache_s=0.0,
    )
    prim, other = res["primary"], res["other"]
    assert other["same_texts"] is True
    assert other["embedded_texts"] == prim["embedded_texts"] > 25
    assert other["chunks"] == prim["chunks"] > 0
    assert prim["raw_model_timed_texts"] == other["raw_model_timed_texts"] == 25
    assert prim["texts_per_s"] == pytest.approx(prim["embedded_texts"] / prim["seconds"])
    assert not (tmp_path / "data-30-other").exists()  # the comparison index is removed
    # Above the limit the other backend only times the bare model on the same texts.
    plan = run.Plan("30", 30, {}, raw_sample=25, seed=0, compare_ingest_max=29)
    res = run.bench_ingest(
        plan,
        embs,
        tmp_path,
        corpus,
        tmp_path / "data",
        derived=False,
        reuse=False,
        build_only=False,
        wait_cache_s=0.0,
    )
    assert res["other"]["full_ingest"] is False
    assert "seconds" not in res["other"]
    assert res["other"]["embedded_texts"] == res["primary"]["embedded_texts"]


def test_derived_embedder_gives_the_manifest_probe_its_real_vector() -> None:
    from index.compat import PROBE_TEXT
    from ingest.embed import HashEmbedder

    real = HashEmbedder(16)
    texts = ["alpha beta", "gamma delta", "epsilon zeta", "eta theta"]
    cache = embedders.EmbeddingCache(texts, real.embed_passages(texts))
    derived = embedders.DerivedEmbedder(real, cache)
    out = derived.embed_passages([PROBE_TEXT, "gamma delta", "a new text"])
    np.testing.assert_array_equal(out[0], real.embed_passages([PROBE_TEXT])[0])
    np.testing.assert_array_equal(out[1], cache.vectors[1])
    assert abs(float(np.linalg.norm(out[2])) - 1.0) < 1e-6
    assert (derived.real, derived.derived) == (1, 1)


# ------------------------------------------------------------------ tables


def _lat(p50: float, p95: float | None = None, p99: float | None = None) -> dict:
    return {"p50": p50, "p95": p95 or p50 + 1, "p99": p99 or p50 + 2, "mean": p50, "n": 9}


def _http(p50: float, rps: float, errors: int = 0) -> dict:
    return {**_lat(p50), "rps": rps, "errors": errors, "requests": 100, "clients": 1}


def _serving(cold: float, search_p50: float, rps8: float, qembed: float, inproc: float) -> dict:
    return {
        "cold_start_s": cold,
        "http": {
            "search_1": _http(search_p50, 60.0),
            "search_8": _http(search_p50 * 6, rps8),
            "ask_1": _http(search_p50 + 5, 50.0),
            "ask_8": _http(search_p50 * 7, rps8 - 10),
        },
        "peak_rss_mb": 650.0,
        "breakdown": {
            "steps": {"import service.app": 0.4, "load model": 0.6, "first search": 0.7},
            "torch_imported": False,
        },
        "inproc": _lat(inproc),
        "query_embed": _lat(qembed),
    }


def _ingest(texts: int, chunks: int, seconds: float, raw_seconds: float) -> dict:
    return {
        "seconds": seconds,
        "embedded_texts": texts,
        "texts_per_s": texts / seconds,
        "chunks": chunks,
        "chunks_per_s": chunks / seconds,
        "raw_model_seconds": raw_seconds,
        "raw_model_timed_texts": 2000,
        "raw_texts_per_s": texts / raw_seconds,
        "raw_chunks_per_s": chunks / raw_seconds,
        "overhead": seconds / raw_seconds,
        "same_texts": True,
    }


def _size(label: str, target: int) -> dict:
    return {
        "label": label,
        "target_chunks": target,
        "backends": ["onnx-int8", "torch"],
        "primary": "onnx-int8",
        "vectors": "real",
        "corpus": {"documents": 95, "estimated_chunks": 1013},
        "counts": {"chunks": 1000, "sentences": 4000},
        "index_bytes": 12_000_000,
        "others_cores": 0.04,
        "ingest": {
            # onnx-int8: 1000 chunks in 25 s = 40 chunks/s; torch: 100 s = 10 chunks/s.
            "onnx-int8": _ingest(5000, 1000, 25.0, 23.0),
            "torch": {**_ingest(5000, 1000, 100.0, 80.0), "same_texts": True},
        },
        "reingest": {"seconds": 0.05, "cli_seconds": 1.5, "unchanged": 95, "changed": 0},
        "serving": {
            "onnx-int8": _serving(1.2, 10.0, 120.0, 6.0, 9.0),
            "torch": _serving(4.5, 20.0, 50.0, 18.0, 21.0),
        },
        "peer": {
            "vectors": "txtai embeds the chunks and queries with the model itself",
            "embeds": True,
            "chunks_per_s": 20.0,
            "inproc": {"onnx-int8": _lat(20.0), "torch": _lat(20.0)},
        },
    }


def _row(table: str, start: str) -> list[str]:
    (line,) = [ln for ln in table.splitlines() if ln.startswith(f"| {start}")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_ingest_table_has_a_column_per_backend_and_marks_the_targets() -> None:
    table = run.ingest_table(_size("1k", 1000))
    assert table.splitlines()[0] == "| ingest | `onnx-int8` | `torch` | target |"
    assert _row(table, "ingest chunks/s") == ["ingest chunks/s", "**40.0**", "**10.0**", ""]
    assert _row(table, "ingest texts/s") == ["ingest texts/s", "200.0", "50.0", ""]
    assert _row(table, "ingest speed / primary's") == ["ingest speed / primary's", "", "0.25x", ""]
    assert _row(table, "ingest speed / torch's") == [
        "ingest speed / torch's (same texts)",
        "4.00x met",
        "",
        ">= 3x",
    ]
    # overhead 25/23 = 1.09 (met), 100/80 = 1.25 (missed)
    assert _row(table, "pipeline overhead")[1:] == ["1.09x met", "1.25x **missed**", "<= 1.15x"]
    assert _row(table, "txtai ingest chunks/s")[1:] == [
        "20.0 (ours 2.00x) met",
        "20.0 (ours 0.50x) **missed**",
        "ours faster",
    ]
    assert _row(table, "bare model texts/s")[1] == "217.4 (43.5 chunks/s; sample of 2000)"
    assert _row(table, "re-ingest, unchanged")[1] == "0.05 s = 500x faster than first met"


def test_serving_table_applies_the_100k_targets_only_at_100k() -> None:
    small = run.serving_table(_size("1k", 1000))
    assert small.splitlines()[0] == "| serving | `onnx-int8` | `torch` | target |"
    assert _row(small, "cold start")[1:] == ["**1.20**", "**4.50**", ""]
    assert _row(small, "query embedding")[1:] == [
        "**6.0** / 7.0 met",
        "**18.0** / 19.0 **missed**",
        "p50 <= 8 ms",
    ]
    # ours 9 / txtai 20 = 0.45 (met), 21 / 20 = 1.05 (missed)
    assert _row(small, "in-process p50 ratio")[1:] == ["0.45 met", "1.05 **missed**", "<= 0.6"]
    assert _row(small, "torch imported")[1:] == ["no", "no", ""]
    large = run.serving_table(_size("100k", 100_000))
    assert _row(large, "cold start")[1:] == [
        "**1.20** met",
        "**4.50** **missed**",
        "<= 3 s at 100k",
    ]
    assert _row(large, "/search, 1 client")[1].endswith("0 errors / 100 met")
    assert _row(large, "/search, 1 client")[2].endswith("**missed**")
    assert _row(large, "/search, 8 clients")[1:][0].startswith("60.0 / 61.0 / 62.0; 120.0 req/s")
    assert _row(large, "/search, 8 clients")[3] == ">= 100 req/s, 0 errors"


def test_target_summary_names_each_missed_target_with_its_number() -> None:
    results = {
        "order": ["1k", "100k"],
        "sizes": {"1k": _size("1k", 1000), "100k": _size("100k", 100_000)},
        "corpus": {
            "documents": 5,
            "chunks": 40,
            "sentences": 200,
            "serving": {
                "onnx-int8": _serving(1.5, 8.0, 150.0, 5.0, 7.0),
                "torch": {**_serving(3.9, 8.0, 150.0, 5.0, 7.0), "peak_rss_mb": 900.0},
            },
        },
    }
    lines = run.target_summary(results)
    assert "- met: cold start with corpus/ <= 2 s (`onnx-int8`): 1.50 s" in lines
    assert "- **missed**: server RSS with corpus/ <= 700 MB (`torch`): 900 MB" in lines
    assert "- met: 1k: ingest >= 3x torch (`onnx-int8`): 4.00x (40.0 vs 10.0 chunks/s)" in lines
    assert "- **missed**: 1k: ingest faster than txtai (`torch`): 10.0 vs 20.0 chunks/s" in lines
    assert "- **missed**: 100k: /search >= 100 req/s, 8 clients, 0 errors (`torch`): " in (
        "\n".join(lines)
    )
    assert not any("1k: cold start" in line for line in lines)  # a 100k-only target
    assert sum("query embedding" in line for line in lines) == 4


def test_results_files_are_written_from_one_results_object(tmp_path: Path) -> None:
    results = {
        "started": "2026-12-01T08:00:00+00:00",
        "machine": {
            "nproc": 2,
            "cpu": "Test CPU",
            "ram_gib": 24.0,
            "python": "3.11.7",
            "versions": {"onnxruntime": "1.0"},
        },
        "loadavg_start": [0.1, 0.2, 0.3],
        "argv": ["bench/run.py", "--sizes", "1k"],
        "backends": ["onnx-int8", "torch"],
        "order": ["1k"],
        "sizes": {"1k": _size("1k", 1000)},
    }
    run.write_results(tmp_path, results)
    perf = (tmp_path / "performance.md").read_text(encoding="utf-8")
    assert perf.startswith("## Performance\n")
    assert "`python -m bench.run --sizes 1k`" in perf
    assert "### 1k chunks (real passage vectors)" in perf
    assert "| serving | `onnx-int8` | `torch` | target |" in perf
    assert json.loads((tmp_path / "results.json").read_text())["order"] == ["1k"]
    assert "| ingest | `onnx-int8` | `torch` | target |" in (tmp_path / "results.md").read_text()


def test_derived_size_extrapolates_the_primary_ingest_time() -> None:
    real = _size("1k", 1000)
    derived = {
        **_size("100k", 100_000),
        "vectors": "derived",
        "counts": {"chunks": 100_000, "sentences": 1},
        "ingest": {
            "onnx-int8": {
                "derived": True,
                "seconds": 600.0,
                "real_vectors": 46_000,
                "derived_vectors": 400_000,
            }
        },
    }
    results = {"sizes": {"1k": real, "100k": derived}}
    run.extrapolate(results)
    assert derived["extrapolated_ingest_s"] == pytest.approx(25.0 * 100)
    assert derived["extrapolated_from"] == "1k"
    table = run.ingest_table(derived)
    assert _row(table, "index build")[1] == "600.0 s; 46000 real + 400000 derived passage vectors"
    assert _row(table, "re-ingest, unchanged")[1] == (
        "0.05 s = 50000x faster than first (vs the real ingest extrapolated from 1k) met"
    )


def test_a_server_that_fails_to_start_is_reported_not_fatal() -> None:
    log = (
        "INFO: Started\nTraceback (most recent call last):\n  File x\n"
        "NameError: name 'nn' is not defined\n\nERROR:    Application startup failed. Exiting.\n"
    )
    assert run._last_error(log) == "NameError: name 'nn' is not defined"
    assert run._last_error("just one line\n") == "just one line"
    r = _size("100k", 100_000)
    kept = r["serving"]["torch"]
    r["serving"]["torch"] = {
        "failed": "server exited with 3 (NameError: name 'nn' is not defined)",
        "breakdown": {"failed": "exit 1 (NameError: name 'nn' is not defined)"},
        "inproc": kept["inproc"],
        "query_embed": kept["query_embed"],
    }
    table = run.serving_table(r)
    assert _row(table, "server start")[1:] == [
        "ok",
        "**failed**: server exited with 3 (NameError: name 'nn' is not defined)",
        "",
    ]
    assert _row(table, "cold start")[2] == "n/a: server failed"
    assert (
        _row(table, "torch imported")[2] == "failed: exit 1 (NameError: name 'nn' is not defined)"
    )
    assert _row(table, "query embedding")[2] == "**18.0** / 19.0 **missed**"  # in process: kept
    lines = run.target_summary({"order": ["100k"], "sizes": {"100k": r}})
    assert "- **missed**: 100k: server starts (`torch`): server exited with 3 " in "\n".join(lines)
    assert not any("100k: cold start" in line and "torch" in line for line in lines)


def test_servers_run_the_use_channel_only_over_an_index_that_has_it(tmp_path) -> None:
    from index_docs import make_doc

    from index import Indexer
    from ingest.embed import HashEmbedder

    docs = [make_doc("a", ["La convention avec la Normandie dure six ans."])]
    Indexer(tmp_path / "plain", HashEmbedder()).ingest_parsed(docs)
    Indexer(tmp_path / "use", HashEmbedder(), use_embedder=HashEmbedder(dim=32)).ingest_parsed(docs)
    assert run._backend_env("onnx", tmp_path / "plain")["PARTNERSEARCH_USE_CHANNEL"] == "false"
    assert run._backend_env("onnx", tmp_path / "use")["PARTNERSEARCH_USE_CHANNEL"] == "true"
    assert run._backend_env("onnx", tmp_path / "none")["PARTNERSEARCH_USE_CHANNEL"] == "false"
