"""Readers: file bytes -> raw text pages, one function per format.

Every failure a user's file can cause (unknown type, empty, encrypted, corrupt,
undecodable) becomes an :class:`IngestError` that names the file and the reason, so
the caller can skip the file and go on.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ingest.errors import FileLimitError, IngestError, UnsupportedFileTypeError

logger = logging.getLogger(__name__)

__all__ = ["SUPPORTED_SUFFIXES", "RawDocument", "ReadLimits", "SourceKind", "read_bytes"]

SourceKind = Literal["text", "html", "pdf", "docx"]

_KIND_BY_SUFFIX: dict[str, SourceKind] = {
    ".txt": "text",
    ".md": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_KIND_BY_SUFFIX)


@dataclass(frozen=True, slots=True)
class RawDocument:
    """Text as read from the file, before cleaning. PDFs give one string per page."""

    pages: tuple[str, ...]
    kind: SourceKind
    title: str | None = None  # from the file's own metadata (HTML <title>, PDF/DOCX properties)


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """What a .docx (a zip of XML parts) may expand to before it is parsed. A 1 MB zip
    can hold a 1 GB document.xml; these refuse it from the zip directory alone, before
    anything is decompressed. Sizes are bytes; ``max_ratio`` is expanded / compressed."""

    max_member_bytes: int = 50_000_000
    max_expanded_bytes: int = 200_000_000
    max_ratio: float = 100.0
    max_paragraphs: int = 50_000
    #: parts smaller than this are not ratio-checked (tiny XML parts compress very well)
    ratio_floor_bytes: int = 1_000_000


def read_bytes(data: bytes, path: Path, *, limits: ReadLimits | None = None) -> RawDocument:
    """Decode ``data`` read from ``path`` according to its suffix.

    Raises IngestError for an unsupported suffix, an empty file or unreadable content,
    FileLimitError (an IngestError) for a .docx beyond ``limits``.
    """
    kind = _KIND_BY_SUFFIX.get(path.suffix.lower())
    if kind is None:
        shown = path.suffix or "(no extension)"
        raise UnsupportedFileTypeError(
            f"{path}: unsupported file type {shown!r}; supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not data.strip():
        raise IngestError(f"{path}: file is empty")
    if kind == "docx":
        return _read_docx(data, path, limits or ReadLimits())
    readers: dict[SourceKind, Callable[[bytes, Path], RawDocument]] = {
        "text": _read_text,
        "html": _read_html,
        "pdf": _read_pdf,
    }
    return readers[kind](data, path)


# --- plain text and markdown -------------------------------------------------------------
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


_WESTERN = ("cp1252", "iso8859_15", "latin_1")


def decode_text(data: bytes, path: Path) -> str:
    """Decode a text file: a BOM wins, then strict UTF-8, then charset-normalizer's guess
    (French files are often cp1252 or latin-1)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise IngestError(f"{path}: invalid {encoding} text after its BOM: {exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise IngestError(f"{path}: binary content (NUL bytes), not a text file")
    from charset_normalizer import from_bytes

    results = from_bytes(data)
    best = results.best()
    if best is None:
        raise IngestError(f"{path}: cannot detect the text encoding; re-save the file as UTF-8")
    # Short French texts decode cleanly in several 8-bit code pages (cp1250 turns "è" into
    # "č"); when a Western one reads the bytes as well as the best guess, it wins.
    for encoding in _WESTERN:
        match = next((m for m in results if m.encoding == encoding), None)
        if match is not None and match.chaos <= best.chaos + 0.01:
            best = match
            break
    logger.debug("%s: decoded as %s", path, best.encoding)
    # Decode ourselves: a CharsetMatch's str() may be the text of its group's leader.
    return data.decode(best.encoding)


def _read_text(data: bytes, path: Path) -> RawDocument:
    return RawDocument(pages=(decode_text(data, path),), kind="text")


# --- HTML --------------------------------------------------------------------------------
# Page furniture that is never content. trafilatura drops it from long pages by itself but
# falls back to "all text" on short ones, so it goes before extraction.
_FURNITURE_XPATH = (
    "//script|//style|//noscript|//template|//nav|//aside|//form|//footer|//iframe"
    "|//header[not(ancestor::article) and not(ancestor::main)]"
)
_FURNITURE_ATTR = re.compile(
    r"(?:^|[\s_-])(?:share|sharing|social|breadcrumbs?|cookies?|menu|navbar|skip-link)"
    r"(?:$|[\s_-])",
    re.IGNORECASE,
)


_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def _decode_html(data: bytes, path: Path) -> str:
    """The page as text: its declared charset if Python knows it, else detected like a
    text file (without a declaration, parsers assume latin-1 and garble UTF-8 pages)."""
    declared = _META_CHARSET.search(data[:4096])
    text: str | None = None
    if declared is not None:
        try:
            text = data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            logger.debug("%s: declared charset %r does not fit", path, declared.group(1))
    if text is None:
        text = decode_text(data, path)
    # lxml refuses str input that still carries an XML encoding declaration.
    return _XML_DECLARATION.sub("", text, count=1)


def _read_html(data: bytes, path: Path) -> RawDocument:
    import trafilatura
    from lxml import etree
    from lxml import html as lxml_html

    try:
        tree = lxml_html.fromstring(_decode_html(data, path))
    except (etree.ParserError, ValueError) as exc:
        raise IngestError(f"{path}: unreadable HTML ({exc})") from exc
    title_text = tree.findtext(".//title")
    for element in tree.xpath(_FURNITURE_XPATH):
        element.drop_tree()
    for element in list(tree.iter()):
        marks = f"{element.get('class', '')} {element.get('id', '')} {element.get('role', '')}"
        if element.getparent() is not None and _FURNITURE_ATTR.search(marks):
            element.drop_tree()
    doc = trafilatura.bare_extraction(
        lxml_html.tostring(tree, encoding="unicode"),
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_images=False,
        include_links=False,
        include_formatting=False,
    )
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not text.strip():
        raise IngestError(f"{path}: no main text found in the HTML page")
    # trafilatura puts one block per line; blank lines make paragraphs explicit, and
    # consecutive list items stay together as one list.
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    parts: list[str] = []
    for line in lines:
        if parts and line.startswith("- ") and parts[-1].startswith("- "):
            parts[-1] += "\n" + line
        else:
            parts.append(line)
    title = getattr(doc, "title", None) or (title_text or "").strip() or None
    return RawDocument(pages=("\n\n".join(parts),), kind="html", title=title)


# --- PDF ---------------------------------------------------------------------------------
_HYPHEN_BREAK = re.compile(r"(\w)-\n(?=[a-zà-öø-ÿœ])")
_TERMINAL = re.compile(r"[.!?:;…»”\"]$")
_BULLET_START = re.compile(r"^\s*(?:[-–•·▪◦*]|\d{1,2}[.)])\s")


def _read_pdf(data: bytes, path: Path) -> RawDocument:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(f"{path}: encrypted PDF (password required); decrypt it first")
        pages = tuple(_reflow_pdf_page(page.extract_text() or "") for page in reader.pages)
        meta_title = reader.metadata.title if reader.metadata else None
    except IngestError:
        raise
    except FileNotDecryptedError as exc:
        raise IngestError(f"{path}: encrypted PDF (password required); decrypt it first") from exc
    except DependencyError as exc:
        raise IngestError(
            f"{path}: encrypted PDF needs an optional package ({exc}); "
            "pip install cryptography, or decrypt the file first"
        ) from exc
    except (PyPdfError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        # pypdf lets lookup/type errors escape on malformed objects: all mean "corrupt".
        raise IngestError(f"{path}: corrupt or unreadable PDF ({exc})") from exc
    if not any(p.strip() for p in pages):
        raise IngestError(f"{path}: PDF has no extractable text (scanned images?); OCR it first")
    title = meta_title.strip() if isinstance(meta_title, str) and meta_title.strip() else None
    return RawDocument(pages=pages, kind="pdf", title=title)


def _reflow_pdf_page(text: str) -> str:
    """Undo the PDF's line wrapping: re-join hyphenated words, merge wrapped lines, and keep
    a line break only where a sentence, a heading or a list item ends."""
    text = _HYPHEN_BREAK.sub(r"\1", text.replace("\r\n", "\n"))
    lines = [line.strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        prev = out[-1] if out else ""
        if prev and not _TERMINAL.search(prev) and not _BULLET_START.match(line):
            first = line[0]
            # A wrapped line continues in lower case; an upper-case start after a long line
            # is also a wrap (names), after a short one it is a new heading or paragraph.
            if first.islower() or first in "«(“\"'’" or (len(prev) > 60 and first.isupper()):
                out[-1] = f"{prev} {line}"
                continue
        out.append(line)
    return "\n".join(out).strip()


# --- DOCX --------------------------------------------------------------------------------
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MAIN_PART = "word/document.xml"


def _check_docx_archive(data: bytes, path: Path, limits: ReadLimits) -> None:
    """Refuse a zip whose parts would expand past ``limits``, from its directory alone.

    zipfile never returns more than a member's declared size, so checking the declared
    sizes bounds what python-docx can decompress."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            main = next((m for m in members if m.filename == _MAIN_PART), None)
            total = 0
            for member in members:
                size = member.file_size
                total += size
                if size > limits.max_member_bytes:
                    raise FileLimitError(
                        f"{path}: .docx part {member.filename} expands to {size} bytes; the "
                        f"limit is {limits.max_member_bytes} (PARTNERSEARCH_DOCX_MAX_MEMBER_BYTES)"
                    )
                ratio = size / max(member.compress_size, 1)
                if size >= limits.ratio_floor_bytes and ratio > limits.max_ratio:
                    raise FileLimitError(
                        f"{path}: .docx part {member.filename} is compressed {ratio:.0f}:1 "
                        f"(a zip bomb?); the limit is {limits.max_ratio:g}:1 "
                        "(PARTNERSEARCH_DOCX_MAX_RATIO)"
                    )
            if total > limits.max_expanded_bytes:
                raise FileLimitError(
                    f"{path}: .docx expands to {total} bytes in all; the limit is "
                    f"{limits.max_expanded_bytes} (PARTNERSEARCH_DOCX_MAX_EXPANDED_BYTES)"
                )
            if main is not None:
                with archive.open(main) as fh:
                    _check_paragraphs(fh, path, limits)
    except zipfile.BadZipFile as exc:
        raise IngestError(f"{path}: not a valid .docx file (not a Word zip package)") from exc


def _check_paragraphs(stream: io.IOBase, path: Path, limits: ReadLimits) -> None:
    """Count paragraphs with a streaming parse (elements freed as they close) before
    python-docx builds its object tree, which costs far more per paragraph."""
    from lxml import etree

    count = 0
    try:
        for _, element in etree.iterparse(
            stream, events=("end",), tag=f"{{{_W_NS}}}p", resolve_entities=False, no_network=True
        ):
            count += 1
            if count > limits.max_paragraphs:
                raise FileLimitError(
                    f"{path}: .docx has more than {limits.max_paragraphs} paragraphs "
                    "(PARTNERSEARCH_DOCX_MAX_PARAGRAPHS)"
                )
            element.clear(keep_tail=False)
    except etree.XMLSyntaxError as exc:
        raise IngestError(f"{path}: corrupt .docx file (document.xml: {exc})") from exc


def _read_docx(data: bytes, path: Path, limits: ReadLimits) -> RawDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from lxml import etree

    _check_docx_archive(data, path, limits)
    try:
        document = docx.Document(io.BytesIO(data))
    except etree.XMLSyntaxError as exc:
        raise IngestError(f"{path}: corrupt .docx file ({exc})") from exc
    except (zipfile.BadZipFile, PackageNotFoundError) as exc:
        raise IngestError(f"{path}: not a valid .docx file (not a Word zip package)") from exc
    except KeyError as exc:  # a zip, but without the parts of a Word document
        raise IngestError(
            f"{path}: not a valid .docx file (a zip archive without a Word document inside)"
        ) from exc
    except ValueError as exc:
        raise IngestError(f"{path}: corrupt .docx file ({exc})") from exc

    from docx.table import Table

    blocks: list[str] = []
    heading_title: str | None = None
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = [
                " | ".join(dict.fromkeys(c.text.strip() for c in row.cells if c.text.strip()))
                for row in item.rows
            ]
            blocks.append("\n".join(r for r in rows if r))
            continue
        text = item.text.strip()
        if not text:
            continue
        style = (item.style.name if item.style is not None else "") or ""
        if heading_title is None and style in ("Title", "Heading 1"):
            heading_title = text
        numbered = item._p.pPr is not None and item._p.pPr.numPr is not None
        if style.startswith("List") or numbered:
            item_text = f"- {text}"
            if blocks and blocks[-1].startswith("- "):
                blocks[-1] += "\n" + item_text
                continue
            blocks.append(item_text)
            continue
        blocks.append(text)
    body = "\n\n".join(b for b in blocks if b)
    if not body.strip():
        raise IngestError(f"{path}: .docx has no text")
    core_title = (document.core_properties.title or "").strip()
    return RawDocument(pages=(body,), kind="docx", title=core_title or heading_title)
