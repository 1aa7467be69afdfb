"""Hostile and odd input files: each is that file's error, never the batch's (issue 15)."""

from __future__ import annotations

import io
import re
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from index import Indexer
from ingest import IngestError, parse_file
from ingest.embed import HashEmbedder
from ingest.errors import FileLimitError
from ingest.readers import ReadLimits
from service.cli import app

COUNT = HashEmbedder().count_tokens
REPO = Path(__file__).resolve().parent.parent
GOOD_TEXT = "Lille, le 8 juillet 2024\n\nL'Inserm et le CHU de Lille signent une convention.\n"

#: The CLI's embedders seam (no monkeypatching): a HashEmbedder, no USE channel.
FAKE_EMBEDDERS = {"embedders": lambda settings: (HashEmbedder(), None)}


def _docx_bytes(paragraphs: list[str]) -> bytes:
    from docx import Document as Docx

    word = Docx()
    for text in paragraphs:
        word.add_paragraph(text)
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def _with_document_xml(docx: bytes, document_xml: bytes) -> bytes:
    """The same Word package with its document.xml replaced (deflated, as Word does)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            data = document_xml if item.filename == "word/document.xml" else src.read(item)
            dst.writestr(item.filename, data)
    return out.getvalue()


def _bomb(tmp_path: Path, expanded: int = 30_000_000) -> Path:
    """A .docx whose document.xml is one ``expanded``-byte text node: ~1000:1 compression."""
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>"
    )
    tail = b"</w:t></w:r></w:p></w:body></w:document>"
    xml = head + b"a" * (expanded - len(head) - len(tail)) + tail
    path = tmp_path / "bomb.docx"
    path.write_bytes(_with_document_xml(_docx_bytes(["x"]), xml))
    return path


def test_docx_zip_bomb_is_refused_from_the_zip_directory(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path)
    assert bomb.stat().st_size < 200_000  # small on disk, 30 MB expanded
    started = time.perf_counter()
    with pytest.raises(
        FileLimitError,
        match=r"bomb\.docx: \.docx part word/document\.xml is "
        r"compressed \d+:1 \(a zip bomb\?\); the limit is 100:1",
    ):
        parse_file(bomb, count_tokens=COUNT)
    assert time.perf_counter() - started < 1.0  # refused before anything was decompressed


def test_docx_part_larger_than_the_member_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.docx"
    path.write_bytes(_docx_bytes(["Un paragraphe de texte ordinaire."] * 20))
    limits = ReadLimits(max_member_bytes=2_000)
    with pytest.raises(
        FileLimitError,
        match=r"big\.docx: \.docx part \S+ expands to \d+ bytes; the limit is 2000 "
        r"\(PARTNERSEARCH_DOCX_MAX_MEMBER_BYTES\)",
    ):
        parse_file(path, count_tokens=COUNT, limits=limits)


def test_docx_total_expanded_size_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "total.docx"
    path.write_bytes(_docx_bytes(["Texte."]))
    with zipfile.ZipFile(path) as archive:
        total = sum(m.file_size for m in archive.infolist())
    limits = ReadLimits(max_expanded_bytes=total - 1)
    with pytest.raises(FileLimitError, match=rf"expands to {total} bytes in all; the limit is "):
        parse_file(path, count_tokens=COUNT, limits=limits)
    assert parse_file(path, count_tokens=COUNT, limits=ReadLimits(max_expanded_bytes=total))


def test_docx_paragraph_count_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "many.docx"
    path.write_bytes(_docx_bytes([f"Paragraphe numéro {i}." for i in range(60)]))
    with pytest.raises(FileLimitError, match=r"more than 50 paragraphs"):
        parse_file(path, count_tokens=COUNT, limits=ReadLimits(max_paragraphs=50))
    parsed = parse_file(path, count_tokens=COUNT, limits=ReadLimits(max_paragraphs=60))
    assert "Paragraphe numéro 59." in parsed.document.text


def test_docx_text_node_too_long_is_that_files_error(tmp_path: Path) -> None:
    # Under the limits but over libxml2's 10 MB text-node cap: XMLSyntaxError used to escape.
    bomb = _bomb(tmp_path, expanded=11_000_000)
    with pytest.raises(IngestError, match=r"bomb\.docx: corrupt \.docx file"):
        parse_file(bomb, count_tokens=COUNT, limits=ReadLimits(max_ratio=1e9))


def test_batch_goes_on_past_a_zip_bomb(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    _bomb(docs)
    (docs / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    report = Indexer(tmp_path / "data", HashEmbedder()).ingest([docs])
    assert report.added == ["good"]
    assert [Path(p).name for p, _ in report.skipped] == ["bomb.docx"]
    assert "zip bomb" in report.skipped[0][1]


def test_cli_prints_one_summary_line_for_a_zip_bomb_and_ingests_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    bomb = _bomb(docs)
    (docs / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    monkeypatch.setenv("PARTNERSEARCH_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["ingest", str(docs)], obj=FAKE_EMBEDDERS)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert "skipped: 1" in lines
    (line,) = [x for x in lines if "bomb.docx" in x]
    assert re.fullmatch(rf"  {re.escape(str(bomb))}: {re.escape(str(bomb))}: \.docx part .+", line)
    assert any(x.startswith("documents: 1 (added 1,") for x in lines)


def test_import_error_inside_a_reader_is_that_files_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A venv without lxml_html_clean: importing trafilatura fails inside the HTML reader.
    monkeypatch.setitem(sys.modules, "trafilatura", None)
    docs = tmp_path / "docs"
    docs.mkdir()
    page = docs / "page.html"
    page.write_text("<html><body><p>Un texte de page web assez long.</p></body></html>")
    (docs / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    with pytest.raises(IngestError, match=r"page\.html: a package needed to read this file type"):
        parse_file(page, count_tokens=COUNT)
    report = Indexer(tmp_path / "data", HashEmbedder()).ingest([docs])
    assert report.added == ["good"]
    assert [Path(p).name for p, _ in report.skipped] == ["page.html"]


def test_any_reader_failure_is_that_files_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.readers

    def broken(data: bytes, path: Path):
        raise RuntimeError("parser bug")

    monkeypatch.setattr(ingest.readers, "_read_pdf", broken)
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF-1.7\n")
    with pytest.raises(IngestError, match=r"a\.pdf: could not be read \(RuntimeError: parser"):
        parse_file(path, count_tokens=COUNT)


def test_trafilatura_html_cleaner_is_an_explicit_dependency() -> None:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(re.match(r"lxml[_-]html[_-]clean\b", d) for d in deps), deps
    from lxml.html.clean import Cleaner  # what justext (trafilatura) imports

    assert Cleaner


# --- verbatim text ----------------------------------------------------------------------------
CODE_LIKE = (
    "Note technique du 3 mars 2025\n\n"
    "Le script de la page définit window.__x = a*b*c; avant le chargement.\n\n"
    "La variable __init__ et snake_case_name restent telles quelles, comme **kwargs.\n\n"
    "Une note *importante* et un [renvoi](voir annexe) ne sont pas du markdown ici.\n\n"
    "# commentaire de configuration\n\n"
    "***\n\n"
    "Fin de la note, chemin C:\\dossier\\_fichier.txt compris."
)


@pytest.mark.parametrize(
    "name,text,expected",
    [
        # Plain text keeps its underscores, asterisks and brackets: the press office
        # quotes stored text verbatim.
        ("note.txt", CODE_LIKE, CODE_LIKE),
        # Markdown loses its markup, but not the asterisks and underscores inside words.
        (
            "note.md",
            "## Titre\n\n**Le texte** en gras et window.__x = a*b*c; reste du code.",
            "Titre\n\nLe texte en gras et window.__x = a*b*c; reste du code.",
        ),
        # A .txt saved from markdown (corpus/001 is one: headings, bold and links
        # together) is cleaned as markdown.
        (
            "release.txt",
            "## À PROPOS\n\n**L'Inserm** signe, voir [le site](http://example.org).",
            "À PROPOS\n\nL'Inserm signe, voir le site.",
        ),
    ],
)
def test_markup_is_removed_only_from_markdown(tmp_path: Path, name, text, expected) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert parse_file(path, count_tokens=COUNT).document.text == expected
