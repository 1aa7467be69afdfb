"""Training-side pieces of /ask's learned answerer: removal simulation, split, records, outcomes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.answerer_data import (
    QuestionRecord,
    load_records,
    save_records,
    split_by_article,
    without_documents,
)
from eval.answerer_fit import outcomes
from eval.beir import BeirDataset, BeirDoc
from index.fusion import Channels
from index.types import Hit
from service.answer_features import CONFIDENCE_FEATURES, SENTENCE_FEATURES
from service.answer_model import AnswerModel, LinearModel


def _hit(doc: str, n: int, score: float, ranks: dict[str, int]) -> Hit:
    return Hit(doc, f"{doc}#c{n}", doc, None, "fr", "other", "x", 0, 1, None, score, ranks)


def test_channels_without_rows_move_the_others_up():
    ch = Channels(
        dense_rows=np.array([5, 1, 7]),
        dense_scores=np.array([0.9, 0.8, 0.7]),
        lex_rows=np.array([1, 5]),
        lex_scores=np.array([4.0, 3.0]),
        use_rows=np.array([7, 5]),
        use_scores=np.array([0.6, 0.5]),
    )
    rest = ch.without(np.array([5]))
    assert rest.dense_rows.tolist() == [1, 7] and rest.dense_scores.tolist() == [0.8, 0.7]
    assert rest.lex_rows.tolist() == [1] and rest.lex_scores.tolist() == [4.0]
    assert rest.use_rows.tolist() == [7] and rest.use_scores.tolist() == [0.6]
    assert ch.without(np.array([], np.int64)).dense_rows.tolist() == [5, 1, 7]


def test_without_documents_fuses_the_smaller_index_exactly(tmp_path):
    """The removed view equals what an index that never held the document returns (BM25 is
    left out: its document frequencies still count the removed paragraph)."""
    from index_docs import make_doc

    from index import Indexer, Searcher
    from ingest.embed import HashEmbedder

    docs = [
        make_doc("gold", ["La convention avec la Normandie dure six ans."]),
        make_doc("near", ["La convention avec la Bretagne couvre la cardiologie."]),
        make_doc("far", ["Le laboratoire de Lille étudie le diabète."]),
    ]
    Indexer(tmp_path / "all", HashEmbedder()).ingest_parsed(docs)
    Indexer(tmp_path / "rest", HashEmbedder()).ingest_parsed(docs[1:])
    question = "Combien de temps dure la convention avec la Normandie ?"
    both = Searcher.open(tmp_path / "all", HashEmbedder(), lexical_weight=0.0)
    full, rest = without_documents(both, question, {"gold"}, k=5, depth=50)
    assert full[0].doc_id == "gold" and "gold" not in {h.doc_id for h in rest}
    smaller = Searcher.open(tmp_path / "rest", HashEmbedder(), lexical_weight=0.0)
    expected = smaller.search(question, k=5)
    assert [(h.chunk_id, h.ranks) for h in rest] == [(h.chunk_id, h.ranks) for h in expected]
    assert [h.score for h in rest] == pytest.approx([h.score for h in expected])


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
