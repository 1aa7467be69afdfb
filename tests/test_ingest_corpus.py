"""parse_file on the five corpus documents: metadata, cleaning, offsets, token limits."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest

from ingest import HashEmbedder, ParsedDocument, Person, parse_file
from ingest.lang import detect_lang

EXPECTED = {
    # stem: (date, lang, doc_type, place)
    "000_dbbfc47181911818": (dt.date(2024, 7, 8), "fr", "press_release", "Lille"),
    "001_067f252971e93813": (dt.date(2023, 9, 27), "fr", "press_release", "Paris-Saclay"),
    "002_86b4586c1617dcb0": (dt.date(2022, 2, 17), "fr", "press_release", None),
    "003_8361a66d4be4fd17": (None, "fr", "web_page", None),
    "004_141e648614901eb4": (None, "en", "interview", None),
}
BOILERPLATE = [
    "Haut de page",
    "Facebook",
    "Twitter",
    "Google+",
    "Linkedin",
    "Netvibes",
    "Voir Modifier",
    "Créer ici",
    "©",
    "Gregory Hau",
    "**",
    "\\*",
    "\\",
    "##",
    "](",
    "@",
    "mailto",
    "CONTACT PRESSE",
    "Contacts Presse",
    "Alexandra PREAU",
    "Gaëlle Degrez",
    "Pour en savoir plus",
]
PHONE = re.compile(r"\b0\d(?:[ .]?\d\d){4}\b")


@pytest.fixture(scope="module")
def parsed(corpus_files: list[Path]) -> dict[str, ParsedDocument]:
    counter = HashEmbedder().count_tokens
    return {p.stem: parse_file(p, count_tokens=counter) for p in corpus_files}


def test_corpus_has_the_five_documents(parsed: dict[str, ParsedDocument]) -> None:
    assert sorted(parsed) == sorted(EXPECTED)


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_date_language_type_and_place(parsed: dict[str, ParsedDocument], stem: str) -> None:
    doc = parsed[stem].document
    date, lang, doc_type, place = EXPECTED[stem]
    assert doc.doc_id == stem
    assert doc.date == date
    assert doc.lang == lang
    assert doc.doc_type == doc_type
    assert doc.place == place


def test_titles(parsed: dict[str, ParsedDocument]) -> None:
    titles = {stem: p.document.title for stem, p in parsed.items()}
    assert titles["000_dbbfc47181911818"].startswith(
        "L'Université de Lille, le CHU de Lille et l'Inserm signent un protocole"
    )
    assert titles["001_067f252971e93813"] == (
        "L'Inserm et l'Université Paris-Saclay renforcent leur stratégie scientifique commune"
    )
    assert titles["002_86b4586c1617dcb0"] == (
        "La Région et l’Inserm s’associent pour renforcer le développement de la recherche "
        "médicale en Normandie"
    )
    assert titles["003_8361a66d4be4fd17"] == "Partenariats de recherche"


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_no_boilerplate_survives_in_text_or_chunks(
    parsed: dict[str, ParsedDocument], stem: str
) -> None:
    p = parsed[stem]
    for piece in [p.document.text, *(c.text for c in p.chunks), *(s.text for s in p.sentences)]:
        for needle in BOILERPLATE:
            assert needle not in piece, (stem, needle)
        assert PHONE.search(piece) is None, (stem, PHONE.search(piece))


def test_typography_is_kept(parsed: dict[str, ParsedDocument]) -> None:
    text = parsed["002_86b4586c1617dcb0"].document.text
    assert "l’Inserm" in text
    # The non-breaking spaces inside the guillemets are kept as they are.
    assert "«\u00a0Après la signature" in text
    assert "territoire\u00a0» a déclaré Hervé Morin" in text


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_chunks_and_sentences_are_exact_spans(parsed: dict[str, ParsedDocument], stem: str) -> None:
    p = parsed[stem]
    text = p.document.text
    assert p.chunks and p.sentences
    for i, c in enumerate(p.chunks):
        assert (c.chunk_id, c.doc_id, c.ordinal) == (f"{stem}#c{i}", stem, i)
        assert text[c.start : c.end] == c.text
        assert c.text == c.text.strip()
        assert c.page is None
    for i, s in enumerate(p.sentences):
        assert (s.sentence_id, s.doc_id, s.ordinal) == (f"{stem}#s{i}", stem, i)
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip()
    # Chunks cover every sentence, in order, and overlap by at most a few sentences.
    starts = [c.start for c in p.chunks]
    assert starts == sorted(starts)
    for s in p.sentences:
        assert any(c.start <= s.start and s.end <= c.end for c in p.chunks), s.text


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_no_chunk_above_the_limit(parsed: dict[str, ParsedDocument], stem: str) -> None:
    counter = HashEmbedder().count_tokens
    sizes = [counter(c.text) for c in parsed[stem].chunks]
    assert max(sizes) <= 200
    assert sum(s >= 100 for s in sizes) >= len(sizes) - 1  # only the last one may be small


def test_normandy_list_stays_with_its_lead_in(parsed: dict[str, ParsedDocument]) -> None:
    p = parsed["002_86b4586c1617dcb0"]
    lead_in = "renforcer le potentiel de la recherche médicale sur les thématiques prioritaires"
    items = ["Cardiologie", "Cancérologie", "Génomique", "Neurosciences", "Imagerie médicale"]
    holders = [c for c in p.chunks if lead_in in c.text]
    assert len(holders) == 1
    chunk = holders[0]
    for item in [*items, "Immunologie"]:
        assert f"· {item}" in chunk.text
    # The second list ("parmi lesquelles :") is kept whole with its own lead-in too.
    second = [c for c in p.chunks if "actions communes parmi lesquelles" in c.text]
    assert len(second) == 1
    assert second[0].text.split("parmi lesquelles")[1].count("\n· ") == 5


def test_lists_of_other_documents_stay_with_their_lead_in(
    parsed: dict[str, ParsedDocument],
) -> None:
    chunks = parsed["003_8361a66d4be4fd17"].chunks
    holder = next(c for c in chunks if "Il permet\u00a0:" in c.text)
    assert "• le développement d’une stratégie scientifique commune" in holder.text
    assert "• l’accompagnement des unités de recherche au quotidien" in holder.text


def test_interview_questions_head_their_answers(parsed: dict[str, ParsedDocument]) -> None:
    chunks = parsed["004_141e648614901eb4"].chunks
    question = "Can you give us an example of innovation in the Hauts-de-France region?"
    holder = next(c for c in chunks if question in c.text)
    assert "transplantation of pancreatic cells" in holder.text
    assert not holder.text.endswith("?")


def test_people_with_roles(parsed: dict[str, ParsedDocument]) -> None:
    people = {stem: p.document.people for stem, p in parsed.items()}
    assert people["000_dbbfc47181911818"] == (
        Person("Régis Bordet", "Président de l'Université de Lille"),
        Person("Frédéric Boiron", "Directeur Général du CHU de Lille"),
        Person("Didier Samuel", "Président-Directeur Général de l'Inserm"),
    )
    assert people["001_067f252971e93813"] == (
        Person("Didier Samuel", "Président-directeur général de l'Inserm"),
        Person("Estelle lacona", "Présidente de l'Université Paris-Saclay"),
    )
    assert people["002_86b4586c1617dcb0"] == (
        Person("Hervé Morin", "Président de la Région Normandie"),
        Person(
            "Gilles Bloch",
            "PDG de l’Institut National de la Santé et de la Recherche Médicale",
        ),
    )
    assert people["003_8361a66d4be4fd17"] == ()


def test_partners(parsed: dict[str, ParsedDocument]) -> None:
    partners = {stem: set(p.document.partners) for stem, p in parsed.items()}
    assert partners["000_dbbfc47181911818"] == {"Université de Lille", "CHU de Lille", "Inserm"}
    assert partners["001_067f252971e93813"] == {"Inserm", "Université Paris-Saclay"}
    assert partners["002_86b4586c1617dcb0"] == {"Inserm", "Région Normandie", "CNRS"}
    assert {
        "Université de Lille",
        "Université de Picardie Jules Verne",
        "CHU de Lille",
        "CHU Amiens-Picardie",
        "Région Hauts-de-France",
        "Institut Pasteur de Lille",
        "Centre Oscar Lambret",
        "Roquette",
        "Merck",
        "Fondation Alzheimer",
        "Fondation pour la Recherche Médicale",
        "Inria",
        "CNRS",
    } <= partners["004_141e648614901eb4"]


def test_chunk_and_sentence_languages(parsed: dict[str, ParsedDocument]) -> None:
    for stem, p in parsed.items():
        lang = EXPECTED[stem][1]
        assert {c.lang for c in p.chunks} == {lang}, stem
        # Short sentences ("· Cardiologie") inherit their chunk's language.
        assert {s.lang for s in p.sentences} == {lang}, stem


def test_language_detection_is_deterministic() -> None:
    text = "Immunologie et cancérologie : les thématiques prioritaires du territoire normand"
    assert {detect_lang(text) for _ in range(5)} == {"fr"}
    assert detect_lang("Cardiologie", default="en") == "en"  # too short to tell
    assert detect_lang("Dies ist ein deutscher Satz über die medizinische Forschung.") == "other"


def test_parse_is_fast(corpus_files: list[Path]) -> None:
    counter = HashEmbedder().count_tokens
    detect_lang("Un premier appel charge les profils de langdetect une fois pour toutes.")
    for path in corpus_files:
        t0 = time.perf_counter()
        parse_file(path, count_tokens=counter)
        assert time.perf_counter() - t0 < 0.5, path.name


@pytest.mark.slow
def test_real_tokenizer_limits(corpus_files: list[Path], real_embedder) -> None:
    count = real_embedder.count_tokens
    for path in corpus_files:
        p = parse_file(path, count_tokens=count, max_tokens=200, overlap_tokens=30)
        sizes = [count(c.text) for c in p.chunks]
        assert max(sizes) <= 200, path.name
        assert max(sizes) <= real_embedder.max_tokens
        for c in p.chunks:
            assert p.document.text[c.start : c.end] == c.text
    small = parse_file(corpus_files[1], count_tokens=count, max_tokens=64, overlap_tokens=10)
    assert max(count(c.text) for c in small.chunks) <= 64
