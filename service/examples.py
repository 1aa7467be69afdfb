"""OpenAPI examples of the request and response models (service.schemas), kept apart
so the models read as the contract. Taken from real answers over corpus/, shortened."""

from __future__ import annotations

from typing import Any

HIT: dict[str, Any] = {
    "doc_id": "000_dbbfc47181911818",
    "chunk_id": "000_dbbfc47181911818#c1",
    "title": "L'Université de Lille, le CHU de Lille et l'Inserm signent un protocole…",
    "date": "2024-07-08",
    "lang": "fr",
    "doc_type": "press_release",
    "text": "Depuis plus de 15 ans, l'Université de Lille, le CHU de Lille et l'Inserm…",
    "start": 412,
    "end": 1187,
    "page": None,
    "score": 0.0325,
    "highlight_start": None,
    "highlight_end": None,
}

FILTERS_IN: list[dict[str, Any]] = [
    {"lang": "fr", "doc_type": "press_release", "date_from": "2023-01-01"}
]

SEARCH_REQUEST: list[dict[str, Any]] = [
    {
        "query": "protocole de coopération avec le CHU de Lille",
        "k": 5,
        "mode": "hybrid",
    },
    {"query": "regional delegation", "k": 3, "filters": {"lang": "en"}},
]

ASK_REQUEST: list[dict[str, Any]] = [
    {"question": "Quand le protocole de coopération de Lille a-t-il été signé ?"},
    {"question": "Who heads the North-West regional delegation?", "k": 5},
]

SIMILAR_REQUEST: list[dict[str, Any]] = [
    {"text": "Les deux partenaires renforcent leur collaboration scientifique.", "k": 5}
]

SEARCH_RESPONSE: list[dict[str, Any]] = [{"results": [HIT], "took_ms": 43.1}]

ASK_RESPONSE: list[dict[str, Any]] = [
    {
        "answer": {
            "text": "Lille, le 8 juillet 2024",
            "doc_id": "000_dbbfc47181911818",
            "sentence_id": "000_dbbfc47181911818#s0",
            "chunk_id": "000_dbbfc47181911818#c0",
            "title": "L'Université de Lille, le CHU de Lille et l'Inserm signent…",
            "date": "2024-07-08",
            "lang": "fr",
            "start": 0,
            "end": 24,
            "page": None,
            "span": {
                "type": "date",
                "text": "8 juillet 2024",
                "start": 10,
                "end": 24,
            },
        },
        "confidence": 0.81,
        "no_answer": False,
        "passages": [],
        "took_ms": 41.0,
    }
]

SIMILAR_RESPONSE: list[dict[str, Any]] = [
    {
        "results": [
            {
                "text": "L’Inserm est un établissement public…",
                "doc_id": "002_86b4586c1617dcb0",
                "title": "La Région Normandie et l’Inserm signent un protocole…",
                "date": "2022-02-17",
                "lang": "fr",
                "start": 3120,
                "end": 3301,
                "page": None,
                "score": 0.91,
                "occurrences": [
                    {
                        "sentence_id": "002_86b4586c1617dcb0#s30",
                        "doc_id": "002_86b4586c1617dcb0",
                        "title": "La Région Normandie et l’Inserm signent…",
                        "date": "2022-02-17",
                        "lang": "fr",
                        "text": "L’Inserm est un établissement public…",
                        "start": 3120,
                        "end": 3301,
                        "page": None,
                        "score": 0.91,
                    }
                ],
            }
        ],
        "took_ms": 40.2,
    }
]

ERROR_RESPONSE: list[dict[str, Any]] = [
    {"error": {"code": "invalid_request", "message": "body.k: must be <= 100"}}
]
