"""The suite sweep: retrieve once, fuse each candidate, keep only fusions that never lose
to one of their channels, choose on the macro average."""

from __future__ import annotations

import numpy as np
import pytest

from eval.sweep import SweepSet, sweep_suite
from index.fusion import Channels, fuse_options
from index.options import SearchOptions


class _FakeSearcher:
    """Rows are documents d0..d9; each query's channels are given."""

    def __init__(self, channels: dict[str, Channels]) -> None:
        self._channels = channels
        self.calls = 0

    def channels(self, text: str, *, depth: int) -> Channels:
        self.calls += 1
        return self._channels[text]

    def fuse(self, text: str, channels: Channels, *, options: SearchOptions):
        return fuse_options(channels, options)

    def doc_ids_of(self, rows: np.ndarray) -> list[str]:
        return [f"d{r}" for r in rows.tolist()]

    def chunk_ids_of(self, rows: np.ndarray) -> list[str]:
        return self.doc_ids_of(rows)


def _ch(dense: list[int], lex: list[int]) -> Channels:
    return Channels(
        np.array(dense),
        np.linspace(0.9, 0.5, len(dense)),
        np.array(lex),
        np.linspace(9.0, 1.0, len(lex)),
    )


def test_sweep_keeps_only_fusions_that_never_lose_to_a_channel() -> None:
    # Set "same": lexical is right (d1), dense ranks it 2nd. Set "cross": dense is right
    # (d3), lexical lists noise only: a strong lexical weight wrecks it.
    same = _FakeSearcher({"q": _ch([2, 1, 5], [1, 2])})
    cross = _FakeSearcher({"q": _ch([3, 4, 5], [7, 8, 9])})
    sets = [
        SweepSet("same", same, {"q1": "q"}, {"q1": {"d1": 1}}, unit="doc", k=10),
        SweepSet("cross", cross, {"q1": "q"}, {"q1": {"d3": 1}}, unit="doc", k=10),
    ]
    base = SearchOptions(cross_lingual=False)
    grid = [
        base.with_(fusion="rrf", fusion_k=1, lexical_weight=5.0),  # lexical dominates
        base.with_(fusion="rrf", fusion_k=1, lexical_weight=5.0, adaptive=True),
    ]
    result = sweep_suite(sets, base, grid=grid)
    assert same.calls == 1 and cross.calls == 1  # channels fetched once per query
    assert result["channels"]["cross"] == {"dense": 1.0, "lexical": 0.0}
    by_name = {r["options"]: r for r in result["rows"]}
    plain, adaptive = by_name["rrf k=1 w_lex=5"], by_name["rrf k=1 w_lex=5 adaptive"]
    # cross: the three noise documents come first, d3 fourth: nDCG@10 = 1 / log2(5)
    assert plain["sets"] == {"same": 1.0, "cross": pytest.approx(1 / np.log2(5))}
    assert not plain["admissible"] and set(plain["losses"]) == {"cross"}
    # agreement is 2/3 on "same" (d1, d2 in both top lists) and 0 on "cross": dense stands
    assert adaptive["sets"]["cross"] == 1.0 and adaptive["admissible"]
    assert result["chosen"]["options"] == "rrf k=1 w_lex=5 adaptive"
    assert "among the 1 of 2 candidates" in result["why"]


def test_sweep_over_a_real_index_matches_searcher_fuse(tmp_path) -> None:
    """The sweep's shortcut (cross-lingual substitution once per query) ranks exactly as
    Searcher.fuse does for every candidate."""
    from index_docs import make_doc

    from eval.metrics import mean_scores, score_per_query
    from eval.sweep import _ids, _measures
    from index import Indexer, Searcher
    from ingest.embed import HashEmbedder

    docs = [
        make_doc("fr1", ["La convention avec la Normandie dure six ans et couvre la cardiologie."]),
        make_doc(
            "en1", ["The Normandy agreement lasts six years and covers cardiology."], lang="en"
        ),
        make_doc("fr2", ["Le laboratoire de Lille travaille sur le diabète de type deux."]),
    ]
    Indexer(tmp_path / "d", HashEmbedder()).ingest_parsed(docs)
    searcher = Searcher.open(tmp_path / "d", HashEmbedder())
    queries = {
        "q1": "Combien de temps dure la convention avec la Normandie ?",
        "q2": "How long does the Normandy agreement last?",
    }
    qrels = {"q1": {"fr1": 1, "en1": 1}, "q2": {"fr1": 1}}
    s = SweepSet("toy", searcher, queries, qrels, unit="doc", k=10)
    grid = [
        SearchOptions(cross_lingual=c, lexical_weight=w, fusion_k=k)
        for c in (False, True)
        for w in (0.5, 2.0)
        for k in (1, 60)
    ]
    result = sweep_suite([s], SearchOptions(), grid=grid)
    for row in result["rows"]:
        opts = SearchOptions(**row["fields"])
        ranking = {
            q: _ids(searcher, searcher.fuse(t, searcher.channels(t), options=opts)[0], "doc", 10)
            for q, t in queries.items()
        }
        per_query = score_per_query(qrels, ranking, measures=_measures(), query_ids=queries)
        assert row["sets"]["toy"] == pytest.approx(mean_scores(per_query)["ndcg@10"])
