"""Answer-type and entity rules that let /ask decline questions whose fact is absent."""

from __future__ import annotations

import pytest

from service.answer_types import (
    entity_coverage,
    expected_type,
    has_answer_type,
    question_entities,
)


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("Combien de temps dure l'accord avec la Normandie ?", "duration"),
        ("How long will the Lille cooperation protocol remain in force?", "duration"),
        ("When does the Paris-Saclay convention expire?", "duration"),
        ("Quand le protocole a-t-il été signé ?", "date"),
        ("In what year was Inserm founded? When?", "date"),
        ("Quel est le montant du budget prévu par l'accord ?", "money"),
        ("Combien d'unités mixtes compte la délégation ?", "number"),
        ("How many joint research units are there?", "number"),
        ("Qui dirige le CHU d'Amiens ?", "person"),
        ("Who signed for the region?", "person"),
        ("Comment s'appelle le délégué régional ?", "person"),
        ("Quels sont les objectifs du protocole ?", None),
        ("Which companies work with the Lille units?", "organisation"),
        ("Quel organisme finance la chaire ?", "organisation"),
        ("Où le protocole a-t-il été signé ?", "place"),
        ("Where was the agreement signed?", "place"),
        ("Dans quelle ville se trouve le siège ?", "place"),
        ("What does the delegation do?", None),
    ],
)
def test_expected_type(question, wanted):
    assert expected_type(question) == wanted


@pytest.mark.parametrize(
    ("sentence", "answer_type", "present"),
    [
        ("Dans le cadre de cet accord d’une durée de six ans, la Région…", "duration", True),
        ("The agreement runs until 2030.", "duration", True),
        ("Le protocole renforce la recherche.", "duration", False),
        ("Lille, le 8 juillet 2024", "date", True),
        ("signed in 2024", "date", True),
        ("Il a été signé ce matin.", "date", False),
        ("un budget de 3 millions d’euros", "money", True),
        ("It has 29 joint research units.", "money", False),
        ("It has 29 joint research units.", "number", True),
        ("Une cinquantaine de ces établissements", "number", True),
        ("Les unités travaillent ensemble.", "number", False),
        ("en présence du Pr Régis BORDET et de Monsieur Frédéric BOIRON", "person", True),
        ("Hervé Morin, Président de la Région Normandie, a signé.", "person", True),
        ("Estelle lacona, présidente de l'Université Paris-Saclay", "person", True),
        ("L'Université de Lille et le CHU de Lille signent un protocole.", "person", False),
        ("Anything at all", None, True),
    ],
)
def test_has_answer_type(sentence, answer_type, present):
    assert has_answer_type(sentence, answer_type) is present


def test_entity_types_use_the_tagger_entities():
    from service.nlp import Entity

    sentence = "Le vaccin est fabriqué par Sanofi à Lyon."
    org = Entity("ORG", 27, 33)
    loc = Entity("LOC", 36, 40)
    assert sentence[27:33] == "Sanofi" and sentence[36:40] == "Lyon"
    assert has_answer_type(sentence, "organisation", [org, loc]) is True
    assert has_answer_type(sentence, "organisation", [loc]) is False
    assert has_answer_type(sentence, "place", [loc]) is True
    assert has_answer_type(sentence, "place", []) is False
    assert has_answer_type(sentence, "person", [org, loc]) is False
    assert has_answer_type(sentence, "person", [Entity("PER", 27, 33)]) is True


def test_question_entities_fold_accents_and_skip_the_first_word_and_elisions():
    assert question_entities("Qui dirige le CHU d'Amiens ?") == ["chu", "amiens"]
    assert question_entities("Quel accord avec l'Université de Bordeaux ?") == [
        "univer",
        "bordea",
    ]
    assert question_entities("What does Inserm do in Normandy?") == ["norman"]


def test_entity_coverage_matches_across_languages():
    passage = "La Région Normandie et l’Inserm s’associent."
    assert entity_coverage(question_entities("Who funds research in Normandy?"), passage) == 1.0
    assert entity_coverage(["norman", "bordea"], passage) == 0.5
    assert entity_coverage([], passage) == 1.0
