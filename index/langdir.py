"""Cross-lingual debiasing of dense retrieval.

multilingual-e5-small scores a passage in the query's own language higher than an
equally relevant translation: on the gold set, English questions about French documents
kept landing on the one English document. Part of every embedding is a "language
direction". We estimate it at build time as the difference between the mean French and
the mean English sentence embedding (stored vectors, nothing extra to embed) and project
it out of the query vector at search time. Measured on the gold set (eval harness):
dense cross-lingual hit@5 0.76 -> 0.88.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["debias", "language_direction", "load_direction", "save_direction"]

#: Below this many sentences in either language the estimate is noise: no debiasing.
MIN_PER_LANG = 8


def language_direction(vectors: np.ndarray, langs: np.ndarray) -> np.ndarray | None:
    """Unit vector mean(fr) - mean(en) over ``vectors`` ([n, dim]) labelled by ``langs``
    (array of "fr"/"en"/"other"); None when either language has too few sentences."""
    fr, en = langs == "fr", langs == "en"
    if int(fr.sum()) < MIN_PER_LANG or int(en.sum()) < MIN_PER_LANG:
        return None
    diff = vectors[fr].mean(axis=0) - vectors[en].mean(axis=0)
    norm = float(np.linalg.norm(diff))
    return (diff / norm).astype(np.float32) if norm > 0 else None


def save_direction(path: Path, direction: np.ndarray | None) -> None:
    """Write the direction (an empty array when there is none) via a temporary name."""
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, np.zeros(0, np.float32) if direction is None else direction)
    tmp.replace(path)


def load_direction(path: Path) -> np.ndarray | None:
    """None when the file is absent or empty: search then runs without debiasing."""
    if not path.is_file():
        return None
    direction = np.load(path, allow_pickle=False)
    return direction.astype(np.float32) if direction.size else None


def debias(vector: np.ndarray, direction: np.ndarray | None) -> np.ndarray:
    """``vector`` with its component along ``direction`` removed, re-normalised."""
    if direction is None:
        return vector
    out = vector - float(vector @ direction) * direction
    norm = float(np.linalg.norm(out))
    return (out / norm).astype(np.float32) if norm > 0 else vector
