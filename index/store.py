"""SQLite store of one snapshot: the source of truth for text and metadata.

Tables: documents (metadata, cleaned text, content hash), chunks and sentences (verbatim
text, offsets, language, dense id; chunks also keep their analysed BM25 terms so the
lexical index can be rebuilt without re-analysing), ingest_runs (what each run did).
A published snapshot's database is never written again; readers open it immutable.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ingest.types import Document, ParsedDocument, Person, Sentence

if TYPE_CHECKING:
    from index.types import IngestReport

logger = logging.getLogger(__name__)

__all__ = ["SCHEMA_VERSION", "DocumentRow", "PassageRow", "Store", "StoredFile"]

SCHEMA_VERSION = 1

# The columns of a verbatim span of one document, shared by chunks and sentences.
_SPAN_COLUMNS = """
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    page INTEGER,
    lang TEXT NOT NULL"""

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    lang TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    date TEXT,
    place TEXT,
    partners TEXT NOT NULL,
    people TEXT NOT NULL,
    page_starts TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    vid INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,{_SPAN_COLUMNS},
    terms TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id, ordinal);
CREATE TABLE IF NOT EXISTS sentences (
    vid INTEGER PRIMARY KEY,
    sentence_id TEXT NOT NULL UNIQUE,{_SPAN_COLUMNS}
);
CREATE INDEX IF NOT EXISTS sentences_by_doc ON sentences(doc_id, start);
CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    snapshot_id TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    files_read INTEGER NOT NULL,
    added TEXT NOT NULL,
    updated TEXT NOT NULL,
    removed TEXT NOT NULL,
    skipped TEXT NOT NULL
);
"""

_DOC_COLUMNS = (
    "doc_id, source, title, text, content_hash, lang, doc_type, date, place, partners, people, "
    "page_starts"
)


class PassageRow(NamedTuple):
    """One row of the chunk or sentence table, as the per-row arrays are built from it."""

    vid: int
    doc_id: str
    start: int
    end: int
    page: int | None
    lang: str
    ordinal: int


class DocumentRow(NamedTuple):
    """One document's metadata row (``partners`` is the stored JSON list)."""

    doc_id: str
    title: str
    date: str | None
    lang: str
    doc_type: str
    partners: str


class StoredFile(NamedTuple):
    """What an ingest compares a file against: its content hash and where it came from."""

    content_hash: str
    source: str


