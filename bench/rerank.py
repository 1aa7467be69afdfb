"""Rerank benchmark: /search latency of hybrid against hybrid + the cross-encoder.

Opens an existing index (``python -m bench.run`` builds them; its USE channel is searched
when the index has it), loads the shipped reranker, and measures in-process latency of
distinct generated queries (query caches emptied first): hybrid search, mode "rerank" at
each ``--top-n``, and the cross-encoder alone over the head. A benchmark, not a test; its
numbers are the README's "Rerank stage" latency figures. ``--cold-start`` also times the
server over corpus/ with the reranker loaded and not; ``--probe`` measures what the model
reads: how often a PIAF answer lies within its token window, and what the vocabulary cut
does to each set's text (<unk> share, length in tokens).

    python -m bench.rerank --data bench/out/work/data-10k [--cold-start] [--probe]
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.scale_corpus import generate_queries
from bench.server import serve_runs
from bench.system import REPO, latency, provenance, run_folder, save_report, settings, stay_offline
from bench.tables import cold_start_rows, latency_rows


def run(data: Path, *, queries: int, top_ns: Sequence[int]) -> dict[str, Any]:
    from index import snapshot
    from service.wiring import load_embedders, load_reranker, open_searcher

    manifest = snapshot.current(data).manifest
    chosen = settings(data_dir=data, use_channel="use" in manifest, reranker=True)
    embedder, use = load_embedders(chosen)
    reranker = load_reranker(chosen)
    searcher = open_searcher(chosen, embedder, use, reranker=reranker)
    pool = generate_queries(queries, seed=7)

    def clear() -> None:
        embedder.clear_query_cache()
        if use is not None:
            use.clear_query_cache()

    results = {"search, hybrid": latency(lambda q: searcher.search(q, k=10), pool, before=clear)}
    for n in top_ns:
        view = searcher.with_options(rerank_top_n=n)
        results[f"search, rerank top {n}"] = latency(
            lambda q, view=view: view.search(q, k=10, mode="rerank"), pool, before=clear
        )
        heads = {q: [h.text for h in searcher.search(q, k=n)] for q in pool}
        results[f"cross-encoder alone, {n} passages"] = latency(
            lambda q, heads=heads: reranker.score(q, heads[q]), pool
        )
    return {
        **provenance(),
        "index": str(data),
        "counts": manifest["counts"],
        "use_channel": use is not None,
        "reranker": reranker.name,
        "reranker_threads": chosen.reranker_threads,
        "latency": results,
    }


def cold_start(work: Path, *, runs: int = 3) -> dict[str, Any]:
    """Spawn-to-first-/ask time and peak RSS of ``partnersearch serve`` over corpus/, with the
    reranker loaded and not."""
    from service.wiring import load_embedders, make_indexer

    chosen = settings(data_dir=work / "corpus")
    embedder, use = load_embedders(chosen)
    make_indexer(chosen, embedder, use).ingest([REPO / "corpus"])
    return {
        label: serve_runs(
            chosen.data_dir,
            chosen.backend,
            work,
            tag=str(on),
            runs=runs,
            env={"PARTNERSEARCH_RERANKER": "true" if on else "false"},
        )
        for label, on in (("reranker loaded", True), ("reranker off", False))
    }


def probe(evaldata: Path, *, sample: int = 500) -> dict[str, Any]:
    """What the shipped model reads, on ``sample`` items per set (seed 0): the share of PIAF
    (question, paragraph) pairs whose answer ends inside the pair's token window, and per
    set the <unk> share and the token growth the vocabulary cut causes."""
    import json as _json
    import random

    from tokenizers import Tokenizer

    from eval.beir import load_beir
    from ingest.model_build import ensure_model_dir
    from service.wiring import DEFAULT_RERANKER_DIR

    info = _json.loads((DEFAULT_RERANKER_DIR / "reranker.json").read_text(encoding="utf-8"))
    cut = Tokenizer.from_file(str(DEFAULT_RERANKER_DIR / "tokenizer.json"))
    full = Tokenizer.from_file(str(ensure_model_dir(settings().cache) / "tokenizer.json"))
    unk = cut.token_to_id("<unk>")
    out: dict[str, Any] = {"max_tokens": info["max_tokens"], "sets": {}}
    piaf = load_beir(evaldata / "piaf_v1.1")
    rows = [
        _json.loads(line)
        for line in (evaldata / "piaf_v1.1" / "answers.jsonl").read_text().splitlines()
    ]
    rows = random.Random(0).sample(rows, min(sample, len(rows)))
    inside = 0
    for r in rows:
        doc = piaf.corpus[r["doc_id"]]
        offset = len(doc.title.strip()) + 2 if doc.title.strip() else 0
        end = offset + r["answer_start"] + len(r["answer"])
        question = info["query_prefix"] + piaf.queries.get(r["query_id"], "")
        pair = cut.encode(question, info["passage_prefix"] + doc.body[:end])
        inside += len(pair.ids) <= info["max_tokens"]
    out["piaf_answer_inside_window"] = round(inside / len(rows), 4)
    for name in ("piaf_v1.1", "scifact_beir", "service_public_qr_dev", "diabla_fr_en"):
        data = load_beir(evaldata / name, max_queries=sample, seed=0)
        texts = list(data.queries.values()) + [
            data.corpus[d].body for d in sorted(data.corpus)[:sample]
        ]
        n_cut = n_full = n_unk = 0
        for text in texts:
            ids = cut.encode(text, add_special_tokens=False).ids
            n_cut += len(ids)
            n_unk += ids.count(unk)
            n_full += len(full.encode(text, add_special_tokens=False).ids)
        out["sets"][name] = {
            "unk_share": round(n_unk / n_cut, 5),
            "token_growth": round(n_cut / n_full - 1, 4),
        }
    return out


def render(result: dict[str, Any]) -> str:
    """The report: the index, each call's latency, and the cold-start and probe tables if
    measured."""
    c = result["counts"]
    lines = [
        f"Index: {c['chunks']} chunks (USE channel {'on' if result['use_channel'] else 'off'}); "
        f"reranker {result['reranker']}, {result['reranker_threads']} threads.",
        "",
        *latency_rows(result["latency"], digits=1),
    ]
    if result.get("cold_start"):
        lines += cold_start_rows(result["cold_start"])
    if result.get("probe"):
        p = result["probe"]
        lines += [
            "",
            f"PIAF answers inside the {p['max_tokens']}-token window: "
            f"{p['piaf_answer_inside_window']:.1%}",
            "",
            "| set | <unk> share | token growth |",
            "|---|---|---|",
        ]
        for name, r in p["sets"].items():
            lines.append(f"| {name} | {r['unk_share']:.5f} | {r['token_growth']:+.1%} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="index to search")
    parser.add_argument("--queries", type=int, default=101, help="distinct queries per call")
    parser.add_argument("--top-n", type=int, nargs="+", default=[10, 20], help="heads reranked")
    parser.add_argument("--cold-start", action="store_true", help="also time server start-up")
    parser.add_argument("--probe", action="store_true", help="also probe what the model reads")
    parser.add_argument("--evaldata", type=Path, default=REPO.parent / "shared" / "evaldata")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = parser.parse_args(argv)
    stay_offline()
    folder = run_folder(args.out, "rerank")
    result = run(args.data, queries=args.queries, top_ns=args.top_n)
    if args.cold_start:
        result["cold_start"] = cold_start(folder)
        shutil.rmtree(folder / "corpus", ignore_errors=True)
    if args.probe:
        result["probe"] = probe(args.evaldata)
    save_report(folder, "rerank", result, render(result))


if __name__ == "__main__":
    main()
