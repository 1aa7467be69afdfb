"""One file-name rule and one parse per uploaded file (issue #14)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ingest.pipeline
from index import Indexer, Searcher
from index.snapshot import STORE
from index.store import Store
from ingest import check_upload_name, parse_file
from ingest.embed import HashEmbedder
from ingest.errors import FileNameError, IngestError, UnsupportedFileTypeError

TEXT = "Accord entre l'Inserm et la Région Normandie.\n\nIl est conclu pour six ans.\n".encode()


@pytest.mark.parametrize("name", ["convention.pdf", "Accord Normandie 2024.docx", "a.b.txt"])
def test_plain_names_of_supported_types_pass(name):
    assert check_upload_name(name) == name


_TRICKS = ["", ".", "..", ".env.txt", "../a.txt", "sub/a.txt", "C:\\Windows\\a.txt", "a\x07.txt"]


@pytest.mark.parametrize("name", [*_TRICKS, "x" * 252 + ".txt", "é" * 126 + ".txt"])
def test_path_tricks_are_refused_with_status_400(name):
    with pytest.raises(FileNameError, match="is not a plain file name") as err:
        check_upload_name(name)
    assert (err.value.status, err.value.code) == (400, "bad_filename")


def test_a_name_of_255_bytes_is_the_longest_accepted(tmp_path):
    # The limit is the filesystem's, in UTF-8 bytes: 125 two-byte letters + ".txt" = 254.
    for name in ("x" * 251 + ".txt", "é" * 125 + ".txt"):
        assert check_upload_name(name) == name
        (tmp_path / name).write_bytes(b"ok")  # and such a name can be written


def test_an_unsupported_type_is_refused_with_status_415():
    with pytest.raises(UnsupportedFileTypeError, match=r"^slides\.pptx: type '\.pptx'") as err:
        check_upload_name("slides.pptx")
    assert (err.value.status, err.value.code) == (415, "unsupported_file_type")


def test_an_upload_parsed_from_memory_is_named_by_its_file_name():
    parsed = parse_file(Path("normandie.txt"), data=TEXT, count_tokens=lambda t: len(t.split()))
    assert parsed.document.doc_id == "normandie"
    assert "six ans" in parsed.document.text
    with pytest.raises(IngestError, match=r"^vide\.txt: file is empty$"):
        parse_file(Path("vide.txt"), data=b"  \n", count_tokens=len)


def test_the_indexer_applies_the_same_rule(tmp_path):
    """Before, the indexer repaired 'sub/a.txt' into 'a.txt' while the API refused it."""
    indexer = Indexer(tmp_path / "data", HashEmbedder())
    report = indexer.ingest_files([("sub/normandie.txt", TEXT), ("normandie.txt", TEXT)])
    assert report.added == ["normandie"]
    ((name, reason),) = report.skipped
    assert name == "sub/normandie.txt" and "is not a plain file name" in reason
    assert [p.name for p in (tmp_path / "data" / "uploads").iterdir()] == ["normandie.txt"]


def test_each_upload_is_parsed_once(tmp_path, monkeypatch):
    calls: list[str] = []
    real = ingest.pipeline._parse

    def counting(path, data, **options):
        calls.append(path.name)
        return real(path, data, **options)

    monkeypatch.setattr(ingest.pipeline, "_parse", counting)
    indexer = Indexer(tmp_path / "data", HashEmbedder())
    uploads = [indexer.parse_upload("normandie.txt", TEXT), indexer.parse_upload("b.md", TEXT)]
    report = indexer.ingest_uploads(uploads)
    assert calls == ["normandie.txt", "b.md"]  # ingest_uploads parsed nothing again
    assert sorted(report.added) == ["b", "normandie"]
    doc = Searcher.open(tmp_path / "data", HashEmbedder()).document("normandie")
    assert doc.source == str((tmp_path / "data" / "uploads" / "normandie.txt").resolve())
    assert (tmp_path / "data" / "uploads" / "b.md").read_bytes() == TEXT


def test_a_name_given_twice_keeps_its_first_file_and_logs_every_refusal(tmp_path):
    other = TEXT.replace(b"six ans", b"trois ans")
    indexer = Indexer(tmp_path / "data", HashEmbedder())
    report = indexer.ingest_files(
        [("normandie.txt", TEXT), ("normandie.txt", other), ("../x.txt", TEXT)]
    )
    assert report.added == ["normandie"] and report.files_read == 3
    reasons = dict(report.skipped)
    assert reasons["normandie.txt"] == "same file name twice in one upload"
    assert "is not a plain file name" in reasons["../x.txt"]
    kept = tmp_path / "data" / "uploads" / "normandie.txt"
    assert kept.read_bytes() == TEXT  # the file kept is the one indexed
    searcher = Searcher.open(tmp_path / "data", HashEmbedder())
    assert "six ans" in searcher.document("normandie").text
    store = Store.open_readonly(tmp_path / "data" / "snapshots" / searcher.snapshot_id / STORE)
    try:
        (skipped,) = store.conn.execute("SELECT skipped FROM ingest_runs").fetchone()
    finally:
        store.close()
    assert "../x.txt" in skipped and "same file name twice" in skipped
