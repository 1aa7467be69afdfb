"""Hand-built ParsedDocuments for index tests (no dependency on the ingest parser)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from ingest.types import Chunk, Document, ParsedDocument, Sentence


def make_doc(
    doc_id: str,
    paragraphs: list[str],
    *,
    lang: str = "fr",
    doc_type: str = "press_release",
    date: dt.date | None = None,
    partners: tuple[str, ...] = (),
    title: str | None = None,
    source: str | None = None,
) -> ParsedDocument:
    """One chunk per paragraph, one sentence per '.'-terminated run; offsets are exact."""
    text = "\n\n".join(paragraphs)
    chunks, sentences = [], []
    pos = 0
    for para in paragraphs:
        start = text.index(para, pos)
        end = start + len(para)
        chunks.append(Chunk(doc_id, len(chunks), para, start, end, lang))
        for m in re.finditer(r"[^.!?]+[.!?]?", para):
            s = m.group().strip()
            if not s:
                continue
            s_start = start + m.start() + m.group().index(s)
            sentences.append(
                Sentence(
                    doc_id,
                    len(sentences),
                    s,
                    s_start,
                    s_start + len(s),
                    lang,
                )
            )
        pos = end
    document = Document(
        doc_id=doc_id,
        source=source or f"/nonexistent/{doc_id}.txt",
        title=title or paragraphs[0][:60],
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        lang=lang,
        doc_type=doc_type,
        date=date,
        partners=partners,
    )
    return ParsedDocument(document, tuple(chunks), tuple(sentences))


def sample_docs() -> list[ParsedDocument]:
    """Four small documents with distinct words, languages, types, dates and partners."""
    return [
        make_doc(
            "a_lille",
            [
                "L'Université de Lille et l'Inserm signent un protocole de coopération.",
                "Les entreprises Roquette et Merck travaillent avec les unités lilloises.",
            ],
            date=dt.date(2024, 7, 8),
            partners=("Université de Lille", "CHU de Lille"),
        ),
        make_doc(
            "b_saclay",
            [
                "L'Inserm et l'Université Paris-Saclay renforcent leur stratégie scientifique.",
                "La convention est signée pour cinq ans par les deux présidents.",
            ],
            doc_type="convention",
            date=dt.date(2023, 9, 27),
            partners=("Université Paris-Saclay",),
        ),
        make_doc(
            "c_normandy",
            [
                "The Normandy Region and Inserm sign a cooperation agreement.",
                "The agreement lasts six years and funds medical research teams.",
            ],
            lang="en",
            date=dt.date(2022, 2, 17),
            partners=("Région Normandie",),
        ),
        make_doc(
            "d_interview",
            [
                "What are the key figures for the North-West delegation?",
                "The delegation has 450 permanent and contract staff in two regions.",
            ],
            lang="en",
            doc_type="interview",
            partners=("Université de Lille", "Université d'Amiens"),
        ),
    ]


def versioned(n: int) -> list[ParsedDocument]:
    """sample_docs() where a_lille has n % 3 + 1 chunks, each naming version n."""
    docs = sample_docs()
    docs[0] = make_doc(
        "a_lille", [f"Version {n} paragraphe {i} du protocole lillois." for i in range(n % 3 + 1)]
    )
    return docs
