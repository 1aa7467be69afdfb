"""Language identification (fr / en / other) with langdetect, seeded so runs are repeatable."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable

from ingest.clean import word_set
from ingest.types import Lang

logger = logging.getLogger(__name__)

__all__ = ["MIN_LETTERS", "detect_lang"]

#: Below this many letters langdetect guesses ("Cardiologie" -> it); callers fall back instead.
MIN_LETTERS = 40
_LETTER = re.compile(r"[^\W\d_]")
# A runner-up fr/en reading this likely wins over a top guess of a neighbouring language
# (short French text often comes out as ca/it/ro, English as nl/da).
_RUNNER_UP = 0.2


# Function words that only French (resp. English) uses among the languages likely here;
# shared ones ("de", "la", "en", "que", "is") are left out on purpose.
_FR_WORDS = word_set(
    "les des et est une du pour dans qui sur aux avec cette sont ont leur leurs nous ses"
    " ces été être"
)
_EN_WORDS = word_set(
    "the and of to are for with that this from was were have has by which their our we"
)
_WORD = re.compile(r"[^\W\d_]+")


def _function_word_vote(text: str) -> Lang | None:
    words = _WORD.findall(text.lower())
    fr = sum(w in _FR_WORDS for w in words)
    en = sum(w in _EN_WORDS for w in words)
    if fr >= 3 and fr >= 4 * en:
        return "fr"
    if en >= 3 and en >= 4 * fr:
        return "en"
    return None


@functools.cache
def _langdetect() -> tuple[Callable[[str], list], type[Exception]]:
    """langdetect's ``detect_langs`` and its error, imported on first use with the seed set
    once: it samples randomly, and a fixed seed makes every call deterministic."""
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    return detect_langs, LangDetectException


def detect_lang(text: str, *, default: Lang = "other", quick: bool = False) -> Lang:
    """Return "fr", "en" or "other" for ``text``; ``default`` when it is too short to tell.

    ``quick`` first takes an unambiguous vote of French/English function words and only
    asks langdetect (~10 ms a call) when the vote is unclear: for the many sentences of
    long documents."""
    if len(_LETTER.findall(text)) < MIN_LETTERS:
        return default
    if quick and (vote := _function_word_vote(text)) is not None:
        return vote
    detect_langs, LangDetectException = _langdetect()
    try:
        guesses = detect_langs(text)
    except LangDetectException:
        logger.debug("langdetect found no features in %.40r", text)
        return default
    top = guesses[0]
    if top.lang in ("fr", "en"):
        return top.lang  # type: ignore[return-value]
    ours = [g for g in guesses if g.lang in ("fr", "en") and g.prob >= _RUNNER_UP]
    return ours[0].lang if ours else "other"  # type: ignore[return-value]
