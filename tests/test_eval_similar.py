"""/similar scoring (eval.similar): ranks of the wanted wording on gold precedents and on a
sentence-pair BEIR set, and its report section."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from index_docs import make_doc

from eval.beir import BeirDataset, BeirDoc, passages
from eval.gold import GoldItem
from eval.report_markdown import render_markdown
from eval.similar import score_beir_similar, score_gold_similar, similar_metrics
from index import Indexer, Searcher
from ingest.embed import HashEmbedder


def test_similar_metrics_from_ranks() -> None:
    got = similar_metrics([1, 3, None, 12])
    assert got == {"n": 4, "hit@1": 0.25, "hit@5": 0.5, "mrr@10": pytest.approx((1 + 1 / 3) / 4)}
    assert similar_metrics([]) == {"n": 0, "hit@1": 0.0, "hit@5": 0.0, "mrr@10": 0.0}


def _item(qid: str, question: str, answer: str, lang: str = "fr") -> GoldItem:
    return GoldItem(qid, question, lang, "precedent", True, "a", answer, "fr")


def test_gold_precedents_rank_the_wording_that_holds_the_answer(tmp_path: Path) -> None:
    data = tmp_path / "data"
    doc = make_doc(
        "a",
        [
            "Les partenaires veulent mutualiser leurs plateformes de recherche partagées.",
            "Le projet vise à atteindre une taille critique en recherche clinique.",
        ],
        title="Convention",  # sentence vectors carry the title: one no question shares
    )
    Indexer(data, HashEmbedder()).ingest_parsed([doc])
    searcher = Searcher.open(data, HashEmbedder())
    items = [
        _item("p1", "formule pour atteindre une taille critique en recherche", "taille critique"),
        _item("p2", "mutualiser les plateformes de recherche partagées", "mutualiser"),
        # more words of the first sentence than of the one that holds the answer: rank 2
        _item(
            "p3", "les partenaires veulent mutualiser une taille critique", "taille critique", "en"
        ),
        # not a precedent question: not scored
        GoldItem("f", "Qui ?", "fr", "factoid", True, "a", "projet", "fr"),
    ]
    got = score_gold_similar(searcher, items)
    assert got["n"] == 3
    assert got["hit@1"] == pytest.approx(2 / 3)  # p1 and p2 first
    assert got["hit@5"] == pytest.approx(1.0)
    assert got["cross_lingual"]["n"] == 1 and got["cross_lingual"]["mrr@10"] == 0.5


def test_beir_pairs_rank_the_relevant_document(tmp_path: Path) -> None:
    corpus = {
        "e1": BeirDoc("", "The partners share their research platforms.", "en"),
        "e2": BeirDoc("", "The hospital opens a new cardiology unit today.", "en"),
    }
    ds = BeirDataset(
        name="pairs",
        path=tmp_path,
        corpus=corpus,
        queries={"q1": "new cardiology unit hospital", "q2": "partners share platforms"},
        qrels={"q1": {"e2": 1}, "q2": {"e2": 1}},
        total_queries=2,
    )
    data = tmp_path / "data"
    Indexer(data, HashEmbedder()).ingest_parsed(passages(ds, sentences=True))
    got = score_beir_similar(Searcher.open(data, HashEmbedder()), ds)
    # q1 finds e2 first; q2 finds e1 first and e2 second.
    assert got == {"n": 2, "hit@1": 0.5, "hit@5": 1.0, "mrr@10": pytest.approx(0.75)}


def test_report_has_a_similar_section_with_the_previous_run() -> None:
    now = {"gold": {"e5": {"n": 10, "hit@1": 0.3, "hit@5": 0.8, "mrr@10": 0.5}}}
    before = {"similar": {"gold": {"e5": {"n": 10, "hit@1": 0.2, "hit@5": 0.8, "mrr@10": 0.4}}}}
    text = render_markdown({"similar": now}, {("similar",): before})
    assert "## Precedent wording (/similar)" in text
    assert "| gold | e5 | 10 | 0.300 (0.200, +0.100) | 0.800 (0.800, ±0.000) |" in text
    assert json.dumps(now)  # plain data, as metrics.json stores it
