"""Passages that hold the answer (eval.passages): PIAF-style paragraphs ingested as files,
a hit only when the passage contains the whole answer, one cached index per setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.errors import EvalDataError
from eval.passages import passages_label, score_answer_passages
from index.options import SearchOptions
from ingest.embed import HashEmbedder
from service.settings import Settings

PARAGRAPH = (
    "La convention lie la Région et l'institut. Elle dure six ans. "
    "Le comité de pilotage se réunit deux fois par an. Il rend un rapport public."
)


def _piaf(root: Path, *, answers: bool = True) -> Path:
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        json.dumps({"_id": "p0", "title": "Convention", "text": PARAGRAPH}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    queries = [
        {"_id": "q1", "text": "Combien de temps dure la convention ?"},
        {"_id": "q2", "text": "Combien de fois se réunit le comité de pilotage ?"},
    ]
    (root / "queries.jsonl").write_text(
        "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries), encoding="utf-8"
    )
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\tp0\t1\nq2\tp0\t1\n", encoding="utf-8"
    )
    if answers:
        rows = [
            {"query_id": "q1", "doc_id": "p0", "answer": "six ans"},
            {"query_id": "q2", "doc_id": "p0", "answer": "deux fois par an"},
        ]
        (root / "answers.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    return root


def _score(settings: Settings, piaf: Path, work_dir: Path) -> dict:
    """Lexical mode over the PIAF folder ``piaf``, indexes under ``work_dir``."""
    return score_answer_passages(
        settings,
        HashEmbedder(),
        None,
        SearchOptions(),
        piaf=piaf,
        work_dir=work_dir,
        modes=["lexical"],
    )


def test_windows_and_chunks_are_scored_on_whole_answers(tmp_path: Path) -> None:
    piaf = _piaf(tmp_path / "piaf")
    chunks = Settings(data_dir=tmp_path / "d", cache=tmp_path / "c")
    got = _score(chunks, piaf, tmp_path / "w")
    assert got["passages"] == "chunks-200-30" and got["n_questions"] == 2
    assert got["chunks"] == 1  # the paragraph is one chunk: both answers in the first passage
    assert got["modes"]["lexical"] == {"n": 2, "hit@1": 1.0, "hit@5": 1.0, "mrr@10": 1.0}

    windows = chunks.model_copy(
        update={"passages": "windows", "window_sentences": 1, "window_stride": 1}
    )
    assert passages_label(windows) == "windows-1-1"
    got = _score(windows, piaf, tmp_path / "w")
    assert got["passages"] == "windows-1-1"
    assert got["chunks"] == 5  # one passage per sentence, and one for the title line
    assert got["modes"]["lexical"]["hit@1"] == 1.0  # each answer is within one sentence
    # each setting keeps its own cached index
    assert {p.name for p in (tmp_path / "w" / "passages").iterdir()} == {
        "piaf-files",
        "piaf-chunks-200-30",
        "piaf-windows-1-1",
    }


def test_answers_are_required(tmp_path: Path) -> None:
    piaf = _piaf(tmp_path / "piaf", answers=False)
    with pytest.raises(EvalDataError, match=r"answers\.jsonl"):
        _score(Settings(data_dir=tmp_path / "d"), piaf, tmp_path / "w")
