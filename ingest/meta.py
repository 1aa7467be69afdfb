"""Document metadata by rules: title, dateline date and place, type, partners, people.

Everything here is deterministic and offline: regular expressions for French and
English datelines and roles, and a gazetteer of partner institutions kept in
``ingest/data/partners.json`` (canonical name + aliases) plus generic rules that
catch unlisted universities, CHU, regions and foundations.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ingest.clean import word_set
from ingest.types import DocType, Person

logger = logging.getLogger(__name__)

__all__ = [
    "Dateline",
    "extract_people",
    "find_dateline",
    "find_partners",
    "guess_doc_type",
    "guess_title",
]

_MONTHS_FR = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
}  # fmt: skip
_MONTHS_EN = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_FR_MONTH = "|".join(sorted(_MONTHS_FR, key=len, reverse=True))
_EN_MONTH = "|".join(sorted(_MONTHS_EN, key=len, reverse=True))
_PLACE = r"(?:(?P<place>[A-ZÀ-Ý][\w’'.\- ]{1,60}?)\s*,\s*)?"
_DATELINE_FR = re.compile(
    rf"^{_PLACE}(?:[Ll]e\s+)?(?:(?i:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s+)?"
    rf"(?P<day>1er|\d{{1,2}})\s+(?P<month>(?i:{_FR_MONTH}))\.?\s+(?P<year>(?:19|20)\d\d)\b"
)
_DATELINE_EN = re.compile(
    rf"^{_PLACE}(?:(?i:monday|tuesday|wednesday|thursday|friday|saturday|sunday),?\s+)?"
    rf"(?:(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<month>(?i:{_EN_MONTH}))\.?"
    rf"|(?P<month2>(?i:{_EN_MONTH}))\.?\s+(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?,?)"
    rf"\s+(?P<year>(?:19|20)\d\d)\b"
)
#: A dateline opens the document; dates further down are events, not the document's date.
_DATELINE_WINDOW = 5


@dataclass(frozen=True, slots=True)
class Dateline:
    date: dt.date
    place: str | None
    line: int  # index among the document's non-empty lines


def _head_lines(text: str, n: int) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()][:n]


def find_dateline(text: str) -> Dateline | None:
    """The date (and place) of a dateline among the first lines, e.g. "Lille, le 8 juillet
    2024", "Le 17 février 2022", "London, 8 July 2024", "July 8, 2024"; None without one."""
    for i, line in enumerate(_head_lines(text, _DATELINE_WINDOW)):
        for pattern, months in ((_DATELINE_FR, _MONTHS_FR), (_DATELINE_EN, _MONTHS_EN)):
            m = pattern.match(line)
            if m is None:
                continue
            day = m.group("day") or m.groupdict().get("day2")
            month = m.group("month") or m.groupdict().get("month2")
            if day is None or month is None:
                continue
            try:
                date = dt.date(
                    int(m.group("year")), months[month.lower()], 1 if day == "1er" else int(day)
                )
            except ValueError:
                logger.debug("impossible dateline date in %r", line)
                continue
            place = m.group("place")
            return Dateline(date=date, place=place.strip() if place else None, line=i)
    return None


# --- title -------------------------------------------------------------------------------
_LABEL = re.compile(
    r"^(?:communiqué|communique|dossier|information|invitation)\s+(?:de\s+)?presse\b"
    r"|^press\s+(?:release|kit)\b|^news\s+release\b|^media\s+advisory\b",
    re.IGNORECASE,
)
_MAX_TITLE = 200


def guess_title(text: str, *, metadata_title: str | None = None) -> str:
    """The file's own title if it has one, else the first line that is not a press-release
    label or a dateline, cut to 200 characters at a word boundary."""
    if metadata_title and metadata_title.strip():
        return _shorten(" ".join(metadata_title.split()))
    for line in _head_lines(text, 8):
        if _LABEL.match(line) or _DATELINE_FR.match(line) or _DATELINE_EN.match(line):
            continue
        if len(line) >= 3:
            return _shorten(line)
    return ""


def _shorten(title: str) -> str:
    if len(title) <= _MAX_TITLE:
        return title
    cut = title[:_MAX_TITLE].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


