"""HTTP request and response models: the API's contract and bounds (examples: service.examples).

Request models validate at the edge (lengths, ranges, known modes and filter values,
well-formed dates); response models carry every citation as document offsets.

Why one module of about 460 lines: it is the whole public contract (23 models, each
field with its bound and description), read as one page by whoever changes the API;
the OpenAPI examples, the bulk of it before, live apart.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from index.types import AskMode, Filters, Hit, Mode, SentenceHit
from ingest.types import DocType, Document, Lang
from service import examples
from service.answer_types import AnswerType

if TYPE_CHECKING:
    from service.answer import AnswerResult
    from service.similar import WordingGroup

__all__ = [
    "MAX_K",
    "AnswerOut",
    "AskRequest",
    "AskResponse",
    "DeleteResponse",
    "DocumentDetail",
    "DocumentList",
    "DocumentQuery",
    "DocumentSummary",
    "ErrorBody",
    "ErrorResponse",
    "FiltersIn",
    "HealthResponse",
    "HitOut",
    "Occurrence",
    "SearchRequest",
    "SearchResponse",
    "SimilarMatch",
    "SimilarRequest",
    "SimilarResponse",
    "UploadFileResult",
    "UploadResponse",
    "is_blank",
]

#: Largest ``k`` any endpoint accepts.
MAX_K = 100
# The static ceiling; the configured PARTNERSEARCH_MAX_QUERY_CHARS (<= this) is checked per request.
_QUERY_CEILING = 100_000
_ID_MAX = 300
_PARTNER_MAX = 200


def is_blank(text: str) -> bool:
    """True when nothing is left of ``text`` without whitespace, control, format
    (zero-width, BOM, bidi marks) and separator characters: such a query matches nothing
    meaningful, it only returns arbitrary hits."""
    return all(c.isspace() or unicodedata.category(c)[0] in "CZ" for c in text)


def _no_blank(value: str | None, field: str) -> str | None:
    if value is not None and is_blank(value):
        raise ValueError(f"{field} is blank; give part of a name or leave {field} out")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _request_config(examples_: list[dict[str, Any]]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": examples_})


class FiltersIn(_Strict):
    """Restrictions applied before the top-k cut; every field is optional."""

    model_config = _request_config(examples.FILTERS_IN)

    lang: Lang | None = Field(None, description="document language")
    doc_type: DocType | None = Field(None, description="kind of document")
    date_from: dt.date | None = Field(None, description="earliest document date (inclusive)")
    date_to: dt.date | None = Field(None, description="latest document date (inclusive)")
    partner: str | None = Field(
        None,
        min_length=1,
        max_length=_PARTNER_MAX,
        description="case- and accent-insensitive substring of a partner name",
    )
    doc_id: str | None = Field(None, min_length=1, max_length=_ID_MAX, description="one document")

    # A blank partner used to reach the index and come back 400; all filter errors are 422.
    @field_validator("partner", "doc_id")
    @classmethod
    def _not_blank(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _no_blank(value, info.field_name)

    @model_validator(mode="after")
    def _dates_in_order(self) -> FiltersIn:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(
                f"date_from {self.date_from.isoformat()} is after date_to "
                f"{self.date_to.isoformat()}; swap them"
            )
        return self

    def to_filters(self) -> Filters | None:
        """The index's Filters, or None when nothing is restricted."""
        values = self.model_dump()
        if not any(v is not None for v in values.values()):
            return None
        return Filters(**values)


def _text_field(description: str) -> Any:
    """The text a request searches with: bounded here by the hard ceiling; the service
    checks PARTNERSEARCH_MAX_QUERY_CHARS and blank text with its own messages."""
    return Field(..., min_length=1, max_length=_QUERY_CEILING, description=description)


def _k_field(description: str) -> Any:
    return Field(10, ge=1, le=MAX_K, strict=True, description=description)


class SearchRequest(_Strict):
    """Passage search."""

    model_config = _request_config(examples.SEARCH_REQUEST)

    query: str = _text_field(
        "words or a question, FR or EN (at most PARTNERSEARCH_MAX_QUERY_CHARS)"
    )
    k: int = _k_field("number of passages")
    mode: Mode | None = Field(
        None,
        description="hybrid (e5 + BM25, + USE with the USE channel on), dense (e5), lexical "
        "(BM25), use (USE alone; needs the channel) or rerank (hybrid, then the cross-encoder "
        "over its first passages; needs the reranker); default PARTNERSEARCH_DEFAULT_MODE",
    )
    filters: FiltersIn | None = None


