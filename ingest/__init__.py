"""Ingest: read, clean and split documents into citable chunks and sentences, and embed them.

``parse_file`` turns one .txt/.md/.html/.pdf/.docx file into a :class:`ParsedDocument`:
the cleaned text (boilerplate such as press contacts, share bars and photo credits
removed), its language, metadata found by rules (title, dateline date and place, type,
partners, people), chunks sized in model tokens and a sentence table, all carrying
exact offsets into the cleaned text. A bad file raises :class:`IngestError` naming the
file and the reason. The index builds on ``iter_input_files``, ``content_hash`` and
an :class:`Embedder` (``load_embedder``; ``HashEmbedder`` is the test fake).
"""

from ingest.embed import Embedder, HashEmbedder, load_embedder
from ingest.errors import IngestError
from ingest.pipeline import (
    check_upload_name,
    content_hash,
    iter_input_files,
    parse_file,
)
from ingest.readers import SUPPORTED_SUFFIXES
from ingest.types import Chunk, DocType, Document, Lang, ParsedDocument, Person, Sentence

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Chunk",
    "DocType",
    "Document",
    "Embedder",
    "HashEmbedder",
    "IngestError",
    "Lang",
    "ParsedDocument",
    "Person",
    "Sentence",
    "check_upload_name",
    "content_hash",
    "iter_input_files",
    "load_embedder",
    "parse_file",
]
