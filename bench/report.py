"""The report of a run: the corpus/ and gold-set tables, one line per checked target, how
the numbers were taken, and the files results.{md,json} and performance.md (the README's
Performance section), all from one results object.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.tables import TARGETS, cell, is_large, md_table, size_section, three, verdict

__all__ = [
    "corpus_table",
    "extrapolate",
    "gold_table",
    "readme_section",
    "target_summary",
    "write_results",
]


def corpus_table(c: dict[str, Any]) -> str:
    """corpus/ served by each backend: cold start and RSS against the corpus/ targets."""
    backends = list(c["serving"])
    cold_t, rss_t = TARGETS["cold_start_corpus_s"], TARGETS["rss_corpus_mb"]
    sv = c["serving"]

    def per(fn: Callable[[dict[str, Any]], str]) -> list[str]:
        return [
            f"**failed**: {sv[b]['failed']}" if "failed" in sv[b] else fn(sv[b]) for b in backends
        ]

    rows = [
        [
            "cold start to first /ask (s)",
            *per(lambda s: cell(f"**{s['cold_start_s']:.2f}**", s["cold_start_s"] <= cold_t)),
            f"<= {cold_t:.0f} s",
        ],
        [
            "peak RSS of the server (MB)",
            *per(lambda s: cell(f"**{s['peak_rss_mb']:.0f}**", s["peak_rss_mb"] <= rss_t)),
            f"<= {rss_t:.0f} MB",
        ],
    ]
    for key, label in (("search_1", "/search, 1 client"), ("ask_1", "/ask, 1 client")):
        rows.append(
            [
                f"{label} (ms p50/p95/p99)",
                *per(
                    lambda s, key=key: f"{three(s['http'][key])}; {s['http'][key]['errors']} errors"
                ),
                "",
            ]
        )
    lines = [
        f"### corpus/ ({c['documents']} documents, {c['chunks']} chunks, "
        f"{c['sentences']} sentences)",
        "",
        *md_table(["corpus/", *[f"`{b}`" for b in backends], "target"], rows),
    ]
    return "\n".join(lines) + "\n"


def gold_table(g: dict[str, Any]) -> str:
    return (
        f"### Gold set (corpus/, {g['questions']} answerable questions, `{g['backend']}`)\n\n"
        "| measure | ours | txtai | ratio ours/txtai |\n|---|---|---|---|\n"
        f"| hit@{g['k']} (a top-{g['k']} passage contains the answer) | {g['ours_hit']:.3f} | "
        f"{g['peer_hit']:.3f} | {g['ratio']:.2f} |\n"
    )


def target_summary(results: dict[str, Any]) -> list[str]:
    """One line per checked target (the issue's, plus ingest overhead): met or missed."""
    lines: list[str] = []

    def add(what: str, value: str, flag: bool) -> None:
        lines.append(f"- {verdict(flag)}: {what}: {value}")

    c = results.get("corpus")
    if c:
        for b, s in c["serving"].items():
            if "failed" in s:
                add(f"corpus/ server starts (`{b}`)", s["failed"], False)
                continue
            add(
                f"cold start with corpus/ <= {TARGETS['cold_start_corpus_s']:.0f} s (`{b}`)",
                f"{s['cold_start_s']:.2f} s",
                s["cold_start_s"] <= TARGETS["cold_start_corpus_s"],
            )
            add(
                f"server RSS with corpus/ <= {TARGETS['rss_corpus_mb']:.0f} MB (`{b}`)",
                f"{s['peak_rss_mb']:.0f} MB",
                s["peak_rss_mb"] <= TARGETS["rss_corpus_mb"],
            )
    for label in results["order"]:
        r = results["sizes"].get(label)
        if not r:
            continue
        ing = r["ingest"]
        torch_m = ing.get("torch", {})
        peer = r.get("peer")
        for b in r["backends"]:
            m = ing.get(b, {})
            comparable = "chunks_per_s" in m and "chunks_per_s" in torch_m
            if b != "torch" and comparable and not (m.get("derived") or torch_m.get("derived")):
                ratio = m["chunks_per_s"] / torch_m["chunks_per_s"]
                add(
                    f"{label}: ingest >= {TARGETS['ingest_vs_torch']:.0f}x torch (`{b}`)",
                    f"{ratio:.2f}x ({m['chunks_per_s']:.1f} vs "
                    f"{torch_m['chunks_per_s']:.1f} chunks/s)",
                    ratio >= TARGETS["ingest_vs_torch"],
                )
            if peer and peer["embeds"] and "seconds" in m and not m.get("derived"):
                add(
                    f"{label}: ingest faster than txtai (`{b}`)",
                    f"{m['chunks_per_s']:.1f} vs {peer['chunks_per_s']:.1f} chunks/s",
                    m["chunks_per_s"] > peer["chunks_per_s"],
                )
            s = r["serving"][b]
            add(
                f"{label}: query embedding p50 <= {TARGETS['query_embed_p50_ms']:.0f} ms (`{b}`)",
                f"{s['query_embed']['p50']:.1f} ms",
                s["query_embed"]["p50"] <= TARGETS["query_embed_p50_ms"],
            )
            if is_large(r) and "failed" in s:
                add(f"{label}: server starts (`{b}`)", s["failed"], False)
            elif is_large(r):
                add(
                    f"{label}: cold start <= {TARGETS['cold_start_large_s']:.0f} s (`{b}`)",
                    f"{s['cold_start_s']:.2f} s",
                    s["cold_start_s"] <= TARGETS["cold_start_large_s"],
                )
                s1, s8 = s["http"]["search_1"], s["http"]["search_8"]
                add(
                    f"{label}: /search p50 <= {TARGETS['search_p50_large_ms']:.0f} ms, "
                    f"1 client (`{b}`)",
                    f"{s1['p50']:.1f} ms",
                    s1["p50"] <= TARGETS["search_p50_large_ms"],
                )
                add(
                    f"{label}: /search >= {TARGETS['search_rps_8_large']:.0f} req/s, 8 clients, "
                    f"0 errors (`{b}`)",
                    f"{s8['rps']:.1f} req/s, {s8['errors']} errors",
                    s8["rps"] >= TARGETS["search_rps_8_large"] and s8["errors"] == 0,
                )
            if peer:
                ratio = s["inproc"]["p50"] / peer["inproc"][b]["p50"]
                add(
                    f"{label}: in-process p50 ours / txtai <= {TARGETS['inproc_ratio_txtai']} "
                    f"(`{b}`)",
                    f"{ratio:.2f} ({s['inproc']['p50']:.1f} vs {peer['inproc'][b]['p50']:.1f} ms)",
                    ratio <= TARGETS["inproc_ratio_txtai"],
                )
    return lines


def _method_notes(results: dict[str, Any]) -> list[str]:
    """How the numbers were taken; generated, so it stays true to the code."""
    m = results["machine"]
    backends = results["backends"]
    cmd = " ".join(["python -m bench.run", *results["argv"][1:]])
    embed = results.get("embed_settings", {})
    threads, spinning = embed.get("embed_threads", 0), embed.get("embed_spinning", False)
    pool = "one thread per core" if threads == 0 else f"{threads} threads"
    notes = [
        f"- Command: `{cmd}`. Backends: "
        + ", ".join(f"`{b}`" for b in backends)
        + f"; `{backends[0]}` (the first) builds the index at every size, and every backend "
        "serves that same index (a compatible backend of the same model opens it; the "
        "manifest's probe vectors agree).",
        f"- Cores: every backend embeds with all {m['nproc']} cores. onnxruntime runs its own "
        f"intra-op pool (PARTNERSEARCH_EMBED_THREADS={threads}: {pool}; spinning "
        f"{'on' if spinning else 'off'}), in the servers as in process; the benchmark never "
        "imports torch for it. For `torch` the benchmark calls `torch.set_num_threads("
        f"{m['nproc']})` before each torch timing: index/dense.py sets OpenMP to one "
        "thread while FAISS searches (and restores the count), and torch shares that "
        "OpenMP runtime, so the reset keeps the count independent of what ran before.",
        "- Same texts: each non-primary backend ingests the same corpus into its own "
        "data dir (up to --compare-ingest-max chunks) and its bare model is timed on exactly "
        "the texts the primary's pipeline embedded (the same fixed random sample where the "
        'table says so, extrapolated by count). "Texts" are everything the pipeline '
        "embedded (chunk and sentence texts, with the document title as context); "
        "chunks/s divides the same time by the chunks indexed.",
        "- Servers run one at a time, each `partnersearch serve` with "
        "PARTNERSEARCH_BACKEND=<backend>; cold start is spawn to the first answered "
        "POST /ask, index files already in the OS page cache. Each backend gets the same "
        "queries; every query is distinct within a measurement, so the query-vector cache "
        "only spares /ask its second embedding of the same question. The start-up steps "
        "run the lifespan's work (model, spaCy tagger, answer model, index) one after the "
        "other in a fresh interpreter with the server's environment; the server overlaps "
        "the spaCy load with an ONNX model's.",
        "- Query embedding: `embed_queries([q])` in process for distinct queries, cache "
        "emptied first; in-process search is `Searcher.search(q, k=10)`, query embedding "
        "included.",
        "- txtai (bench/peer.py, hybrid dense + BM25, content stored): at 1k chunks it "
        "embeds the chunks itself with the same model through sentence-transformers on all "
        "cores (chunks only, no sentences), so its chunks/s compares with ours, and it "
        "embeds its queries the same way, so at 1k the latency ratio includes the "
        "difference between our backend and torch; at larger sizes it is "
        "given our chunk vectors and embeds queries with each of our backends in turn, so "
        "the latency ratio compares search engines on the same query vectors.",
        "- At 100k chunks the passage vectors are the 10k run's real ones plus random convex "
        "mixes of them (the real model embeds every query): retrieval quality is not "
        "measured at that size, only speed and memory.",
        f"- Competing load: other processes kept {results.get('others_cores', 0.0):.2f} of "
        f"the {m['nproc']} cores busy on average over the whole run (machine-wide CPU time "
        "minus the benchmark's own and its children's); each size's heading gives its share. "
        f"Load average when the run started: {results['loadavg_start'][0]:.2f}.",
        f"- Ingest settings: {results.get('indexer_options', {})}.",
    ]
    return notes


def _sections(results: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if "corpus" in results:
        out.append(corpus_table(results["corpus"]))
    if "gold" in results:
        out.append(gold_table(results["gold"]))
    for label in results["order"]:
        if label in results["sizes"]:
            out.append(size_section(results["sizes"][label]))
    summary = target_summary(results)
    if summary:
        out += ["### Targets", "", *summary, ""]
    return out


def readme_section(results: dict[str, Any]) -> str:
    """The README's Performance section: machine, command, tables, how they were taken."""
    m = results["machine"]
    v = m["versions"]
    versions = ", ".join(f"{k} {val}" for k, val in v.items())
    lines = [
        "## Performance",
        "",
        f"Measured {results['started'][:10]} on {m['nproc']} CPU cores ({m['cpu']}), "
        f"{m['ram_gib']} GiB RAM, no GPU (Python {m['python']}; {versions}). Reproduce "
        "with `make bench` (runs `.venv/bin/python -m bench.run`; results land in "
        "`bench/out/<timestamp>/results.{md,json}`, this section in `performance.md`).",
        "",
        "The corpus is synthetic (bench/scale_corpus.py, seed 0): French and English press "
        "releases, conventions and interviews recombined from the sentences of corpus/ with "
        "other partners, places, dates and figures. Latencies are over HTTP against "
        "`partnersearch serve` unless marked in-process; milliseconds p50 / p95 / p99.",
        "",
        *_sections(results),
        "#### How these numbers were taken",
        "",
        *_method_notes(results),
        "",
    ]
    return "\n".join(lines)


def write_results(out: Path, results: dict[str, Any]) -> str:
    m = results["machine"]
    md = [
        f"# PartnerSearch benchmark {results['started']}",
        "",
        f"Machine: {m['nproc']} CPU cores ({m['cpu']}), {m['ram_gib']} GiB RAM, no GPU; "
        f"Python {m['python']}; "
        + ", ".join(f"{k} {val}" for k, val in m["versions"].items())
        + ".",
        "",
        *_sections(results),
        "## How these numbers were taken",
        "",
        *_method_notes(results),
        "",
    ]
    text = "\n".join(md)
    (out / "results.md").write_text(text, encoding="utf-8")
    (out / "performance.md").write_text(readme_section(results), encoding="utf-8")
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    return text


def extrapolate(results: dict[str, Any]) -> None:
    """Give derived sizes the real ingest time the largest real size predicts for them
    (linear in chunks, primary backend), the basis of their re-ingest speed-up."""
    real = []
    for r in results["sizes"].values():
        prim = r["ingest"].get(r["primary"], {})
        if r["vectors"] == "real" and "seconds" in prim and "counts" in r:
            real.append((r, prim))
    if not real:
        return
    ref, prim = max(real, key=lambda pair: pair[0]["counts"]["chunks"])
    rate = prim["seconds"] / ref["counts"]["chunks"]
    for r in results["sizes"].values():
        if r["vectors"] == "derived" and "counts" in r:
            r["extrapolated_ingest_s"] = rate * r["counts"]["chunks"]
            r["extrapolated_from"] = ref["label"]
