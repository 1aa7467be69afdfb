"""The learned /ask models: a sentence selector and an abstention calibrator, as one JSON file.

Both are logistic regressions fitted by scikit-learn (``partnersearch train-answerer``)
and stored as plain numbers — feature names, standardisation, weights — so serving
needs numpy only, the file is a few kB a reviewer can read, and nothing is unpickled.
Loading checks that the feature names are exactly the ones the code computes, so an
artifact from another feature set is refused instead of silently misread.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from service.errors import AnswerModelError

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MODEL_PATH",
    "FORMAT",
    "REBUILD_COMMAND",
    "AnswerModel",
    "LinearModel",
    "default_answer_model",
    "load_answer_model",
]

#: The shipped artifact (package data).
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "data" / "answerer.json"
FORMAT = "partnersearch-answerer/1"
REBUILD_COMMAND = "partnersearch train-answerer"


@dataclass(frozen=True, slots=True)
class LinearModel:
    """logit = intercept + sum(coef * (x - mean) / scale); probability = logistic(logit)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def logits(self, x: np.ndarray) -> np.ndarray:
        """``x``: [n, len(features)] float array -> [n] logits."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"expected [n, {len(self.features)}] features, got {x.shape}")
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.coef) + self.intercept

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(x)))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(v, 6) for v in self.mean],
            "scale": [round(v, 6) for v in self.scale],
            "coef": [round(v, 6) for v in self.coef],
            "intercept": round(self.intercept, 6),
        }

    @classmethod
    def from_json(cls, raw: Any, *, where: str, expected: Sequence[str]) -> LinearModel:
        if not isinstance(raw, dict):
            raise AnswerModelError(f"{where} is not an object")
        try:
            features = tuple(str(f) for f in raw["features"])
            arrays = [tuple(float(v) for v in raw[k]) for k in ("mean", "scale", "coef")]
            intercept = float(raw["intercept"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AnswerModelError(f"{where} is malformed ({exc!r})") from exc
        if features != tuple(expected):
            raise AnswerModelError(
                f"{where} was trained on features {list(features)}, the code computes "
                f"{list(expected)}"
            )
        values = [*(v for a in arrays for v in a), intercept]
        if any(len(a) != len(features) for a in arrays) or not all(
            math.isfinite(v) for v in values
        ):
            raise AnswerModelError(f"{where} has arrays of the wrong length or non-finite numbers")
        if any(s <= 0 for s in arrays[1]):
            raise AnswerModelError(f"{where} has a non-positive scale")
        return cls(features, arrays[0], arrays[1], arrays[2], intercept)


@dataclass(frozen=True, slots=True)
class AnswerModel:
    """The selector scores candidate sentences; the abstainer turns the best one into a
    confidence that the question is answered by the passages at all."""

    selector: LinearModel
    abstainer: LinearModel
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        body = {
            "format": FORMAT,
            "selector": self.selector.to_json(),
            "abstainer": self.abstainer.to_json(),
            "meta": self.meta,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def load_answer_model(path: Path) -> AnswerModel:
    """Read an artifact written by :meth:`AnswerModel.save`.

    Raises AnswerModelError naming the file and the command that rebuilds it when the
    file is missing, unreadable, not JSON, or made for other features.
    """
    from service.answer_features import CONFIDENCE_FEATURES, SENTENCE_FEATURES

    path = Path(path)
    fix = f"rebuild it with `{REBUILD_COMMAND} --out {path}` (see README, /ask quality)"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AnswerModelError(f"answer model {path} not found; {fix}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnswerModelError(f"answer model {path} is unreadable ({exc}); {fix}") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        got = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise AnswerModelError(f"answer model {path} has format {got!r}, not {FORMAT!r}; {fix}")
    try:
        selector = LinearModel.from_json(
            raw.get("selector"), where="its selector", expected=SENTENCE_FEATURES
        )
        abstainer = LinearModel.from_json(
            raw.get("abstainer"), where="its abstainer", expected=CONFIDENCE_FEATURES
        )
    except AnswerModelError as exc:
        raise AnswerModelError(f"answer model {path}: {exc}; {fix}") from exc
    meta = raw.get("meta") if isinstance(raw.get("meta"), dict) else {}
    logger.info("loaded answer model %s (%s)", path, meta.get("trained", "no date"))
    return AnswerModel(selector=selector, abstainer=abstainer, meta=meta)


@lru_cache(maxsize=1)
def default_answer_model() -> AnswerModel:
    """The shipped artifact, read once (for callers that do not pass a model)."""
    return load_answer_model(DEFAULT_MODEL_PATH)
