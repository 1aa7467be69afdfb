"""Report folder: metrics.json, report.md with the previous numbers beside the new ones, PNGs."""

from __future__ import annotations

import datetime as dt
import json

from eval.report import find_previous, new_report_dir, quality_checks, write_report


def _scores(v: float) -> dict[str, float]:
    cols = ("hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10", "recall@5", "recall@10")
    return dict.fromkeys(cols, v)


def _gold(v: float) -> dict:
    mode = {
        "overall": _scores(v),
        "by_lang_pair": {"en->fr": {**_scores(v), "n": 2.0}, "fr->fr": {**_scores(v), "n": 3.0}},
        "cross_lingual": {"no": {**_scores(v), "n": 3.0}, "yes": {**_scores(v), "n": 2.0}},
        "by_type": {"factoid": {**_scores(v), "n": 5.0}},
    }
    row = {
        "threshold": 0.5,
        "abstain_unanswerable": 0.9,
        "false_abstain": 0.05,
        "answered_answerable": 0.95,
        "answered_supported": 0.9,
        "answered_exact": 0.8,
    }
    return {
        "n_questions": 6,
        "n_answerable": 5,
        "modes": {"lexical": mode, "hybrid": mode},
        "ask": {"threshold": 0.5, "at_threshold": row, "sweep": [row], "recommended": row},
    }


def _beir(v: float) -> dict:
    return {
        "tiny": {
            "n_docs": 3,
            "n_queries": 2,
            "total_queries": 2,
            "seed": 0,
            "modes": {"lexical": {"ndcg@10": v, "recall@100": v, "mrr@10": v}},
        }
    }


def test_new_report_dir_is_a_timestamp_and_never_reused(tmp_path):
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    first = new_report_dir(tmp_path, now=now)
    second = new_report_dir(tmp_path, now=now)
    assert (first.name, second.name) == ("20260102T030405Z", "20260102T030405Z-2")


def test_previous_numbers_appear_beside_new_ones(tmp_path):
    old = new_report_dir(tmp_path, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    write_report(old, {"created": "old", "gold": _gold(0.5)})
    beir_only = new_report_dir(tmp_path, now=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    write_report(beir_only, {"created": "beir", "beir": _beir(0.4)})
    new = new_report_dir(tmp_path, now=dt.datetime(2026, 1, 3, tzinfo=dt.UTC))
    report = write_report(new, {"created": "new", "gold": _gold(0.75), "beir": _beir(0.3)})

    text = report.read_text(encoding="utf-8")
    # gold compares with the latest run that had a gold section, BEIR with the latest BEIR run
    assert "| hybrid | 0.750 (0.500, +0.250) |" in text
    assert "| lexical | 0.300 (0.400, −0.100) | 0.300 (0.400, −0.100) |" in text
    assert "Previous run: old" in text
    assert json.loads((new / "metrics.json").read_text())["gold"]["n_questions"] == 6
    for png in ("gold.png", "beir.png"):
        assert (new / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![gold.png](gold.png)" in text


def test_find_previous_skips_later_and_broken_reports(tmp_path):
    a = new_report_dir(tmp_path, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    write_report(a, {"created": "a", "gold": _gold(0.1)})
    b = new_report_dir(tmp_path, now=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    (b / "metrics.json").write_text("{broken", encoding="utf-8")
    c = new_report_dir(tmp_path, now=dt.datetime(2026, 1, 3, tzinfo=dt.UTC))
    write_report(c, {"created": "c", "gold": _gold(0.2)})
    assert find_previous(tmp_path, c, ("gold",))["created"] == "a"
    assert find_previous(tmp_path, b, ("gold",))["created"] == "a"
    assert find_previous(tmp_path, a, ("gold",)) is None
    assert find_previous(tmp_path, None, ("gold",))["created"] == "c"
    assert find_previous(tmp_path, c, ("beir", "tiny")) is None


def test_quality_checks():
    checks = {label: (value, ok) for label, value, _, ok in quality_checks({"gold": _gold(0.9)})}
    assert checks["hybrid hit@1"] == (0.9, True)
    assert checks["hybrid hit@5"] == (0.9, False)  # bar is 0.95
    assert checks["hybrid cross-lingual hit@5"] == (0.9, True)
    assert checks["/ask abstains on unanswerable"] == (0.9, True)
    assert quality_checks({})[0] == ("hybrid hit@1", None, 0.75, False)
