"""The HTTP API on a real temporary index (HashEmbedder): every endpoint, every error case."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_testdata import (
    AUTH,
    BOILERPLATE_FR,
    DOCS,
    EXTRA_DOC,
    api_client,
    api_settings,
    index_in,
    write_docs,
)

from ingest.embed import HashEmbedder
from service import create_app

ERROR_KEYS = {"code", "message"}


_settings = api_settings


@pytest.fixture(scope="module")
def read_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index shared by the tests that only read."""
    return index_in(tmp_path_factory.mktemp("svc-read"))


@pytest.fixture()
def client(read_index: Path):
    with api_client(read_index) as c:
        yield c


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) >= ERROR_KEYS
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def _doc_text(client: TestClient, doc_id: str) -> str:
    response = client.get(f"/documents/{doc_id}")
    assert response.status_code == 200
    return response.json()["text"]


# --- /search -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_search_ranks_the_matching_document_first_with_verbatim_citations(client, mode):
    response = client.post(
        "/search", json={"query": "unités mixtes plateau de Saclay", "k": 3, "mode": mode}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["took_ms"] >= 0
    results = body["results"]
    assert 1 <= len(results) <= 3
    assert results[0]["doc_id"] == "saclay_convention"
    for hit in results:
        assert _doc_text(client, hit["doc_id"])[hit["start"] : hit["end"]] == hit["text"]
        assert hit["highlight_start"] is None
        assert set(hit) >= {"doc_id", "chunk_id", "title", "date", "lang", "page", "score"}


def test_search_language_filter_keeps_only_that_language(client):
    response = client.post(
        "/search", json={"query": "Inserm research", "k": 10, "filters": {"lang": "en"}}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert {r["doc_id"] for r in results} == {"northwest_interview"}
    assert {r["lang"] for r in results} == {"en"}


def test_search_doc_id_filter_keeps_only_that_document(client):
    response = client.post(
        "/search", json={"query": "Inserm", "filters": {"doc_id": "lille_protocol"}}
    )
    assert response.status_code == 200
    assert {r["doc_id"] for r in response.json()["results"]} == {"lille_protocol"}


def test_search_date_filter_uses_document_dates(client):
    docs = {d["doc_id"]: d for d in client.get("/documents").json()["items"]}
    dated = sorted((d["date"], d["doc_id"]) for d in docs.values() if d["date"])
    assert dated, "the test documents carry dates in their first line"
    cutoff = dated[-1][0]
    response = client.post(
        "/search", json={"query": "Inserm", "k": 10, "filters": {"date_from": cutoff}}
    )
    assert response.status_code == 200
    assert {r["doc_id"] for r in response.json()["results"]} == {
        doc_id for date, doc_id in dated if date >= cutoff
    }


def test_search_uses_configured_default_mode(read_index):
    settings = _settings(read_index, default_mode="lexical")
    with TestClient(create_app(settings, embedder=HashEmbedder())) as c:
        implicit = c.post("/search", json={"query": "plateau de Saclay", "k": 5}).json()
        explicit = c.post(
            "/search", json={"query": "plateau de Saclay", "k": 5, "mode": "lexical"}
        ).json()
    assert [r["chunk_id"] for r in implicit["results"]] == [
        r["chunk_id"] for r in explicit["results"]
    ]


# --- /ask ----------------------------------------------------------------------------------


def test_ask_answers_with_a_verbatim_sentence_and_its_citation(client):
    response = client.post(
        "/ask", json={"question": "Quand le protocole de coopération a-t-il été signé au CHU ?"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["no_answer"] is False
    answer = body["answer"]
    assert answer["doc_id"] == "lille_protocol"
    assert answer["text"].startswith("Le protocole de coopération a été signé le 8 juillet 2024")
    assert _doc_text(client, "lille_protocol")[answer["start"] : answer["end"]] == answer["text"]
    assert 0.0 <= body["confidence"] <= 1.0
    # The passage carrying the answer comes first and highlights the answer sentence.
    first = body["passages"][0]
    assert first["chunk_id"] == answer["chunk_id"]
    assert first["highlight_start"] == max(answer["start"], first["start"])
    assert first["highlight_end"] == min(answer["end"], first["end"])
    for p in body["passages"]:
        assert p["start"] <= p["highlight_start"] < p["highlight_end"] <= p["end"]
    # "Quand" asks for a date: the span marks it inside the sentence, in document offsets.
    span = answer["span"]
    text = _doc_text(client, "lille_protocol")
    assert span["type"] == "date" and span["text"] == "8 juillet 2024"
    assert text[span["start"] : span["end"]] == "8 juillet 2024"
    assert answer["start"] <= span["start"] < span["end"] <= answer["end"]


def test_ask_without_a_recognised_type_has_no_span(client):
    response = client.post("/ask", json={"question": "transfert de technologies"})
    assert response.status_code == 200
    answer = response.json()["answer"]
    assert answer is not None and answer["span"] is None


def test_ask_abstains_below_the_threshold(read_index):
    with TestClient(
        create_app(_settings(read_index, answer_threshold=1.0), embedder=HashEmbedder())
    ) as c:
        response = c.post("/ask", json={"question": "Qui finance la chaire de cardiologie ?"})
    assert response.status_code == 200
    body = response.json()
    assert body["no_answer"] is True
    assert body["answer"] is None
    assert body["confidence"] < 1.0
    # The closest passages are still listed, each with its best sentence highlighted.
    assert body["passages"], "supporting passages are still listed when abstaining"
    for p in body["passages"]:
        assert p["start"] <= p["highlight_start"] < p["highlight_end"] <= p["end"]


def test_ask_abstention_follows_the_confidence_and_the_threshold(read_index):
    question = {"question": "Combien de temps dure la convention cadre avec Paris-Saclay ?"}
    with TestClient(create_app(_settings(read_index), embedder=HashEmbedder())) as c:
        confidence = c.post("/ask", json=question).json()["confidence"]
    assert 0.0 < confidence < 1.0
    for threshold, declined in ((confidence - 0.01, False), (confidence + 0.01, True)):
        settings = _settings(read_index, answer_threshold=round(threshold, 4))
        with TestClient(create_app(settings, embedder=HashEmbedder())) as c:
            body = c.post("/ask", json=question).json()
        assert body["no_answer"] is declined
        assert (body["answer"] is None) is declined
        assert body["confidence"] == confidence


def test_ask_with_filters_that_match_nothing_is_no_answer(client):
    response = client.post(
        "/ask",
        json={"question": "Qui signe le protocole ?", "filters": {"doc_id": "no_such_doc"}},
    )
    assert response.status_code == 200
    assert response.json() == {
        "answer": None,
        "confidence": 0.0,
        "no_answer": True,
        "passages": [],
        "took_ms": response.json()["took_ms"],
    }


# --- /similar ------------------------------------------------------------------------------


def test_similar_collapses_the_same_wording_into_one_result(client):
    response = client.post("/similar", json={"text": BOILERPLATE_FR, "k": 5})
    assert response.status_code == 200
    results = response.json()["results"]
    top = results[0]
    assert {o["doc_id"] for o in top["occurrences"]} == {"lille_protocol", "saclay_convention"}
    assert len(top["occurrences"]) == 2
    for occ in top["occurrences"]:
        assert _doc_text(client, occ["doc_id"])[occ["start"] : occ["end"]] == occ["text"]
    assert top["text"] == top["occurrences"][0]["text"]
    # No other result repeats that wording.
    others = [o["sentence_id"] for r in results[1:] for o in r["occurrences"]]
    assert not {o["sentence_id"] for o in top["occurrences"]} & set(others)
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)


def test_similar_respects_k_and_filters(client):
    response = client.post(
        "/similar", json={"text": "research units", "k": 2, "filters": {"lang": "en"}}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 2
    assert {o["lang"] for r in results for o in r["occurrences"]} == {"en"}


# --- /documents ----------------------------------------------------------------------------


def test_documents_lists_every_document_with_paging(client):
    everything = client.get("/documents").json()
    assert everything["total"] == 3
    assert sorted(d["doc_id"] for d in everything["items"]) == sorted(Path(n).stem for n in DOCS)
    page = client.get("/documents", params={"offset": 1, "limit": 1}).json()
    assert page["total"] == 3
    assert page["offset"] == 1 and page["limit"] == 1
    assert [d["doc_id"] for d in page["items"]] == [everything["items"][1]["doc_id"]]


def test_documents_filter_by_language(client):
    body = client.get("/documents", params={"lang": "fr"}).json()
    assert body["total"] == 2
    assert {d["doc_id"] for d in body["items"]} == {"lille_protocol", "saclay_convention"}


def test_document_detail_has_metadata_and_cleaned_text(client):
    response = client.get("/documents/saclay_convention")
    assert response.status_code == 200
    doc = response.json()
    assert doc["doc_id"] == "saclay_convention"
    assert doc["lang"] == "fr"
    assert doc["source"] == "saclay_convention.txt"
    assert "quarante unités mixtes de recherche" in doc["text"]
    assert doc["chars"] == len(doc["text"])


# --- uploads and deletes -------------------------------------------------------------------


def test_upload_adds_a_searchable_document(writer):
    name, text = EXTRA_DOC
    response = writer.post(
        "/documents", files=[("files", (name, text.encode(), "text/plain"))], headers=AUTH
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["results"] == [
        {"filename": name, "status": "added", "doc_id": "marseille_chair", "reason": None}
    ]
    assert body["documents"] == 4
    hits = writer.post("/search", json={"query": "chaire immunologie doctorants", "k": 1})
    assert hits.json()["results"][0]["doc_id"] == "marseille_chair"
    assert writer.get("/health").json()["snapshot_id"] == body["snapshot_id"]


def test_upload_several_files_reports_each(writer):
    name, text = EXTRA_DOC
    unchanged_name = "lille_protocol.txt"
    response = writer.post(
        "/documents",
        files=[
            ("files", (name, text.encode(), "text/plain")),
            ("files", (unchanged_name, DOCS[unchanged_name].encode(), "text/plain")),
        ],
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    statuses = {r["filename"]: r["status"] for r in response.json()["results"]}
    assert statuses == {name: "added", unchanged_name: "unchanged"}


def test_upload_of_changed_content_updates_the_document(writer):
    new_text = DOCS["lille_protocol.txt"] + "Un avenant sur la cancérologie pédiatrique suivra.\n"
    response = writer.post(
        "/documents",
        files=[("files", ("lille_protocol.txt", new_text.encode(), "text/plain"))],
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "updated"
    assert "cancérologie pédiatrique" in _doc_text(writer, "lille_protocol")


def test_delete_removes_the_document(writer):
    response = writer.delete("/documents/saclay_convention", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["deleted"] == "saclay_convention"
    assert response.json()["documents"] == 2
    _error(writer.get("/documents/saclay_convention"), 404, "document_not_found")
    hits = writer.post("/search", json={"query": "plateau de Saclay", "k": 10}).json()
    assert "saclay_convention" not in {h["doc_id"] for h in hits["results"]}


def test_service_picks_up_an_ingest_made_elsewhere(writer, write_index, tmp_path):
    from index import Indexer

    name, text = EXTRA_DOC
    [path] = write_docs(tmp_path / "more", {name: text})
    Indexer(write_index, HashEmbedder()).ingest([path])
    assert writer.get("/documents/marseille_chair").status_code == 200
    assert writer.get("/health").json()["counts"]["documents"] == 4


def test_upload_creates_the_first_index(tmp_path):
    settings = _settings(tmp_path / "empty")
    with TestClient(create_app(settings, embedder=HashEmbedder())) as c:
        assert c.get("/health").json()["status"] == "no_index"
        name, text = EXTRA_DOC
        response = c.post("/documents", files=[("files", (name, text.encode()))], headers=AUTH)
        assert response.status_code == 200, response.text
        assert c.get("/health").json()["counts"]["documents"] == 1
        assert c.post("/search", json={"query": "immunologie"}).json()["results"]


# --- /health, /metrics, page -----------------------------------------------------------------


def test_health_reports_snapshot_model_and_counts(client):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["model"] == "hash-64"
    assert body["snapshot_id"]
    assert body["counts"]["documents"] == 3
    assert body["counts"]["chunks"] >= 3
    assert body["counts"]["sentences"] >= 12


def test_metrics_count_requests_per_endpoint_template(client):
    client.post("/search", json={"query": "Inserm"})
    client.post("/search", json={"query": "Inserm"})
    client.post("/search", json={"query": "Inserm", "k": 0})
    client.get("/documents/lille_protocol")
    client.get("/documents/saclay_convention")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text

    def sample(name: str, labels: str) -> float:
        match = re.search(rf"^{name}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
        assert match, f"{name}{{{labels}}} missing"
        return float(match.group(1))

    total = "partnersearch_http_requests_total"
    assert sample(total, 'endpoint="/search",method="POST",status="200"') == 2.0
    assert sample(total, 'endpoint="/search",method="POST",status="422"') == 1.0
    assert sample(total, 'endpoint="/documents/{doc_id}",method="GET",status="200"') == 2.0
    hist = "partnersearch_http_request_duration_seconds"
    assert sample(f"{hist}_count", 'endpoint="/search",method="POST"') == 3.0
    assert sample(f"{hist}_bucket", 'endpoint="/search",le="+Inf",method="POST"') == 3.0


def test_two_apps_keep_separate_metrics(read_index):
    with (
        TestClient(create_app(_settings(read_index), embedder=HashEmbedder())) as a,
        TestClient(create_app(_settings(read_index), embedder=HashEmbedder())) as b,
    ):
        a.get("/health")
        assert 'endpoint="/health"' in a.get("/metrics").text
        assert 'endpoint="/health"' not in b.get("/metrics").text


def test_page_is_served_and_needs_nothing_from_outside(client):
    page = client.get("/")
    assert page.status_code == 200
    assert '<script src="/static/app.js"' in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200
    static = Path(__file__).resolve().parent.parent / "service" / "static"
    for path in static.iterdir():
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", path.read_text()), path.name


def test_openapi_documents_examples_and_error_shape(client):
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert components["SearchRequest"]["examples"]
    assert components["AskRequest"]["examples"]
    assert components["SimilarRequest"]["examples"]
    ask_422 = schema["paths"]["/ask"]["post"]["responses"]["422"]
    assert ask_422["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


# --- bad input: one test per case --------------------------------------------------------------


@pytest.mark.parametrize("path,field", [("/search", "query"), ("/ask", "question")])
def test_blank_query_is_rejected(client, path, field):
    err = _error(client.post(path, json={field: "   "}), 422, "empty_query")
    assert field in err["message"]


def test_empty_string_query_is_rejected(client):
    err = _error(client.post("/similar", json={"text": ""}), 422, "invalid_request")
    assert err["message"].startswith("body.text:")


def test_over_long_query_is_rejected(read_index):
    with TestClient(
        create_app(_settings(read_index, max_query_chars=50), embedder=HashEmbedder())
    ) as c:
        err = _error(c.post("/search", json={"query": "x" * 51}), 422, "query_too_long")
    assert "51" in err["message"] and "50" in err["message"]


@pytest.mark.parametrize("k", [0, 101, -3])
def test_k_out_of_range_is_rejected(client, k):
    err = _error(client.post("/search", json={"query": "Inserm", "k": k}), 422, "invalid_request")
    assert err["message"].startswith("body.k:")


_LATE_FIRST = {"date_from": "2024-05-01", "date_to": "2023-01-01"}


# (path, body, the message starts with it, the message contains it)
@pytest.mark.parametrize(
    "path,body,prefix,contains",
    [
        ("/search", {"query": "Inserm", "mode": "semantic"}, "body.mode:", ""),
        ("/ask", {"question": "Inserm ?", "filters": {"lang": "de"}}, "body.filters.lang:", ""),
        ("/search", {"query": "Inserm", "filters": {"country": "fr"}}, "", "country"),
        (
            "/search",
            {"query": "Inserm", "filters": {"date_from": "2024-02-30"}},
            "body.filters.date_from:",
            "",
        ),
        (
            "/search",
            {"query": "Inserm", "filters": _LATE_FIRST},
            "",
            "date_from 2024-05-01 is after date_to 2023-01-01",
        ),
    ],
    ids=["unknown mode", "unknown filter value", "unknown filter", "bad date", "dates reversed"],
)
def test_invalid_request_names_the_field(client, path, body, prefix, contains):
    err = _error(client.post(path, json=body), 422, "invalid_request")
    assert err["message"].startswith(prefix)
    assert contains in err["message"]


def test_malformed_json_is_rejected(client):
    response = client.post(
        "/search", content=b'{"query": ', headers={"Content-Type": "application/json"}
    )
    _error(response, 422, "invalid_request")


def test_documents_bad_paging_is_rejected(client):
    err = _error(client.get("/documents", params={"limit": 0}), 422, "invalid_request")
    assert err["message"].startswith("query.limit:")


def test_documents_bad_date_is_rejected(client):
    err = _error(client.get("/documents", params={"date_to": "yesterday"}), 422, "invalid_request")
    assert err["message"].startswith("query.date_to:")


def test_unknown_document_is_404(client):
    err = _error(client.get("/documents/nope"), 404, "document_not_found")
    assert "'nope'" in err["message"]


def test_unknown_route_uses_the_error_shape(client):
    _error(client.get("/no/such/route"), 404, "not_found")


def test_search_without_an_index_is_503(tmp_path):
    with TestClient(create_app(_settings(tmp_path / "empty"), embedder=HashEmbedder())) as c:
        err = _error(c.post("/search", json={"query": "Inserm"}), 503, "index_not_ready")
    assert "partnersearch ingest" in err["message"]


def test_writes_are_disabled_without_a_configured_token(read_index):
    with TestClient(
        create_app(_settings(read_index, api_token=None), embedder=HashEmbedder())
    ) as c:
        _error(c.delete("/documents/lille_protocol", headers=AUTH), 403, "writes_disabled")
        _error(
            c.post("/documents", files=[("files", ("a.txt", b"x"))], headers=AUTH),
            403,
            "writes_disabled",
        )
        assert c.get("/documents/lille_protocol").status_code == 200


def test_write_without_token_is_401(writer):
    response = writer.delete("/documents/lille_protocol")
    _error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert writer.get("/documents/lille_protocol").status_code == 200


def test_write_with_wrong_token_is_401(writer):
    name, text = EXTRA_DOC
    response = writer.post(
        "/documents",
        files=[("files", (name, text.encode()))],
        headers={"Authorization": "Bearer wrong"},
    )
    _error(response, 401, "unauthorized")
    assert writer.get("/documents/marseille_chair").status_code == 404


def test_delete_unknown_document_is_404(writer):
    _error(writer.delete("/documents/nope", headers=AUTH), 404, "document_not_found")


def test_upload_of_unsupported_type_is_415(writer):
    err = _error(
        writer.post("/documents", files=[("files", ("tool.exe", b"MZ\x90\x00"))], headers=AUTH),
        415,
        "unsupported_file_type",
    )
    assert "'.exe'" in err["message"] and ".pdf" in err["message"]


def test_oversized_upload_is_413(write_index):
    settings = _settings(write_index, max_upload_bytes=100)
    with TestClient(create_app(settings, embedder=HashEmbedder())) as c:
        err = _error(
            c.post("/documents", files=[("files", ("big.txt", b"a " * 51))], headers=AUTH),
            413,
            "file_too_large",
        )
        assert "100 bytes" in err["message"]
        assert c.get("/documents/big").status_code == 404


@pytest.mark.parametrize(
    "filename",
    ["../evil.txt", "/etc/evil.txt", "sub/evil.txt", "..\\evil.txt", ".hidden.txt", ".."],
)
def test_path_tricks_in_upload_names_are_400(writer, filename):
    before = writer.get("/health").json()
    err = _error(
        writer.post("/documents", files=[("files", (filename, b"hello"))], headers=AUTH),
        400,
        "bad_filename",
    )
    assert "plain file name" in err["message"]
    assert writer.get("/health").json() == before


@pytest.mark.parametrize("filename", ["a\x00.txt", "ev\x01il.txt"])
def test_control_characters_in_upload_name_are_400(writer, filename):
    # httpx percent-encodes control characters in file names: write the multipart body by hand.
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="files"; filename="{filename}"\r\n'
        "Content-Type: text/plain\r\n\r\nhello\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    response = writer.post(
        "/documents",
        content=body,
        headers={**AUTH, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    _error(response, 400, "bad_filename")


def test_duplicate_names_in_one_upload_are_400(writer):
    err = _error(
        writer.post(
            "/documents",
            files=[("files", ("same.txt", b"one text")), ("files", ("same.md", b"another"))],
            headers=AUTH,
        ),
        400,
        "duplicate_filename",
    )
    assert "'same'" in err["message"]


def test_corrupt_pdf_is_422_and_leaves_the_index_as_it_was(writer):
    before = writer.get("/health").json()
    name, text = EXTRA_DOC
    response = writer.post(
        "/documents",
        files=[
            ("files", (name, text.encode(), "text/plain")),
            ("files", ("broken.pdf", b"%PDF-1.7\n1 0 obj <<\ngarbage", "application/pdf")),
        ],
        headers=AUTH,
    )
    err = _error(response, 422, "unreadable_file")
    assert err["message"].startswith("broken.pdf")
    assert "/tmp" not in err["message"]
    assert writer.get("/health").json() == before
    assert writer.get("/documents/marseille_chair").status_code == 404


def test_upload_without_files_is_422(writer):
    _error(writer.post("/documents", headers=AUTH), 422, "invalid_request")


def test_wrong_method_uses_the_error_shape(client):
    _error(client.put("/search", json={"query": "x"}), 405, "method_not_allowed")


def _pdf_bytes(pages: list[str]) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def test_pdf_upload_is_searchable_with_page_numbers(writer):
    pages = [
        "Convention de recherche entre Inserm et Nantes Universite. Signee en 2021.",
        "Article 2. La convention finance une plateforme de cytometrie a Nantes.",
    ]
    response = writer.post(
        "/documents",
        files=[("files", ("nantes.pdf", _pdf_bytes(pages), "application/pdf"))],
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "added"
    hits = writer.post(
        "/search", json={"query": "plateforme de cytometrie", "k": 1, "mode": "lexical"}
    ).json()["results"]
    assert hits[0]["doc_id"] == "nantes"
    assert hits[0]["page"] in {1, 2}
    doc = writer.get("/documents/nantes").json()
    assert len(doc["page_starts"]) == 2
    assert doc["text"][hits[0]["start"] : hits[0]["end"]] == hits[0]["text"]


def test_docx_upload_is_added(writer):
    import io

    from docx import Document as Docx

    word = Docx()
    word.add_paragraph("Accord entre l'Inserm et l'Université de Tours sur la génomique.")
    buffer = io.BytesIO()
    word.save(buffer)
    response = writer.post(
        "/documents", files=[("files", ("tours.docx", buffer.getvalue()))], headers=AUTH
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"] == [
        {"filename": "tours.docx", "status": "added", "doc_id": "tours", "reason": None}
    ]
    assert "génomique" in _doc_text(writer, "tours")


def test_concurrent_uploads_are_serialised_and_all_land(writer):
    from concurrent.futures import ThreadPoolExecutor

    def upload(i: int) -> int:
        text = f"Document numéro {i} sur la coopération avec le partenaire {i}.\n"
        return writer.post(
            "/documents", files=[("files", (f"doc{i}.txt", text.encode()))], headers=AUTH
        ).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(upload, range(4)))
    assert statuses == [200, 200, 200, 200]
    assert writer.get("/health").json()["counts"]["documents"] == 3 + 4
    listed = {d["doc_id"] for d in writer.get("/documents", params={"limit": 200}).json()["items"]}
    assert {f"doc{i}" for i in range(4)} <= listed
