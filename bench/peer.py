"""The peer for side-by-side numbers: txtai ``Embeddings`` (hybrid dense + BM25, content
stored) over the same chunks with the same embedding model.

Two ways to give txtai its vectors:

- ``"model"``: txtai loads the model directory itself (method ``sentence-transformers``)
  and embeds everything. txtai calls sentence-transformers' ``encode_query`` /
  ``encode_document`` (txtai/vectors/dense/sbert.py); with the installed versions
  ``encode_query`` already prepends the model's "query: " prompt but ``encode_document``
  adds no "passage: " (measured: cosine 0.976-0.991 to our passage vectors without it,
  1.0 with it), so only the ``data`` instruction is configured.
- ``"external"``: txtai's external-vectors method (config ``method="external"`` with a
  ``transform`` function). ``instructions`` mark each text "query: " or "passage: "; the
  transform embeds queries with our real model and looks passages up in the vectors our
  pipeline already computed (real at 1k/10k, derived at 100k), so the peer does not spend
  10+ minutes re-embedding what we measured already.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ingest.embed import Embedder

logger = logging.getLogger(__name__)

__all__ = ["PeerHit", "TxtaiPeer"]

VectorSource = Literal["model", "external"]
_QUERY, _PASSAGE = "query: ", "passage: "


@dataclass(frozen=True, slots=True)
class PeerHit:
    chunk_id: str
    text: str
    score: float


class TxtaiPeer:
    """A txtai hybrid index over ``(chunk_id, text)`` pairs."""

    def __init__(
        self,
        *,
        vectors: VectorSource,
        model_dir: Path | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        from txtai import Embeddings

        config: dict[str, Any] = {"content": True, "hybrid": True}
        if vectors == "model":
            if model_dir is None:
                raise ValueError("vectors='model' needs model_dir (the built model directory)")
            config |= {
                "path": str(model_dir),
                "method": "sentence-transformers",
                "gpu": False,
                "instructions": {"data": _PASSAGE},
            }
        else:
            if embedder is None:
                raise ValueError("vectors='external' needs the embedder that holds the vectors")
            config |= {
                "method": "external",
                "transform": _transform(embedder),
                "instructions": {"query": _QUERY, "data": _PASSAGE},
            }
        self.vectors = vectors
        self.embeddings = Embeddings(config)
        self.index_seconds = 0.0

    def index(self, chunks: Sequence[tuple[str, str]]) -> float:
        """Build the index over ``(chunk_id, text)``; returns seconds taken."""
        started = time.perf_counter()
        self.embeddings.index((cid, text, None) for cid, text in chunks)
        self.index_seconds = time.perf_counter() - started
        return self.index_seconds

    def search(self, query: str, *, k: int = 10) -> list[PeerHit]:
        rows = self.embeddings.search(query, limit=k)
        return [PeerHit(str(r["id"]), str(r["text"]), float(r["score"])) for r in rows]

    def close(self) -> None:
        self.embeddings.close()


def _transform(embedder: Embedder):
    """A plain function (txtai calls anything else to build it) from prefixed texts to vectors."""

    def transform(texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), embedder.dim), dtype=np.float32)
        queries = [i for i, t in enumerate(texts) if t.startswith(_QUERY)]
        passages = [i for i in range(len(texts)) if not texts[i].startswith(_QUERY)]
        if queries:
            out[queries] = embedder.embed_queries([texts[i][len(_QUERY) :] for i in queries])
        if passages:
            out[passages] = embedder.embed_passages(
                [texts[i].removeprefix(_PASSAGE) for i in passages]
            )
        return out

    return transform
