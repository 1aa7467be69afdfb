"""Incremental ingest of real files (parser + HashEmbedder) and the `partnersearch ingest` CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from index import Indexer, Searcher
from index.dense import DenseIndex
from ingest.embed import HashEmbedder
from service.cli import app

NORMANDY = "002_86b4586c1617dcb0"
INTERVIEW = "004_141e648614901eb4"


@pytest.fixture()
def corpus_copy(tmp_path, corpus_dir) -> Path:
    """A writable copy of corpus/ (README.md included: iter_input_files leaves it out)."""
    dest = tmp_path / "corpus"
    shutil.copytree(corpus_dir, dest)
    return dest


@pytest.fixture()
def ingested(tmp_path, corpus_copy, hash_embedder) -> tuple[Path, Indexer]:
    """The corpus copy ingested once into tmp_path/data: the data folder and its Indexer."""
    data = tmp_path / "data"
    indexer = Indexer(data, hash_embedder)
    indexer.ingest([corpus_copy])
    return data, indexer


def _chunk_ids(data: Path, embedder) -> list[str]:
    searcher = Searcher.open(data, embedder)
    return sorted(h.chunk_id for h in searcher.search("Inserm", k=200, mode="dense"))


def test_first_ingest_reads_the_corpus(tmp_path, corpus_copy, hash_embedder) -> None:
    report = Indexer(tmp_path / "data", hash_embedder).ingest([corpus_copy])
    assert report.files_read == 5 and report.skipped == []
    assert len(report.added) == 5 and report.documents == 5
    assert report.chunks_embedded == report.chunks > 5
    assert report.sentences_embedded == report.sentences > report.chunks
    assert report.languages == {"en": 1, "fr": 4}


def test_second_ingest_of_the_same_corpus_embeds_nothing(tmp_path, corpus_copy, hash_embedder):
    indexer = Indexer(tmp_path / "data", hash_embedder)
    first = indexer.ingest([corpus_copy])
    ids_before = _chunk_ids(tmp_path / "data", hash_embedder)
    second = indexer.ingest([corpus_copy])
    assert (second.chunks_embedded, second.sentences_embedded) == (0, 0)
    assert len(second.unchanged) == 5 and second.added == second.updated == []
    assert second.snapshot_id == first.snapshot_id  # nothing changed, nothing published
    assert (second.documents, second.chunks) == (first.documents, first.chunks)
    assert _chunk_ids(tmp_path / "data", hash_embedder) == ids_before


def test_ids_are_stable_across_a_rebuild(ingested, corpus_copy, hash_embedder) -> None:
    data, indexer = ingested
    searcher = Searcher.open(data, hash_embedder)
    dense_ids = DenseIndex.load(data / "snapshots" / searcher.snapshot_id / "chunks.faiss")
    before = sorted(dense_ids.all_vectors()[0].tolist())
    chunks_before = _chunk_ids(data, hash_embedder)
    report = indexer.ingest([corpus_copy], rebuild=True)
    assert report.chunks_embedded == report.chunks
    after = DenseIndex.load(data / "snapshots" / report.snapshot_id / "chunks.faiss")
    assert sorted(after.all_vectors()[0].tolist()) == before
    assert _chunk_ids(data, hash_embedder) == chunks_before


def test_changed_file_replaces_its_chunks(ingested, corpus_copy, hash_embedder) -> None:
    data, indexer = ingested
    path = corpus_copy / f"{NORMANDY}.txt"
    path.write_text(
        " Le 3 mars 2025\n\nLa Région Normandie et l’Inserm prolongent leur accord.\n\n"
        "Le nouvel accord finance des équipes de cardiologie marines à Cherbourg.\n",
        encoding="utf-8",
    )
    report = indexer.ingest([corpus_copy])
    assert report.updated == [NORMANDY] and len(report.unchanged) == 4
    searcher = Searcher.open(data, hash_embedder)
    normandy = [h for h in searcher.search("accord", k=200, mode="dense") if h.doc_id == NORMANDY]
    assert report.chunks_embedded == len(normandy) >= 1
    assert all("six" not in h.text for h in normandy)
    assert searcher.search("Cherbourg", k=1, mode="lexical")[0].doc_id == NORMANDY
    assert searcher.search("Hervé Morin", k=5, mode="lexical") == []


def test_prune_removes_documents_whose_files_are_gone(ingested, corpus_copy, hash_embedder):
    data, indexer = ingested
    (corpus_copy / f"{INTERVIEW}.txt").unlink()
    kept = indexer.ingest([corpus_copy])
    assert kept.removed == [] and kept.documents == 5
    pruned = indexer.ingest([corpus_copy], prune=True)
    assert pruned.removed == [INTERVIEW] and pruned.documents == 4
    assert pruned.languages == {"fr": 4}
    searcher = Searcher.open(data, hash_embedder)
    assert searcher.document(INTERVIEW) is None
    assert searcher.search("Roquette Merck", k=5, mode="lexical") == []


def test_each_snapshot_logs_its_run_as_the_report_says(ingested, corpus_copy, hash_embedder):
    import json

    from index.snapshot import STORE
    from index.store import Store

    data, indexer = ingested
    (corpus_copy / f"{INTERVIEW}.txt").unlink()
    path = corpus_copy / f"{NORMANDY}.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nUne phrase de plus.", encoding="utf-8")
    report = indexer.ingest([corpus_copy], prune=True)
    store = Store.open_readonly(data / "snapshots" / report.snapshot_id / STORE)
    try:
        rows = store.conn.execute(
            "SELECT files_read, added, updated, removed, skipped FROM ingest_runs ORDER BY run_id"
        ).fetchall()
    finally:
        store.close()
    assert len(rows) == 2  # the previous snapshot's log is carried over
    files_read, added, updated, removed, skipped = rows[-1]
    assert files_read == report.files_read == 4
    assert (json.loads(added), json.loads(updated)) == ([], [NORMANDY])
    assert json.loads(removed) == [INTERVIEW]
    assert json.loads(skipped) == []


def test_prune_only_touches_the_folders_given(tmp_path, corpus_copy, hash_embedder) -> None:
    data = tmp_path / "data"
    other = tmp_path / "other"
    other.mkdir()
    (other / "note_1.txt").write_text("Une note sur l’Inserm et le CHU de Lille.\n", "utf-8")
    indexer = Indexer(data, hash_embedder)
    indexer.ingest([corpus_copy, other])
    (other / "note_1.txt").unlink()
    report = indexer.ingest([corpus_copy], prune=True)
    assert report.removed == [] and report.documents == 6
    report = indexer.ingest([other], prune=True)
    assert report.removed == ["note_1"] and report.documents == 5


def test_bad_files_are_skipped_with_reasons(tmp_path, corpus_copy, hash_embedder) -> None:
    (corpus_copy / "empty.txt").write_bytes(b"")
    (corpus_copy / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    report = Indexer(tmp_path / "data", hash_embedder).ingest(
        [corpus_copy, tmp_path / "missing_dir"]
    )
    reasons = dict(report.skipped)
    assert set(reasons) == {
        str(corpus_copy / "empty.txt"),
        str(corpus_copy / "broken.pdf"),
        str(tmp_path / "missing_dir"),
    }
    assert reasons[str(tmp_path / "missing_dir")] == "no such file or directory"
    assert reasons[str(corpus_copy / "empty.txt")].startswith(str(corpus_copy / "empty.txt"))
    assert report.documents == 5 and report.files_read == 7


def test_uploads_are_kept_in_the_data_dir_and_failures_change_nothing(
    tmp_path, corpus_dir, hash_embedder
) -> None:
    data = tmp_path / "data"
    indexer = Indexer(data, hash_embedder)
    good = (corpus_dir / f"{NORMANDY}.txt").read_bytes()
    report = indexer.ingest_files([(f"{NORMANDY}.txt", good), ("bad.pdf", b"%PDF-1.4 junk")])
    assert report.added == [NORMANDY] and len(report.skipped) == 1
    name, reason = report.skipped[0]
    assert name == "bad.pdf" and reason.startswith("bad.pdf: ") and ".incoming" not in reason
    assert (data / "uploads" / f"{NORMANDY}.txt").read_bytes() == good
    assert not (data / "uploads" / "bad.pdf").exists()
    assert [p.name for p in (data / "uploads").iterdir()] == [f"{NORMANDY}.txt"]
    searcher = Searcher.open(data, hash_embedder)
    assert searcher.document(NORMANDY).source == str(
        (data / "uploads" / f"{NORMANDY}.txt").resolve()
    )
    snapshot = searcher.snapshot_id
    failed = indexer.ingest_files([("bad.pdf", b"%PDF-1.4 junk")])
    assert failed.added == [] and len(failed.skipped) == 1
    assert Searcher.open(data, hash_embedder).snapshot_id == snapshot
    assert indexer.delete(NORMANDY) is True
    assert not (data / "uploads" / f"{NORMANDY}.txt").exists()


# -- CLI --------------------------------------------------------------------------------


@pytest.fixture()
def cli_env(tmp_path, monkeypatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("PARTNERSEARCH_DATA_DIR", str(data))
    return data


def _fake(dim: int = 64) -> dict:
    """The CLI's embedders seam: a HashEmbedder of ``dim``, no USE channel."""
    return {"embedders": lambda settings: (HashEmbedder(dim=dim), None)}


