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
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from eval.beir import BeirDataset, load_beir, write_beir_corpus
from eval.errors import EvalDataError
from eval.gold import GOLD_PATH, GoldItem, contains_answer, load_gold
from eval.metrics import AbstentionRow, AskOutcome, pick_threshold, threshold_sweep
from eval.report import git_commit
from index.errors import IndexMismatchError
from ingest.embed import Embedder
from service.answer_features import (
    CONFIDENCE_FEATURES,
    ENTITY_TYPES,
    SENTENCE_FEATURES,
    confidence_features,
    gather_candidates,
    sentence_features,
)
from service.answer_model import AnswerModel, LinearModel
from service.answer_types import expected_type
from service.nlp import EntityTagger

if TYPE_CHECKING:
    from index import Searcher
    from index.types import Hit
    from service.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "THRESHOLDS",
    "QuestionRecord",
    "TrainResult",
    "collect",
    "fit_abstainer",
    "fit_linear",
    "fit_selector",
    "load_piaf_answers",
    "load_records",
    "outcomes",
    "render_report",
    "save_records",
    "split_by_article",
    "train_answerer",
    "without_documents",
]

Split = Literal["train", "held_out", "gold"]
View = Literal["answerable", "unanswerable"]
#: Thresholds of the abstention curve (the report lists every one).
THRESHOLDS: tuple[float, ...] = tuple(round(0.02 * i, 2) for i in range(51))
_SELECTOR_C = (0.01, 0.1, 1.0, 10.0)
_ABSTAINER_C = 1.0
_TARGET_ABSTAIN, _TARGET_FALSE = 0.8, 0.1


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    """One question seen one way, with its candidates' features and labels."""

    qid: str
    split: Split
    view: View
    answer_type: str | None
    x: np.ndarray  # [n candidates, len(SENTENCE_FEATURES)]
    labels: np.ndarray  # [n] bool: the sentence contains the gold answer
    answer_in_passages: bool  # some retrieved passage contains the gold answer


@dataclass(frozen=True, slots=True)
class TrainResult:
    model: AnswerModel
    threshold: float
    metrics: dict[str, Any]
    records: tuple[QuestionRecord, ...] = ()  # every split, for save_records


def save_records(path: Path, records: Sequence[QuestionRecord]) -> None:
    """The collected features and labels as one .npz (no pickle), to study them offline."""
    sizes = np.array([len(r.labels) for r in records], dtype=np.int64)
    np.savez_compressed(
        path,
        qid=np.array([r.qid for r in records]),
        split=np.array([r.split for r in records]),
        view=np.array([r.view for r in records]),
        answer_type=np.array([r.answer_type or "" for r in records]),
        sizes=sizes,
        x=np.vstack([r.x for r in records]) if records else np.zeros((0, 0)),
        labels=np.concatenate([r.labels for r in records]) if records else np.zeros(0, bool),
        answer_in_passages=np.array([r.answer_in_passages for r in records]),
        features=np.array(SENTENCE_FEATURES),
    )


def load_records(path: Path) -> list[QuestionRecord]:
    """Inverse of :func:`save_records`."""
    with np.load(path, allow_pickle=False) as npz:
        data = {k: npz[k] for k in npz.files}  # each npz[k] decompresses again: read once
    bounds = np.concatenate([[0], np.cumsum(data["sizes"])])
    return [
        QuestionRecord(
            str(data["qid"][i]),
            str(data["split"][i]),  # type: ignore[arg-type]
            str(data["view"][i]),  # type: ignore[arg-type]
            str(data["answer_type"][i]) or None,
            data["x"][bounds[i] : bounds[i + 1]],
            data["labels"][bounds[i] : bounds[i + 1]],
            bool(data["answer_in_passages"][i]),
        )
        for i in range(len(data["sizes"]))
    ]


