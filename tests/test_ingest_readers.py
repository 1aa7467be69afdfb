"""Readers on files the tests make themselves: PDF, cp1252 text, HTML, DOCX, and bad files."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest

from ingest import HashEmbedder, IngestError, content_hash, iter_input_files, parse_file

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
COUNT = HashEmbedder().count_tokens


def _parse(path: Path, **kwargs):
    return parse_file(path, count_tokens=COUNT, **kwargs)


def _corpus_paragraphs(corpus_dir: Path, stem: str) -> list[str]:
    text = (corpus_dir / f"{stem}.txt").read_text("utf-8")
    return [p.strip() for p in text.split("\n\n") if p.strip()]


# --- PDF ---------------------------------------------------------------------------------
def _make_pdf(pages: list[list[str]], *, unicode_font: bool = True) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(auto=False)
    if unicode_font:
        pdf.add_font("DejaVu", fname=str(FONT))
        pdf.set_font("DejaVu", size=10)
    else:
        pdf.set_font("Helvetica", size=10)
    for paragraphs in pages:
        pdf.add_page()
        for para in paragraphs:
            pdf.multi_cell(0, 5, para, new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.ln(3)
    return bytes(pdf.output())


@pytest.fixture()
def lille_pdf(tmp_path: Path, corpus_dir: Path) -> Path:
    if not FONT.exists():
        pytest.skip("DejaVuSans.ttf is needed to write French text into a PDF")
    paras = _corpus_paragraphs(corpus_dir, "000_dbbfc47181911818")
    # Page 1: dateline, title, first paragraphs; page 2: the rest (list included), with a
    # word hyphenated at a line end the way PDF typesetting does.
    page1 = [*paras[:3], "Le protocole prévoit notamment le développement d'une recher-\nche"
             " translationnelle de haut niveau sur le site."]  # fmt: skip
    page2 = [*paras[3:6], "- Assurer une production scientifique de haut niveau ;\n"
             "- Développer une recherche translationnelle ;"]  # fmt: skip
    path = tmp_path / "lille_protocole.pdf"
    path.write_bytes(_make_pdf([page1, page2]))
    return path


def test_pdf_text_pages_and_metadata(lille_pdf: Path) -> None:
    parsed = _parse(lille_pdf, max_tokens=120, overlap_tokens=10)
    doc = parsed.document
    assert doc.doc_id == "lille_protocole"
    assert doc.date == dt.date(2024, 7, 8)
    assert doc.place == "Lille"
    assert doc.lang == "fr"
    assert len(doc.page_starts) == 2
    assert doc.page_starts[0] == 0
    page2_start = doc.page_starts[1]
    assert doc.text[page2_start:].startswith("Depuis plus de 15 ans, l'Université de Lille")
    # Line-end hyphenation re-joined; wrapped lines re-flowed into one sentence.
    assert "recherche translationnelle de haut niveau sur le site." in doc.text
    assert "recher-" not in doc.text
    assert (
        "Depuis plus de 15 ans, l'Université de Lille, le CHU de Lille et l'Inserm réussissent "
        "le pari de construire sur le site lillois" in doc.text
    )
    pages = {c.page for c in parsed.chunks}
    assert pages == {1, 2}
    for c in parsed.chunks:
        assert doc.text[c.start : c.end] == c.text
        assert c.page == (1 if c.start < page2_start else 2)
    for s in parsed.sentences:
        assert s.page == (1 if s.start < page2_start else 2)
    listed = next(c for c in parsed.chunks if "- Assurer une production" in c.text)
    assert "- Développer une recherche translationnelle ;" in listed.text
    assert listed.page == 2


def test_pdf_with_core_font(tmp_path: Path) -> None:
    path = tmp_path / "latin1.pdf"
    path.write_bytes(
        _make_pdf(
            [["Paris, le 3 mars 2023", "L'Inserm et la Région signent un accord de coopération."]],
            unicode_font=False,
        )
    )
    doc = _parse(path).document
    assert doc.date == dt.date(2023, 3, 3)
    assert "L'Inserm et la Région signent un accord de coopération." in doc.text


def test_encrypted_pdf_is_refused(tmp_path: Path, lille_pdf: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(lille_pdf))
    writer.encrypt("secret", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    path = tmp_path / "locked.pdf"
    path.write_bytes(buf.getvalue())
    with pytest.raises(
        IngestError,
        match=rf"^{re.escape(str(path))}: encrypted PDF \(password required\); decrypt it first$",
    ):
        _parse(path)


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_pdf_encrypted_with_empty_user_password_is_read(
    tmp_path: Path, lille_pdf: Path, algorithm: str
) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(lille_pdf))
    writer.encrypt(user_password="", owner_password="owner", algorithm=algorithm)
    buf = io.BytesIO()
    writer.write(buf)
    path = tmp_path / "restricted.pdf"
    path.write_bytes(buf.getvalue())
    assert _parse(path).document.date == dt.date(2024, 7, 8)


@pytest.mark.parametrize(
    "payload",
    [b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage", b"this is not a pdf at all"],
    ids=["truncated", "not-pdf"],
)
def test_corrupt_pdf_is_refused(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(payload)
    with pytest.raises(IngestError, match=rf"^{re.escape(str(path))}: corrupt or unreadable PDF"):
        _parse(path)


def test_half_a_pdf_is_refused(tmp_path: Path, lille_pdf: Path) -> None:
    data = lille_pdf.read_bytes()
    path = tmp_path / "half.pdf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match=r"half\.pdf: corrupt or unreadable PDF"):
        _parse(path)


def test_pdf_without_text_is_refused(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50)
    path = tmp_path / "scan.pdf"
    path.write_bytes(bytes(pdf.output()))
    with pytest.raises(IngestError, match=r"scan\.pdf: PDF has no extractable text"):
        _parse(path)


# --- text encodings ----------------------------------------------------------------------
def test_cp1252_french_text(tmp_path: Path) -> None:
    text = (
        "Lille, le 8 juillet 2024\r\n\r\n"
        "L’Université de Lille et l’Inserm signent un protocole de coopération « original ».\r\n"
        "\r\nCe partenariat réunit les équipes de recherche fondamentale, translationnelle et "
        "clinique du site lillois ; il prévoit la création d’unités mixtes – et bien plus…\r\n"
    )
    path = tmp_path / "communique_cp1252.txt"
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the fixture really is not UTF-8
    doc = _parse(path).document
    assert doc.text == text.replace("\r\n", "\n").strip()
    assert "L’Université de Lille et l’Inserm signent un protocole de coopération" in doc.text
    assert "« original »" in doc.text and "d’unités mixtes – et bien plus…" in doc.text
    assert doc.lang == "fr"
    assert doc.date == dt.date(2024, 7, 8)
    assert doc.content_hash == content_hash(text.encode("cp1252"))


def test_latin1_and_utf8_bom_text(tmp_path: Path) -> None:
    body = "Le 17 février 2022\n\nLa Région Normandie et l'Inserm coopèrent à Rouen pour la santé."
    latin = tmp_path / "latin.txt"
    latin.write_bytes(body.encode("latin-1"))
    bom = tmp_path / "bom.md"
    bom.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    for path in (latin, bom):
        doc = _parse(path).document
        assert doc.text == body
        assert doc.date == dt.date(2022, 2, 17)


def test_binary_text_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blob.txt"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(
        IngestError, match=rf"^{re.escape(str(path))}: binary content \(NUL bytes\), not a text"
    ):
        _parse(path)


# --- HTML --------------------------------------------------------------------------------
HTML_PAGE = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Partenariats de recherche | Inserm</title>
<script>window.dataLayer = [{"page": "tracking-code-should-vanish"}];</script>
<style>.share { color: red; }</style></head>
<body>
<header><nav class="menu"><ul><li><a href="/">Accueil</a></li><li><a href="/recherche">Espace
recherche</a></li><li><a href="/actualites">Actualités</a></li></ul></nav></header>
<div class="share-bar"><a href="#">Facebook</a> <a href="#">Twitter</a> <a href="#">Google+</a>
<a href="#">Linkedin</a></div>
<main><article>
<h1>Partenariats de recherche</h1>
<p>Le partenariat entre l'Inserm et certaines institutions incontournables – universités,
grandes écoles, CHU et autres institutions de recherche – se concrétise notamment par la
création d'unités mixtes de recherche, mises en place dans le cadre d'une stratégie
d’objectifs scientifiques communs.</p>
<p>Sur chaque site, le dialogue entre l’Inserm et ses partenaires est constant. Il permet :</p>
<ul><li>le développement d’une stratégie scientifique commune ;</li>
<li>l’accompagnement des unités de recherche au quotidien.</li></ul>
<p>L’ensemble est formalisé dans le cadre d'une convention et l'évaluation de ces structures
est réalisée par le Haut Conseil d’évaluation de la recherche et de l’enseignement supérieur.</p>
<p>Facebook Twitter Google+ Linkedin Viadeo Delicious</p>
<p>^ Haut de page</p>
</article></main>
<footer><p>© Inserm 2024 – Mentions légales – Plan du site</p></footer>
<script>console.log("script-text-should-vanish")</script>
</body></html>
"""


