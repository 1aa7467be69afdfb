"""bench/channels.py's arithmetic and table (the benchmark itself is run by hand)."""

from __future__ import annotations

from bench.channels import _latency, _pct, render


def test_percentiles_in_milliseconds() -> None:
    got = _pct([0.001, 0.002, 0.003, 0.010])
    assert got == {"n": 4, "p50_ms": 2.5, "p95_ms": 3.0, "mean_ms": 4.0}


def test_latency_skips_the_first_call_and_clears_caches_first() -> None:
    calls: list[str] = []
    cleared: list[bool] = []
    got = _latency(calls.append, ["warm", "a", "b"], lambda: cleared.append(True))
    assert calls == ["warm", "a", "b"] and cleared == [True]
    assert got["n"] == 2


def test_render_lists_every_call() -> None:
    result = {
        "counts": {"chunks": 10, "sentences": 40},
        "backend": "onnx",
        "use_added_seconds": 1.5,
        "latency": {"search, e5 + BM25": {"p50_ms": 5.0, "p95_ms": 9.0, "mean_ms": 6.0}},
    }
    text = render(result)
    assert (
        "Index: 10 chunks, 40 sentences (queries embedded with onnx, passages with onnx); "
        "adding the USE channel took 1.5 s." in text
    )
    assert "| search, e5 + BM25 | 5.0 | 9.0 | 6.0 |" in text


def test_render_adds_the_cold_start_table() -> None:
    result = {
        "counts": {"chunks": 1, "sentences": 2},
        "backend": "onnx",
        "use_added_seconds": 0.5,
        "latency": {},
        "cold_start": {
            "e5 + BM25 + USE": {"cold_start_s": [6.4, 6.5], "peak_rss_mb": [1353, 1355]}
        },
    }
    assert "| e5 + BM25 + USE | 6.40, 6.50 | 1355 |" in render(result)
