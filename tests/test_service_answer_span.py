"""The answer span inside the chosen sentence: every recognised type, French and English."""

from __future__ import annotations

import pytest

from service.answer_span import AnswerSpan, find_answer_span
from service.nlp import Entity


def _ent(sentence: str, text: str, label: str) -> Entity:
    start = sentence.index(text)
    return Entity(label, start, start + len(text))  # type: ignore[arg-type]


RULE_CASES = [
    (
        "Combien de temps dure l'accord avec la Normandie ?",
        "Dans le cadre de cet accord d’une durée de six ans, la Région finance deux chaires.",
        "duration",
        "six ans",
    ),
    (
        "How long will the agreement last?",
        "The agreement, signed in 2022, runs for five years.",
        "duration",
        "five years",
    ),
    (
        "Quand le protocole a-t-il été signé ?",
        "Le protocole de coopération a été signé le 8 juillet 2024 au CHU de Lille.",
        "date",
        "8 juillet 2024",
    ),
    (
        "When was the agreement signed?",
        "The delegation signed an agreement with the Normandy Region in February 2022.",
        "date",
        "February 2022",
    ),
    (
        "Quel est le montant du budget ?",
        "La Région apporte un budget de 3 millions d’euros sur la période.",
        "money",
        "3 millions d’euros",
    ),
    (
        "How much funding does the region provide?",
        "The region provides €2.5 million over four years.",
        "money",
        "€2.5 million",
    ),
    (
        "Combien d'unités de recherche la délégation soutient-elle ?",
        "Elle soutient 40 unités de recherche dans deux régions.",
        "number",
        "40",
    ),
    (
        "How many research units are there?",
        "The delegation supports 29 joint research units.",
        "number",
        "29",
    ),
]


@pytest.mark.parametrize(("question", "sentence", "answer_type", "expected"), RULE_CASES)
def test_rule_types_give_the_exact_span(question, sentence, answer_type, expected):
    span = find_answer_span(sentence, answer_type, question=question)
    start = sentence.index(expected)
    assert span == AnswerSpan(answer_type, start, start + len(expected), expected)
    assert sentence[span.start : span.end] == expected


ENTITY_CASES = [
    (
        "Qui dirige la délégation ?",
        "La délégation est dirigée par Anne Dupont.",
        "person",
        "Anne Dupont",
        "PER",
    ),
    (
        "Who heads the delegation?",
        "The delegation is headed by Anne Dupont.",
        "person",
        "Anne Dupont",
        "PER",
    ),
    (
        "Quelle entreprise fabrique le vaccin ?",
        "Le vaccin est fabriqué par Sanofi à Lyon.",
        "organisation",
        "Sanofi",
        "ORG",
    ),
    (
        "Which company makes the vaccine?",
        "The vaccine is made by Sanofi in Lyon.",
        "organisation",
        "Sanofi",
        "ORG",
    ),
    (
        "Où la chaire est-elle installée ?",
        "La chaire est installée à Marseille.",
        "place",
        "Marseille",
        "LOC",
    ),
    ("Where is the chair based?", "The chair is based in Marseille.", "place", "Marseille", "LOC"),
]


@pytest.mark.parametrize(("question", "sentence", "answer_type", "expected", "label"), ENTITY_CASES)
def test_entity_types_come_from_the_tagger_entities(
    question, sentence, answer_type, expected, label
):
    entities = [_ent(sentence, expected, label)]
    if "Lyon" in sentence:  # an entity of another kind must not be taken
        entities.append(_ent(sentence, "Lyon", "LOC"))
    span = find_answer_span(sentence, answer_type, question=question, entities=entities)
    start = sentence.index(expected)
    assert span == AnswerSpan(answer_type, start, start + len(expected), expected)


def test_what_the_question_already_names_is_not_the_answer():
    sentence = "Lyon a été fondée par Munatius Plancus."
    entities = [_ent(sentence, "Lyon", "PER"), _ent(sentence, "Munatius Plancus", "PER")]
    span = find_answer_span(sentence, "person", question="Qui a fondé Lyon ?", entities=entities)
    assert span is not None and span.text == "Munatius Plancus"


def test_the_candidate_nearest_the_question_words_wins():
    sentence = "Signé en 2019, le protocole court jusqu'en 2027 ; il a été prolongé en 2024."
    span = find_answer_span(sentence, "date", question="Quand le protocole a-t-il été prolongé ?")
    assert span is not None and (span.text, span.start) == ("2024", sentence.index("2024"))


def test_leading_function_words_are_trimmed_from_entities():
    sentence = "Il a été signé au CHU de Lille."
    start = sentence.index("de Lille")
    span = find_answer_span(
        sentence,
        "place",
        question="Où a-t-il été signé ?",
        entities=[Entity("LOC", start, start + 8)],
    )
    assert span is not None and span.text == "Lille" and span.start == start + 3


def test_no_type_or_no_candidate_means_no_span():
    assert find_answer_span("Il a été signé ce matin.", None, question="Pourquoi ?") is None
    assert find_answer_span("Il a été signé ce matin.", "date", question="Quand ?") is None
    assert find_answer_span("Signé par le CHU.", "person", question="Qui a signé ?") is None


@pytest.mark.slow
def test_real_french_ner_finds_person_organisation_and_place():
    from service.nlp import load_entity_tagger

    tagger = load_entity_tagger()
    cases = [
        (
            "Qui dirige la délégation ?",
            "La délégation est dirigée par Anne Dupont depuis 2021.",
            "person",
            "Anne Dupont",
        ),
        (
            "Quelle entreprise fabrique le vaccin ?",
            "Le vaccin est fabriqué par Sanofi Pasteur à Lyon.",
            "organisation",
            "Sanofi Pasteur",
        ),
        (
            "Où la chaire est-elle installée ?",
            "La chaire d'excellence est installée à Marseille depuis mars 2025.",
            "place",
            "Marseille",
        ),
    ]
    for question, sentence, answer_type, expected in cases:
        entities = tagger.entities([sentence])[0]
        span = find_answer_span(sentence, answer_type, question=question, entities=entities)
        assert span is not None and span.text == expected
        assert span.start == sentence.index(expected)
