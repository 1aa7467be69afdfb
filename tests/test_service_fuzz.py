"""Property-based fuzzing of the OpenAPI schema: whatever the input, never a 5xx.

Schemathesis generates requests from the app's own OpenAPI schema — valid ones
(positive) and ones that break it (negative) — for every operation.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from service_testdata import build_index

from ingest.embed import HashEmbedder
from service import create_app
from service.settings import Settings

TOKEN = "fuzz-token"
OPERATIONS = [
    ("POST", "/search"),
    ("POST", "/ask"),
    ("POST", "/similar"),
    ("GET", "/documents"),
    ("POST", "/documents"),
    ("GET", "/documents/{doc_id}"),
    ("DELETE", "/documents/{doc_id}"),
    ("GET", "/health"),
    ("GET", "/metrics"),
]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory):
    # pytest 9 broke schemathesis' lazy `from_fixture` loader, so the schema is loaded
    # here and each operation's strategy is driven by hypothesis directly.
    root = tmp_path_factory.mktemp("fuzz")
    build_index(root / "data", root / "docs")
    app_settings = Settings(
        data_dir=root / "data",
        cache=root / "cache",
        api_token=TOKEN,
        max_upload_bytes=50_000,
        refresh_interval_s=0.0,
    )
    app = create_app(app_settings, embedder=HashEmbedder())
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_operation_is_fuzzed(api_schema):
    found = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


# Operations without any input have no invalid request to generate.
NO_INPUT = {("GET", "/health"), ("GET", "/metrics")}
CASES = [
    (method, path, mode)
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or (method, path) not in NO_INPUT
]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("method,path,mode", CASES)
def test_no_input_makes_the_api_fail(api_schema, method, path, mode):
    operation = api_schema[path][method]
    # Writes carry the token, so random uploads and deletes reach the indexer.
    headers = {"Authorization": f"Bearer {TOKEN}"} if method in {"POST", "DELETE"} else {}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=20,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error])
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"error"}
            assert body["error"]["code"] and body["error"]["message"]

    check()