# --- document type -----------------------------------------------------------------------
_CONVENTION_MARKS = re.compile(
    r"^\s*(?:article|art\.)\s+(?:\d+|premier|1er)\b"
    r"|\bentre\s+les\s+soussignés\b|\bil\s+(?:a\s+été|est)\s+convenu\s+ce\s+qui\s+suit\b"
    r"|\bit\s+is\s+(?:hereby\s+)?agreed\b|\bwhereas\b|\bbetween\s+the\s+undersigned\b"
    r"|\bles\s+parties\s+conviennent\b",
    re.IGNORECASE | re.MULTILINE,
)
_PRESS_MARKS = re.compile(
    r"\bcommuniqué\s+de\s+presse\b|\bpress\s+release\b|\bnews\s+release\b", re.IGNORECASE
)
_INTERVIEW_MARKS = re.compile(r"\binterview\b|\bentretien\s+avec\b", re.IGNORECASE)
_QUESTION_LINE = re.compile(r"^[^\n]{10,250}\?$", re.MULTILINE)
_WEB_DEBRIS = frozenset({"share_bar", "back_to_top", "edit_links", "link_label"})


def guess_doc_type(
    text: str,
    *,
    source_kind: str,
    has_dateline: bool,
    removed: frozenset[str],
    raw_text: str = "",
) -> DocType:
    """Classify by rules: legal clauses -> convention; alternating questions -> interview;
    press label, dateline or press contacts -> press release; HTML or site debris ->
    web page; otherwise other."""
    head = text[:3000]
    if len(_CONVENTION_MARKS.findall(text)) >= 2:
        return "convention"
    if len(_QUESTION_LINE.findall(text)) >= 2 or _INTERVIEW_MARKS.search(head[:300]):
        return "interview"
    if _PRESS_MARKS.search(head) or has_dateline or "press_contact" in removed:
        return "press_release"
    if _PRESS_MARKS.search(raw_text[:3000]):
        return "press_release"
    if source_kind == "html" or removed & _WEB_DEBRIS:
        return "web_page"
    return "other"


# --- partners ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Gazetteer:
    pattern: re.Pattern[str]  # any alias, longest first
    exact: re.Pattern[str]  # case-sensitive aliases (acronyms)
    canonical: dict[str, str]  # casefolded alias -> canonical name


@cache
def _gazetteer() -> _Gazetteer:
    raw = json.loads(resources.files("ingest").joinpath("data/partners.json").read_text("utf-8"))
    canonical: dict[str, str] = {}
    folded: list[str] = []
    exact: list[str] = []
    for entry in raw["partners"]:
        for alias in [entry["name"], *entry.get("aliases", [])]:
            (exact if alias.isupper() else folded).append(alias)
            canonical[_alias_key(alias)] = entry["name"]

    def alternation(aliases: list[str]) -> str:
        ordered = sorted(set(aliases), key=len, reverse=True)
        return "|".join(_alias_regex(a) for a in ordered) or r"(?!x)x"

    return _Gazetteer(
        pattern=re.compile(rf"(?<![\w-])(?:{alternation(folded)})(?![\w-])", re.IGNORECASE),
        exact=re.compile(rf"(?<![\w-])(?:{alternation(exact)})(?![\w-])"),
        canonical=canonical,
    )


def _alias_key(name: str) -> str:
    """Gazetteer key: apostrophes, hyphens and spaces unified, case folded (accents kept:
    the aliases list both spellings where they matter)."""
    return re.sub(r"[\s\-]+", " ", name.replace("’", "'")).casefold().strip()


def _alias_regex(alias: str) -> str:
    # Apostrophes and hyphen/space variants are interchangeable in real texts.
    out = []
    for ch in alias:
        if ch in "'’":
            out.append("['’]")
        elif ch in " -":
            out.append(r"[\s\-]+")
        else:
            out.append(re.escape(ch))
    return "".join(out)


