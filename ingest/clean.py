"""Boilerplate removal: the cleaned text is what gets stored, cited and chunked.

Press-contact blocks, social-share strips, "Haut de page" and edit links, photo
credits and markdown markup pollute both retrieval (they match every query about
"contact" or "Lille") and extracted answers, so they go before anything is split.
Typographic characters (’ « » non-breaking spaces) are kept as they are. Markdown markup
is removed only from markdown (``markdown=True``: .md files, and .txt files that read as
markdown); plain text keeps its asterisks, underscores and brackets, because the press
office quotes stored text verbatim.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

logger = logging.getLogger(__name__)

__all__ = ["CleanResult", "clean_text", "fold", "looks_like_markdown", "word_set"]

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})


def fold(text: str) -> str:
    """Lower-case and strip accents: 'Élève Œuvre' -> 'eleve oeuvre'. The one accent
    folding of the project: BM25's analyser, filters, /ask's terms and /similar's
    wording keys all compare text through it."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES).lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def word_set(text: str) -> frozenset[str]:
    """The words of ``text``, split on whitespace: the project's word lists are written
    as running text, which reads better than a column of quoted strings."""
    return frozenset(text.split())


Removed = str  # one of the keys of _KINDS below


@dataclass(frozen=True, slots=True)
class CleanResult:
    """Cleaned text plus which kinds of boilerplate were found (a hint for the doc type)."""

    text: str
    removed: frozenset[Removed]


# --- markdown ----------------------------------------------------------------------------
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^()\s]|\([^()\s]*\))+(?:\s+\"[^\"\n]*\")?\)")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
# Strong emphasis only as a pair on one line, never inside a word: ``window.__x`` and
# ``a**b**c`` are not markup (CommonMark's flanking rules, simplified).
_MD_STRONG = re.compile(r"(?<![\w*])\*\*(?=\S)([^\n]*?\S)\*\*(?![\w*])")
_MD_STRONG_UNDERSCORE = re.compile(r"(?<![\w_])__(?=\S)([^\n]*?\S)__(?![\w_])")
# A line that opens or closes strong emphasis left unpaired by a paragraph cut in two
# ("**« Offrir une" ... "médecine »** a déclaré"): the marker at the line's edge goes.
_MD_STRONG_EDGE = re.compile(r"^\*\*(?=\S)|(?<=\S)\*\*(?=\s|$)", re.MULTILINE)
_MD_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.MULTILINE)
_MD_RULE = re.compile(r"^[ \t]*(?:[*_=~-][ \t]*){3,}$", re.MULTILINE)

# --- contacts ----------------------------------------------------------------------------
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# French numbers (06 74 44 23 17, 03.62.26.90.84, +33 6 ...) and generic international ones.
_PHONE = re.compile(
    r"(?<!\d)(?:(?:\+|00)33[ .\-]?(?:\(0\))?[ .\-]?[1-9]|0[1-9])(?:[ .\-]?\d{2}){4}(?!\d)"
    r"|(?<![\w+])\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,5}(?!\d)"
)
_CONTACT_HEADER = re.compile(
    r"^(?:contacts?\s+(?:presse|médias?|media)|press\s+(?:contacts?|office)|media\s+contacts?"
    r"|relations?\s+(?:presse|médias)|service\s+de\s+presse)\s*:?\s*$",
    re.IGNORECASE,
)
_ABOUT = re.compile(r"^(?:à|a)\s+propos\b|^about\b", re.IGNORECASE)

# --- web-page debris ---------------------------------------------------------------------
_SOCIAL = (
    "facebook|twitter|google\\+|linkedin|viadeo|delicious|stumbleupon|evernote|scoop\\.?\\s?it"
    "|netvibes|pinterest|reddit|tumblr|whatsapp|instagram|youtube|mastodon|bluesky|digg|pocket"
    "|e-?mail|courriel|imprimer|print|partager|share|tweet|x"
)
_SOCIAL_WORD = re.compile(rf"(?<!\w)(?:{_SOCIAL})(?!\w)", re.IGNORECASE)
_SOCIAL_FILLER = re.compile(r"(?i)^(?:sur|on|via|it|this|cette page|page|[|/•·,:;-])$")
_BACK_TO_TOP = re.compile(
    r"^[\^↑▲]?\s*(?:haut\s+de\s+(?:la\s+)?page|retour\s+en\s+haut(?:\s+de\s+page)?"
    r"|back\s+to\s+top|top\s+of\s+page)\s*[\^↑▲]?$",
    re.IGNORECASE,
)
_EDIT_WORDS = word_set(
    "voir modifier créer ici editer éditer supprimer edit view create delete here"
    " historique history"
)
_LINK_LABEL = re.compile(
    r"^(?:pour\s+)?en\s+savoir\s+plus|^lire\s+la\s+suite|^read\s+more|^learn\s+more"
    r"|^find\s+out\s+more",
    re.IGNORECASE,
)
_CREDIT = re.compile(
    r"^(?:©|\(c\)\s|copyright\b|crédits?\s*(?:photo)?s?\s*:|photo\s*:|credits?\s*:)",
    re.IGNORECASE,
)
_TERMINAL = re.compile(r"[.!?:;»”\"…]$")
_SENTENCE_END = re.compile(r"[.!?:;…][»”\"’)]*$")

