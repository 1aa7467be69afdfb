"""The evaluation and training commands: eval, train-answerer and train-reranker."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ingest.errors import PartnerSearchError
from service import cli_common as common


def eval_cmd(
    ctx: typer.Context,
    suite: Annotated[
        str | None,
        typer.Option(
            "--suite",
            help="'dev': the gold set and every set of the shared evaluation data "
            "(PIAF sampled to 1,000 queries, seed 0)",
        ),
    ] = None,
    evaldata: Annotated[
        Path | None,
        typer.Option("--evaldata", help="folder of the suite's sets [default: ../shared/evaldata]"),
    ] = None,
    beir: Annotated[
        list[Path] | None,
        typer.Option(
            "--beir", help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv); repeatable"
        ),
    ] = None,
    modes: Annotated[
        list[str] | None,
        typer.Option("--modes", help="retrieval modes, comma-separated or repeated [default: all]"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="reports folder [default: eval/reports]")
    ] = None,
    gold: Annotated[
        bool | None,
        typer.Option("--gold/--no-gold", help="score the gold set [default: only without --beir]"),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="folder indexed for the gold set [default: corpus/]"),
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option("--work-dir", help="where eval keeps its indexes [default: <data_dir>-eval]"),
    ] = None,
    max_queries: Annotated[
        int | None, typer.Option("--max-queries", min=1, help="sample this many BEIR queries")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the BEIR query sample")] = 0,
    sweep: Annotated[
        bool,
        typer.Option(
            "--sweep/--no-sweep",
            help="also sweep fusion rules and weights (with --suite: on every set, chosen on "
            "the macro average; adds minutes)",
        ),
    ] = False,
    answer_passages: Annotated[
        Path | None,
        typer.Option(
            "--answer-passages",
            help="PIAF folder with answers.jsonl: ingest its paragraphs as files and score "
            "passages that hold the whole answer [default with --suite: the suite's PIAF]",
        ),
    ] = None,
    beir_sentences: Annotated[
        bool,
        typer.Option(
            "--beir-sentences",
            help="give BEIR passages their sentence tables (best-sentence scoring, pooled "
            "chunk vectors), as the service indexes documents",
        ),
    ] = False,
) -> None:
    """Score every retrieval mode (gold set and/or BEIR datasets) and write a report."""
    from eval.report import quality_checks
    from eval.retrieval import ALL_MODES
    from eval.run import EvalPlan, run_eval

    settings = common.settings()
    chosen = [m.strip() for m in ",".join(modes or ALL_MODES).split(",") if m.strip()]
    try:
        limits: dict[str, int] = {}
        if suite is not None:
            from eval.run import suite_sets

            paths, limits = suite_sets(suite, evaldata)
            beir = [*paths, *(beir or [])]
            if answer_passages is None:
                answer_passages = next((p for p in paths if (p / "answers.jsonl").is_file()), None)
            gold = True if gold is None else gold
        plan = EvalPlan(
            gold=gold if gold is not None else not beir,
            corpus=corpus,
            beir=beir or (),
            beir_max_queries=limits,
            modes=chosen,
            out=out,
            work_dir=work_dir,
            max_queries=max_queries,
            seed=seed,
            sweep=sweep,
            beir_sentences=beir_sentences,
            answer_passages=answer_passages,
            show_progress=sys.stderr.isatty(),
        )
        report = run_eval(settings, plan, **common.injected(ctx, settings))
    except PartnerSearchError as exc:
        common.fail(exc)
    import json

    metrics = json.loads((report.parent / "metrics.json").read_text(encoding="utf-8"))
    for name, data in (metrics.get("gold") or {}).get("modes", {}).items():
        o = data["overall"]
        typer.echo(
            f"gold {name:8s} hit@1 {o['hit@1']:.3f}  hit@5 {o['hit@5']:.3f}  "
            f"MRR@10 {o['mrr@10']:.3f}  nDCG@10 {o['ndcg@10']:.3f}"
        )
    if "gold" in metrics:
        for label, value, minimum, ok in quality_checks(metrics):
            shown = "n/a" if value is None else f"{value:.3f}"
            typer.echo(f"  {'pass' if ok else 'FAIL'}  {label} {shown} (bar {minimum:.2f})")
    for name, data in (metrics.get("beir") or {}).items():
        for mode, scores in data["modes"].items():
            typer.echo(f"{name} {mode:8s} " + "  ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    for mode, scores in (metrics.get("macro") or {}).items():
        typer.echo(
            f"macro ({scores['sets']} sets) {mode:8s} nDCG@10 {scores['ndcg@10']:.3f}  "
            f"MRR@10 {scores['mrr@10']:.3f}"
        )
    typer.echo(str(report))


def train_answerer_cmd(
    ctx: typer.Context,
    piaf: Annotated[
        Path | None,
        typer.Option(
            "--piaf", help="PIAF BEIR folder with answers.jsonl [default: <evaldata>/piaf_v1.1]"
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="artifact to write [default: the shipped service/data/answerer.json]"
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="report folder [default: eval/reports/answerer-<timestamp>]"),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="folder of the gold set's documents [default: corpus/]"),
    ] = None,
    gold: Annotated[
        bool, typer.Option("--gold/--no-gold", help="also measure the gold set")
    ] = True,
    work_dir: Annotated[
        Path | None,
        typer.Option("--work-dir", help="where the indexes go [default: <data_dir>-eval/answerer]"),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="seed of the PIAF article split")] = 0,
    held_out: Annotated[
        float, typer.Option("--held-out", min=0.05, max=0.9, help="share of articles held out")
    ] = 0.3,
    k: common.K = 10,
    extra: Annotated[
        int, typer.Option("--extra", min=1, max=100, help="extra passages fetched to drop the gold")
    ] = 10,
    max_questions: Annotated[
        int | None, typer.Option("--max-questions", min=10, help="sample this many PIAF questions")
    ] = None,
) -> None:
    """Learn /ask's sentence selector and abstention model from PIAF; write artifact + report."""
    import datetime as dt

    from eval.answerer import render_report, train_answerer
    from eval.answerer_data import save_records
    from eval.run import default_corpus_dir, default_reports_dir, default_work_dir
    from service.answer_model import DEFAULT_MODEL_PATH

    settings = common.settings()
    corpus_dir = (corpus or default_corpus_dir()) if gold else None
    try:
        result = train_answerer(
            settings,
            **common.injected(ctx, settings),
            piaf=piaf or common.default_piaf(),
            work_dir=work_dir or default_work_dir(settings) / "answerer",
            corpus=corpus_dir,
            seed=seed,
            held_out=held_out,
            k=k,
            extra=extra,
            max_questions=max_questions,
            show_progress=sys.stderr.isatty(),
            progress=lambda msg: typer.echo(msg, err=True),
        )
    except PartnerSearchError as exc:
        common.fail(exc)
    import json

    target = out or DEFAULT_MODEL_PATH
    result.model.save(target)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = report or default_reports_dir() / f"answerer-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(result.metrics, indent=1), encoding="utf-8")
    (folder / "report.md").write_text(render_report(result.metrics), encoding="utf-8")
    save_records(folder / "records.npz", result.records)
    for name in ("train", "held_out", "gold"):
        if name in result.metrics:
            s = result.metrics[name]
            at = s["at_threshold"]
            typer.echo(
                f"{name:8s} sentence accuracy {s['sentence_accuracy']:.3f}  abstain "
                f"{at['abstain_unanswerable']:.3f}  false abstain {at['false_abstain']:.3f}"
            )
    typer.echo(f"threshold {result.threshold:.2f} (set PARTNERSEARCH_ANSWER_THRESHOLD)")
    typer.echo(f"artifact: {target} ({target.stat().st_size} bytes)")
    typer.echo(f"report: {folder / 'report.md'}")


