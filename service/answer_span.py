"""The answer span: inside the chosen sentence, the shortest piece that answers.

When the question asks for a recognisable type (``service.answer_types.expected_type``)
the sentence's candidates of that type are found — durations, dates, amounts and
numbers by rule, persons, organisations and places by spaCy's French NER — and the one
that answers is picked: not something the question already names, and the closest to
the words the sentence shares with the question ("L'accord, d'une durée de six ans,
..." for "combien de temps dure l'accord"). The sentence stays the citation; the span is
what the page marks inside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from service.answer_types import AnswerType, content_terms, term_positions
from service.nlp import Entity

__all__ = ["AnswerSpan", "DateFinder", "find_answer_span", "span_candidates"]

DateFinder = Literal["rules", "dateparser"]

_NUM_WORDS = (
    "un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|"
    "seize|vingt|trente|quarante|cinquante|soixante|cent|cents|mille|"
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    "forty|fifty|hundred|thousand"
)
# A number written with digits: "100 000", "14,2", "1.5", "3 650" (thin/nbsp spaces too).
_DIGITS = r"\d+(?:[  ,.]\d+)*"
_NUMBER = rf"(?:{_DIGITS}|(?:{_NUM_WORDS})(?:[- ](?:{_NUM_WORDS}))*)"
_MONTHS = (
    "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|"
    "novembre|décembre|decembre|january|february|march|april|may|june|july|august|"
    "september|october|november|december"
)
_UNITS = (
    "ans|an|années|annees|année|mois|semaines|semaine|jours|jour|heures|heure|minutes|"
    "siècles|siècle|décennies|décennie|years|year|months|month|weeks|week|days|day|hours|"
    "hour|minutes|centuries|century|decades|decade"
)
_I = re.IGNORECASE
_PATTERNS: dict[str, re.Pattern[str]] = {
    "duration": re.compile(rf"\b{_NUMBER}\s+(?:{_UNITS})\b", _I),
    "date": re.compile(
        # "8 juillet 2024", "1er mars", "juillet 2024", "July 8, 2024", "08/07/2024",
        # "XVIIe siècle", "1789"
        rf"\b(?:\d{{1,2}}(?:er)?\s+(?:{_MONTHS})(?:\s+\d{{3,4}})?"
        rf"|(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{3,4}}"
        rf"|(?:{_MONTHS})\s+\d{{3,4}}"
        r"|\d{1,2}/\d{1,2}/\d{2,4}"
        r"|[IVXLC]+e\s+siècle|\d{1,2}e\s+siècle"
        r"|[12]\d{3}|[1-9]\d{2}(?=\s+(?:av|apr)))\b",
        _I,
    ),
    "money": re.compile(
        rf"(?:[€$£]\s?{_DIGITS}(?:\s*(?:millions?|milliards?|billions?|bn|m)\b)?"
        rf"|\b{_NUMBER}\s*(?:(?:millions?|milliards?|billions?|mille)\s+)?(?:d['’]\s*|de\s+)?"
        r"(?:€|euros?\b|dollars?\b|\$|francs?\b|livres?\b|pounds?\b|M€|k€))",
        _I,
    ),
    "number": re.compile(
        rf"\b{_DIGITS}(?:\s*%|\s+pour\s*cent\b|\s+percent\b)?|\b(?:{_NUM_WORDS})\b", _I
    ),
}
_ENTITY_LABEL = {"person": "PER", "organisation": "ORG", "place": "LOC"}
# Function words spaCy's French NER sometimes keeps at an entity's left edge ("de Lille").
_LEADING = re.compile(
    r"^(?:(?:de|du|des|la|le|les|à|au|aux|en|the|in|of|at|with)\s+|[dl][’'])+", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class AnswerSpan:
    """``sentence[start:end]`` answers; offsets are relative to the text searched."""

    type: AnswerType
    start: int
    end: int
    text: str


def _dateparser_dates(sentence: str) -> list[tuple[int, int]]:
    """Dates found by dateparser's search (French and English), located in ``sentence``."""
    from dateparser.search import search_dates

    found = search_dates(sentence, languages=["fr", "en"]) or []
    out, cursor = [], 0
    for text, _ in found:
        at = sentence.find(text, cursor)
        if at >= 0:
            out.append((at, at + len(text)))
            cursor = at + len(text)
    return out


def span_candidates(
    sentence: str,
    answer_type: AnswerType,
    entities: Sequence[Entity] = (),
    *,
    dates: DateFinder = "rules",
) -> list[tuple[int, int]]:
    """Every (start, end) of ``answer_type`` in ``sentence``, in order, without overlaps.

    ``dates="dateparser"`` takes dates from dateparser's search instead of the rules
    (measured in the training report; the rules are the default because they scored better).
    """
    if answer_type == "date" and dates == "dateparser":
        found = _dateparser_dates(sentence)
    elif answer_type in _ENTITY_LABEL:
        label = _ENTITY_LABEL[answer_type]
        found = []
        for e in entities:
            if e.label == label:
                lead = _LEADING.match(sentence[e.start : e.end])
                found.append((e.start + (lead.end() if lead else 0), e.end))
    else:
        found = [(m.start(), m.end()) for m in _PATTERNS[answer_type].finditer(sentence)]
    out: list[tuple[int, int]] = []
    for start, end in sorted(found):
        text = sentence[start:end]
        # Trim what a pattern may carry at its edges (spaces, a trailing comma or dot).
        lead = len(text) - len(text.lstrip(" ,.;:"))
        trail = len(text) - len(text.rstrip(" ,.;:"))
        start, end = start + lead, end - trail
        if end > start and (not out or start >= out[-1][1]):
            out.append((start, end))
    return out


def find_answer_span(
    sentence: str,
    answer_type: AnswerType | None,
    *,
    question: str,
    entities: Sequence[Entity] = (),
    dates: DateFinder = "rules",
) -> AnswerSpan | None:
    """The span of ``sentence`` answering ``question`` (None when no type is asked or found).

    Candidates the question already contains are skipped ("Qui a fondé Lyon ?" is not
    answered by "Lyon"); among the rest the closest to the sentence's question words
    wins, the shorter on a tie.
    """
    if answer_type is None:
        return None
    q_terms = content_terms(question)
    q_folded = " ".join(question.casefold().split())
    anchors = [(s + e) / 2 for term, s, e in term_positions(sentence) if term in q_terms]
    best: tuple[float, int, int, int] | None = None
    for start, end in span_candidates(sentence, answer_type, entities, dates=dates):
        text = sentence[start:end]
        terms = content_terms(text)
        if (terms and terms <= q_terms) or " ".join(text.casefold().split()) in q_folded:
            continue
        inside = [a for a in anchors if not start <= a < end]
        distance = min((min(abs(a - start), abs(a - end)) for a in inside), default=0.0)
        key = (distance, end - start, start, end)
        if best is None or key < best:
            best = key
    if best is None:
        return None
    _, _, start, end = best
    return AnswerSpan(type=answer_type, start=start, end=end, text=sentence[start:end])