class AskRequest(_Strict):
    """Extractive question answering."""

    model_config = _request_config(examples.ASK_REQUEST)

    question: str = _text_field(
        "a question, French or English (at most PARTNERSEARCH_MAX_QUERY_CHARS)"
    )
    k: int = _k_field("passages read to find the answer")
    mode: AskMode | None = Field(
        None,
        description="retrieval the answer is read from: hybrid or rerank (needs the "
        "reranker); default PARTNERSEARCH_ASK_MODE",
    )
    filters: FiltersIn | None = None


class SimilarRequest(_Strict):
    """Precedent-wording search: sentences close to ``text`` across documents and languages."""

    model_config = _request_config(examples.SIMILAR_REQUEST)

    text: str = _text_field(
        "a sentence to find precedents for (at most PARTNERSEARCH_MAX_QUERY_CHARS)"
    )
    k: int = _k_field("number of distinct wordings")
    filters: FiltersIn | None = None


class DocumentQuery(_Strict):
    """Query parameters of GET /documents."""

    lang: Lang | None = None
    doc_type: DocType | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    partner: str | None = Field(None, min_length=1, max_length=_PARTNER_MAX)
    offset: int = Field(0, ge=0, le=1_000_000)
    limit: int = Field(50, ge=1, le=200)

    @field_validator("partner")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        return _no_blank(value, "partner")

    @model_validator(mode="after")
    def _dates_in_order(self) -> DocumentQuery:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(
                f"date_from {self.date_from.isoformat()} is after date_to "
                f"{self.date_to.isoformat()}; swap them"
            )
        return self

    def to_filters(self) -> Filters | None:
        values = self.model_dump(exclude={"offset", "limit"})
        if not any(v is not None for v in values.values()):
            return None
        return Filters(**values)


def shared_fields(model: type[BaseModel], source: object) -> dict[str, Any]:
    """``source``'s values for the fields ``model`` declares: a response model copies what
    it shares with a stage's dataclass by name, not field by field by hand."""
    return {name: getattr(source, name) for name in model.model_fields if hasattr(source, name)}


class HitOut(BaseModel):
    """One cited passage; ``text == document.text[start:end]``."""

    doc_id: str
    chunk_id: str
    title: str
    date: dt.date | None
    lang: Lang
    doc_type: DocType
    text: str
    start: int = Field(description="character offset of the passage in the document's cleaned text")
    end: int
    page: int | None = Field(description="1-based PDF page, null for other formats")
    score: float
    highlight_start: int | None = Field(
        None, description="/ask only: document offset where the passage's best sentence starts"
    )
    highlight_end: int | None = None

    @classmethod
    def from_hit(cls, hit: Hit, *, highlight: tuple[int, int] | None = None) -> HitOut:
        return cls(
            **shared_fields(cls, hit),
            highlight_start=highlight[0] if highlight else None,
            highlight_end=highlight[1] if highlight else None,
        )


class SearchResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": examples.SEARCH_RESPONSE})

    results: list[HitOut]
    took_ms: float


class SpanOut(BaseModel):
    """The shortest piece of the answering sentence that answers, when the question asks
    for a recognisable type; offsets into the document's cleaned text, like ``start``/``end``."""

    type: AnswerType
    text: str = Field(description="verbatim: document.text[start:end]")
    start: int
    end: int


class AnswerOut(BaseModel):
    """The answering sentence, verbatim, with its citation (the sentence is the citation)."""

    text: str = Field(description="verbatim: document.text[start:end]")
    doc_id: str
    sentence_id: str
    chunk_id: str
    title: str
    date: dt.date | None
    lang: Lang
    start: int
    end: int
    page: int | None
    span: SpanOut | None = Field(
        None, description="answer span inside the sentence (null when no type is recognised)"
    )


class AskResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": examples.ASK_RESPONSE})

    answer: AnswerOut | None = Field(description="null when no_answer is true")
    confidence: float = Field(ge=0.0, le=1.0)
    no_answer: bool = Field(
        description="true when confidence is below PARTNERSEARCH_ANSWER_THRESHOLD"
    )
    passages: list[HitOut] = Field(description="supporting passages, best first, with highlights")
    took_ms: float

    @classmethod
    def from_result(cls, result: AnswerResult, *, took_ms: float) -> AskResponse:
        answer = None
        if result.answer is not None:
            s, hit = result.answer.sentence, result.answer.hit
            span = result.span
            answer = AnswerOut(
                **shared_fields(AnswerOut, s),  # the sentence is the citation
                chunk_id=hit.chunk_id,
                title=hit.title,
                date=hit.date,
                span=SpanOut(**shared_fields(SpanOut, span)) if span is not None else None,
            )
        passages = []
        for p in result.passages:
            highlight = None
            if p.best is not None:
                # Clip to the passage: a sentence may straddle two chunks.
                highlight = (
                    max(p.best.sentence.start, p.hit.start),
                    min(p.best.sentence.end, p.hit.end),
                )
            passages.append(HitOut.from_hit(p.hit, highlight=highlight))
        return cls(
            answer=answer,
            confidence=round(result.confidence, 4),
            no_answer=result.no_answer,
            passages=passages,
            took_ms=took_ms,
        )


class Occurrence(BaseModel):
    """Where one wording occurs."""

    sentence_id: str
    doc_id: str
    title: str
    date: dt.date | None
    lang: Lang
    text: str = Field(description="verbatim: document.text[start:end]")
    start: int
    end: int
    page: int | None
    score: float

    @classmethod
    def from_hit(cls, hit: SentenceHit) -> Occurrence:
        return cls(**shared_fields(cls, hit))


class SimilarMatch(BaseModel):
    """One distinct wording; near-duplicates are collapsed into ``occurrences``."""

    text: str = Field(description="the best-scoring occurrence's sentence, verbatim")
    doc_id: str
    title: str
    date: dt.date | None
    lang: Lang
    start: int
    end: int
    page: int | None
    score: float
    occurrences: list[Occurrence] = Field(description="every place this wording occurs, best first")

    @classmethod
    def from_group(cls, group: WordingGroup) -> SimilarMatch:
        occurrences = [Occurrence.from_hit(h) for h in group.occurrences]
        return cls(**shared_fields(cls, group.best), occurrences=occurrences)


class SimilarResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": examples.SIMILAR_RESPONSE})

    results: list[SimilarMatch]
    took_ms: float


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    date: dt.date | None
    lang: Lang
    doc_type: DocType
    source: str = Field(description="file name the document was ingested from")
    place: str | None
    partners: list[str]
    people: list[dict[str, str | None]]
    chars: int = Field(description="length of the cleaned text")

    @classmethod
    def from_document(cls, doc: Document) -> DocumentSummary:
        return cls(**_summary_fields(doc))


def _summary_fields(doc: Document) -> dict[str, Any]:
    return {
        **shared_fields(DocumentSummary, doc),
        # Only the name: the server's directory layout is none of the client's business.
        "source": doc.source.replace("\\", "/").rsplit("/", 1)[-1],
        "partners": list(doc.partners),
        "people": [{"name": p.name, "role": p.role} for p in doc.people],
        "chars": len(doc.text),
    }


class DocumentDetail(DocumentSummary):
    text: str = Field(description="cleaned text; every offset in the API points into it")
    page_starts: list[int] = Field(description="offset where each PDF page starts; empty otherwise")

    @classmethod
    def from_document(cls, doc: Document) -> DocumentDetail:
        return cls(**_summary_fields(doc), text=doc.text, page_starts=list(doc.page_starts))


class DocumentList(BaseModel):
    items: list[DocumentSummary]
    total: int = Field(description="documents matching the filters, all pages together")
    offset: int
    limit: int


class UploadFileResult(BaseModel):
    filename: str
    status: Literal["added", "updated", "unchanged", "skipped"]
    doc_id: str | None = None
    reason: str | None = None


class UploadResponse(BaseModel):
    results: list[UploadFileResult]
    snapshot_id: str | None
    documents: int


class DeleteResponse(BaseModel):
    deleted: str
    snapshot_id: str | None
    documents: int


class HealthResponse(BaseModel):
    status: Literal["ok", "no_index"]
    snapshot_id: str | None
    model: str
    counts: dict[str, int]
    version: str
    writes_queued: int = Field(description="uploads and deletes waiting for the writer")
    channels: list[str] = Field(
        default_factory=list,
        description="retrieval channels searched: 'dense' (e5-small), 'lexical' (BM25), 'use'",
    )


class ErrorBody(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. 'query_too_long'")
    message: str = Field(description="what was wrong and how to fix it")
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    """The one error shape every 4xx/5xx answer uses."""

    model_config = ConfigDict(json_schema_extra={"examples": examples.ERROR_RESPONSE})

    error: ErrorBody
