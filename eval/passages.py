"""Passages that hold the answer: PIAF through the normal ingest pipeline.

BEIR scores documents; a user reads passages. Here PIAF's paragraphs are ingested as
files (chunked or windowed as the settings say), each sampled question is searched in
every mode, and a result counts only if its passage contains the whole annotated answer.
This is what compares passage settings (packed chunks against sentence windows), each
index cached under its own name so switching back costs nothing.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from eval.beir import load_beir, write_beir_corpus
from eval.errors import EvalDataError
from eval.gold import contains_answer
from eval.similar import similar_metrics
from index.errors import QueryError

if TYPE_CHECKING:
    from index.options import SearchOptions
    from ingest.embed import Embedder
    from service.settings import Settings

logger = logging.getLogger(__name__)

__all__ = ["passages_label", "score_answer_passages"]


def passages_label(settings: Settings) -> str:
    """ "chunks-200-30" or "windows-4-2": the cached index's folder name."""
    if settings.passages == "windows":
        return f"windows-{settings.window_sentences}-{settings.window_stride}"
    return f"chunks-{settings.chunk_max_tokens}-{settings.chunk_overlap_tokens}"


def score_answer_passages(
    settings: Settings,
    embedder: Embedder,
    use_embedder: Embedder | None,
    config: SearchOptions,
    *,
    piaf: Path,
    work_dir: Path,
    modes: Sequence[str],
    max_queries: int = 1000,
    seed: int = 0,
    show_progress: bool = False,
) -> dict[str, Any]:
    """{"passages", "n_questions", "modes": {mode: hit@1/hit@5/mrr@10}} on a seeded sample
    of PIAF's questions; EvalDataError without answers.jsonl."""
    from eval.answerer_data import load_piaf_answers
    from eval.retrieval import index_files
    from service.wiring import open_searcher

    answers_file = Path(piaf) / "answers.jsonl"
    if not answers_file.is_file():
        raise EvalDataError(f"{answers_file} not found: PIAF's answer spans are needed")
    answers = load_piaf_answers(answers_file)
    dataset = load_beir(Path(piaf))
    label = passages_label(settings)
    root = Path(work_dir) / "passages"
    files = root / "piaf-files"
    if not files.is_dir():
        write_beir_corpus(dataset, files)
    data_dir = root / f"piaf-{label}"
    started = time.perf_counter()
    index_files(data_dir, [files], settings, embedder, use_embedder, show_progress=show_progress)
    index_seconds = time.perf_counter() - started
    searcher = open_searcher(settings, embedder, use_embedder, data_dir=data_dir, options=config)
    qids = sorted(q for q in dataset.queries if q in answers)
    if max_queries < len(qids):
        qids = sorted(random.Random(seed).sample(qids, max_queries))
    results: dict[str, dict[str, float]] = {}
    for mode in modes:
        ranks: list[int | None] = []
        for qid in tqdm(qids, desc=f"PIAF passages {mode}", disable=not show_progress):
            answer = answers[qid][1]
            try:
                hits = searcher.search(dataset.queries[qid], k=10, mode=mode)  # type: ignore[arg-type]
            except QueryError as exc:
                logger.warning("PIAF passages: query %s skipped: %s", qid, exc)
                hits = []
            ranks.append(
                next((i for i, h in enumerate(hits, 1) if contains_answer(h.text, answer)), None)
            )
        results[mode] = similar_metrics(ranks)
    return {
        "passages": label,
        "n_questions": len(qids),
        "seed": seed,
        "chunks": searcher.counts()["chunks"],
        "index_seconds": round(index_seconds, 1),
        "modes": results,
    }
