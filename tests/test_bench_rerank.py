"""bench/rerank.py's report: every latency row, the cold-start and probe tables."""

from __future__ import annotations

from bench.rerank import render

RESULT = {
    "counts": {"chunks": 100},
    "use_channel": False,
    "reranker": "r",
    "reranker_threads": 2,
    "latency": {"search, rerank top 20": {"p50": 200.0, "p95": 300.0, "mean": 210.0}},
}


def test_render_lists_latency_cold_start_and_probe() -> None:
    result = {
        **RESULT,
        "cold_start": {"reranker off": {"cold_start_s": [7.5, 7.6], "peak_rss_mb": [1350, 1358]}},
        "probe": {
            "max_tokens": 128,
            "piaf_answer_inside_window": 0.5875,
            "sets": {"scifact_beir": {"unk_share": 0.00071, "token_growth": 0.064}},
        },
    }
    text = render(result)
    assert "| search, rerank top 20 | 200.0 | 300.0 | 210.0 |" in text
    assert "| reranker off | 7.50, 7.60 | 1358 |" in text
    assert "PIAF answers inside the 128-token window: 58.8%" in text
    assert "| scifact_beir | 0.00071 | +6.4% |" in text


def test_render_without_the_optional_parts() -> None:
    text = render(RESULT)
    assert "cold start" not in text and "<unk>" not in text