def test_cli_ingest_prints_a_summary_and_is_incremental(cli_env, corpus_copy) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(corpus_copy)], obj=_fake())
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0] == "files read: 5" and lines[1] == "skipped: 0"
    assert lines[2] == "documents: 5 (added 5, updated 0, unchanged 0, removed 0)"
    assert lines[5] == "languages: en 1, fr 4"
    assert lines[3].startswith("chunks: ") and lines[3].endswith(" embedded)")
    second = runner.invoke(app, ["ingest", str(corpus_copy)], obj=_fake())
    assert second.exit_code == 0
    assert "documents: 5 (added 0, updated 0, unchanged 5, removed 0)" in second.stdout
    assert "(0 embedded)" in second.stdout.splitlines()[3]


def test_cli_ingest_prune_and_partial_failure_exit_zero(cli_env, corpus_copy) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(corpus_copy)], obj=_fake()).exit_code == 0
    (corpus_copy / f"{INTERVIEW}.txt").unlink()
    (corpus_copy / "empty.txt").write_bytes(b"")
    result = runner.invoke(app, ["ingest", "--prune", str(corpus_copy)], obj=_fake())
    assert result.exit_code == 0, result.output
    assert "skipped: 1" in result.stdout and f"  {corpus_copy / 'empty.txt'}: " in result.stdout
    assert "documents: 4 (added 0, updated 0, unchanged 4, removed 1)" in result.stdout


