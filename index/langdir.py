"""Cross-lingual debiasing of dense retrieval.

multilingual-e5-small scores a passage in the query's own language higher than an
equally relevant translation: on the gold set, English questions about French documents
kept landing on the one English document. Part of every embedding is a "language
direction". We estimate it as the difference between the mean French and mean English
embedding of plain sentences (a bounded, deterministic sample: stored sentence vectors
carry their document's title, which would mix document identity into the estimate) and
project it out of the query vector at search time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ingest.embed import Embedder

logger = logging.getLogger(__name__)

__all__ = ["SAMPLE_PER_LANG", "LangDirection", "debias"]

#: Sentences per language embedded to estimate the direction (smallest stable ids first).
SAMPLE_PER_LANG = 128
#: Below this many sentences in either language the estimate is noise: no debiasing.
MIN_PER_LANG = 8
_LANGS = ("fr", "en")


class LangDirection:
    """The sample (ids, plain-sentence vectors, language codes) and the unit direction fr - en."""

    def __init__(self, vids: np.ndarray, vectors: np.ndarray, langs: np.ndarray) -> None:
        self.vids = vids
        self.vectors = vectors
        self.langs = langs  # index into _LANGS
        self.direction: np.ndarray | None = None
        if all(int((langs == i).sum()) >= MIN_PER_LANG for i in range(len(_LANGS))):
            diff = vectors[langs == 0].mean(axis=0) - vectors[langs == 1].mean(axis=0)
            norm = float(np.linalg.norm(diff))
            if norm > 0:
                self.direction = (diff / norm).astype(np.float32)

    @classmethod
    def build(
        cls,
        sentences: Sequence[tuple[int, str]],
        texts_of: Callable[[list[int]], dict[int, str]],
        embedder: Embedder,
        *,
        previous: LangDirection | None = None,
    ) -> LangDirection:
        """Sample ``sentences`` ((vid, lang) pairs) and embed only the members that the
        ``previous`` sample does not hold already; ``texts_of(vids) -> {vid: text}``."""
        chosen: list[int] = []
        codes: list[int] = []
        for code, lang in enumerate(_LANGS):
            vids = sorted(v for v, sl in sentences if sl == lang)[:SAMPLE_PER_LANG]
            chosen += vids
            codes += [code] * len(vids)
        known: dict[int, np.ndarray] = {}
        if previous is not None:
            known = dict(zip(previous.vids.tolist(), previous.vectors, strict=True))
        missing = [v for v in chosen if v not in known]
        if missing:
            texts = texts_of(missing)
            known.update(
                zip(missing, embedder.embed_passages([texts[v] for v in missing]), strict=True)
            )
        vectors = (
            np.stack([known[v] for v in chosen])
            if chosen
            else np.zeros((0, embedder.dim), np.float32)
        )
        return cls(
            np.asarray(chosen, np.int64), vectors.astype(np.float32), np.asarray(codes, np.int8)
        )

    def save(self, path: Path) -> None:
        """Write through a temporary name: readers never see half a file."""
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, vids=self.vids, vectors=self.vectors, langs=self.langs)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LangDirection | None:
        """None when the snapshot holds no sample: search then runs without debiasing."""
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            return cls(data["vids"], data["vectors"], data["langs"])


def debias(vector: np.ndarray, direction: np.ndarray | None) -> np.ndarray:
    """``vector`` with its component along ``direction`` removed, re-normalised."""
    if direction is None:
        return vector
    out = vector - float(vector @ direction) * direction
    norm = float(np.linalg.norm(out))
    return (out / norm).astype(np.float32) if norm > 0 else vector