def test_html_main_text_without_boilerplate(tmp_path: Path) -> None:
    path = tmp_path / "partenariats.html"
    path.write_text(HTML_PAGE, encoding="utf-8")
    parsed = _parse(path)
    doc = parsed.document
    assert doc.doc_type == "web_page"
    assert doc.lang == "fr"
    assert doc.date is None
    assert doc.title == "Partenariats de recherche"  # trafilatura drops the " | Inserm" suffix
    assert doc.text.startswith("Partenariats de recherche\n\nLe partenariat entre l'Inserm")
    assert "Il permet :" in doc.text
    assert "- le développement d’une stratégie scientifique commune ;" in doc.text
    for junk in (
        "tracking-code",
        "script-text",
        "Accueil",
        "Espace",
        "Facebook",
        "Twitter",
        "Haut de page",
        "©",
        "Mentions légales",
        "color: red",
    ):
        assert junk not in doc.text, junk
    holder = next(c for c in parsed.chunks if "Il permet :" in c.text)
    assert "- l’accompagnement des unités de recherche au quotidien." in holder.text
    assert "HCERES" in doc.partners


def test_short_html_page_in_cp1252_drops_its_menu(tmp_path: Path) -> None:
    page = (
        '<html><head><meta charset="windows-1252"><title>Accord</title></head><body>'
        "<nav><a>Accueil</a> <a>Nous contacter</a></nav>"
        '<div class="social-share">Facebook Twitter</div>'
        "<p>L’Inserm coopère avec le CHU de Lille ; « très » bien.</p></body></html>"
    )
    path = tmp_path / "court.html"
    path.write_bytes(page.encode("cp1252"))
    doc = _parse(path).document
    assert doc.text == "L’Inserm coopère avec le CHU de Lille ; « très » bien."
    assert doc.title == "Accord"


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_html_without_charset_declaration(tmp_path: Path, encoding: str) -> None:
    sentence = "L’Inserm coopère à Lille ; « très » bien, près de 14 000 chercheurs."
    page = f"<?xml version='1.0' encoding='x'?><html><body><article><p>{sentence}</p></article>"
    path = tmp_path / f"sans_charset_{encoding}.html"
    path.write_bytes((page + "</body></html>").encode(encoding))
    assert _parse(path).document.text == sentence


