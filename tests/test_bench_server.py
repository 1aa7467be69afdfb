"""bench/server.py's load runner and environment, bench/threads.py's summary, and
bench/fresh.py's search loop, against a local stub server and a fake index."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench import threads
from bench.fresh import search_seconds
from bench.server import backend_env, load_test


class _Stub(BaseHTTPRequestHandler):
    """Answers 200 to a body whose query starts with "ok", 503 to any other."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = body.get("query") or body.get("question") or ""
        status = 200 if text.startswith("ok") else 503
        payload = json.dumps({"path": self.path, "k": body.get("k")}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:  # quiet test output
        pass


@pytest.fixture
def stub_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


QUERIES = ["ok 1", "ok 2", "bad 1", "ok 3", "bad 2"]


def test_load_test_times_answers_and_counts_errors(stub_url: str) -> None:
    got = load_test(stub_url, "/search", QUERIES, clients=2)
    assert (got["n"], got["errors"], got["requests"], got["clients"]) == (3, 2, 5, 2)
    assert len(got["error_samples"]) == 2
    assert all(why.startswith('503 {"path": "/search", "k": 10}') for why in got["error_samples"])
    assert got["rps"] > 0
    ask = load_test(stub_url, "/ask", ["ok ask"], clients=1)  # /ask sends "question"
    assert (ask["n"], ask["errors"]) == (1, 0)


def test_threads_summary_counts_every_request(stub_url: str) -> None:
    got = threads._http(stub_url, QUERIES, 2)
    assert got["errors"] == 2
    assert set(got) == {"p50_ms", "p95_ms", "rps", "errors"}
    assert 0 < got["p50_ms"] <= got["p95_ms"]


def test_servers_run_the_use_channel_only_over_an_index_that_has_it(tmp_path: Path) -> None:
    from index_docs import make_doc

    from ingest.embed import HashEmbedder
    from service.settings import Settings
    from service.wiring import make_indexer

    docs = [make_doc("a", ["La convention avec la Normandie dure six ans."])]
    settings = Settings(data_dir=tmp_path / "plain")
    make_indexer(settings, HashEmbedder()).ingest_parsed(docs)
    make_indexer(
        settings, HashEmbedder(), HashEmbedder(dim=32), data_dir=tmp_path / "use"
    ).ingest_parsed(docs)
    assert backend_env("onnx", tmp_path / "plain")["PARTNERSEARCH_USE_CHANNEL"] == "false"
    assert backend_env("onnx", tmp_path / "use")["PARTNERSEARCH_USE_CHANNEL"] == "true"
    assert backend_env("onnx", tmp_path / "none")["PARTNERSEARCH_USE_CHANNEL"] == "false"
    env = backend_env("torch", tmp_path / "plain")
    assert (env["PARTNERSEARCH_BACKEND"], env["HF_HUB_OFFLINE"]) == ("torch", "1")


class _Searcher:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None]] = []

    def search(self, query: str, k: int | None = None) -> list[object]:
        self.calls.append((query, k))
        return []


def test_fresh_search_loop_warms_up_then_times_the_rest() -> None:
    searcher = _Searcher()
    took = search_seconds(searcher, ["warm", "a", "b"])  # type: ignore[arg-type]
    assert searcher.calls == [("warm", None), ("a", 100), ("b", 100)]
    assert took >= 0.0
