"""The second dense channel (USE multilingual v3): embedder, snapshot files and manifest,
turning it on and off on an existing index, search mode "use", fusion of three rankings,
the suite sweep with it, and the service with it on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from index_docs import make_doc

from eval.sweep import USE_WEIGHTS, SweepSet, candidate_grid, sweep_suite
from index import Indexer, Searcher
from index import snapshot as snap
from index.errors import IndexMismatchError, QueryError
from index.fusion import Channels, fuse, fuse_options
from index.options import SearchOptions
from ingest.embed import HashEmbedder, UseEmbedder
from service import create_app
from service.settings import Settings

DOCS = [
    make_doc("a", ["Convention de partenariat avec la Région Normandie pour six ans."]),
    make_doc("b", ["Le laboratoire de Lille travaille avec trois entreprises."], lang="fr"),
    make_doc("c", ["The Lyon hospital signed a research agreement."], lang="en"),
]


def _use() -> HashEmbedder:
    """A stand-in for USE: another model name and dimension than the e5 stand-in."""
    return HashEmbedder(dim=32)


def _manifest(data_dir: Path) -> dict:
    ref = snap.current(data_dir)
    assert ref is not None
    return ref.manifest


# -- the real embedder -------------------------------------------------------------------


@pytest.fixture(scope="module")
def use_model() -> UseEmbedder:
    return UseEmbedder()


def test_use_embedder_vectors_are_normalised_and_cross_lingual(use_model: UseEmbedder) -> None:
    vecs = use_model.embed_passages(
        [
            "L'accord de partenariat dure six ans.",
            "The partnership agreement lasts six years.",
            "Le chat dort sur le canapé.",
            "",
        ]
    )
    assert vecs.shape == (4, 512) and vecs.dtype == np.float32
    assert np.linalg.norm(vecs, axis=1) == pytest.approx([1.0] * 4, abs=1e-5)
    # The French sentence is nearer its English translation than an unrelated French one.
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2
    query = use_model.embed_queries(["durée de l'accord"])
    assert query.shape == (1, 512)
    assert use_model.count_tokens("six ans") >= 3
    assert use_model.fingerprint() == use_model.fingerprint()
    assert use_model.name == "use-multilingual-v3" and use_model.dim == 512


# -- snapshot, manifest, search -----------------------------------------------------------


def test_index_with_use_records_it_and_searches_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    report = Indexer(data, HashEmbedder(), use_embedder=_use()).ingest_parsed(DOCS)
    manifest = _manifest(data)
    assert manifest["use"]["model"] == "hash-32" and manifest["use"]["dim"] == 32
    ref = snap.current(data)
    assert (ref.path / snap.CHUNKS_USE_FAISS).is_file()
    assert (ref.path / snap.SENTENCES_USE_FAISS).is_file()
    assert report.chunks == 3

    searcher = Searcher.open(data, HashEmbedder(), use_embedder=_use())
    assert searcher.has_use
    hits = searcher.search("Normandie six ans", k=3, mode="use")
    assert hits[0].doc_id == "a"
    assert set(hits[0].ranks) == {"use"}
    fused = searcher.search("Normandie six ans", k=3, mode="hybrid")
    assert fused[0].doc_id == "a"
    assert set(fused[0].ranks) == {"dense", "lexical", "use"}
    channels = searcher.channels("Normandie six ans")
    assert channels.use_rows is not None and len(channels.use_rows) == 3


def test_without_the_channel_mode_use_is_a_clear_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Indexer(data, HashEmbedder()).ingest_parsed(DOCS)
    assert "use" not in _manifest(data)
    searcher = Searcher.open(data, HashEmbedder())
    assert not searcher.has_use
    with pytest.raises(QueryError, match="PARTNERSEARCH_USE_CHANNEL"):
        searcher.search("Normandie", mode="use")
    assert searcher.channels("Normandie").use_rows is None
    # Asking for the channel on an index without its vectors is refused, naming the fix.
    with pytest.raises(IndexMismatchError, match=r"without the USE channel.*ingest"):
        Searcher.open(data, HashEmbedder(), use_embedder=_use())


def test_turning_the_channel_on_adds_vectors_without_reembedding_e5(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Indexer(data, HashEmbedder()).ingest_parsed(DOCS)
    before = _manifest(data)["snapshot_id"]

    report = Indexer(data, HashEmbedder(), use_embedder=_use()).ingest_parsed(DOCS)
    assert report.unchanged == ["a", "b", "c"]
    assert report.chunks_embedded == 0 and report.sentences_embedded == 0
    manifest = _manifest(data)
    assert manifest["snapshot_id"] != before and manifest["use"]["model"] == "hash-32"
    searcher = Searcher.open(data, HashEmbedder(), use_embedder=_use())
    assert searcher.search("Lyon hospital agreement", k=1, mode="use")[0].doc_id == "c"

    # A new document then gets USE vectors of its own; the kept ones are reused.
    more = make_doc("d", ["Accord avec l'université de Rennes sur la génomique."])
    Indexer(data, HashEmbedder(), use_embedder=_use()).ingest_parsed([*DOCS, more])
    searcher = Searcher.open(data, HashEmbedder(), use_embedder=_use())
    assert searcher.search("Rennes génomique", k=1, mode="use")[0].doc_id == "d"

    # Turning it off publishes a snapshot without the channel.
    Indexer(data, HashEmbedder()).ingest_parsed([*DOCS, more])
    assert "use" not in _manifest(data)
    assert not (snap.current(data).path / snap.CHUNKS_USE_FAISS).exists()


def test_another_use_model_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Indexer(data, HashEmbedder(), use_embedder=_use()).ingest_parsed(DOCS)
    with pytest.raises(IndexMismatchError, match="hash-32"):
        Searcher.open(data, HashEmbedder(), use_embedder=HashEmbedder(dim=48))


# -- fusion of three rankings -----------------------------------------------------------

CH3 = Channels(
    dense_rows=np.array([1, 2]),
    dense_scores=np.array([0.9, 0.5]),
    lex_rows=np.array([3]),
    lex_scores=np.array([4.0]),
    use_rows=np.array([2, 3]),
    use_scores=np.array([0.8, 0.4]),
)


def _fuse3(method: str, **weights: float) -> tuple[list[int], list[float]]:
    opts = {"dense_weight": 1.0, "lexical_weight": 1.0, "use_weight": 1.0} | weights
    rows, scores = fuse(CH3, method=method, k=10, adaptive=False, agreement_depth=10, **opts)
    return rows.tolist(), scores.tolist()


def test_rrf_adds_the_weighted_use_ranking() -> None:
    rows, scores = _fuse3("rrf", use_weight=2.0)
    # row 2: 1/12 + 2/11; row 3: 1/11 + 2/12; row 1: 1/11
    assert rows == [2, 3, 1]
    assert scores == pytest.approx([1 / 12 + 2 / 11, 1 / 11 + 2 / 12, 1 / 11])
    # Weight 0 is fusion without the channel.
    assert _fuse3("rrf", use_weight=0.0)[0] == [1, 3, 2]


def test_convex_adds_the_min_max_scaled_use_scores() -> None:
    rows, scores = _fuse3("convex", lexical_weight=0.5)
    # dense01: 1 -> 1, 2 -> 0; use01: 2 -> 1, 3 -> 0; bm25/max: 3 -> 1 (x 0.5)
    assert dict(zip(rows, scores, strict=True)) == pytest.approx({1: 1.0, 2: 1.0, 3: 0.5})


def test_use_weight_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match=r"use_weight must be within \[0.0, 10.0\], got -1.0"):
        SearchOptions(use_weight=-1.0)


# -- the sweep with three channels --------------------------------------------------------


class _FakeSearcher:
    """Channels fixed per query; rows are chunk ids 'r<row>'."""

    def __init__(self, channels: dict[str, Channels]) -> None:
        self._channels = channels

    def channels(self, text: str, depth: int) -> Channels:
        return self._channels[text]

    def fuse(self, query: str, channels: Channels, *, options: SearchOptions):
        return fuse_options(channels, options)

    def chunk_ids_of(self, rows: np.ndarray) -> list[str]:
        return [f"r{int(r)}" for r in rows]


def test_sweep_scores_the_use_channel_and_its_weights() -> None:
    # USE alone finds the answer (row 7) first; dense and lexical put it last.
    ch = Channels(
        dense_rows=np.array([1, 2, 7]),
        dense_scores=np.array([0.9, 0.8, 0.7]),
        lex_rows=np.array([2, 1, 7]),
        lex_scores=np.array([3.0, 2.0, 1.0]),
        use_rows=np.array([7, 1, 2]),
        use_scores=np.array([0.9, 0.5, 0.4]),
    )
    s = SweepSet(
        name="toy",
        searcher=_FakeSearcher({"q": ch}),  # query id q1 has the text "q"
        queries={"q1": "q"},
        qrels={"q1": {"r7": 1}},
        unit="chunk",
        k=10,
    )
    grid = [SearchOptions(fusion_k=10, lexical_weight=1.0, use_weight=w) for w in (0.0, 2.0)]
    result = sweep_suite([s], SearchOptions(), grid=grid)
    assert set(result["channels"]["toy"]) == {"dense", "lexical", "use"}
    assert result["channels"]["toy"]["use"] == pytest.approx(1.0)
    assert result["chosen"]["fields"]["use_weight"] == 2.0
    assert "w_use=2" in result["chosen"]["options"]
    # Without weight on USE, fusion loses to the USE channel: not admissible.
    worst = next(r for r in result["rows"] if r["fields"]["use_weight"] == 0.0)
    assert not worst["admissible"] and "toy" in worst["losses"]


def test_candidate_grid_with_use_tries_every_use_weight() -> None:
    plain = candidate_grid(SearchOptions())
    with_use = candidate_grid(SearchOptions(), use=True)
    assert len(with_use) == len(plain) * len(USE_WEIGHTS)
    assert {o.use_weight for o in with_use} == set(USE_WEIGHTS)


# -- the service -------------------------------------------------------------------------


def test_service_with_the_channel_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Indexer(data, HashEmbedder(), use_embedder=_use()).ingest_parsed(DOCS)
    settings = Settings(
        data_dir=data, cache=tmp_path / "cache", use_channel=True, refresh_interval_s=0.0
    )
    app = create_app(settings, embedder=HashEmbedder(), use_embedder=_use())
    with TestClient(app) as client:
        got = client.post("/search", json={"query": "Normandie six ans", "mode": "use"})
        assert got.status_code == 200, got.text
        assert got.json()["results"][0]["doc_id"] == "a"
        hybrid = client.post("/search", json={"query": "Normandie six ans"})
        assert hybrid.status_code == 200 and hybrid.json()["results"][0]["doc_id"] == "a"
        assert client.app.state.service.searcher().has_use
        assert client.get("/health").json()["channels"] == ["dense", "lexical", "use"]


def test_service_without_the_channel_answers_mode_use_with_422(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Indexer(data, HashEmbedder()).ingest_parsed(DOCS)
    settings = Settings(data_dir=data, cache=tmp_path / "cache", refresh_interval_s=0.0)
    with TestClient(create_app(settings, embedder=HashEmbedder())) as client:
        got = client.post("/search", json={"query": "Normandie", "mode": "use"})
        assert got.status_code == 422
        assert got.json()["error"]["code"] == "invalid_query"
        assert "PARTNERSEARCH_USE_CHANNEL" in got.json()["error"]["message"]
        assert client.get("/health").json()["channels"] == ["dense", "lexical"]


# -- /similar with both channels ---------------------------------------------------------

LIST_DOC = make_doc(
    "l",
    [
        "Cardiologie.",
        "Immunologie.",
        "Les équipes de cardiologie et d'immunologie mutualisent leurs plateformes.",
    ],
)


def test_similar_leaves_out_fragments_unless_the_draft_is_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Indexer(data, HashEmbedder()).ingest_parsed([LIST_DOC])
    searcher = Searcher.open(data, HashEmbedder())
    hits = searcher.similar("cardiologie et immunologie mutualisent les plateformes", k=5)
    assert [h.text for h in hits] == [
        "Les équipes de cardiologie et d'immunologie mutualisent leurs plateformes."
    ]
    short = searcher.similar("Cardiologie", k=5)
    assert short[0].text == "Cardiologie."  # a one-word draft may find one-word wording
    assert len(searcher.similar("cardiologie et immunologie mutualisent", k=5, min_words=1)) == 3


def test_similar_fuses_e5_and_use_sentence_rankings(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Indexer(data, HashEmbedder(), use_embedder=_use()).ingest_parsed(DOCS)
    draft = "convention de partenariat avec la région pour six ans"
    with_use = Searcher.open(data, HashEmbedder(), use_embedder=_use())
    hits = with_use.similar(draft, k=3)
    # The same rule as search: w_dense / (k + rank_e5) + w_use / (k + rank_use).
    e5 = [h.sentence_id for h in Searcher.open(data, HashEmbedder()).similar(draft, k=3)]
    state = with_use._state
    _, use_vids = state.sentence_use.search(_use().embed_queries([draft])[0], 3)
    use = [state.sentences.key(int(r), state.doc_ids) for r in state.sentences.rows_of(use_vids)]
    opts = with_use.options
    expected: dict[str, float] = {}
    for weight, ranked in ((opts.dense_weight, e5), (opts.use_weight, use)):
        for rank, sid in enumerate(ranked, start=1):
            expected[sid] = expected.get(sid, 0.0) + weight / (opts.fusion_k + rank)
    assert {h.sentence_id: h.score for h in hits} == pytest.approx(expected)
    assert hits[0].doc_id == "a"
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_the_channel_ships_on() -> None:
    # tests/conftest.py turns it off for fake-embedder tests through the environment.
    assert Settings.model_fields["use_channel"].default is True