def test_html_without_main_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "menu.htm"
    path.write_text(
        "<html><head><title>Vide</title></head><body><script>var a = 1;</script></body></html>",
        "utf-8",
    )
    with pytest.raises(IngestError, match=r"menu\.htm: no main text found in the HTML page$"):
        _parse(path)


# --- DOCX --------------------------------------------------------------------------------
def test_docx_convention(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Convention de partenariat Inserm – Université de Lille"
    document.add_heading("Convention de partenariat", level=1)
    document.add_paragraph("Paris, le 1er mars 2024")
    document.add_paragraph(
        "Entre les soussignés : l’Institut national de la santé et de la recherche médicale "
        "(Inserm), représenté par son Président-directeur général, et l’Université de Lille."
    )
    document.add_heading("Article 1 – Objet", level=2)
    document.add_paragraph("La présente convention a pour objet de définir :")
    document.add_paragraph("les modalités de la coopération scientifique ;", style="List Bullet")
    document.add_paragraph("la gestion des unités mixtes de recherche.", style="List Bullet")
    document.add_heading("Article 2 – Durée", level=2)
    document.add_paragraph("La convention est conclue pour une durée de cinq ans.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Partenaire"
    table.cell(0, 1).text = "Signataire"
    table.cell(1, 0).text = "CHU de Lille"
    table.cell(1, 1).text = "Directeur général"
    path = tmp_path / "convention_lille.docx"
    document.save(str(path))

    parsed = _parse(path)
    doc = parsed.document
    assert doc.title == "Convention de partenariat Inserm – Université de Lille"
    assert doc.doc_type == "convention"
    assert doc.date == dt.date(2024, 3, 1)
    assert doc.lang == "fr"
    assert (
        "La présente convention a pour objet de définir :\n\n"
        "- les modalités de la coopération scientifique ;\n"
        "- la gestion des unités mixtes de recherche." in doc.text
    )
    assert "CHU de Lille | Directeur général" in doc.text
    assert {"Inserm", "Université de Lille", "CHU de Lille"} <= set(doc.partners)
    for c in parsed.chunks:
        assert doc.text[c.start : c.end] == c.text


def _text_renamed(path: Path) -> None:
    path.write_text("Ceci est un texte brut renommé en .docx", "utf-8")


def _zip_without_word(path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "not a word document")


@pytest.mark.parametrize(
    "make,why",
    [
        (_text_renamed, r"not a Word zip package\)$"),
        (_zip_without_word, r"a zip archive without a Word document"),
    ],
)
def test_docx_that_is_not_a_word_package_is_refused(tmp_path: Path, make, why) -> None:
    path = tmp_path / "file.docx"
    make(path)
    with pytest.raises(
        IngestError, match=rf"^{re.escape(str(path))}: not a valid \.docx file \({why}"
    ):
        _parse(path)


# --- generic errors ----------------------------------------------------------------------
def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(IngestError, match=rf"^{re.escape(str(path))}: file is empty$"):
        _parse(path)


def test_whitespace_only_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blank.md"
    path.write_bytes(b"  \n\n\t\n")
    with pytest.raises(IngestError, match=r"blank\.md: file is empty$"):
        _parse(path)


def test_boilerplate_only_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "debris.txt"
    path.write_text("^ Haut de page\nVoir Modifier Créer ici\nFacebook Twitter Google+\n", "utf-8")
    with pytest.raises(IngestError, match=r"debris\.txt: no text left after removing boilerplate"):
        _parse(path)


def test_unknown_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "slides.pptx"
    path.write_bytes(b"PK\x03\x04 whatever")
    with pytest.raises(
        IngestError,
        match=rf"^{re.escape(str(path))}: unsupported file type '\.pptx'; supported: "
        r"\.txt, \.md, \.html, \.htm, \.pdf, \.docx$",
    ):
        _parse(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gone.txt"
    with pytest.raises(IngestError, match=rf"^{re.escape(str(path))}: no such file$"):
        _parse(path)


def test_iter_input_files(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in [
        "b.txt",
        "a.md",
        "README.md",
        "readme.txt",
        "notes.json",
        ".secret.txt",
        "sub/c.pdf",
        "sub/deeper/d.HTML",
        ".hidden/e.txt",
    ]:
        (tmp_path / name).write_bytes(b"x")
    explicit = tmp_path / "notes.json"
    found = list(iter_input_files([tmp_path, explicit, tmp_path / "b.txt"]))
    assert found == [
        tmp_path / "a.md",
        tmp_path / "b.txt",
        tmp_path / "sub" / "c.pdf",
        tmp_path / "sub" / "deeper" / "d.HTML",
        explicit,  # named explicitly: offered, so that the caller reports it as unsupported
    ]


def test_iter_input_files_on_corpus(corpus_dir: Path, corpus_files: list[Path]) -> None:
    assert list(iter_input_files([corpus_dir])) == corpus_files


def test_content_hash() -> None:
    assert content_hash(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert content_hash(b"abc") != content_hash(b"abd")
