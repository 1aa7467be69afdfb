"""What /ask's answerer learns from: PIAF's answers and its split by article, and each
question's candidates as /ask sees them, with and without its gold paragraph, kept as
:class:`QuestionRecord` (saved as one .npz, no pickle)."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from eval.beir import BeirDataset
from eval.errors import EvalDataError
from eval.gold import GoldItem, contains_answer
from ingest.embed import Embedder
from service.answer_features import (
    ENTITY_TYPES,
    SENTENCE_FEATURES,
    gather_candidates,
    sentence_features,
)
from service.answer_types import expected_type
from service.nlp import EntityTagger

if TYPE_CHECKING:
    from index import Searcher
    from index.types import Hit

logger = logging.getLogger(__name__)

__all__ = [
    "QuestionRecord",
    "Split",
    "View",
    "collect",
    "gold_records",
    "load_piaf_answers",
    "load_records",
    "piaf_records",
    "save_records",
    "split_by_article",
    "without_documents",
]

Split = Literal["train", "held_out", "gold"]
View = Literal["answerable", "unanswerable"]


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


def piaf_records(
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


def gold_records(
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
