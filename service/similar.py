"""Precedent wording: sentences close to a draft, near-duplicates collapsed into one wording.

Press releases reuse boilerplate ("L'Inserm, établissement public à caractère
scientifique…") across documents; listing the same sentence ten times would hide the
other precedents. Two hits are one wording when their normalised texts are equal or
their word sets overlap by at least ``dup_overlap`` (Jaccard). Words, not vectors:
stored sentence vectors carry their document's title (better retrieval), so the same
sentence in two releases no longer has near-identical vectors, while its words do.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from index.errors import QueryError
from index.types import Filters, SentenceHit
from ingest.clean import fold

if TYPE_CHECKING:
    from index import Searcher

logger = logging.getLogger(__name__)

__all__ = ["WordingGroup", "normalise_wording", "similar_wordings"]

_NON_WORD = re.compile(r"[\W_]+")
# Fetch this many times k sentence hits so that collapsing duplicates still leaves k wordings.
_OVERFETCH = 4
_MAX_FETCH = 400


@dataclass(frozen=True, slots=True)
class WordingGroup:
    """One distinct wording: its best-scoring occurrence first, then the others, best first."""

    occurrences: tuple[SentenceHit, ...]

    @property
    def best(self) -> SentenceHit:
        return self.occurrences[0]


def normalise_wording(text: str) -> str:
    """Folded (lower case, no accents, œ as oe) words joined by spaces: typography is not
    a new wording."""
    return _NON_WORD.sub(" ", fold(text)).strip()


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def similar_wordings(
    searcher: Searcher,
    text: str,
    *,
    k: int = 10,
    filters: Filters | None = None,
    dup_overlap: float = 0.8,
) -> list[WordingGroup]:
    """The ``k`` best distinct wordings close to ``text``, best first; QueryError if blank."""
    if not text.strip():
        raise QueryError("the text is empty; paste the sentence you want precedents for")
    hits = searcher.similar(text, k=min(k * _OVERFETCH, _MAX_FETCH), filters=filters)
    if not hits:
        return []
    keys = [normalise_wording(h.text) for h in hits]
    words = [frozenset(key.split()) for key in keys]

    groups: list[list[int]] = []  # indices into hits; groups[i][0] is the representative
    for i in sorted(range(len(hits)), key=lambda j: -hits[j].score):
        home = None
        for group in groups:
            rep = group[0]
            if keys[i] == keys[rep] or _jaccard(words[i], words[rep]) >= dup_overlap:
                home = group
                break
        if home is not None:
            home.append(i)
        elif len(groups) < k:
            groups.append([i])
    logger.debug("similar: %d sentence hits -> %d wordings", len(hits), len(groups))
    return [WordingGroup(occurrences=tuple(hits[i] for i in group)) for group in groups]