def train_reranker_cmd(
    ctx: typer.Context,
    piaf: Annotated[
        Path | None,
        typer.Option(
            "--piaf",
            help="PIAF BEIR folder (questions and paragraphs) [default: <evaldata>/piaf_v1.1]",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="artifact folder [default: the shipped service/data/reranker]"),
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option("--work-dir", help="eval's index cache [default: <data_dir>-eval]"),
    ] = None,
    evaldata: Annotated[
        Path | None,
        typer.Option("--evaldata", help="suite folder, for the vocabulary coverage report"),
    ] = None,
    # Defaults live in eval.reranker.RerankerConfig (one home; importing it here would load
    # numpy and eval at CLI start-up): an option left out keeps the config's value.
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    layers: Annotated[int | None, typer.Option("--layers", min=1, max=12)] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=16, max=512)] = None,
    negatives: Annotated[int | None, typer.Option("--negatives", min=1, max=31)] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, max=20)] = None,
    max_questions: Annotated[
        int | None, typer.Option("--max-questions", min=4, help="train on this many questions")
    ] = None,
    eval_questions: Annotated[
        int | None, typer.Option("--eval-questions", min=4, help="held-out questions measured")
    ] = None,
    held_out: Annotated[
        float | None,
        typer.Option("--held-out", min=0.05, max=0.9, help="share of articles held out"),
    ] = None,
    mine_depth: Annotated[
        int | None, typer.Option("--mine-depth", min=2, max=200, help="negatives from top N")
    ] = None,
    batch_questions: Annotated[int | None, typer.Option("--batch-questions", min=1, max=64)] = None,
    lr: Annotated[float | None, typer.Option("--lr", min=1e-7, max=1e-2)] = None,
    head_lr: Annotated[float | None, typer.Option("--head-lr", min=1e-7, max=1e-1)] = None,
    warmup: Annotated[float | None, typer.Option("--warmup", min=0.0, max=0.5)] = None,
    ascii_top: Annotated[
        int | None, typer.Option("--ascii-top", min=0, help="most probable ASCII pieces kept")
    ] = None,
    top_n: Annotated[
        int | None,
        typer.Option("--top-n", min=1, max=200, help="passages reranked when measuring"),
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, max=64)] = None,
) -> None:
    """Train the rerank stage's cross-encoder from e5-small on PIAF; write the artifact."""
    from dataclasses import fields

    from eval.reranker import RerankerConfig, render_report, summary, train_reranker
    from eval.run import default_work_dir
    from service.wiring import DEFAULT_RERANKER_DIR

    settings = common.settings()
    # The options named like a RerankerConfig field, as given (None: the config's default).
    names = {f.name for f in fields(RerankerConfig)}
    given = {k: v for k, v in ctx.params.items() if k in names and v is not None}
    config = RerankerConfig(**given)
    target = out or DEFAULT_RERANKER_DIR
    try:
        manifest = train_reranker(
            settings,
            **common.injected(ctx, settings),
            piaf=piaf or common.default_piaf(),
            work_dir=work_dir or default_work_dir(settings),
            out=target,
            config=config,
            evaldata=evaldata,
            show_progress=sys.stderr.isatty(),
            progress=lambda msg: typer.echo(msg, err=True),
        )
    except PartnerSearchError as exc:
        common.fail(exc)
    import datetime as dt
    import json

    from eval.run import default_reports_dir

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = default_reports_dir() / f"reranker-{stamp}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    (folder / "report.md").write_text(render_report(manifest), encoding="utf-8")
    for line in summary(manifest):
        typer.echo(line)
    size = sum(f.stat().st_size for f in target.iterdir())
    typer.echo(f"artifact: {target} ({size} bytes)")
    typer.echo(f"report: {folder / 'report.md'}")
