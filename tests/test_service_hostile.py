"""Hostile clients and busy writers never hurt readers (issue 15): auth and size before the
body, a bounded write queue, odd queries and names, zip bombs, security headers."""

from __future__ import annotations

import re
import socket
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from service_testdata import (
    AUTH,
    EXTRA_DOC,
    TOKEN,
    api_settings,
    serve_in_thread,
)
from test_ingest_hostile import _bomb

from ingest.embed import HashEmbedder
from service import create_app
from service.middleware import SECURITY_HEADERS

_settings = api_settings


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code, body
    return body["error"]


# --- auth and size before the body ------------------------------------------------------------


@pytest.fixture()
def server(write_index: Path) -> Iterator[tuple[str, int]]:
    """A real uvicorn on loopback: TestClient reads a whole body before the app sees it."""
    with serve_in_thread(_settings(write_index, max_request_bytes=1_000_000)) as addr:
        yield addr


def _raw_request(addr: tuple[str, int], head: str, chunks: Iterator[bytes]) -> tuple:
    """Send ``head`` then ``chunks`` until the server answers; (status line, bytes of body
    sent). The server answering before the body is sent is the point."""
    sent = 0
    with socket.create_connection(addr, timeout=10) as sock:
        sock.sendall(head.encode("latin-1"))
        sock.settimeout(0.05)
        answer = b""
        deadline = time.monotonic() + 10
        while b"\r\n" not in answer and time.monotonic() < deadline:
            try:
                answer += sock.recv(65536)
                continue
            except TimeoutError:
                pass
            chunk = next(chunks, None)
            if chunk is not None:
                try:
                    sock.sendall(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += len(chunk)
        sock.settimeout(5)
        try:
            while True:
                head, sep, body = answer.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length: *(\d+)", head)
                if sep and length and len(body) >= int(length.group(1)):
                    break
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        except (TimeoutError, ConnectionResetError):
            pass
    return answer.split(b"\r\n", 1)[0].decode("latin-1"), sent, answer


def _upload_head(length: int | None, headers: str = "") -> str:
    size = (
        f"Content-Length: {length}\r\n" if length is not None else "Transfer-Encoding: chunked\r\n"
    )
    return (
        "POST /documents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        f"{size}{headers}\r\n"
    )


def _megabytes(n: int, *, chunked: bool = False) -> Iterator[bytes]:
    """A well-formed multipart body with one ``n`` MB text file (never finished)."""
    head = (
        b"--xyz\r\n"
        b'Content-Disposition: form-data; name="files"; filename="big.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
    )
    for i in range(n * 16):
        block = (head if i == 0 else b"") + b"a" * (64 * 1024)
        yield (f"{len(block):x}\r\n".encode() + block + b"\r\n") if chunked else block


def test_unauthenticated_oversized_upload_is_refused_before_its_body_is_read(server) -> None:
    status, sent, answer = _raw_request(server, _upload_head(200_000_000), _megabytes(200))
    assert status == "HTTP/1.1 401 Unauthorized", answer[:300]
    assert sent < 1_000_000  # answered on the header: the 200 MB were never needed
    assert b'"unauthorized"' in answer


def test_authenticated_upload_over_content_length_cap_is_413_before_reading(server) -> None:
    status, sent, answer = _raw_request(
        server, _upload_head(200_000_000, f"Authorization: Bearer {TOKEN}\r\n"), _megabytes(200)
    )
    assert status == "HTTP/1.1 413 Request Entity Too Large", answer[:300]
    assert sent < 1_000_000
    assert b'"request_too_large"' in answer and b"PARTNERSEARCH_MAX_REQUEST_BYTES" in answer


def test_chunked_upload_without_length_stops_being_read_past_the_cap(server) -> None:
    status, sent, answer = _raw_request(
        server,
        _upload_head(None, f"Authorization: Bearer {TOKEN}\r\n"),
        _megabytes(200, chunked=True),
    )
    assert status == "HTTP/1.1 413 Request Entity Too Large", answer[:300]
    assert sent < 8_000_000  # the cap is 1 MB; socket buffers hold a few MB more
    assert b'"request_too_large"' in answer


def test_wrong_token_is_401_before_the_body_in_process_too(writer) -> None:
    response = writer.post(
        "/documents",
        files=[("files", ("a.txt", b"x" * 1000))],
        headers={"Authorization": "Bearer nope"},
    )
    _error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


# --- the write queue --------------------------------------------------------------------------


class _GatedEmbedder(HashEmbedder):
    """HashEmbedder whose passage embedding (writes only) waits for ``gate`` once armed."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = threading.Event()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def embed_passages(self, texts, *, show_progress: bool = False):
        if self.armed.is_set():
            self.entered.set()
            assert self.gate.wait(120), "the test never opened the gate"
        return super().embed_passages(texts, show_progress=show_progress)


def _wait(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.timeout(240)
def test_search_stays_fast_while_50_uploads_wait_and_a_full_queue_is_503(write_index) -> None:
    embedder = _GatedEmbedder()
    settings = _settings(write_index, write_queue_size=50, write_retry_after_s=7)
    statuses: list[int] = []
    with TestClient(create_app(settings, embedder=embedder)) as c:
        embedder.armed.set()

        def upload(i: int) -> None:
            text = f"Document numéro {i} sur la coopération avec le partenaire numéro {i}.\n"
            r = c.post("/documents", files=[("files", (f"q{i}.txt", text.encode()))], headers=AUTH)
            statuses.append(r.status_code)

        threads = [threading.Thread(target=upload, args=(0,))]
        threads[0].start()
        assert embedder.entered.wait(60)  # the first upload now holds the writer
        threads += [threading.Thread(target=upload, args=(i,)) for i in range(1, 51)]
        for t in threads[1:]:
            t.start()
        _wait(lambda: c.get("/health").json()["writes_queued"] == 50)

        full = c.post("/documents", files=[("files", ("late.txt", b"trop tard"))], headers=AUTH)
        err = _error(full, 503, "write_queue_full")
        assert full.headers["retry-after"] == "7"
        assert "PARTNERSEARCH_WRITE_QUEUE_SIZE" in err["message"]
        deleted = c.delete("/documents/lille_protocol", headers=AUTH)
        _error(deleted, 503, "write_queue_full")

        times = []
        for i in range(100):
            started = time.perf_counter()
            r = c.post("/search", json={"query": f"protocole de coopération {i}", "k": 5})
            times.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200
        p95 = statistics.quantiles(times, n=20)[-1]
        sys.stderr.write(f"/search with 50 queued uploads: p95 {p95:.1f} ms\n")
        assert p95 < 100, f"p95 {p95:.1f} ms"
        assert c.get("/health").json()["writes_queued"] == 50  # they were still waiting

        embedder.gate.set()
        for t in threads:
            t.join(120)
        assert statuses == [200] * 51
        assert c.get("/health").json()["counts"]["documents"] == 3 + 51


# --- odd queries and names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["\x00", "\x00\x00\x00", "\u200b\u200c\u200d", "\ufeff \u2060", " \u200b\t\x01 "]
)
@pytest.mark.parametrize(
    "path,field", [("/search", "query"), ("/ask", "question"), ("/similar", "text")]
)
def test_query_of_only_invisible_characters_is_empty(writer, path, field, text) -> None:
    err = _error(writer.post(path, json={field: text}), 422, "empty_query")
    assert field in err["message"]


@pytest.mark.parametrize("k", [True, False, 1.0, "5"])
@pytest.mark.parametrize(
    "path,field", [("/search", "query"), ("/ask", "question"), ("/similar", "text")]
)
def test_k_must_be_a_real_integer(writer, path, field, k) -> None:
    err = _error(writer.post(path, json={field: "Inserm", "k": k}), 422, "invalid_request")
    assert err["message"].startswith("body.k:")


@pytest.mark.parametrize("partner", ["", "   ", "\u200b"])
def test_blank_partner_filter_is_422_like_every_filter_error(writer, partner) -> None:
    err = _error(
        writer.post("/search", json={"query": "Inserm", "filters": {"partner": partner}}),
        422,
        "invalid_request",
    )
    assert err["message"].startswith("body.filters.partner:")
    _error(writer.get("/documents", params={"partner": partner}), 422, "invalid_request")


@pytest.mark.parametrize(
    "filename", ["C:\\Windows\\x.txt", "\\\\server\\share\\x.txt", "c:\\x.txt", "sub\\x.txt"]
)
def test_windows_paths_in_upload_names_are_refused(writer, filename) -> None:
    # Written by hand: python-multipart reduces 'C:\\...\\x.txt' to 'x.txt' on its own.
    quoted = filename.replace("\\", "\\\\") if filename.startswith("\\\\") else filename
    body = (
        "--b0undary\r\n"
        f'Content-Disposition: form-data; name="files"; filename="{quoted}"\r\n'
        "Content-Type: text/plain\r\n\r\nbonjour\r\n--b0undary--\r\n"
    ).encode()
    response = writer.post(
        "/documents",
        content=body,
        headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    err = _error(response, 400, "bad_filename")
    assert "plain file name" in err["message"]
    _error(writer.get("/documents/x"), 404, "document_not_found")


# --- hostile files through the API --------------------------------------------------------------


def test_docx_zip_bomb_upload_is_413_and_the_index_is_unchanged(writer, tmp_path) -> None:
    before = writer.get("/health").json()
    bomb = _bomb(tmp_path)
    name, text = EXTRA_DOC
    response = writer.post(
        "/documents",
        files=[("files", (name, text.encode())), ("files", ("bomb.docx", bomb.read_bytes()))],
        headers=AUTH,
    )
    err = _error(response, 413, "file_over_limits")
    assert err["message"].startswith("bomb.docx: .docx part word/document.xml is compressed")
    assert writer.get("/health").json() == before


def test_import_error_in_the_html_reader_is_422_not_500(writer, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "trafilatura", None)
    html = b"<html><body><p>Une page web assez longue pour avoir un texte.</p></body></html>"
    response = writer.post("/documents", files=[("files", ("page.html", html))], headers=AUTH)
    err = _error(response, 422, "unreadable_file")
    assert err["message"].startswith("page.html: a package needed to read this file type")


# --- headers and /docs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path,kwargs",
    [
        ("GET", "/", {}),
        ("GET", "/docs", {}),
        ("GET", "/static/app.js", {}),
        ("GET", "/docs-assets/swagger-ui-bundle.js", {}),
        ("GET", "/openapi.json", {}),
        ("POST", "/search", {"json": {"query": "Inserm"}}),
        ("POST", "/search", {"json": {"query": ""}}),
        ("GET", "/no/such/page", {}),
        ("DELETE", "/documents/lille_protocol", {}),
        ("GET", "/health", {}),
    ],
)
def test_every_response_carries_the_security_headers(writer, method, path, kwargs) -> None:
    response = writer.request(method, path, **kwargs)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def test_docs_page_uses_only_local_assets(writer) -> None:
    page = writer.get("/docs")
    assert page.status_code == 200
    assert "<script>" not in page.text  # the CSP forbids inline scripts
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert refs and all(r.startswith("/") and not r.startswith("//") for r in refs), refs
    for ref in refs:
        assert writer.get(ref).status_code == 200, ref
    assert writer.get("/redoc").status_code == 404  # it would load from a CDN
