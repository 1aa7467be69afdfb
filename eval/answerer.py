"""Train and measure /ask's answer selector and abstention model (``partnersearch train-answerer``).

Data: PIAF (French Wikipedia paragraphs, a question and its annotated answer span
each) and the project's gold set over corpus/.

* PIAF is indexed once through the normal pipeline (files -> chunks -> sentences ->
  e5 vectors), in eval's own folder. Articles (BEIR ``title``) are split with a fixed
  seed into train and held-out, so the two never share a paragraph, nor even an article.
* Every question is retrieved once, ``k + extra`` passages deep. Its *answerable* view
  is the top ``k``; its *unanswerable* view drops every passage of its gold paragraph
  (ranks and fused scores renumbered as if it had never been indexed) and keeps the
  next ``k``: the topic stays (same article, same words), the fact goes. That simulates
  deleting the paragraph from the index without re-indexing per question.
* Candidates are the sentences of the passages (``service.answer_features``); a
  sentence is a positive when it contains the annotated answer. The selector is a
  logistic regression over the answerable views of train questions (regularisation
  chosen on a held-aside part of train); the abstainer a logistic regression over the
  selector's pick, answerable vs unanswerable views of train questions. The threshold is
  chosen on train; held-out PIAF and the gold set only measure.

Here: the command and its report; the records in ``eval.answerer_data``, the models and
their measures in ``eval.answerer_fit``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.answerer_data import (
    QuestionRecord,
    gold_records,
    load_piaf_answers,
    piaf_records,
    split_by_article,
)
from eval.answerer_fit import (
    THRESHOLDS,
    choose_threshold,
    fit_abstainer,
    fit_selector,
    outcomes,
    section,
    span_quality,
)
from eval.beir import load_beir, write_beir_corpus
from eval.errors import EvalDataError
from eval.gold import GOLD_PATH, load_gold
from eval.metrics import threshold_sweep
from eval.report import git_commit
from eval.retrieval import index_files
from ingest.embed import Embedder
from service.answer_features import CONFIDENCE_FEATURES, SENTENCE_FEATURES
from service.answer_model import AnswerModel
from service.nlp import EntityTagger

if TYPE_CHECKING:
    from index import Searcher
    from service.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "TrainResult",
    "render_report",
    "train_answerer",
]


@dataclass(frozen=True, slots=True)
class TrainResult:
    """What :func:`train_answerer` gives: the model to ship, its threshold, the report's
    metrics and the records it learnt from."""

    model: AnswerModel
    threshold: float
    metrics: dict[str, Any]
    records: tuple[QuestionRecord, ...] = ()  # every split, for save_records


def train_answerer(
    settings: Settings,
    *,
    piaf: Path,
    work_dir: Path,
    corpus: Path | None,
    gold_path: Path = GOLD_PATH,
    embedder: Embedder | None = None,
    use_embedder: Embedder | None = None,
    tagger: EntityTagger | None = None,
    seed: int = 0,
    held_out: float = 0.3,
    k: int = 10,
    extra: int = 10,
    max_questions: int | None = None,
    show_progress: bool = False,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """Index PIAF (and corpus/), collect features, fit both models, measure every split.

    Raises EvalDataError for missing inputs; index errors propagate.
    """
    from service.nlp import load_entity_tagger
    from service.wiring import open_searcher

    say = progress or (lambda msg: logger.info("%s", msg))
    piaf = Path(piaf)
    answers = load_piaf_answers(piaf / "answers.jsonl")
    dataset = load_beir(piaf)
    items = load_gold(gold_path) if corpus is not None else []
    if corpus is not None and not Path(corpus).is_dir():
        raise EvalDataError(f"corpus folder {corpus} not found; pass --corpus DIR")
    if embedder is None:
        from service.wiring import load_embedders

        embedder, use_embedder = load_embedders(settings)
    if not settings.use_channel:
        use_embedder = None
    tagger = tagger or load_entity_tagger()

    def indexed(data_dir: Path, inputs: list[Path]) -> Searcher:
        index_files(data_dir, inputs, settings, embedder, use_embedder, show_progress=show_progress)
        return open_searcher(settings, embedder, use_embedder, data_dir=data_dir)

    say(f"indexing PIAF ({len(dataset.corpus)} paragraphs) into {work_dir / 'piaf'}")
    write_beir_corpus(dataset, work_dir / "piaf" / "files")
    searcher = indexed(work_dir / "piaf" / "index", [work_dir / "piaf" / "files"])
    splits = split_by_article(dataset, seed=seed, held_out=held_out)
    say("collecting candidate features for PIAF questions (answerable and gold-removed views)")
    started = time.perf_counter()
    records = piaf_records(
        searcher,
        embedder,
        dataset,
        answers,
        splits,
        k=k,
        extra=extra,
        tagger=tagger,
        max_questions=max_questions,
        seed=seed,
        show_progress=show_progress,
    )
    collect_seconds = time.perf_counter() - started
    train = [r for r in records if r.split == "train"]
    test = [r for r in records if r.split == "held_out"]
    say(f"fitting the selector on {sum(r.view == 'answerable' for r in train)} train questions")
    selector, selector_info = fit_selector(train, seed=seed)
    abstainer = fit_abstainer(train, selector)
    provisional = AnswerModel(selector=selector, abstainer=abstainer)
    curve = threshold_sweep(outcomes(train, provisional), THRESHOLDS)
    chosen, feasible = choose_threshold(curve)

    gold_part: list[QuestionRecord] = []
    if corpus is not None:
        say(f"indexing {corpus} and asking the {len(items)} gold questions")
        gold_searcher = indexed(work_dir / "gold", [Path(corpus)])
        gold_part = gold_records(gold_searcher, embedder, items, k=k, tagger=tagger)

    # No date or commit in the artifact: the same command on the same data writes the same file.
    meta = {
        "command": f"partnersearch train-answerer --seed {seed} --held-out {held_out} --k {k} "
        f"--extra {extra}" + (f" --max-questions {max_questions}" if max_questions else ""),
        "embedder": f"{embedder.name}@{embedder.fingerprint()}"
        + (f" + {use_embedder.name}@{use_embedder.fingerprint()}" if use_embedder else ""),
        "data": {
            "piaf_paragraphs": len(dataset.corpus),
            "train_questions": sum(r.view == "answerable" for r in train),
            "held_out_questions": sum(r.view == "answerable" for r in test),
            "split": f"by article title, seed {seed}, {held_out:.0%} of articles held out",
        },
        "selector": selector_info,
        "threshold": chosen.threshold,
        "threshold_meets_targets_on_train": feasible,
    }
    model = AnswerModel(selector=selector, abstainer=abstainer, meta=meta)
    metrics: dict[str, Any] = {
        "meta": meta,
        "trained": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "collect_seconds": round(collect_seconds, 1),
        "train": section(train, model, chosen.threshold),
        "held_out": section(test, model, chosen.threshold),
        "selector_coef": dict(zip(SENTENCE_FEATURES, selector.coef, strict=True)),
        "abstainer_coef": dict(zip(CONFIDENCE_FEATURES, abstainer.coef, strict=True)),
    }
    if gold_part:
        metrics["gold"] = section(gold_part, model, chosen.threshold)
    held_qids = sorted({r.qid for r in test if r.view == "answerable"})
    metrics["span_quality_held_out"] = span_quality(
        searcher, dataset, answers, held_qids, tagger=tagger
    )
    return TrainResult(
        model=model,
        threshold=chosen.threshold,
        metrics=metrics,
        records=(*records, *gold_part),
    )


def render_report(metrics: dict[str, Any]) -> str:
    """Markdown: the end-to-end numbers of every split and the whole threshold curve."""
    meta = metrics["meta"]
    lines = [
        "# /ask answer selection and abstention",
        "",
        f"Trained {metrics['trained']} (commit {metrics.get('commit') or 'unknown'}) with "
        f"`{meta['command']}`; embedder {meta['embedder']}; PIAF split {meta['data']['split']}.",
        f"Shipped threshold: **{meta['threshold']:.2f}** (chosen on PIAF train; meets "
        f"≥ 80% abstention at ≤ 10% false abstention there: "
        f"{'yes' if meta['threshold_meets_targets_on_train'] else 'no'}).",
        "",
        "| split | answerable | unanswerable | answer in passages | sentence accuracy "
        "| abstain (unanswerable) | false abstain | answered & correct | confidence AUC |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    names = [n for n in ("train", "held_out", "gold") if n in metrics]
    for name in names:
        s = metrics[name]
        at = s["at_threshold"]
        lines.append(
            f"| {name} | {s['n_answerable']} | {s['n_unanswerable']} | "
            f"{s['answer_in_passages']:.3f} | {s['sentence_accuracy']:.3f} | "
            f"{at['abstain_unanswerable']:.3f} | {at['false_abstain']:.3f} | "
            f"{at['answered_exact']:.3f} | {s['confidence_auc'] or 0:.3f} |"
        )
    lines += [
        "",
        "Sentence accuracy: share of answerable questions whose chosen sentence contains the "
        "gold answer (retrieval then selection, no abstention). Unanswerable PIAF questions "
        "are the same questions with their gold paragraph filtered out of the retrieved "
        "passages; 'answer still retrieved' below is how often another paragraph still holds "
        "the answer string.",
        "",
    ]
    for name in names:
        s = metrics[name]
        lines.append(
            f"- {name}: answer still retrieved after removal "
            f"{s['unanswerable_answer_still_retrieved']:.3f}; accuracy by asked type: "
            + ", ".join(
                f"{t} {v['accuracy']:.3f} (n={v['n']})"
                for t, v in s["sentence_accuracy_by_type"].items()
            )
        )
    spans = metrics.get("span_quality_held_out") or {}
    if spans:
        lines += [
            "",
            "## Answer span on held-out PIAF (given the sentence holding the answer)",
            "",
            "| asked type | n | span found | span == answer | span overlaps answer |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {v['n']} | {v['found']:.3f} | {v['exact']:.3f} | {v['overlap']:.3f} |"
            for name, v in spans.items()
        ]
    lines += ["", "## Selector weights (standardised features)", ""]
    lines += [f"- {n}: {v:+.3f}" for n, v in metrics["selector_coef"].items()]
    lines += ["", "## Abstainer weights (standardised features)", ""]
    lines += [f"- {n}: {v:+.3f}" for n, v in metrics["abstainer_coef"].items()]
    for name in names:
        lines += [
            "",
            f"## Threshold curve: {name}",
            "",
            "| threshold | abstain (unanswerable) | false abstain | answered & correct |",
            "|---|---|---|---|",
        ]
        for row in metrics[name]["curve"]:
            lines.append(
                f"| {row['threshold']:.2f} | {row['abstain_unanswerable']:.3f} | "
                f"{row['false_abstain']:.3f} | {row['answered_exact']:.3f} |"
            )
    return "\n".join(lines) + "\n"
