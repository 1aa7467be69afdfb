"""/ask and /similar as the settings configure them, for the API and the CLI alike.

Both front ends read the same settings the same way (the answer threshold, the default
/ask mode, the /similar duplicate overlap), so ``partnersearch ask`` answers what
POST /ask answers; the routes and commands only check their input and shape the output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.answer import AnswerResult, answer_question
from service.similar import WordingGroup, similar_wordings

if TYPE_CHECKING:
    from index import Searcher
    from index.types import AskMode, Filters
    from ingest.embed import Embedder
    from service.answer_model import AnswerModel
    from service.nlp import EntityTagger
    from service.settings import Settings

__all__ = ["ask", "similar"]


def ask(
    settings: Settings,
    searcher: Searcher,
    embedder: Embedder,
    question: str,
    *,
    k: int,
    filters: Filters | None,
    mode: AskMode | None,
    model: AnswerModel,
    tagger: EntityTagger | None = None,
) -> AnswerResult:
    """The answer to ``question`` at the settings' threshold, read in ``mode`` (default
    PARTNERSEARCH_ASK_MODE)."""
    return answer_question(
        searcher,
        embedder,
        question,
        k=k,
        filters=filters,
        threshold=settings.answer_threshold,
        model=model,
        tagger=tagger,
        mode=mode or settings.ask_mode,
    )


def similar(
    settings: Settings, searcher: Searcher, text: str, *, k: int, filters: Filters | None
) -> list[WordingGroup]:
    """The ``k`` distinct wordings closest to ``text``, near-copies merged at the settings'
    word overlap."""
    return similar_wordings(
        searcher, text, k=k, filters=filters, dup_overlap=settings.similar_dup_overlap
    )
