"""report.md's text: a section per part of metrics.json, each number beside its value in
the previous report that measured it, and the quality bar the gold set is held to."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["QUALITY_BAR", "lookup", "quality_checks", "render_markdown"]

#: (label, path in metrics.json, minimum) — the issue's quality bar on the gold set.
QUALITY_BAR: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("hybrid hit@1", ("gold", "modes", "hybrid", "overall", "hit@1"), 0.75),
    ("hybrid hit@5", ("gold", "modes", "hybrid", "overall", "hit@5"), 0.95),
    ("hybrid MRR@10", ("gold", "modes", "hybrid", "overall", "mrr@10"), 0.85),
    (
        "hybrid cross-lingual hit@5",
        ("gold", "modes", "hybrid", "cross_lingual", "yes", "hit@5"),
        0.90,
    ),
    (
        "/ask abstains on unanswerable",
        ("gold", "ask", "at_threshold", "abstain_unanswerable"),
        0.80,
    ),
    ("/ask answers answerable", ("gold", "ask", "at_threshold", "answered_answerable"), 0.90),
)

_REPORT_COLS = ("hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10", "recall@10")
_BREAKDOWN_COLS = ("hit@1", "hit@5", "mrr@10")


def quality_checks(metrics: Mapping[str, Any]) -> list[tuple[str, float | None, float, bool]]:
    """(label, measured value or None, minimum, passed) for each line of the quality bar."""
    rows = []
    for label, path, minimum in QUALITY_BAR:
        value = lookup(metrics, path)
        rows.append((label, value, minimum, value is not None and value >= minimum))
    return rows


def render_markdown(
    metrics: Mapping[str, Any],
    previous: Mapping[tuple[str, ...], Mapping[str, Any] | None],
    charts: Sequence[str] = (),
) -> str:
    """The report text. ``previous`` maps a section path to the earlier metrics dict, or None."""
    out = [f"# PartnerSearch evaluation — {metrics.get('created', '')}", ""]
    for key, value in (metrics.get("run") or {}).items():
        out.append(f"- {key}: `{value}`")
    out.append("")
    if metrics.get("macro"):
        out += _macro_section(metrics["macro"], previous.get(("macro",)))
    if metrics.get("fusion_sweep"):
        out += _suite_sweep_section(metrics["fusion_sweep"])
    if "gold" in metrics:
        out += _gold_section(metrics["gold"], previous.get(("gold",)))
    for name, data in (metrics.get("beir") or {}).items():
        out += _beir_section(name, data, previous.get(("beir", name)))
    if metrics.get("answer_passages"):
        out += _passages_section(metrics["answer_passages"], previous.get(("answer_passages",)))
    if metrics.get("similar"):
        out += _similar_section(metrics["similar"], previous.get(("similar",)))
    for chart in charts:
        out += [f"![{chart}]({chart})", ""]
    return "\n".join(out).rstrip() + "\n"


def _suite_sweep_section(sweep: Mapping[str, Any], top: int = 15) -> list[str]:
    names = list(sweep["channels"])
    out = [
        "## Fusion sweep over the suite (nDCG@10)",
        "",
        f"Chosen: **{sweep['chosen']['options']}**: {sweep['why']}.",
        "",
    ]
    rows = [
        [
            f"{channel} (channel)",
            *(f"{sweep['channels'][n][channel]:.3f}" for n in names),
            f"{sweep['channel_macro'][channel]:.3f}",
            "",
        ]
        for channel in sweep["channel_macro"]
    ]
    for r in sweep["rows"][:top]:
        rows.append(
            [
                r["options"],
                *(f"{r['sets'][n]:.3f}" for n in names),
                f"{r['macro_ndcg@10']:.3f}",
                "yes" if r["admissible"] else "no: " + ", ".join(r["losses"]),
            ]
        )
    out += _table(["fusion", *names, "macro", "never below a channel"], rows)
    out += [f"({len(sweep['rows'])} candidates; the top {top} by macro average shown.)", ""]
    return out


def _passages_section(data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> list[str]:
    out = [
        f"## Passages that hold the answer (PIAF, {data['n_questions']} questions, "
        f"passages: {data['passages']}, {data['chunks']} of them)",
        "",
        "A result counts only if its passage contains the whole annotated answer.",
        "",
    ]
    old = lookup(prev, ("answer_passages",))
    if prev is not None and old is not None:
        out += [f"Previous run: {prev.get('created', '?')}, passages {old.get('passages')}.", ""]
    out += _table(
        ["mode", "hit@1", "hit@5", "mrr@10"],
        [
            [
                mode,
                *(_cell(s, c, lookup(old, ("modes", mode))) for c in ("hit@1", "hit@5", "mrr@10")),
            ]
            for mode, s in data["modes"].items()
        ],
    )
    return out


def _similar_section(similar: Mapping[str, Any], prev: Mapping[str, Any] | None) -> list[str]:
    out = ["## Precedent wording (/similar)", ""]
    out += [
        "Rank of the first distinct wording that is the wanted one (gold: holds the answer; "
        "DiaBLa: the English translation of the French draft).",
        "",
    ]
    if prev is not None:
        out += [f"Previous run: {prev.get('created', '?')}.", ""]
    rows = []
    for name, setups in similar.items():
        for setup, scores in setups.items():
            old = lookup(prev, ("similar", name, setup))
            rows.append(
                [name, setup, str(scores["n"])]
                + [_cell(scores, c, old) for c in ("hit@1", "hit@5", "mrr@10")]
            )
            xling = scores.get("cross_lingual")
            if xling and xling["n"]:
                old_x = lookup(old, ("cross_lingual",))
                rows.append(
                    [f"{name} (cross-lingual)", setup, str(xling["n"])]
                    + [_cell(xling, c, old_x) for c in ("hit@1", "hit@5", "mrr@10")]
                )
    out += _table(["set", "channels", "drafts", "hit@1", "hit@5", "mrr@10"], rows)
    return out


def _macro_section(macro: Mapping[str, Any], prev: Mapping[str, Any] | None) -> list[str]:
    sets = max(int(m["sets"]) for m in macro.values())
    out = [f"## Macro average over {sets} sets (gold set included)", ""]
    if prev is not None:
        out += [f"Previous run: {prev.get('created', '?')}.", ""]
    pm = lookup(prev, ("macro",))
    out += _table(
        ["mode", "ndcg@10", "mrr@10"],
        [
            [mode, *(_cell(scores, c, lookup(pm, (mode,))) for c in ("ndcg@10", "mrr@10"))]
            for mode, scores in macro.items()
        ],
    )
    return out


def _gold_section(gold: Mapping[str, Any], prev: Mapping[str, Any] | None) -> list[str]:
    pg = (prev or {}).get("gold")
    out = [
        f"## Gold set ({gold['n_questions']} questions, {gold['n_answerable']} answerable)",
        "",
    ]
    if prev is not None:
        out += [
            f"Previous run: {prev.get('created', '?')} (values in parentheses, Δ = new − old).",
            "",
        ]
    out += ["### Retrieval, all answerable questions", ""]
    out += _table(
        ["mode", *_REPORT_COLS],
        [
            [
                mode,
                *(
                    _cell(data["overall"], c, lookup(pg, ("modes", mode, "overall")))
                    for c in _REPORT_COLS
                ),
            ]
            for mode, data in gold["modes"].items()
        ],
    )
    for title, key in (
        ("By question language → answer language", "by_lang_pair"),
        ("Cross-lingual (question and answer in different languages)", "cross_lingual"),
        ("By question type", "by_type"),
    ):
        out += [f"### {title}", ""]
        rows = []
        for mode, data in gold["modes"].items():
            for group, scores in data[key].items():
                old = lookup(pg, ("modes", mode, key, group))
                rows.append(
                    [
                        mode,
                        group,
                        str(int(scores["n"])),
                        *(_cell(scores, c, old) for c in _BREAKDOWN_COLS),
                    ]
                )
        out += _table(["mode", "group", "n", *_BREAKDOWN_COLS], rows)
    if "ask" in gold:
        rerank = (gold.get("ask_rerank") or {}).get("at_threshold")
        out += _ask_section(gold["ask"], lookup(pg, ("ask",)), rerank)
    if gold.get("fusion_sweep"):
        out += _sweep_section(gold["fusion_sweep"])
    out += _quality_section({"gold": gold}, {"gold": pg} if pg else None)
    if gold.get("misses"):
        out += ["### Hybrid misses (answer not in the top 5)", ""]
        out += _table(
            ["id", "type", "pair", "question", "answer", "top passage"],
            [
                [m["id"], m["type"], m["pair"], m["question"], m["answer"], m["top"]]
                for m in gold["misses"]
            ],
        )
    return out


def _ask_section(
    ask: Mapping[str, Any],
    prev: Mapping[str, Any] | None,
    rerank: Mapping[str, Any] | None = None,
) -> list[str]:
    at = ask["at_threshold"]
    old = (prev or {}).get("at_threshold")
    out = [
        f"### /ask abstention (answer_threshold = {ask['threshold']:.2f})",
        "",
        "Unanswerable questions declined (want ≥ 0.80), answerable questions answered "
        "(want ≥ 0.90); *supported* = answered from a passage holding the gold answer, "
        "*exact* = the answer sentence itself holds it.",
        "",
    ]
    cols = ("abstain_unanswerable", "answered_answerable", "answered_supported", "answered_exact")
    rows = [["at threshold", *(_cell(at, c, old) for c in cols)]]
    if rerank is not None:  # /ask reading the reranked passages (PARTNERSEARCH_ASK_MODE=rerank)
        rows.append(["at threshold, ask_mode rerank", *(f"{rerank[c]:.3f}" for c in cols)])
    out += _table(["", *cols], rows)
    out += ["Threshold sweep (trade-off):", ""]
    rows = []
    for r in ask["sweep"]:
        mark = " ←" if abs(r["threshold"] - ask["threshold"]) < 1e-9 else ""
        rec = ask.get("recommended")
        if rec and abs(r["threshold"] - rec["threshold"]) < 1e-9:
            mark += " (recommended)"
        rows.append([f"{r['threshold']:.2f}{mark}", *(f"{r[c]:.3f}" for c in cols)])
    out += _table(["threshold", *cols], rows)
    rec = ask.get("recommended")
    out += [
        (
            f"Recommended answer_threshold: **{rec['threshold']:.2f}** "
            "(meets both targets with the largest margin)."
            if rec
            else "No threshold meets both targets: the confidence does not separate answerable "
            "from unanswerable questions well enough."
        ),
        "",
    ]
    return out


def _sweep_section(sweep: Sequence[Mapping[str, Any]]) -> list[str]:
    cols = ("hit@1", "hit@5", "mrr@10", "xling_hit@5")
    out = [
        "### Hybrid fusion sweep (best first by MRR@10, then hit@1; top 15)",
        "",
    ]
    rows = [
        [
            f"{r['dense_weight']:g}",
            f"{r['lexical_weight']:g}",
            str(r["fusion_k"]),
            *(f"{r[c]:.3f}" for c in cols),
        ]
        for r in sweep[:15]
    ]
    out += _table(["dense_weight", "lexical_weight", "fusion_k", *cols], rows)
    return out


def _quality_section(metrics: Mapping[str, Any], prev: Mapping[str, Any] | None) -> list[str]:
    out = ["### Quality bar", ""]
    rows = []
    for label, value, minimum, ok in quality_checks(metrics):
        path = next(p for lbl, p, _ in QUALITY_BAR if lbl == label)
        old = lookup(prev, path)
        shown = "—" if value is None else _fmt(value, old)
        rows.append([label, f"≥ {minimum:.2f}", shown, "pass" if ok else "**FAIL**"])
    out += _table(["target", "bar", "measured", ""], rows)
    return out


def _beir_section(name: str, data: Mapping[str, Any], prev: Mapping[str, Any] | None) -> list[str]:
    pb = lookup(prev, ("beir", name))
    sampled = (
        f", {data['n_queries']} of {data['total_queries']} queries sampled with seed {data['seed']}"
        if data["n_queries"] < data["total_queries"]
        else f", {data['n_queries']} queries"
    )
    out = [f"## BEIR: {name} ({data['n_docs']} documents{sampled})", ""]
    if prev is not None:
        out += [f"Previous run: {prev.get('created', '?')}.", ""]
    cols = list(next(iter(data["modes"].values())).keys()) if data["modes"] else []
    out += _table(
        ["mode", *cols],
        [
            [mode, *(_cell(scores, c, lookup(pb, ("modes", mode))) for c in cols)]
            for mode, scores in data["modes"].items()
        ],
    )
    if data.get("query_languages"):
        langs = ", ".join(f"{k} {v}" for k, v in data["query_languages"].items())
        out += [f"Query language as detected (what the cross-lingual rule sees): {langs}.", ""]
    if data.get("index_seconds") is not None:
        out += [
            f"Indexing took {data['index_seconds']:.0f} s; "
            f"searching {data['search_seconds']:.0f} s.",
            "",
        ]
    return out


def lookup(data: Any, path: Sequence[str]) -> Any:
    """``data[path[0]][path[1]]...``, or None where a key is missing."""
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def _cell(scores: Mapping[str, Any], col: str, old: Mapping[str, Any] | None) -> str:
    return _fmt(scores[col], lookup(old, (col,)))


def _fmt(value: float, old: float | None) -> str:
    if old is None:
        return f"{value:.3f}"
    delta = value - old
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    return f"{value:.3f} ({old:.3f}, {sign}{abs(delta):.3f})"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def esc(cell: str) -> str:
        return str(cell).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return [*lines, ""]
