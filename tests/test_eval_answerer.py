"""Training-side pieces of /ask's learned answerer: removal simulation, split, records, outcomes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.answerer import (
    QuestionRecord,
    load_records,
    outcomes,
    remove_documents,
    save_records,
    split_by_article,
)
from eval.beir import BeirDataset, BeirDoc
from index.types import Hit
from service.answer_features import CONFIDENCE_FEATURES, SENTENCE_FEATURES
from service.answer_model import AnswerModel, LinearModel


def _hit(doc: str, n: int, score: float, ranks: dict[str, int]) -> Hit:
    return Hit(doc, f"{doc}#c{n}", doc, None, "fr", "other", "x", 0, 1, None, score, ranks)


def test_removed_document_renumbers_ranks_and_fused_scores():
    k, wd, wl = 10, 1.0, 2.0

    def fused(d: int | None, lx: int | None) -> float:
        return (wd / (k + d) if d else 0.0) + (wl / (k + lx) if lx else 0.0)

    hits = [
        _hit("gold", 0, fused(1, 1), {"dense": 1, "lexical": 1}),
        _hit("near", 0, fused(2, 3), {"dense": 2, "lexical": 3}),
        _hit("gold", 1, fused(4, 2), {"dense": 4, "lexical": 2}),
        _hit("far", 0, fused(3, None), {"dense": 3}),
    ]
    rest = remove_documents(hits, {"gold"}, fusion_k=k, weights={"dense": wd, "lexical": wl})
    assert [h.chunk_id for h in rest] == ["near#c0", "far#c0"]
    assert rest[0].ranks == {"dense": 1, "lexical": 1}  # both gold chunks ranked above it
    assert rest[1].ranks == {"dense": 2}  # only gold#c0 was above it in dense
    assert rest[0].score == pytest.approx(fused(1, 1))
    assert rest[1].score == pytest.approx(fused(2, None))


def test_split_keeps_whole_articles_on_one_side_and_is_seeded():
    corpus = {f"p{i}": BeirDoc(title=f"article {i // 3}", text="t") for i in range(30)}
    dataset = BeirDataset("d", Path("."), corpus, {}, {}, 0)
    split = split_by_article(dataset, seed=0, held_out=0.3)
    assert split == split_by_article(dataset, seed=0, held_out=0.3)
    assert sum(v == "held_out" for v in split.values()) == 9  # 3 of 10 articles, 3 paragraphs each
    for article in range(10):
        sides = {split[f"p{i}"] for i in range(article * 3, article * 3 + 3)}
        assert len(sides) == 1
    assert split != split_by_article(dataset, seed=1, held_out=0.3)


def _record(qid: str, view: str, x: np.ndarray, labels: list[bool]) -> QuestionRecord:
    return QuestionRecord(qid, "train", view, "date", x, np.array(labels), True)  # type: ignore[arg-type]


def test_records_round_trip_through_npz(tmp_path: Path):
    n = len(SENTENCE_FEATURES)
    records = [
        _record("q1", "answerable", np.arange(2 * n, dtype=float).reshape(2, n), [False, True]),
        _record("q1", "unanswerable", np.ones((1, n)), [False]),
    ]
    save_records(tmp_path / "r.npz", records)
    back = load_records(tmp_path / "r.npz")
    assert [(r.qid, r.view, r.answer_type, r.labels.tolist()) for r in back] == [
        ("q1", "answerable", "date", [False, True]),
        ("q1", "unanswerable", "date", [False]),
    ]
    assert np.array_equal(back[0].x, records[0].x)


def test_outcomes_pick_the_highest_logit_and_score_it():
    n = len(SENTENCE_FEATURES)
    overlap = SENTENCE_FEATURES.index("overlap")
    coef = tuple(1.0 if i == overlap else 0.0 for i in range(n))
    selector = LinearModel(SENTENCE_FEATURES, (0.0,) * n, (1.0,) * n, coef, 0.0)
    m = len(CONFIDENCE_FEATURES)
    abstainer = LinearModel(
        CONFIDENCE_FEATURES, (0.0,) * m, (1.0,) * m, (1.0,) + (0.0,) * (m - 1), 0.0
    )
    x = np.zeros((2, n))
    x[1, overlap] = 0.5
    out = outcomes(
        [
            _record("q", "answerable", x, [False, True]),
            _record("q", "unanswerable", x, [False, False]),
        ],
        AnswerModel(selector, abstainer),
    )
    assert [o.sentence_has_answer for o in out] == [True, False]
    assert [o.answerable for o in out] == [True, False]
    assert out[0].confidence == pytest.approx(1 / (1 + np.exp(-0.5)))
