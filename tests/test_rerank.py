"""The rerank stage: the pure re-ordering, the Searcher's "rerank" mode on a fake scorer
(N bounds, what is scored, errors), the service and eval with it, and the shipped model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from index_docs import sample_docs

from index import Indexer, Searcher
from index.errors import QueryError
from index.options import SearchOptions
from index.rerank import OnnxReranker, PairScorer, rerank
from ingest.embed import HashEmbedder
from ingest.errors import ModelBuildError
from service import create_app
from service.settings import Settings
from service.wiring import DEFAULT_RERANKER_DIR


class WordScorer:
    """Scores a passage by how many times it holds ``word``; records every call."""

    name = "word-scorer"

    def __init__(self, word: str) -> None:
        self.word = word.casefold()
        self.calls: list[tuple[str, list[str]]] = []

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        self.calls.append((query, list(passages)))
        return np.array([p.casefold().count(self.word) for p in passages], dtype=np.float32)


# -- the pure function ----------------------------------------------------------------------


def test_rerank_orders_the_head_by_the_blend_and_keeps_the_tail() -> None:
    rows = np.array([10, 11, 12, 13, 14])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    pair = np.array([0.0, 0.0, 5.0])  # the head: the first three rows
    out_rows, out_scores = rerank(rows, scores, pair, weight=1.0)
    # Weight 1: the reranker's order inside the head; ties keep the fused order.
    assert out_rows.tolist() == [12, 10, 11, 13, 14]
    assert out_scores[:3].tolist() == [1.0, 0.0, 0.0]
    assert (out_scores[3:] < out_scores[:3].min()).all()
    assert out_scores[3] > out_scores[4]


def test_rerank_weight_zero_keeps_the_fused_order_and_half_blends() -> None:
    rows = np.array([1, 2, 3])
    scores = np.array([3.0, 2.0, 1.0])
    pair = np.array([0.0, 0.6, 1.0])
    assert rerank(rows, scores, pair, weight=0.0)[0].tolist() == [1, 2, 3]
    # 0.5: fused scaled (1, .5, 0), reranker scaled (0, .6, 1) -> .5, .55, .5
    out_rows, out_scores = rerank(rows, scores, pair, weight=0.5)
    assert out_rows.tolist() == [2, 1, 3]
    assert out_scores.tolist() == pytest.approx([0.55, 0.5, 0.5])


def test_rerank_bounds() -> None:
    rows, scores = np.array([1, 2]), np.array([2.0, 1.0])
    with pytest.raises(ValueError, match="3 reranker scores for a ranking of 2"):
        rerank(rows, scores, np.zeros(3), weight=0.5)
    with pytest.raises(ValueError, match="weight"):
        rerank(rows, scores, np.zeros(2), weight=1.5)
    same_rows, same_scores = rerank(rows, scores, np.zeros(0), weight=0.5)
    assert same_rows.tolist() == [1, 2] and same_scores.tolist() == [2.0, 1.0]


@pytest.mark.parametrize(
    "field,value",
    [("rerank_top_n", 0), ("rerank_top_n", 201), ("rerank_weight", -0.1), ("rerank_weight", 1.1)],
)
def test_rerank_options_are_bounded(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        SearchOptions(**{field: value})
    with pytest.raises(ValueError):
        Settings(**{field: value})


# -- the Searcher ---------------------------------------------------------------------------


@pytest.fixture()
def index_dir(tmp_path: Path) -> Path:
    Indexer(tmp_path / "data", HashEmbedder()).ingest_parsed(sample_docs())
    return tmp_path / "data"


def test_rerank_mode_scores_only_the_top_n_and_reorders(index_dir: Path) -> None:
    scorer = WordScorer("")
    searcher = Searcher.open(
        index_dir, HashEmbedder(), reranker=scorer, rerank_top_n=3, rerank_weight=1.0
    )
    query = "cooperation agreement Inserm"
    hybrid = searcher.search(query, k=8, mode="hybrid")
    assert len(hybrid) > 3
    # The scorer favours the third passage of the fused head: a word only it holds.
    words = {w for h in hybrid[:2] for w in h.text.casefold().split()}
    scorer.word = next(w for w in hybrid[2].text.casefold().split() if w not in words)
    reranked = searcher.search(query, k=8, mode="rerank")
    assert len(scorer.calls) == 1
    seen_query, seen = scorer.calls[0]
    assert seen_query == query
    assert seen == [h.text for h in hybrid[:3]]  # the fused head, nothing more
    expected = [hybrid[2].chunk_id, hybrid[0].chunk_id, hybrid[1].chunk_id]
    assert [h.chunk_id for h in reranked[:3]] == expected
    # Beyond the head the fused order stands, scored below the head.
    assert [h.chunk_id for h in reranked[3:]] == [h.chunk_id for h in hybrid[3:]]
    assert max(h.score for h in reranked[3:]) < min(h.score for h in reranked[:3])


def test_rerank_head_is_not_cut_by_the_channel_depth(index_dir: Path) -> None:
    scorer = WordScorer("six")
    searcher = Searcher.open(index_dir, HashEmbedder(), reranker=scorer, depth=1, rerank_top_n=4)
    searcher.search("accord six ans Inserm Lille", k=1, mode="rerank")
    assert len(scorer.calls[0][1]) == min(4, searcher.counts()["chunks"]) > 1


def test_rerank_mode_setting_needs_the_reranker() -> None:
    with pytest.raises(ValueError, match="ASK_MODE = rerank needs the reranker"):
        Settings(reranker=False, ask_mode="rerank")
    with pytest.raises(ValueError, match="DEFAULT_MODE = rerank needs the reranker"):
        Settings(reranker=False, default_mode="rerank")
    assert Settings(reranker=True, default_mode="rerank").default_mode == "rerank"


def test_rerank_mode_with_k_below_top_n_returns_k(index_dir: Path) -> None:
    scorer = WordScorer("six")
    searcher = Searcher.open(index_dir, HashEmbedder(), reranker=scorer, rerank_top_n=20)
    hits = searcher.search("accord six ans", k=2, mode="rerank")
    assert len(hits) == 2
    n_chunks = searcher.counts()["chunks"]
    assert len(scorer.calls[0][1]) == min(20, n_chunks)


def test_rerank_mode_without_reranker_is_refused(index_dir: Path) -> None:
    searcher = Searcher.open(index_dir, HashEmbedder())
    with pytest.raises(QueryError, match="mode 'rerank' needs the reranker"):
        searcher.search("accord", mode="rerank")


def test_with_options_shares_the_snapshot(index_dir: Path) -> None:
    scorer = WordScorer("lille")
    searcher = Searcher.open(index_dir, HashEmbedder(), reranker=scorer)
    view = searcher.with_options(rerank_weight=0.0)
    assert view.options.rerank_weight == 0.0
    assert searcher.options.rerank_weight == SearchOptions().rerank_weight
    assert view.snapshot_id == searcher.snapshot_id
    fused = [h.chunk_id for h in searcher.search("Inserm", k=5, mode="hybrid")]
    assert [h.chunk_id for h in view.search("Inserm", k=5, mode="rerank")] == fused


# -- the service ----------------------------------------------------------------------------


def _client(index_dir: Path, tmp_path: Path, reranker: PairScorer | None, **extra) -> TestClient:
    settings = Settings(
        data_dir=index_dir,
        cache=tmp_path / "cache",
        reranker=reranker is not None,
        rerank_weight=1.0,
        **extra,
    )
    return TestClient(create_app(settings, embedder=HashEmbedder(), reranker=reranker))


def test_api_rerank_mode_in_search_ask_and_health(index_dir: Path, tmp_path: Path) -> None:
    scorer = WordScorer("delegation")
    with _client(index_dir, tmp_path, scorer) as client:
        assert "rerank" in client.get("/health").json()["channels"]
        body = {"query": "cooperation agreement Inserm", "k": 3}
        hybrid = client.post("/search", json=body).json()["results"]
        reranked = client.post("/search", json={**body, "mode": "rerank"}).json()["results"]
        assert "delegation" in reranked[0]["text"].casefold()
        assert [r["chunk_id"] for r in hybrid] != [r["chunk_id"] for r in reranked]
        calls = len(scorer.calls)
        asked = client.post("/ask", json={"question": "How many staff?", "mode": "rerank"})
        assert asked.status_code == 200
        assert len(scorer.calls) == calls + 1


def test_api_ask_mode_setting_is_the_default(index_dir: Path, tmp_path: Path) -> None:
    scorer = WordScorer("staff")
    with _client(index_dir, tmp_path, scorer, ask_mode="rerank") as client:
        assert client.post("/ask", json={"question": "How many staff?"}).status_code == 200
        assert len(scorer.calls) == 1
        client.post("/ask", json={"question": "How many staff?", "mode": "hybrid"})
        assert len(scorer.calls) == 1


def test_api_rerank_mode_without_reranker_is_a_clear_error(index_dir: Path, tmp_path: Path) -> None:
    with _client(index_dir, tmp_path, None) as client:
        assert "rerank" not in client.get("/health").json()["channels"]
        response = client.post("/search", json={"query": "accord", "mode": "rerank"})
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "invalid_query"
        assert "PARTNERSEARCH_RERANKER" in error["message"]
        bad = client.post("/ask", json={"question": "accord ?", "mode": "dense"})
        assert bad.status_code == 422


# -- eval -----------------------------------------------------------------------------------


def test_eval_reports_rerank_modes_beside_the_others(tmp_path: Path) -> None:
    from test_eval_beir import write_beir  # the small BEIR set of the BEIR tests

    from eval.beir import evaluate_beir, load_beir
    from eval.retrieval import CachedPairScorer, available_modes

    dataset = load_beir(write_beir(tmp_path / "set"))
    inner = WordScorer("stromal")  # only d2, the relevant document of q2, holds the word
    section = evaluate_beir(
        dataset,
        tmp_path / "work",
        HashEmbedder(),
        Settings(data_dir=tmp_path / "d", cache=tmp_path / "c", rerank_weight=0.0),
        modes=["hybrid", "rerank", "rerank@1"],
        reranker=CachedPairScorer(inner),
    )
    modes = section["modes"]
    assert list(modes) == ["hybrid", "rerank", "rerank@1"]
    assert modes["rerank"] == modes["hybrid"]  # weight 0: the fused order
    # Weight 1: d2 first for both queries: q2's MRR 1, q1's relevant d1 second (0.5).
    assert modes["rerank@1"]["mrr@10"] == pytest.approx(0.75)
    # The second weight re-ranks the same heads: every pair reached the model once.
    pairs = [(q, t) for q, ps in inner.calls for t in ps]
    assert len(pairs) == len(set(pairs)) == 2 * 4
    assert available_modes(["hybrid", "rerank", "rerank@0.3"], None, None) == ["hybrid"]


# -- the shipped model ----------------------------------------------------------------------


def test_shipped_reranker_is_small_documented_and_prefers_the_answer() -> None:
    files = {p.name: p.stat().st_size for p in DEFAULT_RERANKER_DIR.iterdir()}
    assert sum(files.values()) <= 40 * 1024 * 1024
    manifest = json.loads((DEFAULT_RERANKER_DIR / "reranker.json").read_text(encoding="utf-8"))
    assert manifest["command"].startswith("partnersearch train-reranker")
    assert "PIAF" in manifest["data"]["source"]
    model = OnnxReranker(DEFAULT_RERANKER_DIR, threads=1)
    scores = model.score(
        "Combien de temps dure l'accord avec la Normandie ?",
        [
            "Le laboratoire de Lille travaille avec trois entreprises pharmaceutiques.",
            "La convention entre la Région Normandie et l'Inserm est conclue pour six ans.",
        ],
    )
    assert scores.shape == (2,) and scores[1] > scores[0]
    assert model.score("question", []).shape == (0,)
    # A pair's score is its own: the same with or without neighbours of other lengths.
    alone = model.score("accord Normandie", ["La convention dure six ans."])
    beside = model.score("accord Normandie", ["La convention dure six ans.", "court " * 80])
    assert alone[0] == pytest.approx(beside[0], abs=1e-5)


def test_missing_reranker_artifact_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelBuildError, match="train-reranker"):
        OnnxReranker(tmp_path)