class Store:
    """One snapshot's database: read-only for readers, read-write while building."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def open_readonly(cls, path: Path) -> Store:
        """Open a published (immutable) database; safe to share between threads for reads."""
        uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        return cls(conn)

    @classmethod
    def create(cls, path: Path, *, copy_from: Path | None = None) -> Store:
        """A writable database at ``path``: empty, or a consistent copy of ``copy_from``."""
        conn = sqlite3.connect(path)
        if copy_from is not None:
            src = Store.open_readonly(copy_from)
            try:
                src.conn.backup(conn)
            finally:
                src.close()
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(_SCHEMA)
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        conn.commit()
        return cls(conn)

    def close(self) -> None:
        self.conn.close()

    # -- reads -------------------------------------------------------------------------

    def hashes(self) -> dict[str, StoredFile]:
        """doc_id -> (content_hash, source) of every stored document."""
        rows = self.conn.execute("SELECT doc_id, content_hash, source FROM documents")
        return {doc_id: StoredFile(h, src) for doc_id, h, src in rows}

    def vids_of(self, doc_ids: Iterable[str], table: str) -> list[int]:
        """Dense ids of the chunks or sentences of ``doc_ids`` (``table``: chunks|sentences)."""
        if table not in ("chunks", "sentences"):
            raise ValueError(table)
        out: list[int] = []
        for doc_id in doc_ids:
            rows = self.conn.execute(f"SELECT vid FROM {table} WHERE doc_id = ?", (doc_id,))
            out.extend(vid for (vid,) in rows)
        return out

    def document(self, doc_id: str) -> Document | None:
        row = self.conn.execute(
            f"SELECT {_DOC_COLUMNS} FROM documents WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        return _document(row) if row else None

    def documents(self, doc_ids: Sequence[str]) -> list[Document]:
        """Documents in the order of ``doc_ids`` (unknown ids are left out)."""
        found = {d.doc_id: d for d in (self.document(i) for i in doc_ids) if d is not None}
        return [found[i] for i in doc_ids if i in found]

    def chunk_texts(self, vids: Sequence[int]) -> dict[int, str]:
        return self._texts("chunks", vids)

    def sentence_texts(self, vids: Sequence[int]) -> dict[int, str]:
        return self._texts("sentences", vids)

    def _texts(self, table: str, vids: Sequence[int]) -> dict[int, str]:
        if not vids:
            return {}
        marks = ",".join("?" * len(vids))
        rows = self.conn.execute(
            f"SELECT vid, text FROM {table} WHERE vid IN ({marks})",
            [int(v) for v in vids],
        )
        return dict(rows.fetchall())

    def titled_texts(self, table: str, vids: Sequence[int]) -> list[tuple[str, str]]:
        """(document title, text) of each of ``vids`` (all must exist) of ``table``
        ("chunks" or "sentences"), in the order given: what a channel added to an existing
        index embeds."""
        if table not in ("chunks", "sentences"):
            raise ValueError(f"unknown table {table!r}")
        found: dict[int, tuple[str, str]] = {}
        ids = [int(v) for v in vids]
        for lo in range(0, len(ids), 500):  # SQLite's bound-parameter limit
            part = ids[lo : lo + 500]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                f"SELECT t.vid, d.title, t.text FROM {table} t JOIN documents d "
                f"ON d.doc_id = t.doc_id WHERE t.vid IN ({marks})",
                part,
            )
            found.update((vid, (title, text)) for vid, title, text in rows.fetchall())
        return [found[v] for v in ids]

    def sentences_in(self, doc_id: str, start: int, end: int) -> list[Sentence]:
        rows = self.conn.execute(
            'SELECT doc_id, ordinal, text, start, "end", lang, page FROM sentences '
            'WHERE doc_id = ? AND start < ? AND "end" > ? ORDER BY start',
            (doc_id, end, start),
        )
        return [
            Sentence(doc_id, ordinal, text, start, end, lang, page)
            for doc_id, ordinal, text, start, end, lang, page in rows
        ]

    # -- writes (building a snapshot; the caller commits) --------------------------------

    def delete_documents(self, doc_ids: Iterable[str]) -> None:
        for doc_id in doc_ids:
            self.conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    def insert(
        self,
        parsed: ParsedDocument,
        chunk_vids: Sequence[int],
        sentence_vids: Sequence[int],
        chunk_terms: Sequence[Sequence[str]],
    ) -> None:
        doc = parsed.document
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.conn.execute(
            f"INSERT INTO documents({_DOC_COLUMNS}, ingested_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc.doc_id,
                doc.source,
                doc.title,
                doc.text,
                doc.content_hash,
                doc.lang,
                doc.doc_type,
                doc.date.isoformat() if doc.date else None,
                doc.place,
                json.dumps(list(doc.partners), ensure_ascii=False),
                json.dumps([[p.name, p.role] for p in doc.people], ensure_ascii=False),
                json.dumps(list(doc.page_starts)),
                now,
            ),
        )
        self.conn.executemany(
            'INSERT INTO chunks(vid, chunk_id, doc_id, ordinal, text, start, "end", page, lang, '
            "terms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    int(v),
                    c.chunk_id,
                    c.doc_id,
                    c.ordinal,
                    c.text,
                    c.start,
                    c.end,
                    c.page,
                    c.lang,
                    " ".join(t),
                )
                for c, v, t in zip(parsed.chunks, chunk_vids, chunk_terms, strict=True)
            ],
        )
        self.conn.executemany(
            'INSERT INTO sentences(vid, sentence_id, doc_id, ordinal, text, start, "end", page, '
            "lang) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (int(v), s.sentence_id, s.doc_id, s.ordinal, s.text, s.start, s.end, s.page, s.lang)
                for s, v in zip(parsed.sentences, sentence_vids, strict=True)
            ],
        )

    def set_source(self, doc_id: str, source: str) -> None:
        self.conn.execute("UPDATE documents SET source = ? WHERE doc_id = ?", (source, doc_id))

    def record_run(self, snapshot_id: str, report: IngestReport) -> None:
        """The run log's row: what ``report`` says this run read, changed and refused."""
        self.conn.execute(
            "INSERT INTO ingest_runs(snapshot_id, finished_at, files_read, added, updated, "
            "removed, skipped) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                snapshot_id,
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                report.files_read,
                json.dumps(list(report.added)),
                json.dumps(list(report.updated)),
                json.dumps(list(report.removed)),
                json.dumps([list(s) for s in report.skipped], ensure_ascii=False),
            ),
        )

    # -- bulk reads for building indexes and loading a snapshot ---------------------------

    def chunk_table(self) -> list[PassageRow]:
        """Every chunk's row, in (doc_id, ordinal) order."""
        return self._passage_rows("chunks")

    def chunk_terms(self) -> list[tuple[int, str]]:
        """(vid, space-joined BM25 terms) in canonical (doc_id, ordinal) order."""
        return self.conn.execute(
            "SELECT vid, terms FROM chunks ORDER BY doc_id, ordinal"
        ).fetchall()

    def sentence_table(self) -> list[PassageRow]:
        """Every sentence's row, in (doc_id, ordinal) order."""
        return self._passage_rows("sentences")

    def _passage_rows(self, table: str) -> list[PassageRow]:
        # No id column: ids derive from doc_id and ordinal (index.rows, ingest.types).
        rows = self.conn.execute(
            f'SELECT vid, doc_id, start, "end", page, lang, ordinal FROM {table} '
            "ORDER BY doc_id, ordinal"
        )
        return [PassageRow(*r) for r in rows]

    def document_table(self) -> list[DocumentRow]:
        """Every document's metadata row, ordered by doc_id."""
        rows = self.conn.execute(
            "SELECT doc_id, title, date, lang, doc_type, partners FROM documents ORDER BY doc_id"
        )
        return [DocumentRow(*r) for r in rows]

    def counts(self) -> dict[str, int]:
        return {
            table: self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("documents", "chunks", "sentences")
        }

    def languages(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT lang, COUNT(*) FROM documents GROUP BY lang ORDER BY lang")
        return dict(rows.fetchall())


def _document(row: tuple) -> Document:
    (
        doc_id,
        source,
        title,
        text,
        content_hash,
        lang,
        doc_type,
        date,
        place,
        partners,
        people,
        page_starts,
    ) = row
    return Document(
        doc_id=doc_id,
        source=source,
        title=title,
        text=text,
        content_hash=content_hash,
        lang=lang,
        doc_type=doc_type,
        date=dt.date.fromisoformat(date) if date else None,
        place=place,
        partners=tuple(json.loads(partners)),
        people=tuple(Person(name=n, role=r) for n, r in json.loads(people)),
        page_starts=tuple(json.loads(page_starts)),
    )
