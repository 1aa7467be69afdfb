"""Unit tests of the ingest rules: cleaning, sentences, chunk packing, datelines, types."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from ingest import Document, HashEmbedder, Person
from ingest.chunk import chunk_document, segment_text, split_sentences
from ingest.clean import clean_text
from ingest.lang import detect_lang
from ingest.meta import extract_people, find_dateline, find_partners, guess_doc_type

COUNT = HashEmbedder().count_tokens


def _doc(text: str, *, page_starts: tuple[int, ...] = ()) -> Document:
    return Document(
        doc_id="d",
        source="d.txt",
        title="t",
        text=text,
        content_hash="0",
        lang="fr",
        doc_type="other",
        page_starts=page_starts,
    )


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


# --- cleaning ----------------------------------------------------------------------------
def test_clean_markdown_links_escapes_and_emphasis() -> None:
    raw = (
        "## À PROPOS\n\n**Le texte** en gras, un [lien](http://example.org/a_(b)) et "
        "![logo](logo.png)une image.\n\n\\*\\*\\*\\*\\*\n\nSuite\\_du texte."
    )
    assert clean_text(raw).text == (
        "À PROPOS\n\nLe texte en gras, un lien et une image.\n\nSuite_du texte."
    )


def test_clean_press_contact_block_and_keeps_what_follows() -> None:
    raw = (
        "Texte du communiqué.\n\n### Contacts Presse :\n\nGaëlle Degrez  \n06 21 25 77 45  \n"
        "[g.d@example.fr](mailto:g.d@example.fr)\n\nService presse Inserm\n+33 1 44 23 60 97\n\n"
        "À PROPOS DE L'INSERM\n\nL'Inserm est un établissement public."
    )
    result = clean_text(raw)
    assert result.text == (
        "Texte du communiqué.\n\nÀ PROPOS DE L'INSERM\n\nL'Inserm est un établissement public."
    )
    assert result.removed == {"markdown", "press_contact"}


def test_clean_web_debris_and_photo_credit_with_caption() -> None:
    raw = (
        "Un paragraphe utile.\n\n© Inserm/François Guénet\n\nLégende de la photo\n\n"
        "Autre paragraphe utile.\n\nPour en savoir plus\n\n^ Haut de page\n"
        "Voir Modifier Créer ici\nPartager sur : Facebook Twitter Linkedin"
    )
    result = clean_text(raw)
    assert result.text == "Un paragraphe utile.\n\nAutre paragraphe utile."
    assert result.removed == {
        "photo_credit",
        "link_label",
        "back_to_top",
        "edit_links",
        "share_bar",
    }


def test_clean_keeps_prose_that_mentions_networks_and_typography() -> None:
    raw = "L’Inserm publie sur Facebook et Twitter\u00a0: « voir ici ».\u202fFin\n"
    assert clean_text(raw).text == raw.strip()


def test_clean_rejoins_a_paragraph_cut_in_two() -> None:
    raw = "**« Offrir une**\n\n**médecine de qualité »** a déclaré le PDG."
    assert clean_text(raw).text == "« Offrir une médecine de qualité » a déclaré le PDG."


def test_quick_language_vote_and_its_fallback() -> None:
    fr = "Les équipes de l’Inserm et des universités sont engagées dans cette recherche."
    en = "The teams of Inserm and the universities are committed to this research work."
    de = "Die Teams des Inserm und der Universitäten arbeiten gemeinsam an dieser Forschung."
    assert [detect_lang(t, quick=True) for t in (fr, en, de)] == ["fr", "en", "other"]
    assert [detect_lang(t) for t in (fr, en, de)] == ["fr", "en", "other"]


# --- sentences ---------------------------------------------------------------------------
def test_sentences_respect_abbreviations_and_numbers() -> None:
    text = (
        "Le Pr. Martin et M. Durand ont signé. Mme Leroy, Dr. Petit etc. Ensemble. "
        "Le budget est de 3,5 M€ soit 1.2 fois plus. Près de 14 000 chercheurs y travaillent ! "
        "Is it St. Mary's? Yes, J. Smith said so."
    )
    assert _sentences(text) == [
        "Le Pr. Martin et M. Durand ont signé.",
        "Mme Leroy, Dr. Petit etc. Ensemble.",
        "Le budget est de 3,5 M€ soit 1.2 fois plus.",
        "Près de 14 000 chercheurs y travaillent !",
        "Is it St. Mary's?",
        "Yes, J. Smith said so.",
    ]


def test_sentences_with_french_quotes() -> None:
    text = "« C’est une avancée ! » a déclaré le Pr Bordet. « Nous continuerons. » Il sourit."
    assert _sentences(text) == [
        "« C’est une avancée ! » a déclaré le Pr Bordet.",
        "« Nous continuerons. »",
        "Il sourit.",
    ]


def test_segments_headings_bullets_and_lines() -> None:
    text = "Titre de section\n\nUne phrase. Une autre :\n· premier point ;\n· second point."
    segs = [(text[s.start : s.end], s.kind, s.para) for s in segment_text(text)]
    assert segs == [
        ("Titre de section", "heading", 0),
        ("Une phrase.", "sentence", 1),
        ("Une autre :", "sentence", 1),
        ("· premier point ;", "bullet", 1),
        ("· second point.", "bullet", 1),
    ]


# --- chunks ------------------------------------------------------------------------------
def _para(i: int, n: int = 6) -> str:
    return " ".join(f"Phrase {i}.{j} sur la recherche médicale en région." for j in range(n))


def test_chunks_respect_limit_offsets_and_overlap() -> None:
    text = "\n\n".join(_para(i) for i in range(8))
    chunks, sentences = chunk_document(_doc(text), count_tokens=COUNT, max_tokens=80,
                                       overlap_tokens=20)  # fmt: skip
    assert len(chunks) > 3
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert COUNT(c.text) <= 80
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start < prev.end  # overlapping by whole sentences...
        assert nxt.start in {s.start for s in sentences}
        assert COUNT(text[nxt.start : prev.end]) - COUNT("") <= 20  # ...within the budget
        assert nxt.end > prev.end  # ...and always moving on
    assert len(sentences) == 48
    assert all(s.text.startswith("Phrase ") for s in sentences)


def test_no_overlap_when_zero() -> None:
    text = "\n\n".join(_para(i) for i in range(5))
    chunks, _ = chunk_document(_doc(text), count_tokens=COUNT, max_tokens=80, overlap_tokens=0)
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start > prev.end


def test_heading_attaches_to_what_follows() -> None:
    text = _para(0, 5) + "\n\nLes résultats attendus\n\n" + _para(1, 5)
    chunks, _ = chunk_document(_doc(text), count_tokens=COUNT, max_tokens=70, overlap_tokens=20)
    holder = next(c for c in chunks if "Les résultats attendus" in c.text)
    # A section that opens with a heading starts clean: no sentence repeated before it.
    assert holder.text.startswith("Les résultats attendus\n\nPhrase 1.0")
    assert not any(c.text.endswith("Les résultats attendus") for c in chunks)


def test_list_stays_with_lead_in_across_a_would_be_boundary() -> None:
    lead = "Les partenaires s’engagent sur les thématiques prioritaires suivantes :"
    items = "\n".join(f"· Thématique numéro {i}" for i in range(6))
    text = _para(0, 4) + "\n\n" + lead + "\n" + items + "\n\n" + _para(1, 2)
    chunks, _ = chunk_document(_doc(text), count_tokens=COUNT, max_tokens=90, overlap_tokens=0)
    holder = [c for c in chunks if lead in c.text]
    assert len(holder) == 1
    assert items in holder[0].text


def test_over_long_sentence_is_split_at_word_boundaries() -> None:
    words = " ".join(f"mot{i}" for i in range(400))
    text = f"Début. {words} fin. Dernière phrase."
    chunks, sentences = chunk_document(_doc(text), count_tokens=COUNT, max_tokens=64,
                                       overlap_tokens=8)  # fmt: skip
    assert max(COUNT(c.text) for c in chunks) <= 64
    assert max(COUNT(s.text) for s in sentences) <= 64
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.start == 0 or text[c.start - 1] == " "  # cut between words
    assert " ".join(s.text for s in sentences) == text


def test_a_single_enormous_word_is_cut_within_the_limit() -> None:
    blob = "x" * 5000
    counter = lambda s: len(s) // 10 + 2  # noqa: E731 - a crude character-based tokenizer
    chunks, _ = chunk_document(_doc(blob), count_tokens=counter, max_tokens=100,
                               overlap_tokens=0)  # fmt: skip
    assert "".join(c.text for c in chunks) == blob
    assert max(counter(c.text) for c in chunks) <= 100


def test_pages_of_chunks() -> None:
    page1 = _para(0, 8)
    page2 = _para(1, 8)
    text = page1 + "\n\n" + page2
    doc = _doc(text, page_starts=(0, len(page1) + 2))
    chunks, sentences = chunk_document(doc, count_tokens=COUNT, max_tokens=60, overlap_tokens=0)
    assert [c.page for c in chunks] == [1 if c.start < len(page1) else 2 for c in chunks]
    assert {c.page for c in chunks} == {1, 2}
    assert sentences[-1].page == 2


@pytest.mark.parametrize(
    ("max_tokens", "overlap", "message"),
    [(10, 0, "max_tokens=10 leaves no room"), (100, 50, "overlap_tokens=50 must be")],
)
def test_bad_sizes(max_tokens: int, overlap: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        chunk_document(_doc("Texte."), count_tokens=COUNT, max_tokens=max_tokens,
                       overlap_tokens=overlap)  # fmt: skip


# --- metadata ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("head", "date", "place"),
    [
        ("Lille, le 8 juillet 2024\n\nTitre", dt.date(2024, 7, 8), "Lille"),
        (" Le 17 février 2022\n\n\nTitre", dt.date(2022, 2, 17), None),
        ("COMMUNIQUÉ\n\nParis-Saclay, le 27 septembre 2023", dt.date(2023, 9, 27), "Paris-Saclay"),
        ("Paris, le mardi 1er août 2023 – L'Inserm annonce", dt.date(2023, 8, 1), "Paris"),
        ("London, 8 July 2024 - Inserm and UCL sign", dt.date(2024, 7, 8), "London"),
        ("July 8, 2024\nInserm and partners", dt.date(2024, 7, 8), None),
        ("Bordeaux, 3 Sept. 2021\nText", dt.date(2021, 9, 3), "Bordeaux"),
    ],
)
def test_datelines(head: str, date: dt.date, place: str | None) -> None:
    found = find_dateline(head)
    assert found is not None
    assert (found.date, found.place) == (date, place)


@pytest.mark.parametrize(
    "text",
    [
        "I took office in January 2024 and we renewed the agreement in 2024.",
        "Titre\n\nLe protocole a été signé le 8 juillet 2024 à Lille.",
        "Un\nDeux\nTrois\nQuatre\nCinq\nLille, le 8 juillet 2024",  # too far down
        "Lille, le 31 février 2024",  # no such day
    ],
)
def test_no_dateline(text: str) -> None:
    assert find_dateline(text) is None


def test_doc_types() -> None:
    def kind(text: str, source_kind: str = "text", removed: frozenset[str] = frozenset()) -> str:
        has = find_dateline(text) is not None
        return guess_doc_type(text, source_kind=source_kind, has_dateline=has, removed=removed)

    convention = "Entre les soussignés : l'Inserm et le CHU.\nArticle 1 – Objet\nArticle 2 – Durée"
    assert kind(convention) == "convention"
    qa = "What are your partners?\nThe universities.\nWhat comes next in 2025?\nNew teams."
    assert kind(qa) == "interview"
    assert kind("Lille, le 8 juillet 2024\n\nL'Inserm signe.") == "press_release"
    assert kind("COMMUNIQUÉ DE PRESSE\n\nL'Inserm signe.") == "press_release"
    assert kind("Texte.", removed=frozenset({"press_contact"})) == "press_release"
    assert kind("Texte.", source_kind="html") == "web_page"
    assert kind("Texte.", removed=frozenset({"share_bar"})) == "web_page"
    assert kind("Texte.") == "other"


def test_partner_rules_beyond_the_gazetteer() -> None:
    text = (
        "L'Université de Bretagne Occidentale, le CHU de Brest, la Région Bretagne, "
        "la Fondation Bettencourt Schueller et la Toulouse University travaillent avec "
        "l'Inserm et le CNRS."
    )
    assert find_partners(text) == (
        "Université de Bretagne Occidentale",
        "CHU de Brest",
        "Région Bretagne",
        "Fondation Bettencourt Schueller",
        "Inserm",
        "CNRS",
    )


def test_people_forms() -> None:
    text = (
        "En présence du Président de l'Université de Lille, Pr Régis BORDET. "
        "Jane Doe, director of the Oxford Institute, said so. "
        "Le Dr Marie Curie était présente."
    )
    assert extract_people(text) == (
        Person("Régis Bordet", "Président de l'Université de Lille"),
        Person("Jane Doe", "Director of the Oxford Institute"),
        Person("Marie Curie", None),
    )


def test_chunk_and_sentence_ids_derive_from_document_and_ordinal():
    from ingest.types import Chunk, Sentence

    chunk = Chunk("doc_a", 3, "Texte.", 10, 16, "fr")
    sentence = Sentence("doc_a", 3, "Texte.", 10, 16, "fr")
    assert (chunk.chunk_id, sentence.sentence_id) == ("doc_a#c3", "doc_a#s3")
    assert chunk.page is None
    # Same fields, other kinds: a chunk is never equal to a sentence.
    assert chunk != sentence
    assert chunk == Chunk("doc_a", 3, "Texte.", 10, 16, "fr")
