"""Per-row tables of a snapshot, written at build time and memory-mapped on open.

The Searcher needs, for every chunk and sentence row, its vector id, document, position,
page and language, plus which sentences lie in which chunk; for every document its id,
title, date, type and partners. Building those from SQLite on every open cost seconds
at 100k chunks (a Python tuple per row). The writer computes them once and saves plain
``.npy`` files (no pickle) and one JSON file; opening maps the arrays, so it costs the
same at 1k and at 1M rows and the pages are shared between processes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import numpy as np

from index.errors import IndexMismatchError
from index.store import PassageRow, Store
from ingest.clean import fold
from ingest.types import DocType, Lang, chunk_key, sentence_key

logger = logging.getLogger(__name__)

__all__ = ["DOC_TYPES", "LANGS", "NO_DATE", "DocTable", "Rows", "lang_code", "write_rows"]

# Codes are positions in these tuples, derived from the one definition of each literal.
LANGS: tuple[str, ...] = get_args(Lang)
DOC_TYPES: tuple[str, ...] = get_args(DocType)
NO_DATE = np.iinfo(np.int32).min
_SPAN = np.int64(1) << 40  # doc code * _SPAN + char offset: one sortable key per position
_ROWS_DIR = "rows"
_DOCS = "documents.json"
_FIELDS = ("vids", "doc", "ordinal", "start", "end", "page", "lang", "by_vid", "sorted_vids")


def lang_code(lang: str) -> int:
    return LANGS.index(lang) if lang in LANGS else LANGS.index("other")


def doc_type_code(doc_type: str) -> int:
    return DOC_TYPES.index(doc_type) if doc_type in DOC_TYPES else DOC_TYPES.index("other")


@dataclass(frozen=True, slots=True)
class Rows:
    """Per-row metadata of chunks or sentences, row order = (doc_id, ordinal)."""

    kind: str  # "chunks" or "sentences"
    vids: np.ndarray  # int64
    doc: np.ndarray  # int32 index into the documents table
    ordinal: np.ndarray  # int32 position of the row within its document
    start: np.ndarray
    end: np.ndarray
    page: np.ndarray  # int32, 0 = no page
    lang: np.ndarray  # int8 index into LANGS
    by_vid: np.ndarray  # argsort of vids, for vid -> row
    sorted_vids: np.ndarray

    @classmethod
    def from_table(cls, kind: str, table: list[PassageRow], doc_index: dict[str, int]) -> Rows:
        """From Store.chunk_table / sentence_table rows."""
        n = len(table)
        vids = np.fromiter((r.vid for r in table), np.int64, n)
        order = np.argsort(vids, kind="stable")
        return cls(
            kind=kind,
            vids=vids,
            doc=np.fromiter((doc_index[r.doc_id] for r in table), np.int32, n),
            ordinal=np.fromiter((r.ordinal for r in table), np.int32, n),
            start=np.fromiter((r.start for r in table), np.int64, n),
            end=np.fromiter((r.end for r in table), np.int64, n),
            page=np.fromiter((r.page or 0 for r in table), np.int32, n),
            lang=np.fromiter((lang_code(r.lang) for r in table), np.int8, n),
            by_vid=order,
            sorted_vids=vids[order],
        )

    def save(self, folder: Path) -> None:
        for name in _FIELDS:
            np.save(folder / f"{self.kind}.{name}.npy", getattr(self, name), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, kind: str) -> Rows:
        arrays = {
            name: np.load(folder / f"{kind}.{name}.npy", mmap_mode="r", allow_pickle=False)
            for name in _FIELDS
        }
        return cls(kind=kind, **arrays)

    def key(self, row: int, doc_ids: list[str]) -> str:
        """The chunk_id / sentence_id of ``row``."""
        make = chunk_key if self.kind == "chunks" else sentence_key
        return make(doc_ids[int(self.doc[row])], int(self.ordinal[row]))

    def rows_of(self, vids: np.ndarray) -> np.ndarray:
        """Row positions of ``vids`` (all must exist)."""
        pos = np.searchsorted(self.sorted_vids, vids)
        return self.by_vid[pos]


@dataclass(frozen=True, slots=True)
class DocTable:
    """Per-document metadata, in doc_id order, with the filter arrays derived from it."""

    doc_ids: list[str]
    titles: list[str]
    dates: list[dt.date | None]
    doc_types: list[str]
    date_ord: np.ndarray  # int32 ordinal, NO_DATE when undated
    doc_lang: np.ndarray  # int8 index into LANGS
    doc_type_code: np.ndarray  # int8 index into DOC_TYPES
    partner_docs: dict[str, np.ndarray]  # folded partner name -> documents naming it
    doc_index: dict[str, int]

    @classmethod
    def from_records(cls, records: list[dict]) -> DocTable:
        dates = [dt.date.fromisoformat(r["date"]) if r["date"] else None for r in records]
        by_partner: dict[str, list[int]] = {}
        for i, r in enumerate(records):
            for partner in {fold(p) for p in r["partners"]}:
                by_partner.setdefault(partner, []).append(i)
        doc_ids = [r["doc_id"] for r in records]
        return cls(
            doc_ids=doc_ids,
            titles=[r["title"] for r in records],
            dates=dates,
            doc_types=[r["doc_type"] for r in records],
            date_ord=np.array([d.toordinal() if d else NO_DATE for d in dates], dtype=np.int32),
            doc_lang=np.array([lang_code(r["lang"]) for r in records], dtype=np.int8),
            doc_type_code=np.array([doc_type_code(r["doc_type"]) for r in records], np.int8),
            partner_docs={p: np.array(ix, dtype=np.int64) for p, ix in by_partner.items()},
            doc_index={doc_id: i for i, doc_id in enumerate(doc_ids)},
        )


def _records(store: Store) -> list[dict]:
    return [{**d._asdict(), "partners": json.loads(d.partners)} for d in store.document_table()]


def write_rows(store: Store, snapshot_dir: Path) -> None:
    """Compute every per-row table from the finished ``store`` into ``snapshot_dir``."""
    folder = snapshot_dir / _ROWS_DIR
    folder.mkdir(exist_ok=True)
    records = _records(store)
    (folder / _DOCS).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    doc_index = {r["doc_id"]: i for i, r in enumerate(records)}
    chunks = Rows.from_table("chunks", store.chunk_table(), doc_index)
    sentences = Rows.from_table("sentences", store.sentence_table(), doc_index)
    chunks.save(folder)
    sentences.save(folder)
    for name, (lo, hi) in (
        ("chunk_sentences", _overlaps(chunks, sentences)),
        ("sentence_chunks", _overlaps(sentences, chunks)),
    ):
        np.save(folder / f"{name}.lo.npy", lo, allow_pickle=False)
        np.save(folder / f"{name}.hi.npy", hi, allow_pickle=False)


@dataclass(frozen=True, slots=True)
class RowTables:
    """Everything :func:`load_rows` maps from one snapshot."""

    docs: DocTable
    chunks: Rows
    sentences: Rows
    chunk_sentences: tuple[np.ndarray, np.ndarray]  # per chunk: [lo, hi) sentence rows
    sentence_chunks: tuple[np.ndarray, np.ndarray]  # per sentence: [lo, hi) chunk rows


def load_rows(snapshot_dir: Path) -> RowTables:
    """Map the tables :func:`write_rows` saved; IndexMismatchError if they are missing."""
    folder = snapshot_dir / _ROWS_DIR
    try:
        records = json.loads((folder / _DOCS).read_text(encoding="utf-8"))

        def pair(name: str) -> tuple[np.ndarray, np.ndarray]:
            return tuple(  # type: ignore[return-value]
                np.load(folder / f"{name}.{end}.npy", mmap_mode="r", allow_pickle=False)
                for end in ("lo", "hi")
            )

        return RowTables(
            docs=DocTable.from_records(records),
            chunks=Rows.load(folder, "chunks"),
            sentences=Rows.load(folder, "sentences"),
            chunk_sentences=pair("chunk_sentences"),
            sentence_chunks=pair("sentence_chunks"),
        )
    except (OSError, ValueError, KeyError) as exc:
        raise IndexMismatchError(
            f"row tables of snapshot {snapshot_dir} are missing or unreadable ({exc}); "
            "re-run partnersearch ingest --rebuild PATH"
        ) from exc


def _overlaps(outer: Rows, inner: Rows) -> tuple[np.ndarray, np.ndarray]:
    """For each ``outer`` row, the [lo, hi) range of ``inner`` rows overlapping its span.

    Both tables are in (document, position) order and neither's starts nor ends go
    backwards within a document, so two binary searches per row suffice.
    """
    inner_start = inner.doc.astype(np.int64) * _SPAN + inner.start
    inner_end = inner.doc.astype(np.int64) * _SPAN + inner.end
    outer_base = outer.doc.astype(np.int64) * _SPAN
    lo = np.searchsorted(inner_end, outer_base + outer.start, side="right")
    hi = np.searchsorted(inner_start, outer_base + outer.end, side="left")
    return lo, np.maximum(hi, lo)
