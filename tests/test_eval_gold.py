"""The gold set: every answer is an exact span of its cleaned document; coverage meets the issue."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from eval.errors import EvalDataError
from eval.gold import GOLD_PATH, contains_answer, load_gold, normalize_ws

GOLD = load_gold()


@pytest.fixture(scope="module")
def cleaned(corpus_files) -> dict[str, str]:
    """doc_id -> cleaned text, exactly as the index stores it."""
    from ingest import parse_file
    from ingest.embed import HashEmbedder

    count = HashEmbedder().count_tokens
    return {p.stem: parse_file(p, count_tokens=count).document.text for p in corpus_files}


def test_every_answer_is_an_exact_span_of_its_cleaned_document(cleaned):
    missing = [
        (item.id, item.doc_id, item.answer)
        for item in GOLD
        if item.answerable and item.answer not in cleaned[item.doc_id]
    ]
    assert missing == []


def test_every_answer_belongs_to_its_document_only(cleaned):
    # Relevance is "the passage holds the answer"; a span found in another document
    # would make that document's passages count as relevant too.
    elsewhere = [
        (item.id, doc)
        for item in GOLD
        if item.answerable
        for doc, text in cleaned.items()
        if doc != item.doc_id and contains_answer(text, item.answer)
    ]
    assert elsewhere == []


def test_answers_are_spans_of_the_raw_files_too(corpus_files):
    raw = {p.stem: p.read_text(encoding="utf-8") for p in corpus_files}
    assert all(item.answer in raw[item.doc_id] for item in GOLD if item.answerable)
    assert {item.answer_lang for item in GOLD if item.doc_id == "004_141e648614901eb4"} == {"en"}


def test_coverage_meets_the_issue():
    assert len(GOLD) >= 80
    types = Counter(item.type for item in GOLD)
    assert types["unanswerable"] >= 8
    assert {"factoid", "list", "paraphrase", "precedent"} <= types.keys()
    assert types["list"] >= 8 and types["paraphrase"] >= 8 and types["precedent"] >= 8
    pairs = Counter(item.lang_pair for item in GOLD if item.answerable)
    assert pairs["en->fr"] >= 10  # English questions answered by French documents
    assert pairs["fr->en"] >= 10  # French questions answered by the English interview
    assert pairs["fr->fr"] >= 10 and pairs["en->en"] >= 10
    assert {item.lang for item in GOLD if not item.answerable} == {"fr", "en"}
    assert all(item.note for item in GOLD if not item.answerable)
    assert len({item.doc_id for item in GOLD if item.answerable}) == 5


def test_ids_are_unique_and_questions_distinct():
    assert len({i.id for i in GOLD}) == len(GOLD)
    assert len({normalize_ws(i.question) for i in GOLD}) == len(GOLD)


def test_contains_answer_normalises_whitespace_only():
    assert contains_answer("la Région et\n  l’Inserm  s’associent", "Région et l’Inserm")
    assert not contains_answer("la région et l’Inserm", "Région et l’Inserm")
    assert not contains_answer("Région et l'Inserm", "Région et l’Inserm")


def _write(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


GOOD = {
    "id": "a",
    "question": "Qui ?",
    "lang": "fr",
    "type": "factoid",
    "answerable": True,
    "doc_id": "d",
    "answer": "x",
    "answer_lang": "fr",
}


def test_load_gold_round_trip(tmp_path):
    unanswerable = {"id": "b", "question": "Quoi ?", "lang": "en", "type": "unanswerable"}
    items = load_gold(_write(tmp_path, [GOOD, {**unanswerable, "answerable": False}]))
    assert [(i.id, i.lang_pair, i.cross_lingual) for i in items] == [
        ("a", "fr->fr", False),
        ("b", "en->none", False),
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({**GOOD, "type": "trivia"}, "type 'trivia' is not one of"),
        ({**GOOD, "lang": "de"}, "lang 'de' is not one of"),
        ({**GOOD, "answer": None}, "answerable item needs doc_id, answer and answer_lang"),
        ({**GOOD, "type": "unanswerable"}, "contradicts type 'unanswerable'"),
        ({k: v for k, v in GOOD.items() if k != "question"}, r"missing field\(s\) \['question'\]"),
    ],
)
def test_load_gold_rejects_bad_items(tmp_path, row, message):
    with pytest.raises(EvalDataError, match=message):
        load_gold(_write(tmp_path, [row]))


def test_load_gold_names_bad_json_line_and_duplicates(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(GOOD) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(EvalDataError, match=r"gold.jsonl:2: invalid JSON"):
        load_gold(path)
    with pytest.raises(EvalDataError, match="duplicate id 'a'"):
        load_gold(_write(tmp_path, [GOOD, GOOD]))
    with pytest.raises(EvalDataError, match="cannot read gold set"):
        load_gold(tmp_path / "absent.jsonl")


def test_gold_ships_with_the_package():
    assert GOLD_PATH.name == "gold.jsonl" and GOLD_PATH.parent.name == "data"
