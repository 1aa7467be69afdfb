"""parse_file: one input file (or upload) -> cleaned Document, its chunks and sentences.

``check_upload_name`` is the one rule for a file name that comes from outside (an
upload): a plain name of a supported type, refused rather than repaired.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

from ingest.chunk import chunk_document
from ingest.clean import clean_text, looks_like_markdown
from ingest.errors import FileNameError, IngestError, UnsupportedFileTypeError
from ingest.lang import detect_lang
from ingest.meta import extract_people, find_dateline, find_partners, guess_doc_type, guess_title
from ingest.readers import SUPPORTED_SUFFIXES, RawDocument, ReadLimits, read_bytes
from ingest.types import Document, ParsedDocument

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_FILENAME",
    "check_upload_name",
    "content_hash",
    "iter_input_files",
    "parse_file",
]

_NOT_DOCUMENTS = frozenset({"readme.md", "readme.txt"})
_PAGE_SEPARATOR = "\n\n"
#: Longest file name in bytes (UTF-8), the limit of common filesystems: an upload is
#: kept under its own name, so a longer one could not be written.
MAX_FILENAME = 255


def check_upload_name(name: str | None) -> str:
    """``name`` if it is a plain file name of a supported type.

    Raises FileNameError for directories (POSIX or Windows), a leading dot, control
    characters or a name over MAX_FILENAME bytes, UnsupportedFileTypeError for another type.
    """
    name = name or ""
    bad = (
        not name
        or len(name.encode("utf-8", "surrogatepass")) > MAX_FILENAME
        or name.startswith(".")
        or PurePosixPath(name).name != name
        or PureWindowsPath(name).name != name
        or any(unicodedata.category(c) == "Cc" for c in name)
    )
    if bad:
        raise FileNameError(
            f"file name {name!r} is not a plain file name; send e.g. 'report.pdf' without "
            "directories, leading dots or control characters"
        )
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFileTypeError(
            f"{name}: type {suffix or '(none)'!r} is not supported; "
            f"send one of {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    return name


def content_hash(data: bytes) -> str:
    """sha256 hex digest of a file's raw bytes: the indexer skips files whose hash it knows."""
    return hashlib.sha256(data).hexdigest()


def iter_input_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand ``paths``: directories recursively (sorted, supported suffixes only, hidden
    files and README.md/README.txt skipped); files named explicitly are yielded as given,
    whatever their type, so that an unsupported one is reported rather than ignored."""
    seen: set[Path] = set()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            candidates = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and p.suffix.lower() in SUPPORTED_SUFFIXES
                and p.name.lower() not in _NOT_DOCUMENTS
            )
        else:
            candidates = [path]
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                yield candidate


def parse_file(
    path: Path,
    *,
    count_tokens: Callable[[str], int],
    max_tokens: int = 200,
    overlap_tokens: int = 30,
    limits: ReadLimits | None = None,
    windows: tuple[int, int] | None = None,
    data: bytes | None = None,
) -> ParsedDocument:
    """Read, clean, detect language, extract metadata, chunk and split ``path`` into
    sentences. ``count_tokens`` is the embedder's passage token counter; no chunk exceeds
    ``max_tokens`` of it. ``limits`` bounds what a .docx may expand to (default ReadLimits()).
    ``windows`` = (size, stride) makes the passages sliding sentence windows. With
    ``data`` (an upload, already in memory) nothing is read: ``path`` only names the
    document (its stem is the id) and every error.

    Raises IngestError ("<path>: <reason>") for an unknown type, a missing, empty,
    encrypted, corrupt, oversized or undecodable file, one with no text left after
    cleaning, and for any other failure while reading this file (a missing optional
    package, a parser bug): one bad file never stops a batch.
    """
    path = Path(path)
    if data is None:
        data = _read(path)
    try:
        return _parse(
            path,
            data,
            count_tokens=count_tokens,
            max_tokens=max_tokens,
            overlap_tokens=overlap_tokens,
            limits=limits or ReadLimits(),
            windows=windows,
        )
    except IngestError:
        raise
    except ImportError as exc:
        logger.exception("%s: reader dependency missing", path)
        raise IngestError(
            f"{path}: a package needed to read this file type is missing ({exc}); "
            "reinstall partnersearch (pip install -e .) to get its dependencies"
        ) from exc
    except Exception as exc:  # any failure is this file's, not the batch's
        logger.exception("%s: unexpected failure while reading", path)
        raise IngestError(
            f"{path}: could not be read ({type(exc).__name__}: {exc}); "
            "the server log has the details"
        ) from exc


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise IngestError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise IngestError(f"{path}: is a directory; pass it to iter_input_files") from exc
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file ({exc.strerror or exc})") from exc


def _markdown(raw: RawDocument, path: Path) -> bool:
    """Markdown markup is stripped from .md files and from .txt files that read as
    markdown; never from HTML, PDF or Word text (their markup is handled by the reader)."""
    suffix = path.suffix.lower()
    if suffix == ".md":
        return True
    return suffix == ".txt" and looks_like_markdown("\n".join(raw.pages))


def _parse(
    path: Path,
    data: bytes,
    *,
    count_tokens: Callable[[str], int],
    max_tokens: int,
    overlap_tokens: int,
    limits: ReadLimits,
    windows: tuple[int, int] | None = None,
) -> ParsedDocument:
    raw = read_bytes(data, path, limits=limits)
    markdown = _markdown(raw, path)

    # Pages are cleaned one by one so that their start offsets in the stored text are known.
    parts: list[str] = []
    page_starts: list[int] = []
    removed: set[str] = set()
    offset = 0
    for page in raw.pages:
        cleaned = clean_text(page, markdown=markdown)
        removed |= cleaned.removed
        if parts and cleaned.text:
            offset += len(_PAGE_SEPARATOR)
        page_starts.append(offset)
        if cleaned.text:
            parts.append(cleaned.text)
            offset += len(cleaned.text)
    text = _PAGE_SEPARATOR.join(parts)
    if not text:
        raise IngestError(f"{path}: no text left after removing boilerplate")

    dateline = find_dateline(text)
    document = Document(
        doc_id=path.stem,
        source=str(path),
        title=guess_title(text, metadata_title=raw.title),
        text=text,
        content_hash=content_hash(data),
        lang=detect_lang(text[:5000], default="other"),
        doc_type=guess_doc_type(
            text,
            source_kind=raw.kind,
            has_dateline=dateline is not None,
            removed=frozenset(removed),
            raw_text="\n".join(raw.pages)[:3000],
        ),
        date=dateline.date if dateline else None,
        place=dateline.place if dateline else None,
        partners=find_partners(text),
        people=extract_people(text),
        page_starts=tuple(page_starts) if raw.kind == "pdf" else (),
    )
    chunks, sentences = chunk_document(
        document,
        count_tokens=count_tokens,
        max_tokens=max_tokens,
        overlap_tokens=overlap_tokens,
        windows=windows,
    )
    logger.debug(
        "%s: %s, %s, %d chunks, %d sentences",
        path,
        document.lang,
        document.doc_type,
        len(chunks),
        len(sentences),
    )
    return ParsedDocument(document=document, chunks=chunks, sentences=sentences)
