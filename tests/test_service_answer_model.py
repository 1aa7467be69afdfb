"""The /ask model artifact: the shipped one loads; a missing or corrupt one is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from ingest.embed import HashEmbedder
from service import create_app
from service.answer_features import CONFIDENCE_FEATURES, SENTENCE_FEATURES
from service.answer_model import (
    DEFAULT_MODEL_PATH,
    AnswerModel,
    LinearModel,
    default_answer_model,
    load_answer_model,
)
from service.errors import AnswerModelError
from service.settings import Settings

REBUILD = r"partnersearch train-answerer --out "


def _linear(features: tuple[str, ...], coef: float = 0.5) -> LinearModel:
    n = len(features)
    return LinearModel(features, (0.0,) * n, (1.0,) * n, (coef,) * n, -1.0)


def _model() -> AnswerModel:
    return AnswerModel(_linear(SENTENCE_FEATURES), _linear(CONFIDENCE_FEATURES), {"note": "test"})


def test_the_shipped_artifact_loads_is_small_and_matches_the_features():
    assert DEFAULT_MODEL_PATH.stat().st_size < 100_000
    model = default_answer_model()
    assert model.selector.features == SENTENCE_FEATURES
    assert model.abstainer.features == CONFIDENCE_FEATURES
    assert "command" in model.meta


def test_save_then_load_gives_the_same_model_and_logits(tmp_path: Path):
    path = tmp_path / "m.json"
    _model().save(path)
    loaded = load_answer_model(path)
    assert loaded == _model()
    x = np.ones((2, len(SENTENCE_FEATURES)))
    assert loaded.selector.logits(x) == pytest.approx([0.5 * len(SENTENCE_FEATURES) - 1.0] * 2)


def test_missing_artifact_names_the_file_and_the_command(tmp_path: Path):
    path = tmp_path / "absent.json"
    with pytest.raises(AnswerModelError, match=rf"{path} not found; rebuild it with `{REBUILD}"):
        load_answer_model(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "is unreadable"),
        ('["a list"]', "has format 'list'"),
        ('{"format": "other/9"}', "has format 'other/9'"),
    ],
)
def test_corrupt_artifact_is_refused(tmp_path: Path, content: str, reason: str):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(AnswerModelError, match=rf"{path} {reason}.*{REBUILD}"):
        load_answer_model(path)


def _drop_last_feature(raw: dict) -> None:
    raw["selector"]["features"] = raw["selector"]["features"][:-1]


def _zero_scale(raw: dict) -> None:
    raw["abstainer"]["scale"][0] = 0.0


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (_drop_last_feature, "selector was trained on features"),
        (_zero_scale, "abstainer has a non-positive scale"),
    ],
)
def test_artifact_for_other_features_or_with_bad_numbers_is_refused(
    tmp_path: Path, spoil, reason: str
):
    path = tmp_path / "spoilt.json"
    _model().save(path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    spoil(raw)
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(AnswerModelError, match=reason):
        load_answer_model(path)


def test_service_refuses_to_start_without_its_artifact(tmp_path: Path):
    missing = tmp_path / "nowhere" / "answerer.json"
    settings = Settings(data_dir=tmp_path / "data", cache=tmp_path / "cache", answer_model=missing)
    app = create_app(settings, embedder=HashEmbedder())
    with pytest.raises(AnswerModelError, match=rf"{missing} not found"), TestClient(app):
        pass
