"""Extractive answering and wording collapse on a real temporary index of hand-built documents."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from pathlib import Path

import pytest

from index import Filters, Indexer, Searcher
from index.errors import QueryError
from ingest.embed import HashEmbedder
from ingest.types import Chunk, Document, ParsedDocument, Sentence
from service.answer import answer_from_hits, answer_question, content_terms
from service.answer_features import CONFIDENCE_FEATURES, SENTENCE_FEATURES
from service.answer_model import AnswerModel, LinearModel
from service.similar import normalise_wording, similar_wordings

TEXTS = {
    "lille": (
        "fr",
        "Lille, le 8 juillet 2024. Le protocole de coopération a été signé au CHU de Lille. "
        "Il prévoit des activités de transfert de technologies. "
        "L'Inserm est un organisme public de recherche.",
    ),
    "saclay": (
        "fr",
        "La convention cadre avec Paris-Saclay dure cinq ans. "
        "L’Inserm est un organisme public de recherche ! "
        "De recherche, l'Inserm est un organisme public.",
    ),
    "interview": (
        "en",
        "Anne Dupont heads the North-West regional delegation. "
        "The delegation supports forty research units.",
    ),
}


def _linear(features: tuple[str, ...], weights: dict[str, float], intercept: float) -> LinearModel:
    n = len(features)
    coef = tuple(weights.get(f, 0.0) for f in features)
    return LinearModel(features, (0.0,) * n, (1.0,) * n, coef, intercept)


def _model(selector: dict[str, float], intercept: float = -2.0) -> AnswerModel:
    """A hand-set model: the selector reads only ``selector``'s features; the confidence is
    logistic(the pick's logit)."""
    return AnswerModel(
        _linear(SENTENCE_FEATURES, selector, intercept),
        _linear(CONFIDENCE_FEATURES, {"top_logit": 1.0}, 0.0),
    )


OVERLAP = _model({"overlap": 4.0})


def _parsed(doc_id: str, lang: str, text: str) -> ParsedDocument:
    doc = Document(
        doc_id=doc_id,
        source=f"/docs/{doc_id}.txt",
        title=text.split(".")[0],
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        lang=lang,  # type: ignore[arg-type]
        doc_type="press_release",
        date=dt.date(2024, 7, 8),
    )
    sentences = tuple(
        Sentence(doc_id, i, m.group(0), m.start(), m.end(), doc.lang)
        for i, m in enumerate(re.finditer(r"[^.!?]+[.!?]", text))
        for _ in [None]
        if m.group(0).strip()
    )
    # Sentences start after the space that follows the previous one: strip it off the span.
    sentences = tuple(
        Sentence(
            s.doc_id,
            s.ordinal,
            s.text.lstrip(),
            s.start + len(s.text) - len(s.text.lstrip()),
            s.end,
            s.lang,
        )
        for s in sentences
    )
    # Two chunks per document, split at a sentence boundary, so passages differ from documents.
    cut = sentences[len(sentences) // 2].start
    chunks = (
        Chunk(doc_id, 0, text[:cut], 0, cut, doc.lang),
        Chunk(doc_id, 1, text[cut:], cut, len(text), doc.lang),
    )
    return ParsedDocument(document=doc, chunks=chunks, sentences=sentences)


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    data = tmp_path_factory.mktemp("answer") / "data"
    docs = [_parsed(doc_id, lang, text) for doc_id, (lang, text) in TEXTS.items()]
    for parsed in docs:
        for s in parsed.sentences:
            assert parsed.document.text[s.start : s.end] == s.text
    Indexer(data, HashEmbedder()).ingest_parsed(docs)
    return Searcher.open(data, HashEmbedder())


def test_content_terms_drop_stopwords_and_question_words_and_fold_accents():
    assert content_terms("Quand le protocole a-t-il été signé à Lille en 2024 ?") == {
        "protoc",
        "signe",
        "lille",
        "2024",
    }
    assert content_terms("Who signed the agreement with Normandy in 2022?") == {
        "signed",
        "agreem",
        "norman",
        "2022",
    }


def test_answer_is_the_verbatim_best_sentence_with_a_reproducible_confidence(searcher):
    result = answer_question(
        searcher,
        HashEmbedder(),
        "Où le protocole de coopération a-t-il été signé ?",
        threshold=0.0,
        model=OVERLAP,
    )
    assert result.no_answer is False
    best = result.answer
    assert best is not None and best is result.best
    assert best.sentence.sentence_id == "lille#s1"
    doc = searcher.document("lille")
    assert doc is not None
    assert doc.text[best.sentence.start : best.sentence.end] == best.sentence.text
    assert best.sentence.text == "Le protocole de coopération a été signé au CHU de Lille."
    # Question terms {protoc, cooper, signe}: all three are in the sentence.
    assert best.overlap == 1.0
    assert best.features[SENTENCE_FEATURES.index("overlap")] == 1.0
    assert best.logit == pytest.approx(4.0 * 1.0 - 2.0)
    assert best.score == pytest.approx(1 / (1 + math.exp(-2.0)))
    assert result.confidence == pytest.approx(1 / (1 + math.exp(-2.0)))
    # The answer's passage is listed first and its highlight is the answer.
    assert result.passages[0].hit.chunk_id == best.hit.chunk_id
    assert result.passages[0].best == best
    # "Où" asks for a place: the span lies inside the sentence, in document offsets.
    span = result.span
    assert span is not None and span.type == "place"
    assert best.sentence.start <= span.start < span.end <= best.sentence.end
    assert doc.text[span.start : span.end] == span.text
    assert "Lille" in span.text


def test_date_question_marks_the_date_with_document_offsets(searcher):
    result = answer_question(
        searcher, HashEmbedder(), "Quand à Lille ?", threshold=0.0, model=_model({"first": 5.0})
    )
    assert result.answer is not None
    assert result.answer.sentence.text == "Lille, le 8 juillet 2024."
    doc = searcher.document("lille")
    assert doc is not None and result.span is not None
    assert (result.span.type, result.span.text) == ("date", "8 juillet 2024")
    assert (result.span.start, result.span.end) == (10, 24)
    assert doc.text[10:24] == "8 juillet 2024"


def test_threshold_is_inclusive_and_withholding_keeps_the_best_candidate(searcher):
    question = "Combien d'unités de recherche la délégation soutient-elle ? research units"
    first = answer_question(searcher, HashEmbedder(), question, threshold=0.0, model=OVERLAP)
    assert first.best is not None
    at = answer_question(
        searcher, HashEmbedder(), question, threshold=first.confidence, model=OVERLAP
    )
    assert at.no_answer is False and at.answer == first.best
    above = answer_question(
        searcher,
        HashEmbedder(),
        question,
        threshold=min(1.0, first.confidence + 1e-9),
        model=OVERLAP,
    )
    assert above.no_answer is True
    assert above.answer is None and above.span is None
    assert above.best == first.best
    # Same passages; only an answered question promotes the answer's passage to the top.
    assert sorted(p.hit.chunk_id for p in above.passages) == sorted(
        p.hit.chunk_id for p in first.passages
    )
    assert first.passages[0].hit.chunk_id == first.best.hit.chunk_id
    retrieval_order = [h.chunk_id for h in searcher.search(question, k=len(above.passages))]
    assert [p.hit.chunk_id for p in above.passages] == retrieval_order


def test_every_passage_highlights_a_sentence_inside_it(searcher):
    result = answer_question(
        searcher, HashEmbedder(), "Inserm recherche public", k=6, threshold=0, model=OVERLAP
    )
    assert len(result.passages) == 6
    for p in result.passages:
        assert p.best is not None
        assert p.best.sentence.doc_id == p.hit.doc_id
        assert p.best.sentence.start < p.hit.end and p.best.sentence.end > p.hit.start


def test_model_weights_change_the_choice(searcher):
    question = "organisme public Inserm"
    by_overlap = answer_question(searcher, HashEmbedder(), question, threshold=0.0, model=OVERLAP)
    assert by_overlap.answer is not None and by_overlap.answer.overlap == 1.0
    assert by_overlap.answer.logit == pytest.approx(2.0)
    longest = answer_question(
        searcher, HashEmbedder(), question, threshold=0.0, model=_model({"length_log": 1.0}, 0.0)
    )
    assert longest.answer is not None
    pool = [p.best for p in longest.passages if p.best is not None]
    assert len(longest.answer.sentence.text) == max(len(c.sentence.text) for c in pool)
    assert longest.answer.logit == pytest.approx(math.log(len(longest.answer.sentence.text)))


def test_removing_the_gold_document_leaves_the_topic_but_not_the_fact(searcher):
    from eval.answerer_data import without_documents

    question = "Combien de temps dure la convention cadre avec Paris-Saclay ?"
    hits, rest = without_documents(searcher, question, {"saclay"}, k=6, depth=50)
    assert "saclay" in {h.doc_id for h in hits}
    full = answer_from_hits(searcher, HashEmbedder(), question, hits, threshold=0.0, model=OVERLAP)
    assert full.answer is not None
    assert full.answer.sentence.text == "La convention cadre avec Paris-Saclay dure cinq ans."
    assert full.span is not None and full.span.text == "cinq ans"
    removed = answer_from_hits(
        searcher, HashEmbedder(), question, rest, threshold=0.0, model=OVERLAP
    )
    assert {p.hit.doc_id for p in removed.passages} == {h.doc_id for h in hits} - {"saclay"}
    assert removed.confidence < full.confidence


def test_no_passages_means_no_answer(searcher):
    result = answer_question(
        searcher,
        HashEmbedder(),
        "protocole",
        filters=Filters(doc_id="absent"),
        threshold=0.0,
        model=OVERLAP,
    )
    assert result.no_answer is True
    assert result.answer is None and result.best is None
    assert result.confidence == 0.0
    assert result.passages == ()


def test_blank_question_raises_query_error(searcher):
    with pytest.raises(QueryError, match="question is empty"):
        answer_question(searcher, HashEmbedder(), "  \n ", threshold=0.5)


def test_normalise_wording_ignores_case_accents_and_punctuation():
    assert normalise_wording("L’Inserm est un organisme public de recherche !") == (
        "l inserm est un organisme public de recherche"
    )
    assert normalise_wording("L'INSERM est un organisme  public de Recherche.") == (
        "l inserm est un organisme public de recherche"
    )


def test_similar_collapses_same_wording_by_normalised_text(searcher):
    # dup_overlap above 1 disables the word-overlap test: only the normalised text collapses.
    groups = similar_wordings(
        searcher, "L'Inserm est un organisme public de recherche.", k=3, dup_overlap=1.01
    )
    members = [{h.sentence_id for h in g.occurrences} for g in groups]
    assert len(groups) == 3
    assert {"lille#s3", "saclay#s1"} in members
    # Same words in another order (other normalised text) stays apart.
    assert {"saclay#s2"} in members


def test_similar_collapses_near_duplicates_by_word_overlap(searcher):
    groups = similar_wordings(
        searcher, "L'Inserm est un organisme public de recherche.", k=3, dup_overlap=0.8
    )
    assert {h.sentence_id for h in groups[0].occurrences} == {
        "lille#s3",
        "saclay#s1",
        "saclay#s2",
    }
    seen = [h.sentence_id for g in groups for h in g.occurrences]
    assert len(seen) == len(set(seen))
    assert [g.best.score for g in groups] == sorted((g.best.score for g in groups), reverse=True)


def test_similar_blank_text_raises_query_error(searcher):
    with pytest.raises(QueryError, match="text is empty"):
        similar_wordings(searcher, " ", k=3)


def test_similar_keeps_filters(searcher):
    groups = similar_wordings(
        searcher, "research units delegation", k=5, filters=Filters(lang="en")
    )
    assert {h.doc_id for g in groups for h in g.occurrences} == {"interview"}
    assert len(groups) == 2


def test_similar_on_empty_filter_result_is_empty(searcher, tmp_path: Path):
    assert similar_wordings(searcher, "recherche", k=5, filters=Filters(doc_id="absent")) == []
