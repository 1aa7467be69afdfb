"""/ask's two logistic models fitted on question records, and how a split is measured:
the selector (which sentence answers), the abstainer (do the passages answer at all), the
threshold chosen on train, and each split's section of the report."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from eval.answerer_data import QuestionRecord
from eval.beir import BeirDataset
from eval.errors import EvalDataError
from eval.gold import contains_answer
from eval.metrics import AbstentionRow, AskOutcome, pick_threshold, threshold_sweep
from service.answer_features import (
    CONFIDENCE_FEATURES,
    ENTITY_TYPES,
    SENTENCE_FEATURES,
    confidence_features,
)
from service.answer_model import AnswerModel, LinearModel
from service.answer_types import expected_type
from service.nlp import EntityTagger

if TYPE_CHECKING:
    from index import Searcher

logger = logging.getLogger(__name__)

__all__ = [
    "THRESHOLDS",
    "choose_threshold",
    "fit_abstainer",
    "fit_linear",
    "fit_selector",
    "outcomes",
    "section",
    "span_quality",
]

#: Thresholds of the abstention curve (the report lists every one).
THRESHOLDS: tuple[float, ...] = tuple(round(0.02 * i, 2) for i in range(51))
_SELECTOR_C = (0.01, 0.1, 1.0, 10.0)
_ABSTAINER_C = 1.0
_TARGET_ABSTAIN, _TARGET_FALSE = 0.8, 0.1


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


def choose_threshold(rows: Sequence[AbstentionRow]) -> tuple[AbstentionRow, bool]:
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


def section(records: Sequence[QuestionRecord], model: AnswerModel, threshold: float) -> dict:
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
