"""train_answerer end to end on a tiny PIAF-like set (HashEmbedder): reproducible, by article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.answerer import render_report, train_answerer
from ingest.embed import HashEmbedder
from service.answer_model import load_answer_model
from service.settings import Settings

CITIES = ["Lyon", "Lille", "Nantes", "Rennes", "Dijon", "Nice", "Metz", "Caen"]


def _write_piaf(root: Path) -> None:
    corpus, queries, qrels, answers = [], [], [], []
    for i, city in enumerate(CITIES):
        for j in range(2):
            doc = f"p{i}_{j}"
            year = 1800 + 10 * i + j
            text = (
                f"La ville de {city} a un musée numéro {j}. Le musée de {city} a été fondé en "
                f"{year} par la commune. Il accueille des visiteurs chaque année."
            )
            corpus.append({"_id": doc, "title": f"Article {city}", "text": text})
            qid = f"q{i}_{j}"
            queries.append(
                {"_id": qid, "text": f"Quand le musée numéro {j} de {city} a-t-il été fondé ?"}
            )
            qrels.append(f"{qid}\t{doc}\t1")
            answers.append({"query_id": qid, "doc_id": doc, "answer": str(year), "answer_start": 0})
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("\n".join(map(json.dumps, corpus)), encoding="utf-8")
    (root / "queries.jsonl").write_text("\n".join(map(json.dumps, queries)), encoding="utf-8")
    (root / "answers.jsonl").write_text("\n".join(map(json.dumps, answers)), encoding="utf-8")
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "\n".join(qrels), encoding="utf-8"
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("train")
    _write_piaf(root / "piaf")
    settings = Settings(data_dir=root / "data", cache=root / "cache")
    runs = []
    for n in range(2):
        result = train_answerer(
            settings,
            piaf=root / "piaf",
            work_dir=root / f"work{n}",
            corpus=None,
            embedder=HashEmbedder(),
            held_out=0.25,
            k=4,
            extra=4,
        )
        result.model.save(root / f"answerer{n}.json")
        runs.append(result)
    return root, runs


def test_training_twice_writes_the_same_artifact(trained):
    root, _ = trained
    first = (root / "answerer0.json").read_bytes()
    assert first == (root / "answerer1.json").read_bytes()
    assert load_answer_model(root / "answerer0.json").meta["data"]["train_questions"] == 12


def test_held_out_questions_come_from_other_articles(trained):
    _, runs = trained
    records = runs[0].records
    train = {r.qid.split("_")[0] for r in records if r.split == "train"}
    held = {r.qid.split("_")[0] for r in records if r.split == "held_out"}
    assert len(held) == 2 and len(train) == 6 and not train & held
    # Every question is seen as is and with its paragraph removed.
    assert sorted(r.view for r in records if r.qid == "q0_0") == ["answerable", "unanswerable"]


def test_report_has_every_split_and_the_whole_curve(trained):
    _, runs = trained
    metrics = runs[0].metrics
    assert {"train", "held_out"} <= metrics.keys() and "gold" not in metrics
    assert [row["threshold"] for row in metrics["held_out"]["curve"]][:3] == [0.0, 0.02, 0.04]
    text = render_report(metrics)
    assert "## Threshold curve: held_out" in text and "| 1.00 |" in text
