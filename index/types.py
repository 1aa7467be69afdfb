"""Data the index returns: filters in, hits out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from ingest.types import DocType, Lang

__all__ = ["AskMode", "Filters", "Hit", "IngestReport", "Mode", "SentenceHit"]

#: "rerank" is hybrid followed by the cross-encoder over its head (index.rerank).
Mode = Literal["hybrid", "dense", "lexical", "use", "rerank"]
#: The retrievals /ask reads passages from.
AskMode = Literal["hybrid", "rerank"]
#: How chunk vectors are made: embedded from the chunk's own text, or pooled (normalised
#: mean) from its sentences' vectors, which skips one model pass per chunk.
ChunkVectors = Literal["embedded", "pooled"]
#: What is retrieved: packed chunks, or sliding sentence windows.
Passages = Literal["chunks", "windows"]


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions applied before the top-k cut. ``None`` means no restriction."""

    lang: Lang | None = None
    doc_type: DocType | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    partner: str | None = None  # case/accent-insensitive substring of a partner name
    doc_id: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved chunk with its citation; ``text`` is the verbatim chunk text."""

    doc_id: str
    chunk_id: str
    title: str
    date: dt.date | None
    lang: Lang
    doc_type: DocType
    text: str
    start: int
    end: int
    page: int | None
    score: float
    ranks: dict[str, int] = field(default_factory=dict)  # retriever -> 1-based rank


@dataclass(frozen=True, slots=True)
class SentenceHit:
    """One sentence matched for precedent wording."""

    sentence_id: str
    doc_id: str
    title: str
    date: dt.date | None
    lang: Lang
    text: str
    start: int
    end: int
    page: int | None
    score: float


@dataclass(slots=True)
class IngestReport:
    """What an ingest run did, for the CLI summary and the upload endpoint."""

    files_read: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    added: list[str] = field(default_factory=list)  # doc_ids new in this run
    updated: list[str] = field(default_factory=list)  # doc_ids whose content changed
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # pruned or deleted doc_ids
    chunks_embedded: int = 0
    sentences_embedded: int = 0
    documents: int = 0  # documents in the index after the run
    chunks: int = 0
    sentences: int = 0
    languages: dict[str, int] = field(default_factory=dict)  # lang -> documents
    snapshot_id: str | None = None
