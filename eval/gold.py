"""The gold question set: questions over corpus/ with the exact answer span of each.

A passage is relevant to a question when it contains the question's answer after
whitespace normalisation, so relevance does not depend on how documents were chunked.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from eval.errors import EvalDataError

logger = logging.getLogger(__name__)

__all__ = [
    "GOLD_PATH",
    "GoldItem",
    "QuestionType",
    "contains_answer",
    "load_gold",
    "normalize_ws",
]

#: The project's gold set, shipped as package data.
GOLD_PATH = Path(__file__).resolve().parent / "data" / "gold.jsonl"

QuestionType = Literal["factoid", "list", "paraphrase", "precedent", "unanswerable"]
_TYPES = frozenset(QuestionType.__args__)  # type: ignore[attr-defined]
_LANGS = frozenset({"fr", "en"})
_WS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class GoldItem:
    """One gold question. Answerable items name their document and an exact answer span."""

    id: str
    question: str
    lang: str  # language of the question
    type: QuestionType
    answerable: bool
    doc_id: str | None  # document holding the answer; None when unanswerable
    answer: str | None  # exact substring of that document's cleaned text
    answer_lang: str | None  # language of that document
    note: str | None = None  # why an unanswerable question cannot be answered

    @property
    def lang_pair(self) -> str:
        """``"en->fr"`` for an English question answered by a French document; ``"en->none"``."""
        return f"{self.lang}->{self.answer_lang or 'none'}"

    @property
    def cross_lingual(self) -> bool:
        return self.answerable and self.lang != self.answer_lang


def normalize_ws(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    return _WS.sub(" ", text).strip()


def contains_answer(passage: str, answer: str) -> bool:
    """True when ``passage`` contains ``answer`` once whitespace is normalised in both."""
    return normalize_ws(answer) in normalize_ws(passage)


def load_gold(path: Path = GOLD_PATH) -> list[GoldItem]:
    """Read a gold JSONL file (one object per line); raises EvalDataError naming the bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalDataError(f"cannot read gold set {path}: {exc}; pass an existing file") from exc
    items = [_parse(path, n, line) for n, line in enumerate(lines, 1) if line.strip()]
    _check_unique(path, (item.id for item in items))
    logger.info("loaded %d gold questions from %s", len(items), path)
    return items


def _parse(path: Path, lineno: int, line: str) -> GoldItem:
    where = f"{path}:{lineno}"
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EvalDataError(f"{where}: invalid JSON ({exc}); fix the line") from exc
    missing = {"id", "question", "lang", "type", "answerable"} - raw.keys()
    if missing:
        raise EvalDataError(f"{where}: missing field(s) {sorted(missing)}")
    if raw["type"] not in _TYPES:
        raise EvalDataError(f"{where}: type {raw['type']!r} is not one of {sorted(_TYPES)}")
    if raw["lang"] not in _LANGS:
        raise EvalDataError(f"{where}: lang {raw['lang']!r} is not one of {sorted(_LANGS)}")
    answerable = bool(raw["answerable"])
    if answerable and not (raw.get("answer") and raw.get("doc_id") and raw.get("answer_lang")):
        raise EvalDataError(f"{where}: answerable item needs doc_id, answer and answer_lang")
    if answerable == (raw["type"] == "unanswerable"):
        raise EvalDataError(
            f"{where}: answerable={answerable} contradicts type {raw['type']!r}; "
            "use type 'unanswerable' exactly for answerable=false"
        )
    if not answerable and raw.get("answer"):
        raise EvalDataError(f"{where}: an unanswerable item cannot carry an answer")
    return GoldItem(
        id=str(raw["id"]),
        question=str(raw["question"]),
        lang=raw["lang"],
        type=raw["type"],
        answerable=answerable,
        doc_id=raw.get("doc_id") if answerable else None,
        answer=raw.get("answer") if answerable else None,
        answer_lang=raw.get("answer_lang") if answerable else None,
        note=raw.get("note"),
    )


def _check_unique(path: Path, ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise EvalDataError(f"{path}: duplicate id {item_id!r}; ids must be unique")
        seen.add(item_id)