_CAP = r"[A-ZÀ-Ý][\w’'\-]*"
_PLACE_NAME = (
    rf"{_CAP}(?:[ \-](?:{_CAP}|de|du|des|d’|d'|sur|en|et)(?=[ \-’']?[A-ZÀ-Ý]))*[ \-]?{_CAP}|{_CAP}"
)
_OF = r"(?:de\s+|d['’]|du\s+)?"
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"\bUniversité\s+(?P<x>{_OF}(?:{_PLACE_NAME}))"), "Université {x}"),
    (re.compile(rf"\bUniversity\s+of\s+(?P<x>{_PLACE_NAME})"), "University of {x}"),
    (re.compile(rf"\bCHU\s+(?P<x>{_OF}(?:{_PLACE_NAME}))"), "CHU {x}"),
    (re.compile(rf"\bRégion\s+(?P<x>{_PLACE_NAME})"), "Région {x}"),
    (re.compile(rf"\b(?P<x>{_CAP}(?:-{_CAP})*)\s+Region\b"), "{x} Region"),
    (re.compile(rf"\bFondation\s+(?P<x>(?:pour\s+la\s+)?{_OF}{_PLACE_NAME})"), "Fondation {x}"),
    (re.compile(rf"\b(?P<x>{_CAP}(?:['’]s)?)\s+Foundation\b"), "{x} Foundation"),
    (re.compile(rf"\bInstitut\s+(?P<x>{_CAP}(?:\s+{_CAP})*)"), "Institut {x}"),
)  # fmt: skip
# "the universities of Lille, Amiens, Caen and Rouen", "the Lille and Amiens university hospitals"
_UNIVERSITY_LIST = re.compile(
    rf"\buniversities\s+of\s+(?P<x>{_CAP}(?:\s*,\s*{_CAP})*(?:,?\s+and\s+{_CAP})?)"
)
_HOSPITAL_LIST = re.compile(
    rf"\b(?P<x>{_CAP}(?:\s*,\s*{_CAP})*(?:,?\s+and\s+{_CAP}))\s+university\s+hospitals\b"
)
_NOT_A_PLACE = frozenset({"The", "La", "Le", "Les", "Des", "Et", "And", "Of"})