def load_piaf_answers(path: Path) -> dict[str, tuple[str, str]]:
    """{query id: (gold doc id, answer text)} from PIAF's answers.jsonl."""
    if not path.is_file():
        raise EvalDataError(f"{path} not found; PIAF's folder must hold answers.jsonl")
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[str(row["query_id"])] = (str(row["doc_id"]), str(row["answer"]))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise EvalDataError(f"{path}:{n}: bad answer line ({exc!r})") from exc
    return out


def split_by_article(
    dataset: BeirDataset, *, seed: int, held_out: float
) -> dict[str, Literal["train", "held_out"]]:
    """{doc id: split}: whole articles (same title) go to one side, ``held_out`` of them out."""
    titles = sorted({doc.title for doc in dataset.corpus.values()})
    random.Random(seed).shuffle(titles)
    out_titles = set(titles[: round(len(titles) * held_out)])
    return {
        doc_id: "held_out" if doc.title in out_titles else "train"
        for doc_id, doc in dataset.corpus.items()
    }


def collect(
    searcher: Searcher,
    embedder: Embedder,
    question: str,
    hits: Sequence[Hit],
    *,
    answer: str | None,
    tagger: EntityTagger,
) -> tuple[np.ndarray, np.ndarray, bool, str | None]:
    """Features and labels of the candidates of ``hits`` (what /ask computes for them)."""
    candidates = gather_candidates(searcher, hits)
    wanted = expected_type(question)
    if not candidates:
        return np.zeros((0, len(SENTENCE_FEATURES))), np.zeros(0, bool), False, wanted
    vectors = searcher.sentence_vectors([c.sentence.sentence_id for c in candidates])
    query = embedder.embed_queries([question])[0]
    entities = None
    if wanted in ENTITY_TYPES:
        entities = tagger.entities([c.sentence.text for c in candidates])
    x = sentence_features(
        question, query, candidates, vectors, entities=entities, answer_type=wanted
    )
    labels = np.array(
        [answer is not None and contains_answer(c.sentence.text, answer) for c in candidates]
    )
    in_passages = answer is not None and any(contains_answer(h.text, answer) for h in hits)
    return x, labels, in_passages, wanted


def without_documents(
    searcher: Searcher, question: str, doc_ids: Collection[str], *, k: int, depth: int
) -> tuple[list[Hit], list[Hit]]:
    """The top ``k`` hybrid hits of ``question``, and the top ``k`` an index without
    ``doc_ids`` would give: every channel retrieved once to ``depth``, those documents'
    passages dropped from each ranking, the rest fused again by the searcher's own rule (so
    ranks, fused scores and their normalisation are those of the smaller index; BM25's
    document frequencies still count the removed paragraph)."""
    channels = searcher.channels(question, depth=depth)
    full = searcher.hits_from_channels(question, channels, k=k)
    rest = channels.without(searcher.rows_of_documents(sorted(doc_ids)))
    return full, searcher.hits_from_channels(question, rest, k=k)


def _piaf_records(
    searcher: Searcher,
    embedder: Embedder,
    dataset: BeirDataset,
    answers: dict[str, tuple[str, str]],
    splits: dict[str, Literal["train", "held_out"]],
    *,
    k: int,
    extra: int,
    tagger: EntityTagger,
    max_questions: int | None,
    seed: int,
    show_progress: bool,
) -> list[QuestionRecord]:
    from tqdm.auto import tqdm

    qids = sorted(q for q in dataset.queries if q in answers)
    if max_questions is not None and max_questions < len(qids):
        qids = sorted(random.Random(seed).sample(qids, max_questions))
    records = []
    started = time.perf_counter()
    for n, qid in enumerate(tqdm(qids, desc="PIAF questions", disable=not show_progress), 1):
        question = dataset.queries[qid]
        gold_doc, answer = answers[qid]
        split = splits.get(gold_doc)
        if split is None:
            continue
        depth = max(searcher.options.depth, k + extra)
        full, rest = without_documents(searcher, question, {gold_doc}, k=k, depth=depth)
        views: tuple[tuple[View, list[Hit]], ...] = (("answerable", full), ("unanswerable", rest))
        for view, hits in views:
            x, labels, in_passages, wanted = collect(
                searcher, embedder, question, hits, answer=answer, tagger=tagger
            )
            records.append(QuestionRecord(qid, split, view, wanted, x, labels, in_passages))
        if n % 500 == 0:
            logger.info(
                "PIAF: %d/%d questions in %.0f s", n, len(qids), time.perf_counter() - started
            )
    return records


