"""Retrieval on corpus/ with the real model (slow): modes, cross-lingual queries, filters."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from index import Filters, Searcher
from index.errors import IndexMismatchError
from ingest.embed import HashEmbedder

pytestmark = pytest.mark.slow

LILLE = "000_dbbfc47181911818"
SACLAY = "001_067f252971e93813"
NORMANDY = "002_86b4586c1617dcb0"
WEB = "003_8361a66d4be4fd17"
INTERVIEW = "004_141e648614901eb4"
ALL = {LILLE, SACLAY, NORMANDY, WEB, INTERVIEW}


@pytest.fixture(scope="module")
def searcher(corpus_index_dir, real_embedder, use_embedder) -> Searcher:
    return Searcher.open(corpus_index_dir, real_embedder, use_embedder=use_embedder)


def _rank(hits, doc_id: str, pattern: str) -> int | None:
    """1-based rank of the first hit from ``doc_id`` whose text matches ``pattern``."""
    return next(
        (i for i, h in enumerate(hits, 1) if h.doc_id == doc_id and re.search(pattern, h.text)),
        None,
    )


def test_index_holds_the_whole_corpus(searcher) -> None:
    counts = searcher.counts()
    assert counts["documents"] == 5 and counts["chunks"] > 5 and counts["sentences"] > 50
    assert searcher.model_name == "multilingual-e5-small"


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_french_query_in_each_mode(searcher, mode) -> None:
    q = "Quelles thématiques prioritaires pour l'accord entre la Région Normandie et l'Inserm ?"
    hits = searcher.search(q, k=3, mode=mode)
    assert _rank(hits, NORMANDY, r"Cardiologie") is not None, [h.chunk_id for h in hits]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_english_query_in_each_mode(searcher, mode) -> None:
    hits = searcher.search("Which companies work with Inserm units in Lille?", k=3, mode=mode)
    assert _rank(hits, INTERVIEW, r"Roquette, Merck") == 1


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_cross_lingual_french_question_english_answer(searcher, mode) -> None:
    q = "Quelles entreprises privées travaillent avec les unités Inserm de Lille ?"
    hits = searcher.search(q, k=5, mode=mode)
    # The answer must be in the top 5 (the gold set's hit@5 bar). It was rank 1 before
    # title-contextual vectors and fusion tuning, which won 0.2 MRR@10 over the whole
    # gold set but pushed this one question to rank 4 (hybrid) and 5 (dense).
    assert _rank(hits, INTERVIEW, r"Roquette, Merck") <= 5


@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_cross_lingual_english_question_french_answer(searcher, mode) -> None:
    # multilingual-e5-small ranks this French passage 8th for the English question; hybrid
    # must not push it out of the first ten (what /ask reads).
    q = "How long does the agreement between Normandy and Inserm last?"
    hits = searcher.search(q, k=10, mode=mode)
    rank = _rank(hits, NORMANDY, r"six\s+ans")
    assert rank is not None, [h.chunk_id for h in hits]
    assert hits[rank - 1].ranks.get("dense") is not None


def test_hits_carry_their_citation(searcher) -> None:
    hit = searcher.search("Which companies work with Inserm units in Lille?", k=1)[0]
    doc = searcher.document(hit.doc_id)
    assert doc is not None and doc.text[hit.start : hit.end] == hit.text
    assert (hit.lang, hit.doc_type, hit.date, hit.page) == ("en", "interview", None, None)
    assert hit.title == doc.title and set(hit.ranks) == {"dense", "lexical", "use"}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (None, ALL),
        (Filters(lang="en"), {INTERVIEW}),
        (Filters(lang="fr"), {LILLE, SACLAY, NORMANDY, WEB}),
        (Filters(doc_type="press_release"), {LILLE, SACLAY, NORMANDY}),
        (Filters(doc_type="web_page"), {WEB}),
        (Filters(doc_type="interview"), {INTERVIEW}),
        (Filters(doc_type="convention"), set()),
        (Filters(date_from=dt.date(2023, 1, 1)), {LILLE, SACLAY}),
        (Filters(date_to=dt.date(2022, 12, 31)), {NORMANDY}),
        (Filters(date_from=dt.date(2023, 1, 1), date_to=dt.date(2023, 12, 31)), {SACLAY}),
        (Filters(partner="paris-saclay"), {SACLAY}),
        (Filters(partner="Normandie"), {NORMANDY, INTERVIEW}),
        (Filters(partner="roquette"), {INTERVIEW}),
        (Filters(doc_id=WEB), {WEB}),
        (Filters(lang="fr", partner="CHU de Lille"), {LILLE}),
    ],
)
def test_each_filter_gives_the_exact_document_set(searcher, filters, expected) -> None:
    hits = searcher.search("partenariat de recherche avec l'Inserm", k=50, filters=filters)
    assert {h.doc_id for h in hits} == expected
    lexical = searcher.search("Inserm", k=50, mode="lexical", filters=filters)
    assert {h.doc_id for h in lexical} == expected


def test_filter_applies_before_the_cut(searcher) -> None:
    q = "Which companies work with Inserm units in Lille?"
    assert searcher.search(q, k=1)[0].doc_id == INTERVIEW
    hit = searcher.search(q, k=1, filters=Filters(lang="fr"))
    assert len(hit) == 1 and hit[0].lang == "fr"


def test_similar_finds_precedent_wording_across_documents(searcher) -> None:
    hits = searcher.similar("l'Inserm et l'Université signent une convention de partenariat", k=5)
    assert len(hits) == 5 and hits[0].score >= hits[-1].score
    assert all(searcher.document(h.doc_id).text[h.start : h.end] == h.text for h in hits)
    only_en = searcher.similar(
        "a cooperation agreement was signed", k=3, filters=Filters(lang="en")
    )
    assert {h.doc_id for h in only_en} == {INTERVIEW}


def test_opening_with_another_model_says_to_rebuild(corpus_index_dir, real_embedder) -> None:
    with pytest.raises(IndexMismatchError) as exc:
        Searcher.open(corpus_index_dir, HashEmbedder())
    assert str(exc.value) == (
        f"index in {corpus_index_dir} built with 'multilingual-e5-small@"
        f"{real_embedder.fingerprint()} (onnx)', dim 384, but the configured model is "
        "'hash-64@hash64 (hash)', dim 64; re-run partnersearch ingest --rebuild PATH"
    )
