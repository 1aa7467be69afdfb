"""bench/build.py's ingest comparison and bench/embedders.py's wrappers, with a fake model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import build, embedders
from bench.scale_corpus import write_corpus


def test_other_backends_ingest_fully_only_up_to_the_limit_and_never_when_derived() -> None:
    backends = ["onnx-int8", "torch", "onnx"]
    assert build.ingest_comparisons(backends, 1000, derived=False, compare_max=10000) == [
        "torch",
        "onnx",
    ]
    assert build.ingest_comparisons(backends, 10000, derived=False, compare_max=10000) == [
        "torch",
        "onnx",
    ]
    assert build.ingest_comparisons(backends, 10001, derived=False, compare_max=10000) == []
    assert build.ingest_comparisons(backends, 1000, derived=True, compare_max=10000) == []
    assert build.ingest_comparisons(["torch"], 1000, derived=False, compare_max=10000) == []


def test_raw_sample_is_the_same_for_every_call() -> None:
    texts = [f"t{i}" for i in range(100)]
    assert build.raw_sample(texts, sample=200, seed=0) is texts
    a = build.raw_sample(texts, sample=10, seed=3)
    assert a == build.raw_sample(texts, sample=10, seed=3)
    assert len(set(a)) == 10 and set(a) <= set(texts)


class _Named:
    """HashEmbedder under another backend name (bench_ingest keys backends by name)."""

    def __init__(self, backend: str) -> None:
        from ingest.embed import HashEmbedder

        self._inner = HashEmbedder(32)
        self.backend = backend
        self.name, self.dim, self.max_tokens = self._inner.name, 32, self._inner.max_tokens

    def __getattr__(self, attr: str):
        return getattr(self._inner, attr)


def _ingest_both(tmp_path: Path, corpus: Path, *, compare_max: int) -> dict[str, Any]:
    """bench_ingest of a 30-chunk plan, a primary and one other fake backend."""
    plan = build.Plan("30", 30, {}, raw_sample=25, seed=0, compare_ingest_max=compare_max)
    embs = {"primary": _Named("hash-a"), "other": _Named("hash-b")}
    return build.bench_ingest(
        plan,
        embs,
        tmp_path,
        corpus,
        tmp_path / "data",
        derived=False,
        reuse=False,
        build_only=False,
        wait_cache_s=0.0,
    )


def test_every_backend_ingests_the_same_texts_and_times_the_same_sample(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, chunks=30, seed=0)
    res = _ingest_both(tmp_path, corpus, compare_max=30)
    prim, other = res["primary"], res["other"]
    assert other["same_texts"] is True
    assert other["embedded_texts"] == prim["embedded_texts"] > 25
    assert other["chunks"] == prim["chunks"] > 0
    assert prim["raw_model_timed_texts"] == other["raw_model_timed_texts"] == 25
    assert prim["texts_per_s"] == pytest.approx(prim["embedded_texts"] / prim["seconds"])
    assert not (tmp_path / "data-30-other").exists()  # the comparison index is removed
    # Above the limit the other backend only times the bare model on the same texts.
    res = _ingest_both(tmp_path, corpus, compare_max=29)
    assert res["other"]["full_ingest"] is False
    assert "seconds" not in res["other"]
    assert res["other"]["embedded_texts"] == res["primary"]["embedded_texts"]
    # The index it built describes itself: its chunk texts and vectors read back.
    texts = build.chunk_texts(tmp_path / "data")
    assert len(texts) == res["primary"]["chunks"]
    vectors = build.our_chunk_vectors(tmp_path / "data")
    assert set(vectors) == {text for _, text in texts}


def test_derived_embedder_gives_the_manifest_probe_its_real_vector() -> None:
    from index.compat import PROBE_TEXT
    from ingest.embed import HashEmbedder

    real = HashEmbedder(16)
    texts = ["alpha beta", "gamma delta", "epsilon zeta", "eta theta"]
    cache = embedders.EmbeddingCache(texts, real.embed_passages(texts))
    derived = embedders.DerivedEmbedder(real, cache)
    out = derived.embed_passages([PROBE_TEXT, "gamma delta", "a new text"])
    np.testing.assert_array_equal(out[0], real.embed_passages([PROBE_TEXT])[0])
    np.testing.assert_array_equal(out[1], cache.vectors[1])
    assert abs(float(np.linalg.norm(out[2])) - 1.0) < 1e-6
    assert (derived.real, derived.derived) == (1, 1)
    # The wrapper reports the wrapped model's protocol attributes.
    assert (derived.name, derived.dim, derived.max_tokens) == (real.name, 16, real.max_tokens)