def _gold_records(
    searcher: Searcher,
    embedder: Embedder,
    items: Sequence[GoldItem],
    *,
    k: int,
    tagger: EntityTagger,
) -> list[QuestionRecord]:
    records = []
    for item in items:
        hits = searcher.search(item.question, k=k, mode="hybrid")
        x, labels, in_passages, wanted = collect(
            searcher, embedder, item.question, hits, answer=item.answer, tagger=tagger
        )
        view: View = "answerable" if item.answerable else "unanswerable"
        records.append(QuestionRecord(item.id, "gold", view, wanted, x, labels, in_passages))
    return records


def fit_linear(
    x: np.ndarray,
    y: np.ndarray,
    *,
    features: Sequence[str],
    c: float,
    class_weight: str | None = None,
) -> LinearModel:
    """Standardise ``x`` and fit an L2 logistic regression (scikit-learn, lbfgs: deterministic)."""
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    lr = LogisticRegression(C=c, max_iter=5000, class_weight=class_weight)
    lr.fit((x - mean) / scale, y.astype(int))
    return LinearModel(
        tuple(features),
        tuple(float(v) for v in mean),
        tuple(float(v) for v in scale),
        tuple(float(v) for v in lr.coef_[0]),
        float(lr.intercept_[0]),
    )


def _stack(records: Sequence[QuestionRecord]) -> tuple[np.ndarray, np.ndarray]:
    usable = [r for r in records if len(r.labels)]
    if not usable:
        raise EvalDataError("no question with candidates to train on")
    return np.vstack([r.x for r in usable]), np.concatenate([r.labels for r in usable])


def _top1(records: Sequence[QuestionRecord], model: LinearModel) -> float:
    picks = [bool(r.labels[int(np.argmax(model.logits(r.x)))]) for r in records if len(r.labels)]
    return float(np.mean(picks)) if picks else 0.0


