"""The query-vector LRU in front of the sentence-transformers model (ingest/embed.py)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ingest.embed import QueryCache


class _Counting:
    """Deterministic fake encoder that records every batch it is asked for."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return np.array([[len(t), ord(t[0]), 1.0] for t in texts], dtype=np.float32)


def test_second_call_is_served_from_cache() -> None:
    enc, cache = _Counting(), QueryCache(8)
    first = cache.embed(["alpha", "beta"], enc, 3)
    again = cache.embed(["beta", "alpha"], enc, 3)
    assert enc.batches == [["alpha", "beta"]]
    np.testing.assert_array_equal(again, first[::-1])
    assert cache.hits == 2


def test_only_missing_texts_are_encoded_once_each() -> None:
    enc, cache = _Counting(), QueryCache(8)
    cache.embed(["a1"], enc, 3)
    out = cache.embed(["a1", "b22", "b22", "c333"], enc, 3)
    assert enc.batches == [["a1"], ["b22", "c333"]]
    assert out.shape == (4, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[1], out[2])


def test_least_recently_used_is_evicted() -> None:
    enc, cache = _Counting(), QueryCache(2)
    cache.embed(["x"], enc, 3)
    cache.embed(["y"], enc, 3)
    cache.embed(["x"], enc, 3)  # x is now the most recent
    cache.embed(["z"], enc, 3)  # evicts y
    cache.embed(["x"], enc, 3)
    cache.embed(["y"], enc, 3)
    assert enc.batches == [["x"], ["y"], ["z"], ["y"]]


def test_results_are_copies() -> None:
    enc, cache = _Counting(), QueryCache(4)
    out = cache.embed(["q"], enc, 3)
    out[0, 0] = -99.0
    assert cache.embed(["q"], enc, 3)[0, 0] == 1.0


def test_size_zero_disables_and_clear_forgets() -> None:
    enc, off = _Counting(), QueryCache(0)
    off.embed(["q"], enc, 3)
    off.embed(["q"], enc, 3)
    assert enc.batches == [["q"], ["q"]]
    enc2, on = _Counting(), QueryCache(4)
    on.embed(["q"], enc2, 3)
    on.clear()
    on.embed(["q"], enc2, 3)
    assert enc2.batches == [["q"], ["q"]] and on.hits == 0


def test_empty_batch_has_the_model_dimension() -> None:
    assert QueryCache(4).embed([], _Counting(), 3).shape == (0, 3)


def test_concurrent_callers_get_their_own_vectors() -> None:
    enc, cache = _Counting(), QueryCache(16)
    texts = [f"{chr(97 + i)}{'x' * i}" for i in range(10)]
    results: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(50):
                results[i] = cache.embed([texts[i % 10], texts[(i + 3) % 10]], enc, 3)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, out in results.items():
        for row, text in zip(out, (texts[i % 10], texts[(i + 3) % 10]), strict=True):
            assert row.tolist() == [len(text), ord(text[0]), 1.0]


@pytest.mark.slow
def test_real_embedder_caches_queries(real_embedder) -> None:
    real_embedder.clear_query_cache()
    first = real_embedder.embed_queries(["Qui a signé le protocole de Lille ?"])
    again = real_embedder.embed_queries(["Qui a signé le protocole de Lille ?"])
    np.testing.assert_array_equal(first, again)
    assert real_embedder._queries.hits == 1
    real_embedder.clear_query_cache()
