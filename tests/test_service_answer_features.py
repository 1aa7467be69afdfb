"""Candidate-sentence features on hand-made inputs, checked against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from index.types import Hit
from ingest.types import Sentence
from service.answer_features import (
    CONFIDENCE_FEATURES,
    SENTENCE_FEATURES,
    Candidate,
    confidence_features,
    sentence_features,
)

QUESTION = "Combien de temps dure le protocole de Lille ?"  # terms: temps dure protoc lille
S0 = "Le protocole de Lille dure six ans."
S1 = "Il a été signé en 2024."
S2 = "La Normandie finance la recherche."


def _hit(doc: str, title: str, text: str, score: float, ranks: dict[str, int]) -> Hit:
    return Hit(
        doc, f"{doc}#c0", title, None, "fr", "convention", text, 0, len(text), None, score, ranks
    )


def _candidates() -> list[Candidate]:
    a = _hit("a", "Protocole de Lille", f"{S0} {S1}", 0.04, {"dense": 1, "lexical": 2})
    b = _hit("b", "Normandie", S2, 0.02, {"dense": 3})
    return [
        Candidate(Sentence("a", 0, S0, 0, len(S0), "fr"), a, 1, 0, 2),
        Candidate(Sentence("a", 1, S1, len(S0) + 1, len(S0) + 1 + len(S1), "fr"), a, 1, 1, 2),
        Candidate(Sentence("b", 0, S2, 0, len(S2), "fr"), b, 2, 0, 1),
    ]


def _features() -> dict[str, np.ndarray]:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    x = sentence_features(
        QUESTION, np.array([1.0, 0.0]), _candidates(), vectors, answer_type="duration"
    )
    assert x.shape == (3, len(SENTENCE_FEATURES))
    return {name: x[:, i] for i, name in enumerate(SENTENCE_FEATURES)}


def test_meaning_features():
    f = _features()
    ctx = 1 / math.sqrt(2)  # s0 and s1 are each other's neighbours: mean vector (1, 1)/sqrt 2
    assert f["cosine"] == pytest.approx([1.0, 0.0, 0.6])
    assert f["cosine_gap"] == pytest.approx([0.0, -1.0, -0.4])
    assert f["context_cosine"] == pytest.approx([ctx, ctx, 0.6])
    assert f["context_gap"] == pytest.approx([0.0, 0.0, 0.6 - ctx])


def test_word_features():
    f = _features()
    assert f["overlap"] == pytest.approx([0.75, 0.0, 0.0])  # lille, dure, protoc of 4
    assert f["context_overlap"] == pytest.approx([0.75, 0.75, 0.0])
    # BM25 among the 3 candidates: lengths 5, 2, 3 terms (avg 10/3); s0 holds 3 query terms
    # with df 1: idf = ln(1 + 2.5/1.5), tf part = 2.2 / (1 + 1.2 * (0.25 + 0.75 * 1.5)).
    one = math.log(1 + 2.5 / 1.5) * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 5 / (10 / 3)))
    assert f["bm25"] == pytest.approx([1.0, 0.0, 0.0])
    assert f["bm25_log"] == pytest.approx([math.log1p(3 * one), 0.0, 0.0])
    assert f["novelty"] == pytest.approx([2 / 5, 1.0, 1.0])  # s0 adds "six", "ans"


def test_type_entity_position_and_rank_features():
    f = _features()
    assert list(f["type_found"]) == [1.0, 0.0, 0.0]  # only s0 holds a duration ("six ans")
    assert list(f["type_missing"]) == [0.0, 1.0, 1.0]
    assert list(f["sentence_coverage"]) == [1.0, 0.0, 0.0]  # the question names Lille
    assert list(f["passage_coverage"]) == [1.0, 1.0, 0.0]
    assert list(f["position"]) == [0.0, 1.0, 0.0]
    assert list(f["first"]) == [1.0, 0.0, 1.0]
    assert f["rank"] == pytest.approx([1.0, 1.0, 1 / math.sqrt(2)])
    assert f["relative_score"] == pytest.approx([1.0, 1.0, 0.5])
    assert f["dense_rank"] == pytest.approx([1.0, 1.0, 1 / math.sqrt(3)])
    assert f["lexical_rank"] == pytest.approx([1 / math.sqrt(2), 1 / math.sqrt(2), 0.0])
    assert f["length_log"] == pytest.approx([math.log(len(s)) for s in (S0, S1, S2)])


def test_no_type_asked_leaves_both_type_features_at_zero():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    x = sentence_features("Le protocole de Lille", np.array([1.0, 0.0]), _candidates(), vectors)
    for name in ("type_found", "type_missing"):
        assert list(x[:, SENTENCE_FEATURES.index(name)]) == [0.0, 0.0, 0.0]


def test_no_candidates_give_an_empty_matrix():
    x = sentence_features(QUESTION, np.array([1.0, 0.0]), [], np.zeros((0, 2)))
    assert x.shape == (0, len(SENTENCE_FEATURES))


def test_confidence_features_describe_the_pick():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    x = sentence_features(
        QUESTION, np.array([1.0, 0.0]), _candidates(), vectors, answer_type="duration"
    )
    row = confidence_features(x, np.array([2.0, -1.0, 0.5]))
    got = dict(zip(CONFIDENCE_FEATURES, row[0], strict=True))
    one = math.log(1 + 2.5 / 1.5) * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 5 / (10 / 3)))
    assert got == pytest.approx(
        {
            "top_logit": 2.0,
            "margin": 1.5,
            "top_cosine": 1.0,
            "max_cosine": 1.0,
            "top_overlap": 0.75,
            "max_overlap": 0.75,
            "top_bm25_log": math.log1p(3 * one),
            "top_type_missing": 0.0,
            "top_passage_coverage": 1.0,
            "top_sentence_coverage": 1.0,
            "top_type_found": 1.0,
            "type_asked": 1.0,
            "top_rank": 1.0,
            "top_dense_rank": 1.0,
            "top_lexical_rank": 1 / math.sqrt(2),
            "top_context_overlap": 0.75,
            "top_novelty": 0.4,
            "top3_logit": (2.0 + 0.5 - 1.0) / 3,
            "max_passage_coverage": 1.0,
            "max_type_found": 1.0,
        }
    )
    # One candidate: the margin is the cap.
    assert confidence_features(x[:1], np.array([0.3]))[0][1] == 10.0
    with pytest.raises(ValueError, match="no candidates"):
        confidence_features(x[:0], np.array([]))