def fit_selector(
    records: Sequence[QuestionRecord], *, seed: int
) -> tuple[LinearModel, dict[str, float]]:
    """Selector over answerable views that have a positive; C picked on a held-aside 20%."""
    train = [r for r in records if r.view == "answerable" and r.labels.any()]
    ids = sorted({r.qid for r in train})
    random.Random(seed).shuffle(ids)
    aside = set(ids[: len(ids) // 5])
    fit_part = [r for r in train if r.qid not in aside]
    check_part = [r for r in train if r.qid in aside]
    x, y = _stack(fit_part)
    scores = {}
    for c in _SELECTOR_C:
        scores[str(c)] = _top1(check_part, fit_linear(x, y, features=SENTENCE_FEATURES, c=c))
        logger.info("selector C=%s: top-1 %.3f on the held-aside train part", c, scores[str(c)])
    best_c = max(_SELECTOR_C, key=lambda c: (scores[str(c)], -c))
    x, y = _stack(train)
    return fit_linear(x, y, features=SENTENCE_FEATURES, c=best_c), {
        "chosen_c": best_c,
        **{f"top1@C={c}": v for c, v in scores.items()},
    }


def _confidence_rows(
    records: Sequence[QuestionRecord], selector: LinearModel
) -> tuple[np.ndarray, np.ndarray, list[QuestionRecord]]:
    rows, labels, kept = [], [], []
    for r in records:
        if not len(r.labels):
            continue
        rows.append(confidence_features(r.x, selector.logits(r.x))[0])
        labels.append(r.view == "answerable")
        kept.append(r)
    return np.asarray(rows), np.asarray(labels), kept


def fit_abstainer(records: Sequence[QuestionRecord], selector: LinearModel) -> LinearModel:
    """P(the passages answer the question) from the selector's pick: answerable vs
    unanswerable views of the same train questions (balanced by construction)."""
    x, y, _ = _confidence_rows(records, selector)
    return fit_linear(x, y, features=CONFIDENCE_FEATURES, c=_ABSTAINER_C)


def outcomes(records: Sequence[QuestionRecord], model: AnswerModel) -> list[AskOutcome]:
    """What /ask does with each record (threshold-free), as eval.metrics scores it."""
    out = []
    for r in records:
        if not len(r.labels):
            out.append(
                AskOutcome(f"{r.qid}:{r.view}", r.view == "answerable", 0.0, False, False, False)
            )
            continue
        logits = model.selector.logits(r.x)
        top = int(np.argmax(logits))
        conf = float(model.abstainer.probabilities(confidence_features(r.x, logits))[0])
        answerable = r.view == "answerable"
        out.append(
            AskOutcome(
                item_id=f"{r.qid}:{r.view}",
                answerable=answerable,
                confidence=conf,
                has_candidate=True,
                sentence_has_answer=answerable and bool(r.labels[top]),
                passage_has_answer=answerable and r.answer_in_passages,
            )
        )
    return out


def _choose_threshold(rows: Sequence[AbstentionRow]) -> tuple[AbstentionRow, bool]:
    """The row meeting both targets with most margin; else the one closest to both."""
    feasible = pick_threshold(rows, min_abstain=_TARGET_ABSTAIN, max_false_abstain=_TARGET_FALSE)
    if feasible is not None:
        return feasible, True
    return min(
        rows,
        key=lambda r: max(
            _TARGET_ABSTAIN - r.abstain_unanswerable, r.false_abstain - _TARGET_FALSE
        ),
    ), False


def _section(records: Sequence[QuestionRecord], model: AnswerModel, threshold: float) -> dict:
    answerable = [r for r in records if r.view == "answerable"]
    outs = outcomes(records, model)
    curve = threshold_sweep(outs, sorted({*THRESHOLDS, threshold}))
    at = next(r for r in curve if r.threshold == threshold)
    picks = [o.sentence_has_answer for o in outs if o.answerable]
    by_type: dict[str, list[bool]] = {}
    for r, o in zip(records, outs, strict=True):
        if o.answerable:
            by_type.setdefault(r.answer_type or "none", []).append(o.sentence_has_answer)
    unans = [r for r in records if r.view == "unanswerable"]
    return {
        "confidence_auc": _auc(outs),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unans),
        "sentence_accuracy": float(np.mean(picks)) if picks else 0.0,
        "answer_in_passages": float(np.mean([r.answer_in_passages for r in answerable]))
        if answerable
        else 0.0,
        "unanswerable_answer_still_retrieved": float(np.mean([r.answer_in_passages for r in unans]))
        if unans
        else 0.0,
        "sentence_accuracy_by_type": {
            t: {"n": len(v), "accuracy": float(np.mean(v))} for t, v in sorted(by_type.items())
        },
        "at_threshold": asdict(at),
        "curve": [asdict(r) for r in curve],
    }


def span_quality(
    searcher: Searcher,
    dataset: BeirDataset,
    answers: dict[str, tuple[str, str]],
    qids: Sequence[str],
    *,
    tagger: EntityTagger,
) -> dict[str, Any]:
    """How well the span finder marks the annotated answer, given the sentence holding it.

    Per asked type: ``exact`` (span == answer, whitespace-normalised), ``overlap`` (they
    share characters), ``found`` (any span at all). Dates are also scored with
    dateparser's search instead of the rules, to pick the better.
    """
    from service.answer_span import find_answer_span

    tallies: dict[str, dict[str, int]] = {}
    for qid in qids:
        question = dataset.queries[qid]
        doc_id, answer = answers[qid]
        wanted = expected_type(question)
        if wanted is None:
            continue
        sentence = next(
            (s for s in searcher.sentences_in(doc_id, 0, 10**9) if contains_answer(s.text, answer)),
            None,
        )
        if sentence is None:
            continue
        text = sentence.text
        entities = tagger.entities([text])[0] if wanted in ENTITY_TYPES else ()
        finders: list[tuple[str, Any]] = [(wanted, "rules")]
        if wanted == "date":
            finders.append(("date (dateparser)", "dateparser"))
        for name, dates in finders:
            span = find_answer_span(text, wanted, question=question, entities=entities, dates=dates)
            t = tallies.setdefault(name, {"n": 0, "found": 0, "exact": 0, "overlap": 0})
            t["n"] += 1
            if span is None:
                continue
            t["found"] += 1
            at = text.find(answer)
            norm = " ".join(answer.split()).casefold()
            t["exact"] += " ".join(span.text.split()).casefold() == norm
            t["overlap"] += at >= 0 and span.start < at + len(answer) and span.end > at
    return {
        name: {
            "n": t["n"],
            **{k: round(t[k] / t["n"], 3) for k in ("found", "exact", "overlap")},
        }
        for name, t in sorted(tallies.items())
    }


def _auc(outs: Sequence[AskOutcome]) -> float | None:
    """Area under the ROC curve of confidence, answerable vs unanswerable (None if one class)."""
    from sklearn.metrics import roc_auc_score

    labels = [o.answerable for o in outs]
    if len(set(labels)) < 2:
        return None
    return round(float(roc_auc_score(labels, [o.confidence for o in outs])), 4)


def _build_index(
    data_dir: Path,
    embedder: Embedder,
    settings: Settings,
    inputs: list[Path],
    show_progress: bool,
    use_embedder: Embedder | None = None,
) -> None:
    import shutil

    from service.wiring import make_indexer

    def ingest() -> None:
        make_indexer(
            settings, embedder, use_embedder, data_dir=data_dir, show_progress=show_progress
        ).ingest(inputs, prune=True)

    try:
        ingest()
    except IndexMismatchError as exc:  # eval's own cache, built by another model: rebuild
        logger.warning("rebuilding %s: %s", data_dir, exc)
        shutil.rmtree(data_dir)
        ingest()


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

    say(f"indexing PIAF ({len(dataset.corpus)} paragraphs) into {work_dir / 'piaf'}")
    write_beir_corpus(dataset, work_dir / "piaf" / "files")
    _build_index(
        work_dir / "piaf" / "index",
        embedder,
        settings,
        [work_dir / "piaf" / "files"],
        show_progress,
        use_embedder,
    )
    searcher = open_searcher(settings, embedder, use_embedder, data_dir=work_dir / "piaf" / "index")
    splits = split_by_article(dataset, seed=seed, held_out=held_out)
    say("collecting candidate features for PIAF questions (answerable and gold-removed views)")
    started = time.perf_counter()
    records = _piaf_records(
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
    chosen, feasible = _choose_threshold(curve)

    gold_records: list[QuestionRecord] = []
    if corpus is not None:
        say(f"indexing {corpus} and asking the {len(items)} gold questions")
        _build_index(
            work_dir / "gold", embedder, settings, [Path(corpus)], show_progress, use_embedder
        )
        gold_searcher = open_searcher(settings, embedder, use_embedder, data_dir=work_dir / "gold")
        gold_records = _gold_records(gold_searcher, embedder, items, k=k, tagger=tagger)

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
        "train": _section(train, model, chosen.threshold),
        "held_out": _section(test, model, chosen.threshold),
        "selector_coef": dict(zip(SENTENCE_FEATURES, selector.coef, strict=True)),
        "abstainer_coef": dict(zip(CONFIDENCE_FEATURES, abstainer.coef, strict=True)),
    }
    if gold_records:
        metrics["gold"] = _section(gold_records, model, chosen.threshold)
    held_qids = sorted({r.qid for r in test if r.view == "answerable"})
    metrics["span_quality_held_out"] = span_quality(
        searcher, dataset, answers, held_qids, tagger=tagger
    )
    return TrainResult(
        model=model,
        threshold=chosen.threshold,
        metrics=metrics,
        records=(*records, *gold_records),
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
