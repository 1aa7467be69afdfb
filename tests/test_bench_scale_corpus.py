"""The benchmark's scale-corpus generator: seeded, bilingual, readable by the normal ingest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import bench.scale_corpus as sc


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.txt"))}


def _count_tokens(text: str) -> int:
    # Stand-in for the E5 tokenizer: the generator's own approximation, prefix included.
    return sc.approx_tokens("passage: " + text) + 2


def test_same_seed_writes_identical_files(tmp_path: Path) -> None:
    a = sc.write_corpus(tmp_path / "a", chunks=150, seed=3)
    b = sc.write_corpus(tmp_path / "b", chunks=150, seed=3)
    assert a.documents == b.documents
    assert a.estimated_chunks == b.estimated_chunks
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_other_seed_writes_other_documents(tmp_path: Path) -> None:
    sc.write_corpus(tmp_path / "a", chunks=150, seed=3)
    sc.write_corpus(tmp_path / "b", chunks=150, seed=4)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    first_a = next(iter(a.values()))
    assert first_a not in b.values()
    assert set(a.values()).isdisjoint(b.values())


def test_larger_corpus_starts_with_the_smaller_one(tmp_path: Path) -> None:
    small = sc.write_corpus(tmp_path / "s", chunks=100, seed=0)
    big = sc.write_corpus(tmp_path / "b", chunks=300, seed=0)
    s, b = _files(tmp_path / "s"), _files(tmp_path / "b")
    assert big.documents > small.documents
    assert all(b[name] == data for name, data in s.items())


def test_rewrite_leaves_unchanged_files_untouched(tmp_path: Path) -> None:
    sc.write_corpus(tmp_path, chunks=50, seed=0)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.txt")}
    sc.write_corpus(tmp_path, chunks=50, seed=0)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.txt")} == before


def test_files_parse_in_both_languages_with_estimated_chunk_count(tmp_path: Path) -> None:
    from ingest import iter_input_files, parse_file

    gen = sc.write_corpus(tmp_path, chunks=400, seed=0)
    files = list(iter_input_files([tmp_path]))
    assert len(files) == gen.documents  # the hidden manifest is not offered as a document
    parsed = [parse_file(p, count_tokens=_count_tokens, max_tokens=200) for p in files]
    langs = {p.document.lang for p in parsed}
    assert langs == {"fr", "en"}
    assert {lang for lang, n in gen.languages.items() if n} == {"fr", "en"}
    actual = sum(len(p.chunks) for p in parsed)
    assert abs(actual - gen.estimated_chunks) <= 0.2 * actual, (actual, gen.estimated_chunks)
    for p in parsed:
        doc = p.document
        assert all(doc.text[c.start : c.end] == c.text for c in p.chunks)


def test_shapes_carry_datelines_articles_and_questions(tmp_path: Path) -> None:
    sc.write_corpus(tmp_path, chunks=400, seed=0)
    texts = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.txt")}
    fr_release = [t for n, t in texts.items() if "_fr_press_release" in n]
    assert fr_release
    months = "|".join(sc._MONTHS_FR)
    dateline = re.compile(rf"^[\w' -]+, le (1er|\d{{1,2}}) ({months}) \d{{4}}$", re.M)
    assert all(dateline.search(t) for t in fr_release)
    conventions = [t for n, t in texts.items() if "_convention" in n]
    assert conventions and all("Article 1 – " in t for t in conventions)
    interviews = [t for n, t in texts.items() if "_interview" in n]
    assert interviews and all(re.search(r"\?$", t, re.M) for t in interviews)
    # Partners and places really vary: more than the corpus's own cities appear.
    cities = {c[0] for c in sc._CITIES}
    seen = {c for c in cities if any(c in t for t in texts.values())}
    assert len(seen) >= 8


def test_chunk_estimate_grows_with_tokens() -> None:
    assert sc.estimate_chunks(100) == 1
    assert sc.estimate_chunks(1000) < sc.estimate_chunks(2000)
    with pytest.raises(ValueError, match="chunks must be >= 1"):
        sc.write_corpus(Path("unused"), chunks=0)


def test_queries_are_distinct_and_seeded() -> None:
    a = sc.generate_queries(300, seed=0)
    assert len(set(a)) == 300
    assert a == sc.generate_queries(300, seed=0)
    assert a != sc.generate_queries(300, seed=1)
    assert any(q.endswith(" ?") for q in a) and any(q.endswith("?") and " ?" not in q for q in a)