def find_partners(text: str) -> tuple[str, ...]:
    """Partner institutions named in ``text``, canonical names, in order of first mention."""
    gaz = _gazetteer()
    found: list[tuple[int, str]] = []
    taken = bytearray(len(text))  # characters already part of a recognised name

    def claim(m: re.Match[str]) -> bool:
        if any(taken[m.start() : m.end()]):
            return False
        taken[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
        return True

    for pattern in (gaz.pattern, gaz.exact):
        for m in pattern.finditer(text):
            if claim(m):
                found.append((m.start(), gaz.canonical[_alias_key(m.group())]))
    for pattern, template in _RULES:
        for m in pattern.finditer(text):
            x = m.group("x").strip()
            if x.split()[0].strip("-") in _NOT_A_PLACE or not claim(m):
                continue
            name = template.format(x=x)
            found.append((m.start(), gaz.canonical.get(_alias_key(name), name)))
    for pattern, template in (
        (_UNIVERSITY_LIST, "University of {x}"),
        (_HOSPITAL_LIST, "{x} University Hospital"),
    ):
        for m in pattern.finditer(text):
            for place in re.split(r"\s*,\s*|\s+and\s+", m.group("x")):
                if place:
                    name = template.format(x=place)
                    found.append((m.start(), gaz.canonical.get(_alias_key(name), name)))
    found.sort(key=lambda t: t[0])
    return tuple(dict.fromkeys(name for _, name in found))


# --- people ------------------------------------------------------------------------------
_HONORIFIC = (
    r"(?:Pr\.?|Prof\.?|Professeure?|Dr\.?|Docteur|M\.|Mme|Mlle|Monsieur|Madame|Mr\.?|Mrs\.?|Ms\.?)"
)
_WORD_CAP = r"[A-ZÀ-Ý][a-zà-ÿ’'\-]+|[A-ZÀ-Ý]{2,}(?:-[A-ZÀ-Ý]{2,})?"
_NAME = rf"(?:{_WORD_CAP})(?:[ \u00a0]+(?:{_WORD_CAP})){{0,2}}"
# The second word may be lower case only when a role follows ("Estelle lacona, présidente").
_LOOSE_NAME = rf"(?:{_WORD_CAP})(?:[ \u00a0]+(?:{_WORD_CAP})){{0,1}}[ \u00a0]+[\w’'\-]+"
_ROLE_WORD = (
    r"(?i:président[e]?-directeur\s+général[e]?|présidente?|vice-présidente?|pdg|"
    r"directeur|directrice|délégué[e]?|doyen(?:ne)?|recteur|rectrice|ministre|maire|"
    r"secrétaire\s+général[e]?|chef|cheffe|responsable|coordinat(?:eur|rice)|"
    r"director|president|chair(?:man|woman|person)?|ceo|head|dean|minister|mayor|"
    r"vice-president|chief|rector|professor|professeur)"
)
_ROLE_TAIL = r"[^,;.»«()\n]*?"
# A role ends at punctuation, at "and"/"et" joining another person (not "et de la ..."),
# or at the verb that follows it.
_ROLE_STOP = (
    r"(?=\s+et\s+(?!de\b|d[’']|du\b|des\b|la\b|l[’'])|\s+and\s+|,|;|\.|\(|»|\n|$"
    r"|\s+(?:a|ont|qui|has|have)\s)"
)
_NAME_THEN_ROLE = re.compile(
    rf"(?:{_HONORIFIC}\s+)?(?P<name>{_LOOSE_NAME}|{_NAME}),\s+(?:(?:le|la|l[’']|the)\s+)?"
    rf"(?P<role>{_ROLE_WORD}{_ROLE_TAIL}){_ROLE_STOP}"
)
_ROLE_THEN_NAME = re.compile(
    rf"(?P<role>(?<![\w-]){_ROLE_WORD}{_ROLE_TAIL}),\s+{_HONORIFIC}\s+(?P<name>{_NAME})"
)
_HONORIFIC_NAME = re.compile(rf"(?<![\w.]){_HONORIFIC}\s+(?P<name>{_NAME})")
_ORG_WORDS = word_set(
    "université university universities région region chu inserm institut institute"
    " fondation foundation centre center conseil council ministère ministry l la le les"
    " the un une de du des et"
)
_MAX_ROLE = 120


def extract_people(text: str) -> tuple[Person, ...]:
    """People named with a role ("Hervé Morin, Président de la Région Normandie", "du
    Président de l'Université de Lille, Pr Régis BORDET") or an honorific ("Dr Gilles
    Bloch"), in order of first mention; one entry per person, with the first role found."""
    found: dict[str, tuple[int, str, str | None]] = {}

    def add(pos: int, name: str, role: str | None) -> None:
        name = _normalise_name(name)
        words = name.split()
        if len(words) < 2 or words[0].casefold() in _ORG_WORDS:
            return
        if any(w.casefold() in _ORG_WORDS for w in words[1:]):
            return
        if role is not None:
            role = " ".join(role.split())[:_MAX_ROLE].rstrip(" ,;:") or None
        key = name.casefold()
        if key not in found:
            found[key] = (pos, name, role)
        elif found[key][2] is None and role is not None:
            found[key] = (found[key][0], found[key][1], role)

    for m in _NAME_THEN_ROLE.finditer(text):
        add(m.start(), m.group("name"), _capitalise(m.group("role")))
    for m in _ROLE_THEN_NAME.finditer(text):
        add(m.start(), m.group("name"), _capitalise(m.group("role")))
    for m in _HONORIFIC_NAME.finditer(text):
        add(m.start(), m.group("name"), None)
    ordered = sorted(found.values(), key=lambda t: t[0])
    return tuple(Person(name=name, role=role) for _, name, role in ordered)


def _normalise_name(name: str) -> str:
    # "Régis BORDET" and "Régis Bordet" are the same person; keep one spelling.
    words = []
    for word in name.split():
        if word.isupper() and len(word) > 1:
            word = "-".join(part.capitalize() for part in word.split("-"))
        words.append(word)
    return " ".join(words)


def _capitalise(role: str) -> str:
    return role[:1].upper() + role[1:]