# --- whitespace --------------------------------------------------------------------------
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_TRAILING_WS = re.compile(r"[ \t]+$", re.MULTILINE)
_LEADING_WS = re.compile(r"^[ \t]+", re.MULTILINE)
_MANY_BLANKS = re.compile(r"\n{3,}")
# A paragraph cut in two by the source ("... Offrir une\n\nmédecine de qualité ...") or a
# hard-wrapped line: the next line goes on in lower case after a word or a comma.
_BROKEN_PARAGRAPH = re.compile(r"(?<=[\w,’'])\n\n?(?=[a-zà-öø-ÿœ])")
_SPACE_RUN = re.compile(r"(?<=\S)[ \t]{2,}(?=\S)")

_MAX_CONTACT_LINE = 160


def looks_like_markdown(text: str) -> bool:
    """True when ``text`` uses at least two kinds of markdown structure (headings, links or
    images, paired strong emphasis): a .txt saved from a markdown source. One kind alone is
    not enough; code and prose use ``#``, ``[x](y)`` or ``**`` by themselves."""
    kinds = (
        _MD_HEADING.search(text) is not None,
        _MD_LINK.search(text) is not None or _MD_IMAGE.search(text) is not None,
        _MD_STRONG.search(text) is not None,
    )
    return sum(kinds) >= 2


def clean_text(text: str, *, markdown: bool = True) -> CleanResult:
    """Remove boilerplate from ``text`` and, with ``markdown``, markdown markup; lines and
    paragraphs are kept. Without ``markdown`` no character of the text's own is rewritten
    (only invisible/control characters, line-edge whitespace and boilerplate lines go)."""
    removed: set[Removed] = set()
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = _CONTROL.sub("", _INVISIBLE.sub("", text))
    text = _TRAILING_WS.sub("", text)
    text = _LEADING_WS.sub("", text)
    text = _SPACE_RUN.sub(" ", text)
    if markdown:
        text = _strip_markdown(text, removed)
    lines = _drop_boilerplate_lines(text.split("\n"), removed)
    text = "\n".join(lines)
    text = _BROKEN_PARAGRAPH.sub(" ", text)
    text = _MANY_BLANKS.sub("\n\n", text).strip()
    if removed:
        logger.debug("removed boilerplate: %s", ", ".join(sorted(removed)))
    return CleanResult(text=text, removed=frozenset(removed))


def _strip_markdown(text: str, removed: set[Removed]) -> str:
    before = text
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_ESCAPE.sub(r"\1", text)
    text = _MD_RULE.sub("", text)  # after unescaping, "\*\*\*" separators are "***" rules
    text = _MD_STRONG.sub(r"\1", text)
    text = _MD_STRONG_UNDERSCORE.sub(r"\1", text)
    text = _MD_STRONG_EDGE.sub("", text)
    text = _MD_HEADING.sub("", text)
    if text != before:
        removed.add("markdown")
    return text


def _is_contact_line(line: str) -> bool:
    return len(line) <= _MAX_CONTACT_LINE and bool(_EMAIL.search(line) or _PHONE.search(line))


def _is_share_strip(line: str) -> bool:
    hits = _SOCIAL_WORD.findall(line)
    if len(hits) < 2:
        return False
    rest = _SOCIAL_WORD.sub(" ", line).split()
    return all(_SOCIAL_FILLER.match(w) for w in rest)


def _is_edit_links(line: str) -> bool:
    words = line.lower().split()
    return 2 <= len(words) <= 8 and all(w in _EDIT_WORDS for w in words)


def _is_caption(line: str) -> bool:
    return 0 < len(line) <= 100 and not _SENTENCE_END.search(line)


def _drop_boilerplate_lines(lines: list[str], removed: set[Removed]) -> list[str]:
    out: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if _CONTACT_HEADER.match(line):
            removed.add("press_contact")
            i = _skip_contact_block(lines, i + 1)
            continue
        if _is_contact_line(line):
            removed.add("press_contact")
        elif _is_share_strip(line):
            removed.add("share_bar")
        elif _BACK_TO_TOP.match(line):
            removed.add("back_to_top")
        elif _is_edit_links(line):
            removed.add("edit_links")
        elif _LINK_LABEL.match(line) and len(line) <= 40:
            removed.add("link_label")
        elif _CREDIT.match(line) and len(line) <= 120:
            removed.add("photo_credit")
            # A short unpunctuated line right after a credit is the picture's caption.
            j = i + 1
            while j < n and not lines[j]:
                j += 1
            nxt = j + 1
            if j < n and _is_caption(lines[j]) and (nxt >= n or not lines[nxt]):
                i = j + 1
                continue
        else:
            out.append(line)
        i += 1
    return out


def _skip_contact_block(lines: list[str], i: int) -> int:
    """Index of the first line after a press-contact block (names, phones, e-mails)."""
    n = len(lines)
    while i < n:
        line = lines[i]
        if not line or _is_contact_line(line):
            i += 1
            continue
        if _ABOUT.match(line) or _MD_RULE.match(line) or len(line) > _MAX_CONTACT_LINE:
            break
        if _TERMINAL.search(line) and not line.endswith(":"):
            break  # a sentence: the block is over
        # A name or an organisation line: part of the block only if contact details follow.
        j = i + 1
        while j < n and j <= i + 3 and lines[j] and not _is_contact_line(lines[j]):
            j += 1
        if j < n and j <= i + 3 and _is_contact_line(lines[j]):
            i = j + 1
            continue
        break
    return i
