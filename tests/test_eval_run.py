"""run_eval on the gold path: its own corpus index, pooled qrels, breakdowns, /ask sweep, report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from annotated_types import Ge, Le
from pydantic import ValidationError

from eval.errors import EvalDataError
from eval.gold import load_gold
from eval.gold_scores import sweep_fusion
from eval.retrieval import CachedQueryEmbedder
from eval.run import EvalPlan, run_eval
from index.options import BOUNDS, SearchOptions
from ingest.embed import HashEmbedder
from service.settings import Settings

EN = (
    "The Lille cooperation protocol was signed in July by the university, the hospital "
    "and the institute. Alice Martin signed it for the university.\n"
)
FR = (
    "La Région Normandie et l'institut ont conclu un accord de coopération. "
    "Cet accord normand a une durée de six ans et couvre la cardiologie.\n"
)
GOLD = [
    {
        "id": "a",
        "question": "Who signed the Lille protocol for the university?",
        "lang": "en",
        "type": "factoid",
        "answerable": True,
        "doc_id": "en_doc",
        "answer": "Alice Martin",
        "answer_lang": "en",
    },
    {
        "id": "b",
        "question": "Quelle est la durée de cet accord normand ?",
        "lang": "fr",
        "type": "factoid",
        "answerable": True,
        "doc_id": "fr_doc",
        "answer": "durée de six ans",
        "answer_lang": "fr",
    },
    # English words that only the English document shares: lexical ranks the French one last
    {
        "id": "c",
        "question": "Which Lille university protocol lasts six years?",
        "lang": "en",
        "type": "paraphrase",
        "answerable": True,
        "doc_id": "fr_doc",
        "answer": "durée de six ans",
        "answer_lang": "fr",
    },
    {
        "id": "d",
        "question": "What is the budget?",
        "lang": "en",
        "type": "unanswerable",
        "answerable": False,
        "note": "no budget",
    },
]


@pytest.fixture()
def setup(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "en_doc.txt").write_text(EN, encoding="utf-8")
    (corpus / "fr_doc.txt").write_text(FR, encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in GOLD), encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", answer_threshold=0.5)
    return tmp_path, corpus, gold, settings


def _lexical_plan(tmp_path, corpus, gold) -> EvalPlan:
    """The gold set over ``corpus``, lexical mode only, no sweep."""
    return EvalPlan(
        gold_path=gold, corpus=corpus, modes=("lexical",), out=tmp_path / "reports", sweep=False
    )


def test_gold_run_scores_lexical_and_writes_report(setup):
    tmp_path, corpus, gold, settings = setup
    report = run_eval(settings, _lexical_plan(tmp_path, corpus, gold), embedder=HashEmbedder())
    metrics = json.loads((report.parent / "metrics.json").read_text(encoding="utf-8"))
    g = metrics["gold"]
    assert (g["n_questions"], g["n_answerable"], g["n_chunks"]) == (4, 3, 2)
    assert g["answer_in_no_chunk"] == []
    lexical = g["modes"]["lexical"]
    # a and b: relevant chunk first; c: the French chunk comes second (rank 2)
    assert lexical["overall"]["hit@1"] == pytest.approx(2 / 3)
    assert lexical["overall"]["mrr@10"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert lexical["by_lang_pair"]["en->fr"]["mrr@10"] == pytest.approx(0.5)
    assert lexical["by_lang_pair"]["fr->fr"]["hit@1"] == 1.0
    assert lexical["cross_lingual"]["yes"]["n"] == 1.0
    assert lexical["by_type"]["paraphrase"]["hit@5"] == 1.0
    assert "misses" not in g  # listed for hybrid only
    ask = g["ask"]
    assert ask["threshold"] == 0.5 and len(ask["per_question"]) == 4
    assert [r["threshold"] for r in ask["sweep"]][:3] == [0.0, 0.05, 0.1]
    assert ask["sweep"][0]["abstain_unanswerable"] == 0.0  # threshold 0 answers everything
    assert "fusion_sweep" not in g
    text = report.read_text(encoding="utf-8")
    assert "## Gold set (4 questions, 3 answerable)" in text and "### Quality bar" in text
    # the gold index is eval's own, beside the configured data dir
    assert (tmp_path / "data-eval" / "gold").is_dir() and not (tmp_path / "data").exists()


def test_fusion_sweep_ranks_settings(setup):
    tmp_path, corpus, gold, settings = setup
    run_eval(settings, _lexical_plan(tmp_path, corpus, gold), embedder=HashEmbedder())
    items = load_gold(gold)
    qrels = {"a": {"en_doc#c0": 1}, "b": {"fr_doc#c0": 1}, "c": {"fr_doc#c0": 1}}
    grid = {"dense_weight": (1.0,), "lexical_weight": (0.0, 1.0), "fusion_k": (1, 60)}
    rows = sweep_fusion(tmp_path / "data-eval" / "gold", HashEmbedder(), items, qrels, grid=grid)
    assert len(rows) == 4
    keys = [(-r["mrr@10"], -r["hit@1"], -r["hit@5"]) for r in rows]
    assert keys == sorted(keys)
    assert {(r["lexical_weight"], r["fusion_k"]) for r in rows} == {
        (0.0, 1),
        (0.0, 60),
        (1.0, 1),
        (1.0, 60),
    }


def test_run_eval_input_errors(setup):
    tmp_path, corpus, gold, settings = setup
    emb = HashEmbedder()
    with pytest.raises(EvalDataError, match=r"unknown mode\(s\) \['rerank@2', 'bogus'\]"):
        EvalPlan(modes=["rerank@2", "bogus"], gold_path=gold, corpus=corpus)
    # Known but not available: the reranker is off (tests), so nothing would be scored.
    with pytest.raises(EvalDataError, match="PARTNERSEARCH_RERANKER"):
        run_eval(settings, EvalPlan(modes=("rerank",), gold_path=gold, corpus=corpus), embedder=emb)
    with pytest.raises(EvalDataError, match="nothing to evaluate"):
        EvalPlan(gold=False)
    with pytest.raises(EvalDataError, match=r"corpus folder .* not found"):
        run_eval(settings, EvalPlan(gold_path=gold, corpus=tmp_path / "nope"), embedder=emb)


def test_run_eval_takes_the_plan_fields_by_keyword(setup):
    """The CLI's call: EvalPlan's fields as keywords build the plan (and its checks)."""
    tmp_path, corpus, gold, settings = setup
    emb = HashEmbedder()
    with pytest.raises(EvalDataError, match=r"unknown mode\(s\) \['bogus'\]"):
        run_eval(settings, embedder=emb, modes=["bogus"], gold_path=gold, corpus=corpus)
    with pytest.raises(EvalDataError, match="nothing to evaluate"):
        run_eval(settings, embedder=emb, gold=False)
    with pytest.raises(TypeError, match="not both"):
        run_eval(settings, EvalPlan(gold_path=gold), embedder=emb, corpus=corpus)
    plan = EvalPlan(beir=[tmp_path / "a"], modes=["lexical"], beir_max_queries={"a": 3})
    assert (plan.beir, plan.modes) == ((tmp_path / "a",), ("lexical",))
    assert plan.beir_max_queries == {"a": 3}


def test_cached_query_embedder_embeds_each_query_once_within_its_size():
    class Counting(HashEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.asked: list[list[str]] = []

        def embed_queries(self, texts: list[str]) -> np.ndarray:
            self.asked.append(list(texts))
            return super().embed_queries(texts)

    inner = Counting()
    cached = CachedQueryEmbedder(inner, size=2)
    first = cached.embed_queries(["a b", "c d", "a b"])
    again = cached.embed_queries(["c d", "a b"])
    np.testing.assert_array_equal(again, first[[1, 0]])
    assert inner.asked == [["a b", "c d"]]
    cached.embed_queries(["e f"])  # evicts "c d", the least recently used
    cached.embed_queries(["a b", "c d"])
    assert inner.asked == [["a b", "c d"], ["e f"], ["c d"]]
    assert cached.embed_queries([]).shape == (0, inner.dim)
    assert (cached.name, cached.dim, cached.fingerprint()) == (
        inner.name,
        inner.dim,
        inner.fingerprint(),
    )


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_each_retrieval_bound_is_checked_once_for_options_and_settings(name, monkeypatch):
    low, high = BOUNDS[name]
    for inside in (low, high):
        assert getattr(SearchOptions(**{name: inside}), name) == inside
        assert getattr(Settings(**{name: inside}), name) == inside
    step = 1 if isinstance(low, int) else 0.5
    for outside, word in ((low - step, "greater"), (high + step, "less")):
        with pytest.raises(ValueError, match=rf"{name} must be within"):
            SearchOptions(**{name: outside})
        # Settings check the same bounds field by field, naming the field and the bound.
        with pytest.raises(ValidationError, match=rf"{name}\n  Input should be {word} than"):
            Settings(**{name: outside})
    # The same check reads the environment: PARTNERSEARCH_<NAME>.
    monkeypatch.setenv(f"PARTNERSEARCH_{name.upper()}", str(high + step))
    with pytest.raises(ValidationError, match=rf"{name}\n  Input should be less than"):
        Settings()


def test_settings_declare_every_retrieval_option_with_its_default_and_bounds():
    fields = Settings.model_fields
    for name, default in SearchOptions().as_dict().items():
        assert fields[name].default == default
    for name, (low, high) in BOUNDS.items():
        assert fields[name].metadata == [Ge(ge=low), Le(le=high)]
    assert set(BOUNDS) < set(SearchOptions().as_dict())


def test_search_options_come_from_settings_and_default_to_the_one_home():
    s = Settings(fusion_k=7, dense_weight=0.5, lexical_weight=2.0)
    config = s.search_options_object()
    assert (config.fusion_k, config.dense_weight, config.lexical_weight) == (7, 0.5, 2.0)
    assert config.with_(fusion_k=3).sentence_weight == config.sentence_weight
    # Settings without overrides, a bare SearchOptions() and a Searcher opened without
    # options all run the same configuration.
    assert Settings().search_options_object() == SearchOptions()


@pytest.mark.slow
def test_gold_set_on_the_real_corpus_index(corpus_index_dir, real_embedder):
    """Every gold answer survives chunking, and the pool covers every chunk of the index."""
    from eval.gold_scores import evaluate_gold

    items = load_gold()
    g = evaluate_gold(
        corpus_index_dir,
        real_embedder,
        items,
        config=SearchOptions(),
        answer_threshold=0.5,
        modes=["dense", "lexical"],
        sweep=False,
    )
    assert g["answer_in_no_chunk"] == []
    assert g["pool_exhaustive"] is True
    assert g["n_answerable"] == sum(i.answerable for i in items)
    assert set(g["modes"]["dense"]["by_lang_pair"]) == {"en->en", "en->fr", "fr->en", "fr->fr"}
    assert len(g["ask"]["per_question"]) == len(items)


def test_stale_eval_index_is_rebuilt(setup):
    tmp_path, corpus, gold, settings = setup
    plan = _lexical_plan(tmp_path, corpus, gold)
    run_eval(settings, plan, embedder=HashEmbedder())
    (manifest,) = (tmp_path / "data-eval" / "gold" / "snapshots").glob("*/manifest.json")
    data = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**data, "format": -1}), encoding="utf-8")
    report = run_eval(settings, plan, embedder=HashEmbedder())
    g = json.loads((report.parent / "metrics.json").read_text(encoding="utf-8"))["gold"]
    assert g["modes"]["lexical"]["overall"]["hit@1"] == pytest.approx(2 / 3)
    assert not manifest.exists()  # the stale snapshot went with the old index
