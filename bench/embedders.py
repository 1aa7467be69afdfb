"""Embedder wrappers for the benchmark: one that records what the pipeline embedded, one
that stands in for the model at 100k chunks with vectors derived from real ones.

Both satisfy ``ingest.embed.Embedder`` and report the wrapped model's name and
fingerprint, so an index they build opens in the service with the real model, which
embeds the queries.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from index.compat import PROBE_TEXT
from ingest.embed import Embedder

logger = logging.getLogger(__name__)

__all__ = [
    "DerivedEmbedder",
    "EmbeddingCache",
    "LazyCache",
    "PrecomputedEmbedder",
    "RecordingEmbedder",
]


def _forwarded(attr: str) -> Any:
    """A read-only property that reads ``attr`` of the wrapped embedder (``self.inner``)."""
    return property(lambda self: getattr(self.inner, attr), doc=f"``inner.{attr}``")


class _Delegate:
    """Forward the Embedder protocol to ``inner``; subclasses replace embed_passages."""

    name: str = _forwarded("name")
    dim: int = _forwarded("dim")
    max_tokens: int = _forwarded("max_tokens")
    backend: str = _forwarded("backend")
    prompts: dict[str, str] = _forwarded("prompts")

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


class RecordingEmbedder(_Delegate):
    """The real model, plus a record of every passage it embedded and the time it took."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.texts: list[str] = []
        self.vectors: list[np.ndarray] = []
        self.seconds = 0.0
        self.calls = 0

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        started = time.perf_counter()
        out = self.inner.embed_passages(texts, show_progress=show_progress)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        self.texts.extend(texts)
        self.vectors.append(out)
        return out

    def cache(self) -> EmbeddingCache:
        """What was embedded so far, deduplicated by text."""
        if not self.texts:
            return EmbeddingCache([], np.zeros((0, self.dim), np.float32))
        return EmbeddingCache(self.texts, np.concatenate(self.vectors))


class EmbeddingCache:
    """Real passage vectors by text; saved as .npz without pickle (texts as a unicode array)."""

    def __init__(self, texts: list[str], vectors: np.ndarray) -> None:
        index: dict[str, int] = {}
        keep: list[int] = []
        for i, text in enumerate(texts):
            if text not in index:
                index[text] = len(keep)
                keep.append(i)
        self.texts = [texts[i] for i in keep]
        self.vectors = np.ascontiguousarray(vectors[keep], dtype=np.float32)
        self.index = index

    def __len__(self) -> int:
        return len(self.texts)

    def save(self, path: Path) -> None:
        """Write ``path`` atomically (a reader waiting for it never sees half a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, texts=np.array(self.texts, dtype=np.str_), vectors=self.vectors)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> EmbeddingCache:
        with np.load(path, allow_pickle=False) as data:
            return cls([str(t) for t in data["texts"]], data["vectors"])


class LazyCache:
    """An EmbeddingCache loaded on first use, waiting up to ``wait_s`` for its file, so an
    index build can parse documents while another process still computes the real vectors."""

    def __init__(self, path: Path, *, wait_s: float = 0.0) -> None:
        self.path = path
        self.wait_s = wait_s
        self._cache: EmbeddingCache | None = None

    def get(self) -> EmbeddingCache:
        if self._cache is None:
            deadline = time.monotonic() + self.wait_s
            while not self.path.exists() and time.monotonic() < deadline:
                time.sleep(5)
            if not self.path.exists():
                raise FileNotFoundError(f"{self.path} missing: build the 10k size first")
            self._cache = EmbeddingCache.load(self.path)
        return self._cache


class DerivedEmbedder(_Delegate):
    """Cached real vectors for known texts; for a new text a deterministic random convex
    mix of three real vectors of similar length (seeded by the text's sha256), renormalised.

    Queries, and the manifest's probe text (index/compat.py: another backend opening the
    index compares its own probe vector with it), go to the real model. Derived vectors
    keep the real vectors' distribution (norms, neighbourhood density) for latency and
    memory, not their meaning: retrieval quality at this size is not measured with them."""

    def __init__(
        self, inner: Embedder, cache: EmbeddingCache | LazyCache, *, long_chars: int = 300
    ) -> None:
        super().__init__(inner)
        self._source = cache
        self._long_chars = long_chars
        self._ready = False
        self.real = 0
        self.derived = 0

    def _prepare(self) -> None:
        src = self._source
        self.cache = src.get() if isinstance(src, LazyCache) else src
        if len(self.cache) < 3:
            raise ValueError(f"need at least 3 cached real vectors, got {len(self.cache)}")
        lengths = np.array([len(t) for t in self.cache.texts])
        self._long = np.flatnonzero(lengths >= self._long_chars)
        self._short = np.flatnonzero(lengths < self._long_chars)
        self._ready = True

    def _pool(self, text: str) -> np.ndarray:
        pool = self._long if len(text) >= self._long_chars else self._short
        return pool if len(pool) >= 3 else np.arange(len(self.cache))

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        if not self._ready:
            self._prepare()
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            if text == PROBE_TEXT:
                out[row] = self.inner.embed_passages([text])[0]
                continue
            hit = self.cache.index.get(text)
            if hit is not None:
                out[row] = self.cache.vectors[hit]
                self.real += 1
                continue
            seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
            rng = np.random.default_rng(seed)
            pool = self._pool(text)
            picks = pool[rng.choice(len(pool), size=3, replace=False)]
            mix = rng.dirichlet(np.ones(3)) @ self.cache.vectors[picks]
            out[row] = mix / np.linalg.norm(mix)
            self.derived += 1
        return out


class PrecomputedEmbedder(_Delegate):
    """Passage vectors looked up by text in a fixed table (e.g. the vectors an index holds);
    queries go to the real model. A text missing from the table is an error, never a guess."""

    def __init__(self, inner: Embedder, table: dict[str, np.ndarray]) -> None:
        super().__init__(inner)
        self.table = table

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        missing = [t for t in texts if t not in self.table]
        if missing:
            raise KeyError(
                f"{len(missing)} passages have no precomputed vector, e.g. {missing[0]!r}"
            )
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.table[t] for t in texts]).astype(np.float32, copy=False)
