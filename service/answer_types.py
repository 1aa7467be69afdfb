"""What kind of answer a question expects, and whether a sentence can supply it.

The corpus often holds the topic of a question but not the fact ("How long will the
Lille protocol remain in force?": the protocol is there, its duration is not). Cosine
similarity cannot tell those apart; an answer-type check can: a "how long" question
needs a duration in the answering sentence, a "who" question a person's name. These
checks, with the question's named entities that a passage mentions, are features of
/ask's learned selector and abstainer (``service.answer_features``).
Rules for French and English; persons, organisations and places also come from
spaCy's French NER (``service.nlp``), passed in by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from ingest.clean import fold

if TYPE_CHECKING:
    from service.nlp import Entity

__all__ = [
    "AnswerType",
    "content_terms",
    "entity_coverage",
    "expected_type",
    "has_answer_type",
    "question_entities",
    "term_positions",
]

AnswerType = Literal["duration", "date", "money", "number", "person", "organisation", "place"]

_NUMBER_WORDS = (
    "un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|"
    "quarante|cinquante|cent|mille|dizaine|douzaine|vingtaine|trentaine|cinquantaine|"
    "centaine|one|two|three|four|five|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|"
    "thirty|forty|fifty|hundred|thousand|dozen"
)
_MONTHS = (
    "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
    "january|february|march|april|may|june|july|august|september|october|november|december"
)
# First match wins: "combien de temps" is a duration before it is a number.
_QUESTION_CUES: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    (
        "duration",
        re.compile(
            r"\b(combien de temps|pendant combien|quelle duree|duree|how long|"
            r"remain in force|expire|expires|for how many (years|months))\b"
        ),
    ),
    (
        "date",
        re.compile(
            r"\b(quand|quelle date|a quelle date|en quelle annee|date de|when|what year|"
            r"which year|what date|on what date)\b"
        ),
    ),
    (
        "money",
        re.compile(r"\b(montant|budget|combien d.euros|how much money|amount|funding|cout|cost)\b"),
    ),
    (
        "number",
        re.compile(
            r"\b(combien|how many|how much|nombre de|number of|quelle part|what share|"
            r"pourcentage|percentage)\b"
        ),
    ),
    (
        "place",
        re.compile(
            r"\b(ou|d.ou|where|quel(le)?s? (pays|ville|region|lieu|continent|departement|"
            r"commune|endroit)|dans quel(le)? (pays|ville|region)|which (city|country|region|"
            r"place|town)|what (city|country|region|place|town))\b"
        ),
    ),
    (
        "organisation",
        re.compile(
            r"\b(quel(le)?s? (entreprise|societe|organisation|organisme|institution|"
            r"universite|etablissement|association|groupe|club|compagnie|partenaire)s?|"
            r"(which|what) (company|companies|organisation|organization|institution|"
            r"university|body|partner)s?)\b"
        ),
    ),
    ("person", re.compile(r"\b(qui|who|whom|comment s.appelle|what is the name|name of)\b")),
)
_NUMBER = re.compile(rf"\d|\b({_NUMBER_WORDS})\b")
_MONEY = re.compile(r"€|\$|\beuros?\b|\bm€|\bmillions?\b|\bmilliards?\b|\bbillions?\b")
_DURATION = re.compile(
    rf"\b(\d+|{_NUMBER_WORDS})\s+(ans|annees|mois|semaines|years?|months?|weeks?)\b"
    r"|\bjusqu.(en|au)\b|\buntil\b"
)
_DATE = re.compile(rf"\b(1[89]|20)\d\d\b|\b({_MONTHS})\b")
_UPPER = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜ"
_LOWER = "a-zàâäçéèêëîïôöùûüÿ"
_PERSON = re.compile(
    # "Pr Didier SAMUEL", "Dr Gilles Bloch", "M. Dupont"
    rf"\b(Pr|Dr|Prof|M|Mme|Mr|Mrs|Ms)\.? [{_UPPER}][{_LOWER}{_UPPER}-]+"
    # "Frédéric BOIRON": given name then an all-caps surname
    rf"|\b[{_UPPER}][{_LOWER}]+ [{_UPPER}]{{2,}}\b"
    # "Hervé Morin, Président de ...", "Estelle lacona, présidente ..."
    rf"|\b[{_UPPER}][{_LOWER}]+ [{_UPPER}{_LOWER}][{_LOWER}]+,? "
    r"(?i:président|présidente|directeur|directrice|pdg|president|director|head|chair|ceo)"
)
_WORD = re.compile(r"[\w’'-]+")
_ELISION = re.compile(r"^[ldjnmstc][’']", re.IGNORECASE)
# Capitalised words that name no one in particular in this domain's questions.
_NOT_ENTITIES = frozenset(
    [
        "inserm",
        "le",
        "la",
        "les",
        "de",
        "des",
        "du",
        "un",
        "une",
        "et",
        "en",
        "au",
        "aux",
        "pour",
        "par",
        "sur",
        "dans",
        "avec",
        "the",
        "of",
        "and",
        "in",
        "for",
        "on",
        "to",
        "an",
        "with",
        "by",
        "at",
        "from",
        "is",
        "are",
        "was",
        "what",
        "which",
        "who",
        "how",
    ]
)
_ENTITY_LABEL: dict[str, str] = {"person": "PER", "organisation": "ORG", "place": "LOC"}
_ENTITY_PREFIX = 6  # "Normandie"/"Normandy" and "Région"/"Region" meet at 6 folded letters


# Question words say what is asked, not what the answer contains.
_QUESTION_WORDS = [
    "quand",
    "qui",
    "quoi",
    "quel",
    "quelle",
    "quels",
    "quelles",
    "lequel",
    "laquelle",
    "comment",
    "pourquoi",
    "combien",
    "who",
    "whom",
    "whose",
    "what",
    "when",
    "where",
    "which",
    "why",
    "how",
]
_TERM = re.compile(r"\w+")
# Truncation stemming: cheap, language-agnostic, good enough to match
# "partenariat"/"partenariats"/"partenaires" and "signed"/"signing".
_STEM_CHARS = 6


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH

    return frozenset(fold(w) for w in (*STOPWORDS_EN, *STOPWORDS_FRENCH, *_QUESTION_WORDS))


def _term(word: str) -> str | None:
    if word.isdigit():
        return word if len(word) == 4 else None  # years are worth matching; other numbers not
    if len(word) > 1 and word not in _stopwords():
        return word[:_STEM_CHARS]
    return None


def content_terms(text: str) -> set[str]:
    """Accent-folded, truncation-stemmed words of ``text``, minus FR/EN stopwords."""
    return {t for w in _TERM.findall(fold(text)) if (t := _term(w)) is not None}


def term_positions(text: str) -> list[tuple[str, int, int]]:
    """(term, start, end) of every content word of ``text``, offsets into ``text``."""
    out = []
    for m in _TERM.finditer(text):
        term = _term(fold(m.group(0)))
        if term is not None:
            out.append((term, m.start(), m.end()))
    return out


def expected_type(question: str) -> AnswerType | None:
    """The answer type ``question`` asks for, or None when it asks for something else."""
    folded = fold(question)
    for name, pattern in _QUESTION_CUES:
        if pattern.search(folded):
            return name
    return None


def has_answer_type(
    sentence: str, answer_type: AnswerType | None, entities: Sequence[Entity] = ()
) -> bool:
    """Whether ``sentence`` contains something of ``answer_type`` (always true for None).

    ``entities`` are spaCy's entities of ``sentence`` (service.nlp); persons are also
    recognised by rule, organisations and places only through them.
    """
    if answer_type is None:
        return True
    if answer_type in _ENTITY_LABEL:
        label = _ENTITY_LABEL[answer_type]
        if any(e.label == label for e in entities):
            return True
        return answer_type == "person" and bool(_PERSON.search(sentence))
    folded = fold(sentence)
    pattern = {"duration": _DURATION, "date": _DATE, "money": _MONEY, "number": _NUMBER}[
        answer_type
    ]
    return bool(pattern.search(folded))


def question_entities(question: str) -> list[str]:
    """Capitalised words after the first (names of places, institutions, projects),
    accent-folded and cut to a prefix that matches across French and English."""
    out = []
    for i, token in enumerate(_WORD.findall(question)):
        word = _ELISION.sub("", token)
        folded = fold(word)
        if i == 0 or not word[:1].isupper() or folded in _NOT_ENTITIES:
            continue
        out.append(folded[:_ENTITY_PREFIX])
    return out


def entity_coverage(entities: list[str], passage: str) -> float:
    """Share of ``entities`` mentioned in ``passage`` (1.0 when there are none)."""
    if not entities:
        return 1.0
    folded = fold(passage)
    return sum(e in folded for e in entities) / len(entities)
