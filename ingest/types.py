"""Data passed from ingest to index: documents, chunks and sentences that carry their citation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Chunk",
    "DocType",
    "Document",
    "Lang",
    "ParsedDocument",
    "Person",
    "Sentence",
    "Span",
    "chunk_key",
    "sentence_key",
]

Lang = Literal["fr", "en", "other"]
DocType = Literal["press_release", "convention", "web_page", "interview", "other"]


@dataclass(frozen=True, slots=True)
class Person:
    """Someone quoted or named in a document, with the role the text gives them."""

    name: str
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    """One cleaned input file. ``text`` is the cleaned text every offset points into."""

    doc_id: str  # file stem: stable across re-ingest, used in URLs and citations
    source: str  # path of the file it came from, as given to ingest
    title: str
    text: str
    content_hash: str  # sha256 of the raw file bytes
    lang: Lang
    doc_type: DocType
    date: dt.date | None = None
    place: str | None = None
    partners: tuple[str, ...] = ()
    people: tuple[Person, ...] = ()
    # start offsets of PDF pages in ``text`` (page i+1 starts at page_starts[i]); empty otherwise
    page_starts: tuple[int, ...] = field(default=())


def chunk_key(doc_id: str, ordinal: int) -> str:
    """The chunk_id of a document's ``ordinal``-th chunk (stable: FAISS ids derive from it)."""
    return f"{doc_id}#c{ordinal}"


def sentence_key(doc_id: str, ordinal: int) -> str:
    """The sentence_id of a document's ``ordinal``-th sentence."""
    return f"{doc_id}#s{ordinal}"


@dataclass(frozen=True, slots=True)
class Span:
    """A verbatim piece of one document: ``text == document.text[start:end]`` exactly.

    Its id derives from ``doc_id`` and ``ordinal`` (a property of each kind, not a field),
    so it cannot disagree with them: FAISS ids are hashed from it.
    """

    doc_id: str
    ordinal: int
    text: str
    start: int
    end: int
    lang: Lang
    page: int | None = None  # 1-based PDF page where the span starts


@dataclass(frozen=True, slots=True)
class Chunk(Span):
    """A retrievable passage."""

    @property
    def chunk_id(self) -> str:
        return chunk_key(self.doc_id, self.ordinal)


@dataclass(frozen=True, slots=True)
class Sentence(Span):
    """One sentence, for answer extraction and precedent-wording search."""

    @property
    def sentence_id(self) -> str:
        return sentence_key(self.doc_id, self.ordinal)


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """What ingest hands to the index for one file."""

    document: Document
    chunks: tuple[Chunk, ...]
    sentences: tuple[Sentence, ...]