def test_cli_ingest_exits_1_when_nothing_could_be_ingested(cli_env, tmp_path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    result = CliRunner().invoke(app, ["ingest", str(bad)], obj=_fake())
    assert result.exit_code == 1
    assert "files read: 1" in result.stdout and "skipped: 1" in result.stdout
    assert "error: nothing could be ingested" in result.stderr
    missing = CliRunner().invoke(app, ["ingest", str(tmp_path / "nope")], obj=_fake())
    assert (
        missing.exit_code == 1
        and f"{tmp_path / 'nope'}: no such file or directory" in missing.stdout
    )


def test_cli_ingest_with_another_model_asks_for_rebuild(cli_env, corpus_copy) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(corpus_copy)], obj=_fake()).exit_code == 0
    result = runner.invoke(app, ["ingest", str(corpus_copy)], obj=_fake(32))
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: index in {cli_env} built with 'hash-64@hash64 (hash)', dim 64, but the "
        "configured model is 'hash-32@hash32 (hash)', dim 32; re-run partnersearch ingest "
        "--rebuild PATH"
    )
    rebuilt = runner.invoke(app, ["ingest", "--rebuild", str(corpus_copy)], obj=_fake(32))
    assert rebuilt.exit_code == 0 and "added 5" in rebuilt.stdout


_INGEST = """
import sys
from pathlib import Path
from index import Indexer
from ingest.embed import HashEmbedder
Indexer(Path(sys.argv[1]), HashEmbedder()).ingest([Path(sys.argv[2])])
"""


def _snapshot_contents(data: Path) -> dict[str, object]:
    """Every file of the one snapshot in ``data``, the store as its rows and the manifest as
    JSON, less what records when and under which id the build ran."""
    import json
    import sqlite3

    (snap,) = (data / "snapshots").iterdir()
    out: dict[str, object] = {}
    for path in sorted(p for p in snap.rglob("*") if p.is_file()):
        name = str(path.relative_to(snap))
        if name == "manifest.json":
            manifest = json.loads(path.read_text(encoding="utf-8"))
            out[name] = {k: v for k, v in manifest.items() if k not in ("built_at", "snapshot_id")}
        elif name == "store.sqlite":
            con = sqlite3.connect(path)
            skip = {"ingested_at", "finished_at", "snapshot_id"}
            for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
                kept = ", ".join(f'"{c}"' for c in cols if c not in skip)
                out[f"{name}:{table}"] = con.execute(f"SELECT {kept} FROM {table}").fetchall()
            con.close()
        else:
            out[name] = path.read_bytes()
    return out


def test_the_same_input_builds_the_same_snapshot_whatever_the_hash_seed(tmp_path, corpus_dir):
    """The README's claim: store rows, FAISS, BM25 and row files are the same build to
    build (bm25s would number BM25 terms in hash order); only the run's time and id differ."""
    import os
    import subprocess
    import sys

    builds = []
    for seed in ("1", "2"):
        data = tmp_path / f"seed{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        cmd = [sys.executable, "-c", _INGEST, str(data), str(corpus_dir)]
        subprocess.run(cmd, check=True, env=env, cwd=Path(__file__).resolve().parent.parent)
        builds.append(_snapshot_contents(data))
    assert builds[0] == builds[1]
    assert {"chunks.faiss", "sentences.faiss", "store.sqlite:chunks"} <= set(builds[0])
    assert any(name.startswith("lexical/") for name in builds[0])


def test_a_corpus_of_stopwords_only_is_indexed_without_bm25_terms(tmp_path, hash_embedder):
    """Every chunk analyses to no BM25 term: the ingest still publishes (it used to stop on
    bm25s's empty vocabulary), lexical search finds nothing, dense search finds the text."""
    import warnings

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mots.txt").write_text("Le la les de des et.\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor any numpy warning on the way
        report = Indexer(tmp_path / "data", hash_embedder).ingest([docs])
    assert (report.documents, report.skipped) == (1, [])
    searcher = Searcher.open(tmp_path / "data", hash_embedder)
    assert searcher.search("les", k=3, mode="lexical") == []
    assert [h.doc_id for h in searcher.search("les", k=3, mode="dense")] == ["mots"]
