"""BM25 over chunks (bm25s) with French and English analysis chosen per chunk language.

Analysis: lower-case, strip elisions (l' d' qu' j' n' s' c' m' t', with ' or ’), split on
word characters, fold accents, drop stopwords, Snowball-stem (PyStemmer), so that
"l’Université" and "universite" meet. Queries are analysed with both languages' rules
(the union of their terms), because a short query's language cannot be detected reliably.
Files are bm25s's own npy + json (no pickle) plus ``vids.npy`` naming each row's chunk.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import get_args

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH

from index.errors import IndexMismatchError
from ingest.clean import fold
from ingest.types import Lang

logger = logging.getLogger(__name__)

# bm25s sets its own logger to DEBUG on import, so every index build printed "Building
# index from tokens" whatever the application's level; it follows the root level again.
logging.getLogger("bm25s").setLevel(logging.NOTSET)


__all__ = ["LexicalIndex", "analyze", "analyze_query", "fold"]

_ELISION = re.compile(r"(?<!\w)(?:qu|[ldjnsctm])['’](?=\w)", re.IGNORECASE)
_WORD = re.compile(r"\w+")
_STEMMER_NAMES = {"fr": "french", "en": "english"}
_VIDS_FILE = "vids.npy"


def _stopword_set(words: Iterable[str]) -> frozenset[str]:
    words = [w.lower() for w in words]
    return frozenset(words) | frozenset(fold(w) for w in words)


_STOPWORDS = {
    "fr": _stopword_set(STOPWORDS_FRENCH),
    "en": _stopword_set(STOPWORDS_EN),
}
_STOPWORDS["other"] = _STOPWORDS["fr"] | _STOPWORDS["en"]


class _Stemmers(threading.local):
    """PyStemmer objects are not thread-safe: one set per thread."""

    def __init__(self) -> None:
        self.by_lang = {lang: Stemmer.Stemmer(name) for lang, name in _STEMMER_NAMES.items()}


_stemmers = _Stemmers()


def _words(text: str) -> list[str]:
    text = _ELISION.sub(" ", text.lower())
    return [w for w in _WORD.findall(text) if len(w) > 1 or w.isdigit()]


def analyze(text: str, lang: str, *, stopwords: frozenset[str] | None = None) -> list[str]:
    """Index terms of ``text`` for a chunk in ``lang`` ('fr', 'en'; anything else: no stemming)."""
    stop = stopwords if stopwords is not None else _STOPWORDS.get(lang, _STOPWORDS["other"])
    # Fold before stemming: a query typed without accents ("universite") must reach the
    # same stem as the accented text ("université").
    words = [w for w in (fold(w) for w in _words(text)) if w not in stop]
    stemmer = _stemmers.by_lang.get(lang)
    return stemmer.stemWords(words) if stemmer is not None else words


def analyze_query(text: str) -> list[str]:
    """Distinct query terms: the union of the French, English and unstemmed analyses.

    Stopwords of either language are dropped first, so "the" or "les" never score.
    """
    terms: dict[str, None] = {}
    for lang in get_args(Lang):
        for term in analyze(text, lang, stopwords=_STOPWORDS["other"]):
            terms.setdefault(term, None)
    return list(terms)


class LexicalIndex:
    """A BM25 index whose row ``i`` is the chunk with dense id ``vids[i]``."""

    def __init__(self, bm25: bm25s.BM25 | None, vids: np.ndarray) -> None:
        self._bm25 = bm25
        self.vids = vids

    @property
    def size(self) -> int:
        return len(self.vids)

    @classmethod
    def build(cls, vids: np.ndarray, terms: Sequence[Sequence[str]]) -> LexicalIndex:
        """Index ``terms[i]`` (already analysed) as the chunk ``vids[i]``."""
        vids = np.asarray(vids, dtype=np.int64)
        if len(vids) != len(terms):
            raise ValueError(f"{len(vids)} ids for {len(terms)} term lists")
        if not len(vids):
            return cls(None, vids)
        # Terms numbered in sorted order: bm25s would number them in set order, which
        # changes with PYTHONHASHSEED, so the same chunks gave different files each build.
        vocab = {term: i for i, term in enumerate(sorted({t for ts in terms for t in ts}))}
        # Chunks of stopwords only leave no term at all; bm25s cannot index an empty
        # vocabulary, so it gets its own empty token, which no query term matches.
        vocab = vocab or {"": 0}
        bm25 = bm25s.BM25()
        with np.errstate(divide="ignore", invalid="ignore"):  # all chunks empty: 0 / 0
            bm25.index(([[vocab[t] for t in ts] for ts in terms], vocab), show_progress=False)
        return cls(bm25, vids)

    def save(self, directory: Path) -> None:
        """Write into ``directory`` (inside an unpublished snapshot, so plain writes are safe)."""
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / _VIDS_FILE, self.vids, allow_pickle=False)
        if self._bm25 is not None:
            self._bm25.save(str(directory), allow_pickle=False)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        try:
            vids = np.load(directory / _VIDS_FILE, allow_pickle=False)
        except OSError as exc:
            raise IndexMismatchError(
                f"lexical index in {directory} is unreadable ({exc}); "
                "re-run partnersearch ingest --rebuild PATH"
            ) from exc
        bm25 = bm25s.BM25.load(str(directory), mmap=False) if len(vids) else None
        return cls(bm25, vids)

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every row for the analysed query (float32, zeros when nothing matches)."""
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        known = [t for t in query_terms if t and t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)
