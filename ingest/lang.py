"""Language identification (fr / en / other) with langdetect, seeded so runs are repeatable."""

from __future__ import annotations

import logging
import re

from ingest.types import Lang

logger = logging.getLogger(__name__)

__all__ = ["MIN_LETTERS", "detect_lang"]

#: Below this many letters langdetect guesses ("Cardiologie" -> it); callers fall back instead.
MIN_LETTERS = 40
_LETTER = re.compile(r"[^\W\d_]")
# A runner-up fr/en reading this likely wins over a top guess of a neighbouring language
# (short French text often comes out as ca/it/ro, English as nl/da).
_RUNNER_UP = 0.2


def detect_lang(text: str, *, default: Lang = "other") -> Lang:
    """Return "fr", "en" or "other" for ``text``; ``default`` when it is too short to tell."""
    if len(_LETTER.findall(text)) < MIN_LETTERS:
        return default
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    # langdetect samples randomly; a fixed seed makes every call deterministic.
    DetectorFactory.seed = 0
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
