"""The rerank stage: a cross-encoder re-scores the first passages of the fused ranking.

A cross-encoder reads the question and the passage together, so it sees what a bi-encoder
cannot (which words of the passage answer which words of the question), at the price of
one model pass per (question, passage) pair: it is only affordable over the head of a
ranking. :func:`rerank` is the pure part (easy to test with any scorer); the model that
ships is an :class:`OnnxReranker` over the artifact ``partnersearch train-reranker`` writes
(see eval/reranker.py for how it is trained and why it is small).

The reranker's score is blended with the fused score rather than replacing it: both are
min-max scaled over the head, then mixed with ``weight`` on the reranker (1 = the
reranker's order alone). The blend keeps what fusion knows (exact terms, the USE channel's
cross-lingual strength) where the cross-encoder is unsure.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ingest.errors import ModelBuildError

__all__ = [
    "RERANKER_MANIFEST",
    "OnnxReranker",
    "PairScorer",
    "RerankerInfo",
    "rerank",
]

#: Written beside the model by ``train-reranker``; read to load it.
RERANKER_MANIFEST = "reranker.json"


@runtime_checkable
class PairScorer(Protocol):
    """Anything that scores (query, passage) pairs: larger means more relevant."""

    name: str

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray: ...


def _minmax(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    low, high = float(values.min()), float(values.max())
    span = high - low
    return (values - low) / span if span > 0 else np.ones_like(values), low, span


def rerank(
    rows: np.ndarray,
    scores: np.ndarray,
    pair_scores: np.ndarray,
    *,
    weight: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Re-order the head of a ranking.

    ``rows``/``scores`` are the fused ranking, best first; ``pair_scores`` the reranker's
    scores of its first ``len(pair_scores)`` rows (the head). The head is sorted by
    ``(1 - weight) * fused + weight * reranker``, both min-max scaled over the head (ties
    keep the fused order); the rows after it keep their order, with scores placed below the
    head's. Returns (rows, scores), best first.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"rerank weight must be within [0, 1], got {weight}")
    n = len(pair_scores)
    if n > len(rows):
        raise ValueError(f"{n} reranker scores for a ranking of {len(rows)} rows")
    if n == 0:
        return rows, scores
    head = np.asarray(scores[:n], dtype=np.float64)
    fused, low, span = _minmax(head)
    pair, _, _ = _minmax(np.asarray(pair_scores, dtype=np.float64))
    blended = (1.0 - weight) * fused + weight * pair
    order = np.lexsort((np.arange(n), -blended))  # stable: ties keep the fused order
    tail = np.asarray(scores[n:], dtype=np.float64)
    # Below every head score, in fused order: the fused scale continued downward from the
    # head's lowest blended score.
    tail_scores = blended.min() - 1e-6 - (low - tail) / (span if span > 0 else 1.0)
    out_rows = np.concatenate([np.asarray(rows[:n])[order], np.asarray(rows[n:])])
    out_scores = np.concatenate([blended[order], tail_scores]).astype(np.float32)
    return out_rows, out_scores


@dataclass(frozen=True, slots=True)
class RerankerInfo:
    """What the manifest of a reranker artifact says."""

    name: str
    model_file: str
    max_tokens: int
    query_prefix: str
    passage_prefix: str
    pad_id: int
    meta: dict


def read_info(model_dir: Path) -> RerankerInfo:
    """The manifest of the artifact in ``model_dir``; ModelBuildError when absent or bad."""
    path = Path(model_dir) / RERANKER_MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RerankerInfo(
            name=str(data["name"]),
            model_file=str(data["model_file"]),
            max_tokens=int(data["max_tokens"]),
            query_prefix=str(data["query_prefix"]),
            passage_prefix=str(data["passage_prefix"]),
            pad_id=int(data["pad_id"]),
            meta=dict(data),
        )
    except FileNotFoundError as exc:
        raise ModelBuildError(
            f"no reranker in {model_dir} ({RERANKER_MANIFEST} missing); "
            "build one with partnersearch train-reranker"
        ) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelBuildError(f"unreadable reranker manifest {path}: {exc}") from exc


class OnnxReranker:
    """The trained cross-encoder: tokenise each (query, passage) pair, one ONNX pass each.

    Pairs are cut to the manifest's ``max_tokens`` (the longer side loses tokens first).
    Each pair is its own pass, unpadded: the int8 graph quantizes activations with one
    scale per tensor, so in a padded batch a pair's score moved with its neighbours; one
    pair per pass makes a score depend on its pair only (tests/test_rerank.py checks it),
    at some cost in time (README, "Rerank stage"). Thread-safe: onnxruntime sessions may
    run concurrently; the tokenizer is guarded by a lock.
    """

    def __init__(self, model_dir: Path, *, threads: int = 2) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - both are dependencies
            raise ModelBuildError(f"the reranker needs onnxruntime and tokenizers: {exc}") from exc
        model_dir = Path(model_dir)
        self.info = read_info(model_dir)
        self.name = self.info.name
        self.model_dir = model_dir
        try:
            tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(
                str(model_dir / self.info.model_file), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelBuildError(f"cannot load the reranker in {model_dir}: {exc}") from exc
        tokenizer.enable_truncation(self.info.max_tokens, strategy="longest_first")
        self._tokenizer = tokenizer
        self._lock = threading.Lock()

    def pairs(self, query: str, passages: Sequence[str]) -> list[tuple[str, str]]:
        """The texts the model reads, with the prefixes it was trained with."""
        q = self.info.query_prefix + query
        return [(q, self.info.passage_prefix + p) for p in passages]

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        """One logit per passage (larger: more relevant)."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch(self.pairs(query, passages))
        out = np.empty(len(encodings), dtype=np.float32)
        for i, encoding in enumerate(encodings):
            ids = np.asarray([encoding.ids], dtype=np.int64)
            (logits,) = self._session.run(
                None, {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            )
            out[i] = float(np.asarray(logits).reshape(-1)[0])
        return out
