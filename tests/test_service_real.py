"""The API over the real corpus index with the real model (multilingual-e5-small): slow."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service import create_app
from service.settings import Settings

pytestmark = pytest.mark.slow

LILLE = "000_dbbfc47181911818"
NORTH_WEST = "004_141e648614901eb4"


@pytest.fixture(scope="module")
def client(
    corpus_index_dir: Path, real_embedder, use_embedder, tmp_path_factory: pytest.TempPathFactory
):
    # Shipped settings but the paths (conftest turns the USE channel off for fake-embedder
    # tests; here it is on, as shipped): the shipped answer threshold is what is tested.
    settings = Settings(
        data_dir=corpus_index_dir, cache=tmp_path_factory.mktemp("cache"), use_channel=True
    )
    app = create_app(settings, embedder=real_embedder, use_embedder=use_embedder)
    with TestClient(app) as c:
        yield c


def test_health_names_the_real_model(client):
    body = client.get("/health").json()
    assert body["model"] == "multilingual-e5-small"
    assert body["counts"]["documents"] == 5


def test_ask_cites_the_signatories_sentence_verbatim(client):
    response = client.post(
        "/ask",
        json={"question": "Qui a signé le protocole de coopération pour l'Université de Lille ?"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["no_answer"] is False
    answer = body["answer"]
    assert answer["doc_id"] == LILLE
    assert "Régis BORDET" in answer["text"]
    text = client.get(f"/documents/{LILLE}").json()["text"]
    assert text[answer["start"] : answer["end"]] == answer["text"]
    assert body["confidence"] >= 0.5


def test_french_question_finds_the_english_interview(client):
    response = client.post(
        "/search", json={"query": "Quelles régions couvre la délégation Nord-Ouest de l'Inserm ?"}
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["doc_id"] == NORTH_WEST


def test_similar_finds_french_precedent_for_an_english_draft(client):
    response = client.post(
        "/similar",
        json={
            "text": "The cooperation protocol was signed in the presence of the President "
            "of the University of Lille.",
            "k": 3,
        },
    )
    assert response.status_code == 200
    top = response.json()["results"][0]
    assert top["doc_id"] == LILLE
    assert top["lang"] == "fr"
    assert "Président de l'Université de Lille" in top["text"]
