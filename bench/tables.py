"""Markdown tables: a size's ingest and serving measures (one column per backend, each
checked against its target), and the latency and cold-start tables that bench.channels and
bench.rerank share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "LARGE",
    "TARGETS",
    "cell",
    "cold_start_rows",
    "ingest_table",
    "is_large",
    "latency_rows",
    "md_table",
    "serving_table",
    "size_section",
    "three",
    "verdict",
]

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


def verdict(flag: bool | None) -> str:
    """A target's verdict: "met", "**missed**", or nothing where no target applies."""
    return "" if flag is None else ("met" if flag else "**missed**")


def cell(text: str, flag: bool | None = None) -> str:
    """``text`` followed by its target verdict, if it has one."""
    mark = verdict(flag)
    return f"{text} {mark}" if mark else text


def md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of a markdown table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def three(m: dict[str, Any]) -> str:
    """A percentiles dict as "p50 / p95 / p99", one decimal."""
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
        return "\n".join(md_table(head, rows)) + "\n"

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
            return cell(f"{ratio:.2f}x", ratio >= TARGETS["ingest_vs_torch"])

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
                    cell(f"{m['overhead']:.2f}x", m["overhead"] <= TARGETS["ingest_overhead"])
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
                return cell(f"{peer['chunks_per_s']:.1f} (ours {ratio:.2f}x)", ratio > 1)

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
    return "\n".join(md_table(head, rows)) + "\n"


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
            cell(
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
                lambda b, s: cell(
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
            text = f"{three(m)}; {m['rps']:.1f} req/s; {m['errors']} errors / {m['requests']}"
            flag = None
            if large and key == "search_1":
                flag = m["p50"] <= p50_t
            elif large and key == "search_8":
                flag = m["rps"] >= rps_t and m["errors"] == 0
            return cell(text, flag)

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
                lambda b, s: cell(
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
            *per(lambda b, s: three(s["inproc"]), "in-process"),
            "",
        ]
    )
    if peer:
        ratio_t = TARGETS["inproc_ratio_txtai"]
        rows.append(
            [
                "in-process search, txtai (ms p50/p95/p99)",
                *per(lambda b, s: three(peer["inproc"][b]), "in-process"),
                "",
            ]
        )

        def ratio(b: str, s: dict[str, Any]) -> str:
            value = s["inproc"]["p50"] / peer["inproc"][b]["p50"]
            return cell(f"{value:.2f}", value <= ratio_t)

        rows.append(
            ["in-process p50 ratio ours / txtai", *per(ratio, "in-process"), f"<= {ratio_t}"]
        )
    return "\n".join(md_table(head, rows)) + "\n"


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


def latency_rows(latency: dict[str, dict[str, float]], *, digits: int) -> list[str]:
    """A table of in-process calls: p50, p95 and mean ms with ``digits`` decimals."""
    lines = ["| call | p50 ms | p95 ms | mean ms |", "|---|---|---|---|"]
    for name, r in latency.items():
        p50, p95, mean = (f"{r[key]:.{digits}f}" for key in ("p50", "p95", "mean"))
        lines.append(f"| {name} | {p50} | {p95} | {mean} |")
    return lines


def cold_start_rows(rows: dict[str, Any]) -> list[str]:
    """The cold-start table of bench.server.serve_runs: each run's seconds, the highest
    peak RSS."""
    lines = ["", "| server over corpus/ | cold start s (each run) | peak RSS MB |", "|---|---|---|"]
    for name, r in rows.items():
        cold = ", ".join(f"{x:.2f}" for x in r["cold_start_s"])
        lines.append(f"| {name} | {cold} | {max(r['peak_rss_mb'])} |")
    return lines
