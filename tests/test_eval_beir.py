"""BEIR-format datasets: loading, the one-passage-per-document index, scores and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.beir import (
    beir_file_name,
    evaluate_beir,
    load_beir,
    passages,
    rank_documents,
    write_beir_corpus,
)
from eval.errors import EvalDataError
from ingest.embed import HashEmbedder
from service.settings import Settings

DOCS = [
    {
        "_id": "d1",
        "title": "Cardiology",
        "text": "Beta blockers reduce heart failure mortality.",
        "metadata": {"lang": "en"},
    },
    {
        "_id": "d2",
        "title": "Oncology",
        "text": "Stromal cells drive chemotherapy resistance.",
        "metadata": {"lang": "en"},
    },
    {"_id": "d3", "title": "Diabète", "text": "La greffe d'îlots soigne le diabète sévère."},
    {"_id": "d4", "title": "", "text": "Unrelated text about volcanic geology and basalt."},
]
QUERIES = [
    {"_id": "q1", "text": "beta blockers heart failure"},
    {"_id": "q2", "text": "zebra migration patterns"},  # shares no word with its relevant doc
    {"_id": "q3", "text": "a query without judgments"},
]
QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\nq2\td4\t0\n"

#: The CLI's embedders seam (no monkeypatching): a HashEmbedder, no USE channel.
FAKE_EMBEDDERS = {"embedders": lambda settings: (HashEmbedder(), None)}


def write_beir(root: Path, qrels: str = QRELS) -> Path:
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in DOCS), encoding="utf-8"
    )
    (root / "queries.jsonl").write_text(
        "".join(json.dumps(q) + "\n" for q in QUERIES), encoding="utf-8"
    )
    (root / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    return root


def test_load_beir_reads_corpus_queries_and_graded_qrels(tmp_path):
    ds = load_beir(write_beir(tmp_path / "tiny"))
    assert ds.name == "tiny"
    assert list(ds.corpus) == ["d1", "d2", "d3", "d4"]
    assert ds.corpus["d1"].lang == "en" and ds.corpus["d3"].lang is None
    assert ds.corpus["d4"].body == "Unrelated text about volcanic geology and basalt."
    assert ds.corpus["d1"].body == "Cardiology\n\nBeta blockers reduce heart failure mortality."
    # q3 has no qrels and is dropped; the header line is skipped
    assert ds.queries == {"q1": "beta blockers heart failure", "q2": "zebra migration patterns"}
    assert ds.qrels == {"q1": {"d1": 1}, "q2": {"d2": 2, "d4": 0}}
    assert ds.total_queries == 2


def test_query_sampling_is_seeded(tmp_path):
    root = write_beir(tmp_path / "tiny")
    one = load_beir(root, max_queries=1, seed=3)
    assert len(one.queries) == 1 and one.total_queries == 2
    assert load_beir(root, max_queries=1, seed=3).queries == one.queries
    assert set(one.qrels) == set(one.queries)


def test_load_beir_errors_name_the_file(tmp_path):
    with pytest.raises(EvalDataError, match=r"corpus.jsonl not found; a BEIR folder holds"):
        load_beir(tmp_path)
    bad = write_beir(tmp_path / "bad", qrels="query-id\tcorpus-id\tscore\nq1\td1\n")
    with pytest.raises(EvalDataError, match=r"test.tsv:2: expected 3 tab-separated columns, got 2"):
        load_beir(bad)
    none = write_beir(tmp_path / "none", qrels="q9\td1\t1\n")
    with pytest.raises(EvalDataError, match=r"no query of .* has a relevant document"):
        load_beir(none)


def test_corpus_files_and_passages(tmp_path):
    ds = load_beir(write_beir(tmp_path / "tiny"))
    files = write_beir_corpus(ds, tmp_path / "files")
    assert [f.name for f in files] == ["d1.txt", "d2.txt", "d3.txt", "d4.txt"]
    assert files[0].read_text(encoding="utf-8") == ds.corpus["d1"].body + "\n"
    parsed = passages(ds)
    assert [(p.document.doc_id, len(p.chunks), p.sentences) for p in parsed][:2] == [
        ("d1", 1, ()),
        ("d2", 1, ()),
    ]
    first = parsed[0]
    chunk = first.chunks[0]
    assert first.document.text[chunk.start : chunk.end] == chunk.text == ds.corpus["d1"].body
    assert (first.document.lang, parsed[2].document.lang) == ("en", "fr")  # d3 detected
    with pytest.raises(EvalDataError, match="cannot be a file name"):
        beir_file_name("../etc/passwd")


def test_rank_documents_keeps_best_chunk_per_doc():
    assert rank_documents(["a", "b", "a", "c", "b", "d"], depth=3) == ["a", "b", "c"]


def test_evaluate_beir_scores_lexical_exactly(tmp_path):
    ds = load_beir(write_beir(tmp_path / "tiny"))
    settings = Settings(data_dir=tmp_path / "unused")
    section = evaluate_beir(ds, tmp_path / "index", HashEmbedder(), settings, modes=["lexical"])
    # q1 finds d1 first (1.0 everywhere); q2's words occur in no document (0.0)
    assert section["modes"]["lexical"] == {"ndcg@10": 0.5, "recall@100": 0.5, "mrr@10": 0.5}
    assert (section["n_docs"], section["n_queries"], section["passages_embedded"]) == (4, 2, 4)
    again = evaluate_beir(ds, tmp_path / "index", HashEmbedder(), settings, modes=["lexical"])
    assert again["passages_embedded"] == 0  # incremental: nothing re-embedded


def test_cli_eval_beir_writes_a_report(tmp_path, monkeypatch):
    from service.cli import app

    monkeypatch.setenv("PARTNERSEARCH_DATA_DIR", str(tmp_path / "data"))
    root = write_beir(tmp_path / "tiny")
    args = ["eval", "--beir", str(root), "--modes", "lexical", "--out", str(tmp_path / "reports")]
    result = CliRunner().invoke(app, args, obj=FAKE_EMBEDDERS)
    assert result.exit_code == 0, result.output
    assert "tiny lexical  ndcg@10 0.500  recall@100 0.500  mrr@10 0.500" in result.output
    (folder,) = (tmp_path / "reports").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert "gold" not in metrics  # --beir alone scores only the BEIR set
    assert metrics["beir"]["tiny"]["modes"]["lexical"]["ndcg@10"] == 0.5
    assert (folder / "beir.png").is_file()
    assert "## BEIR: tiny (4 documents, 2 queries)" in (folder / "report.md").read_text()
    # the eval index lives beside the configured data dir, not inside it
    assert (tmp_path / "data-eval" / "beir" / "tiny").is_dir()
    assert not (tmp_path / "data").exists()


def test_cli_eval_rejects_unknown_mode(tmp_path, monkeypatch):
    from service.cli import app

    root = write_beir(tmp_path / "tiny")
    result = CliRunner().invoke(
        app, ["eval", "--beir", str(root), "--modes", "lexical,bm42"], obj=FAKE_EMBEDDERS
    )
    assert result.exit_code == 1
    assert "error: unknown mode(s) ['bm42']; choose among hybrid, dense, lexical" in result.output


def test_passages_with_sentences_carry_exact_sentence_offsets(tmp_path) -> None:
    from eval.beir import load_beir, passages

    root = write_beir(tmp_path / "tiny")
    plain = passages(load_beir(root))
    split = passages(load_beir(root), sentences=True)
    assert all(p.sentences == () for p in plain)
    assert [p.chunks for p in split] == [p.chunks for p in plain]
    for parsed in split:
        text = parsed.document.text
        assert parsed.sentences, parsed.document.doc_id
        for i, s in enumerate(parsed.sentences):
            assert text[s.start : s.end] == s.text and s.ordinal == i
            assert s.sentence_id == f"{parsed.document.doc_id}#s{i}"


def test_suite_resolves_shared_sets_with_their_samples(tmp_path) -> None:
    from eval.run import suite_sets

    for name in ("scifact_beir", "piaf_v1.1", "service_public_qr_dev", "diabla_fr_en"):
        (tmp_path / name).mkdir()
    paths, limits = suite_sets("dev", tmp_path)
    assert [p.name for p in paths] == [
        "scifact_beir",
        "piaf_v1.1",
        "service_public_qr_dev",
        "diabla_fr_en",
    ]
    assert limits == {"piaf_v1.1": 1000}
    with pytest.raises(EvalDataError, match=r"unknown suite 'nope'; choose among dev"):
        suite_sets("nope", tmp_path)
    (tmp_path / "diabla_fr_en").rmdir()
    with pytest.raises(EvalDataError, match=r"suite 'dev' needs .*diabla_fr_en; pass --evaldata"):
        suite_sets("dev", tmp_path)


def test_macro_average_is_the_mean_over_sets_gold_included() -> None:
    from eval.run import macro_average

    metrics = {
        "gold": {"modes": {"dense": {"overall": {"ndcg@10": 0.9, "mrr@10": 0.8}}}},
        "beir": {
            "a": {"modes": {"dense": {"ndcg@10": 0.5, "mrr@10": 0.4, "recall@100": 1.0}}},
            "b": {"modes": {"dense": {"ndcg@10": 0.4, "mrr@10": 0.3, "recall@100": 1.0}}},
        },
    }
    macro = macro_average(metrics)
    assert macro["dense"]["sets"] == 3
    assert macro["dense"]["ndcg@10"] == pytest.approx(0.6)
    assert macro["dense"]["mrr@10"] == pytest.approx(0.5)


def test_cli_suite_scores_every_set_and_the_gold_set_with_a_macro_average(tmp_path, monkeypatch):
    from service.cli import app

    monkeypatch.setenv("PARTNERSEARCH_DATA_DIR", str(tmp_path / "data"))
    names = ("scifact_beir", "piaf_v1.1", "service_public_qr_dev", "diabla_fr_en")
    for name in names:
        write_beir(tmp_path / "evaldata" / name)
    args = ["eval", "--suite", "dev", "--evaldata", str(tmp_path / "evaldata"), "--no-sweep"]
    args += ["--modes", "lexical", "--out", str(tmp_path / "reports")]
    result = CliRunner().invoke(app, args, obj=FAKE_EMBEDDERS)
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "reports").iterdir()
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["beir"]) == set(names) and "gold" in metrics
    assert metrics["macro"]["lexical"]["sets"] == 5
    assert "## Macro average over 5 sets (gold set included)" in (folder / "report.md").read_text()
    assert "macro (5 sets) lexical" in result.output


def test_beir_section_reports_the_detected_query_languages(tmp_path):
    root = write_beir(tmp_path / "tiny")
    section = evaluate_beir(
        load_beir(root), tmp_path / "idx", HashEmbedder(), Settings(), modes=["lexical"]
    )
    # both queries are shorter than language detection needs: what short queries get
    assert section["query_languages"] == {"other": 2}
