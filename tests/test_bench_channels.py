"""bench/channels.py's report (the benchmark itself is run by hand)."""

from __future__ import annotations

from bench.channels import render


def test_render_lists_every_call() -> None:
    result = {
        "counts": {"chunks": 10, "sentences": 40},
        "backend": "onnx",
        "use_added_seconds": 1.5,
        "latency": {"search, e5 + BM25": {"p50": 5.0, "p95": 9.0, "mean": 6.0}},
    }
    text = render(result)
    assert (
        "Index: 10 chunks, 40 sentences (queries embedded with onnx, passages with onnx); "
        "adding the USE channel took 1.5 s." in text
    )
    assert "| search, e5 + BM25 | 5.00 | 9.00 | 6.00 |" in text


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
