"""One evaluation run: every retrieval mode on the gold set and on BEIR datasets, then a report.

The gold set is scored over an index of corpus/ built (incrementally) in its own
working folder, never in the user's index. Relevance is pooled: a chunk is relevant
to a question when its text holds the gold answer, judged over every chunk any mode
retrieved down to ``depth`` — on a corpus smaller than ``depth`` chunks that is every
chunk of the index, so recall is exact. /ask is called once per question; thresholds
are applied afterwards, so the abstention trade-off costs no extra queries.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import numpy as np
from tqdm import tqdm

from eval.beir import BeirDataset, load_beir, passages, rank_documents, score_beir
from eval.errors import EvalDataError
from eval.gold import GOLD_PATH, GoldItem, contains_answer, load_gold
from eval.metrics import (
    GOLD_MEASURES,
    AskOutcome,
    Qrels,
    breakdown,
    mean_scores,
    pick_threshold,
    score_per_query,
    threshold_sweep,
)
from eval.report import git_commit, new_report_dir, write_report
from eval.similar import score_beir_similar, score_gold_similar
from eval.sweep import SweepSet, sweep_suite
from index.errors import IndexMismatchError, QueryError
from index.options import SearchOptions
from index.types import AskMode, Hit, IngestReport, Mode
from ingest.embed import Embedder
from ingest.lang import detect_lang

if TYPE_CHECKING:
    from index import Searcher
    from index.rerank import PairScorer
    from service.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "ALL_MODES",
    "DEFAULT_THRESHOLDS",
    "FUSION_GRID",
    "CachedQueryEmbedder",
    "ask_outcomes",
    "default_corpus_dir",
    "default_reports_dir",
    "default_work_dir",
    "evaluate_beir",
    "evaluate_gold",
    "gold_qrels",
    "macro_average",
    "retrieve",
    "run_eval",
    "score_gold",
    "suite_sets",
    "sweep_fusion",
]

#: Every retrieval mode the index offers (a reranker added to ``Mode`` is picked up here).
ALL_MODES: tuple[str, ...] = get_args(Mode)
#: /ask thresholds tried in the abstention sweep.
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(20))
#: Hybrid fusion settings tried by the sweep. Only the ratio of the two weights matters
#: to weighted RRF's ordering, so dense_weight stays 1.
FUSION_GRID: dict[str, tuple[float, ...]] = {
    "dense_weight": (1.0,),
    "lexical_weight": (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
    "fusion_k": (1, 5, 10, 20, 40, 60, 100),
}
_REPO = Path(__file__).resolve().parent.parent


class CachedQueryEmbedder:
    """Wraps an Embedder so each distinct query is embedded once per run (sweeps re-ask them)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self._cache: dict[str, np.ndarray] = {}

    name = property(lambda self: self.inner.name)
    dim = property(lambda self: self.inner.dim)
    max_tokens = property(lambda self: self.inner.max_tokens)
    backend = property(lambda self: self.inner.backend)

    def fingerprint(self) -> str:
        return self.inner.fingerprint()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            for text, vec in zip(todo, self.inner.embed_queries(todo), strict=True):
                self._cache[text] = vec
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        return self.inner.embed_passages(texts, show_progress=show_progress)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


def default_work_dir(settings: Settings) -> Path:
    """Where eval keeps its own indexes: beside the user's index, never inside it."""
    data_dir = Path(settings.data_dir)
    return data_dir.parent / f"{data_dir.name}-eval"


def default_corpus_dir() -> Path | None:
    """The repository's corpus/ when running from a checkout, else None."""
    corpus = _REPO / "corpus"
    return corpus if corpus.is_dir() else None


#: The development suite: every set of the shared evaluation data, with the query sample
#: each is scored on (None = all its queries), beside the gold set.
SUITES: dict[str, dict[str, int | None]] = {
    "dev": {
        "scifact_beir": None,
        "piaf_v1.1": 1000,
        "service_public_qr_dev": None,
        "diabla_fr_en": None,
    },
}


def default_evaldata_dir() -> Path:
    """$PARTNERSEARCH_EVALDATA, else the shared folder beside the repository."""
    env = os.environ.get("PARTNERSEARCH_EVALDATA")
    return Path(env) if env else _REPO.parent / "shared" / "evaldata"


def suite_sets(name: str, evaldata: Path | None = None) -> tuple[list[Path], dict[str, int]]:
    """The folders of suite ``name`` and their per-set query samples; EvalDataError if the
    suite is unknown or a folder is missing."""
    if name not in SUITES:
        raise EvalDataError(f"unknown suite {name!r}; choose among {', '.join(SUITES)}")
    root = Path(evaldata) if evaldata is not None else default_evaldata_dir()
    paths = [root / folder for folder in SUITES[name]]
    missing = [str(p) for p in paths if not p.is_dir()]
    if missing:
        raise EvalDataError(
            f"suite {name!r} needs {', '.join(missing)}; pass --evaldata DIR or set "
            "PARTNERSEARCH_EVALDATA"
        )
    limits = {folder: n for folder, n in SUITES[name].items() if n is not None}
    return paths, limits


def default_reports_dir() -> Path:
    """eval/reports/ in a checkout (git-ignored), else ./eval-reports."""
    return _REPO / "eval" / "reports" if (_REPO / "eval").is_dir() else Path("eval-reports")


def open_searcher(
    data_dir: Path,
    embedder: Embedder,
    config: SearchOptions,
    use_embedder: Embedder | None = None,
    reranker: PairScorer | None = None,
) -> Searcher:
    from index import Searcher

    return Searcher.open(data_dir, embedder, config, use_embedder=use_embedder, reranker=reranker)


def _indexer(
    data_dir: Path,
    embedder: Embedder,
    settings: Settings,
    show_progress: bool,
    use_embedder: Embedder | None = None,
    *,
    beir: bool = False,
):
    """Eval's Indexer. A BEIR index takes pre-split passages (one per document), so the
    passage setting does not apply to it: it is always built as chunks, and one cached
    index serves every passage setting."""
    from service.wiring import make_indexer

    overrides = {"windows": None} if beir else {}
    return make_indexer(
        settings,
        embedder,
        use_embedder,
        data_dir=data_dir,
        show_progress=show_progress,
        **overrides,
    )


def available_modes(
    modes: Sequence[str] | None,
    use_embedder: Embedder | None,
    reranker: PairScorer | None = None,
) -> list[str]:
    """``modes`` (default: every mode), without "use" when the USE channel is off and
    without the rerank modes when there is no reranker."""
    chosen = list(modes or ALL_MODES)
    return [
        m
        for m in chosen
        if (m != "use" or use_embedder is not None)
        and (not m.startswith("rerank") or reranker is not None)
    ]


def _searcher_for(searcher: Searcher, mode: str) -> tuple[Searcher, str]:
    """The Searcher and index mode behind an eval mode: "rerank@0.3" is mode "rerank"
    with ``rerank_weight`` 0.3; every other name is the index's own mode."""
    if mode.startswith("rerank@"):
        return searcher.with_options(rerank_weight=float(mode.split("@", 1)[1])), "rerank"
    return searcher, mode


def _known_mode(mode: str) -> bool:
    if mode.startswith("rerank@"):
        try:
            return 0.0 <= float(mode.split("@", 1)[1]) <= 1.0
        except ValueError:
            return False
    return mode in ALL_MODES


class CachedPairScorer:
    """Wraps a reranker so each (query, passage) pair is scored once per run: the weight
    sweep re-ranks the same heads."""

    def __init__(self, inner: PairScorer) -> None:
        self.inner = inner
        self.name = inner.name
        self._cache: dict[tuple[str, str], float] = {}

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        todo = [p for p in dict.fromkeys(passages) if (query, p) not in self._cache]
        if todo:
            for passage, value in zip(todo, self.inner.score(query, todo), strict=True):
                self._cache[(query, passage)] = float(value)
        return np.array([self._cache[(query, p)] for p in passages], dtype=np.float32)


# -- gold set ------------------------------------------------------------------------------


def retrieve(
    searcher: Searcher, queries: Mapping[str, str], *, modes: Sequence[str], depth: int
) -> dict[str, dict[str, list[Hit]]]:
    """{mode: {query id: top-``depth`` hits}} for every query in every mode."""
    out: dict[str, dict[str, list[Hit]]] = {}
    for mode in modes:
        mode_searcher, index_mode = _searcher_for(searcher, mode)
        out[mode] = {
            qid: mode_searcher.search(text, k=depth, mode=index_mode)  # type: ignore[arg-type]
            for qid, text in queries.items()
        }
    return out


def gold_qrels(
    items: Sequence[GoldItem], retrieved: Mapping[str, Mapping[str, Sequence[Hit]]]
) -> dict[str, dict[str, int]]:
    """Pooled qrels: every chunk retrieved by any mode whose text holds the item's answer."""
    qrels: dict[str, dict[str, int]] = {}
    for item in items:
        if not item.answerable or item.answer is None:
            continue
        relevant = qrels.setdefault(item.id, {})
        for ranking in retrieved.values():
            for hit in ranking.get(item.id, ()):
                if contains_answer(hit.text, item.answer):
                    relevant[hit.chunk_id] = 1
    return qrels


def score_gold(
    items: Sequence[GoldItem],
    retrieved: Mapping[str, Mapping[str, Sequence[Hit]]],
    qrels: Qrels,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, dict[str, float]]]]:
    """Per-mode overall scores and breakdowns over the answerable items, and per-query scores."""
    answerable = [i for i in items if i.answerable]
    by_id = {i.id: i for i in answerable}
    sections: dict[str, dict[str, Any]] = {}
    per_mode: dict[str, dict[str, dict[str, float]]] = {}
    for mode, ranking in retrieved.items():
        ids = {qid: [h.chunk_id for h in hits[:10]] for qid, hits in ranking.items()}
        pq = score_per_query(qrels, ids, measures=GOLD_MEASURES, query_ids=by_id)
        per_mode[mode] = pq
        sections[mode] = {
            "overall": mean_scores(pq),
            "by_lang_pair": breakdown(pq, lambda q: by_id[q].lang_pair),
            "cross_lingual": breakdown(pq, lambda q: "yes" if by_id[q].cross_lingual else "no"),
            "by_type": breakdown(pq, lambda q: by_id[q].type),
        }
    return sections, per_mode


def ask_outcomes(
    searcher: Searcher,
    embedder: Embedder,
    items: Sequence[GoldItem],
    *,
    k: int = 10,
    mode: AskMode = "hybrid",
) -> list[AskOutcome]:
    """Call /ask's answerer once per item (threshold 0, passages from ``mode``) and record
    its best candidate."""
    from service.answer import answer_question

    outcomes = []
    for item in items:
        result = answer_question(searcher, embedder, item.question, k=k, threshold=0.0, mode=mode)
        best = result.best
        answer = item.answer or ""
        outcomes.append(
            AskOutcome(
                item_id=item.id,
                answerable=item.answerable,
                confidence=float(result.confidence),
                has_candidate=best is not None,
                sentence_has_answer=bool(
                    best and item.answerable and contains_answer(best.sentence.text, answer)
                ),
                passage_has_answer=bool(
                    best and item.answerable and contains_answer(best.hit.text, answer)
                ),
            )
        )
    return outcomes


def sweep_fusion(
    data_dir: Path,
    embedder: Embedder,
    items: Sequence[GoldItem],
    qrels: Qrels,
    *,
    grid: Mapping[str, Iterable[float]] = FUSION_GRID,
    base: SearchOptions | None = None,
    depth: int = 10,
    use_embedder: Embedder | None = None,
) -> list[dict[str, float]]:
    """Hybrid scores for every fusion setting of ``grid``, best first (MRR@10, hit@1, hit@5)."""
    answerable = {i.id: i for i in items if i.answerable}
    questions = {i.id: i.question for i in answerable.values()}
    xling = [q for q, i in answerable.items() if i.cross_lingual]
    rows = []
    for dense_w, lex_w, fk in itertools.product(
        grid["dense_weight"], grid["lexical_weight"], grid["fusion_k"]
    ):
        config = (base or SearchOptions()).with_(
            fusion_k=int(fk), dense_weight=dense_w, lexical_weight=lex_w
        )
        searcher = open_searcher(data_dir, embedder, config, use_embedder)
        ranking = retrieve(searcher, questions, modes=("hybrid",), depth=depth)["hybrid"]
        ids = {q: [h.chunk_id for h in hits] for q, hits in ranking.items()}
        pq = score_per_query(qrels, ids, measures=GOLD_MEASURES, query_ids=questions)
        means = mean_scores(pq)
        rows.append(
            {
                "fusion_k": config.fusion_k,
                "dense_weight": config.dense_weight,
                "lexical_weight": config.lexical_weight,
                "hit@1": means["hit@1"],
                "hit@5": means["hit@5"],
                "mrr@10": means["mrr@10"],
                "xling_hit@5": mean_scores(pq, xling).get("hit@5", 0.0),
            }
        )
    rows.sort(key=lambda r: (-r["mrr@10"], -r["hit@1"], -r["hit@5"], r["lexical_weight"]))
    return rows


def evaluate_gold(
    data_dir: Path,
    embedder: Embedder,
    items: Sequence[GoldItem],
    *,
    config: SearchOptions,
    answer_threshold: float,
    modes: Sequence[str] = ALL_MODES,
    depth: int = 100,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    sweep: bool = True,
    use_embedder: Embedder | None = None,
    reranker: PairScorer | None = None,
) -> dict[str, Any]:
    """The "gold" section of metrics.json for an index already built in ``data_dir``."""
    modes = available_modes(modes, use_embedder, reranker)
    searcher = open_searcher(data_dir, embedder, config, use_embedder, reranker)
    questions = {i.id: i.question for i in items}
    started = time.perf_counter()
    retrieved = retrieve(searcher, questions, modes=modes, depth=depth)
    search_seconds = time.perf_counter() - started
    qrels = gold_qrels(items, retrieved)
    sections, per_mode = score_gold(items, retrieved, qrels)
    answerable = [i for i in items if i.answerable]
    unjudged = [i.id for i in answerable if not qrels.get(i.id)]
    if unjudged:
        logger.warning("no retrieved chunk holds the answer of %s; they count as misses", unjudged)
    chunks = searcher.counts()["chunks"]
    gold: dict[str, Any] = {
        "n_questions": len(items),
        "n_answerable": len(answerable),
        "n_chunks": chunks,
        "pool_exhaustive": chunks <= depth and "dense" in modes,
        "answer_in_no_chunk": unjudged,
        "search_seconds": round(search_seconds, 2),
        "modes": sections,
    }

    outcomes = ask_outcomes(searcher, embedder, items)
    grid = sorted({*thresholds, answer_threshold})
    rows = threshold_sweep(outcomes, grid)
    recommended = pick_threshold(rows)
    gold["ask"] = {
        "threshold": answer_threshold,
        "at_threshold": asdict(next(r for r in rows if r.threshold == answer_threshold)),
        "sweep": [asdict(r) for r in rows],
        "recommended": asdict(recommended) if recommended else None,
        "per_question": [asdict(o) for o in outcomes],
    }
    if "rerank" in modes:
        # /ask reading the reranked passages (PARTNERSEARCH_ASK_MODE=rerank), same threshold.
        rerank_rows = threshold_sweep(ask_outcomes(searcher, embedder, items, mode="rerank"), grid)
        gold["ask_rerank"] = {
            "threshold": answer_threshold,
            "at_threshold": asdict(next(r for r in rerank_rows if r.threshold == answer_threshold)),
        }
    if sweep and "hybrid" in modes:
        gold["fusion_sweep"] = sweep_fusion(
            data_dir, embedder, items, qrels, base=config, use_embedder=use_embedder
        )
    if "hybrid" in per_mode:
        gold["misses"] = _misses(items, retrieved["hybrid"], per_mode["hybrid"])
    return gold


def _misses(
    items: Sequence[GoldItem],
    ranking: Mapping[str, Sequence[Hit]],
    per_query: Mapping[str, Mapping[str, float]],
) -> list[dict[str, str]]:
    out = []
    for item in items:
        if not item.answerable or per_query[item.id]["hit@5"] > 0:
            continue
        top = ranking[item.id][0] if ranking[item.id] else None
        out.append(
            {
                "id": item.id,
                "type": item.type,
                "pair": item.lang_pair,
                "question": item.question,
                "answer": item.answer or "",
                "top": f"{top.chunk_id}: {top.text[:90]}…" if top else "(nothing)",
            }
        )
    return out


# -- BEIR ------------------------------------------------------------------------------------


def evaluate_beir(
    dataset: BeirDataset,
    data_dir: Path,
    embedder: Embedder,
    settings: Settings,
    *,
    modes: Sequence[str] = ALL_MODES,
    config: SearchOptions | None = None,
    depth: int = 100,
    sentences: bool = False,
    show_progress: bool = False,
    use_embedder: Embedder | None = None,
    reranker: PairScorer | None = None,
) -> dict[str, Any]:
    """Index ``dataset`` (one passage per document, with its sentences if ``sentences``;
    incremental) into ``data_dir``; score modes."""
    started = time.perf_counter()
    modes = available_modes(modes, use_embedder, reranker)
    docs = passages(dataset, sentences=sentences)
    indexer = _indexer(data_dir, embedder, settings, show_progress, use_embedder, beir=True)
    report = _own_index(data_dir, lambda: indexer.ingest_parsed(docs))
    index_seconds = time.perf_counter() - started
    logger.info(
        "BEIR %s indexed: %d new/changed passages embedded in %.0f s",
        dataset.name,
        report.chunks_embedded,
        index_seconds,
    )
    searcher = open_searcher(
        data_dir, embedder, config or settings.search_options_object(), use_embedder, reranker
    )
    started = time.perf_counter()
    results: dict[str, dict[str, float]] = {}
    bar = tqdm(
        total=len(dataset.queries) * len(modes),
        desc=f"{dataset.name} queries",
        unit="query",
        disable=not show_progress,
    )
    for mode in modes:
        mode_searcher, index_mode = _searcher_for(searcher, mode)

        def search(
            text: str, mode_searcher: Searcher = mode_searcher, index_mode: str = index_mode
        ) -> list[str]:
            bar.update()
            try:
                hits = mode_searcher.search(text, k=depth, mode=index_mode)  # type: ignore[arg-type]
            except QueryError as exc:
                logger.warning("BEIR query %.60r skipped: %s", text, exc)
                return []
            return rank_documents((h.doc_id for h in hits), depth=depth)

        results[mode], _ = score_beir(dataset, search)
        logger.info("BEIR %s %s: %s", dataset.name, mode, results[mode])
    bar.close()
    # How often the query-language guess the cross-lingual rule relies on says what
    # (reported beside the scores; the sets' own query language is known).
    detected = Counter(
        detect_lang(t, default="other", quick=True) for t in dataset.queries.values()
    )
    return {
        "path": str(dataset.path),
        "query_languages": dict(sorted(detected.items())),
        "n_docs": len(dataset.corpus),
        "n_queries": len(dataset.queries),
        "total_queries": dataset.total_queries,
        "seed": None,
        "index_seconds": round(index_seconds, 1),
        "passages_embedded": report.chunks_embedded,
        "sentences": sentences,
        "sentences_embedded": report.sentences_embedded,
        "search_seconds": round(time.perf_counter() - started, 1),
        "modes": results,
    }


# -- the whole run ----------------------------------------------------------------------------


def run_eval(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    use_embedder: Embedder | None = None,
    reranker: PairScorer | None = None,
    gold: bool = True,
    gold_path: Path = GOLD_PATH,
    corpus: Path | None = None,
    beir: Sequence[Path] = (),
    modes: Sequence[str] = ALL_MODES,
    out: Path | None = None,
    work_dir: Path | None = None,
    max_queries: int | None = None,
    seed: int = 0,
    sweep: bool = True,
    beir_sentences: bool = False,
    beir_max_queries: Mapping[str, int] | None = None,
    answer_passages: Path | None = None,
    show_progress: bool = False,
) -> Path:
    """Evaluate, write ``<out>/<timestamp>/report.md`` (+ metrics.json, PNGs), return its path.

    Raises EvalDataError for unknown modes, a missing corpus or a malformed dataset;
    index errors propagate (all PartnerSearchError).
    """
    unknown = [m for m in modes if not _known_mode(m)]
    if unknown or not modes:
        raise EvalDataError(
            f"unknown mode(s) {unknown}; choose among {', '.join(ALL_MODES)} "
            "(or rerank@W, W in [0, 1], for the reranker at weight W)"
        )
    if not gold and not beir and answer_passages is None:
        raise EvalDataError("nothing to evaluate: keep the gold set or pass --beir DIR")
    if embedder is None:
        from ingest.embed import load_embedder

        embedder = load_embedder(**settings.embedder_options())
    embedder = CachedQueryEmbedder(embedder)
    if not settings.use_channel:
        use_embedder = None
    elif use_embedder is None:
        from service.wiring import use_embedder_for

        use_embedder = use_embedder_for(settings)
    if use_embedder is not None:
        use_embedder = CachedQueryEmbedder(use_embedder)
    if not any(m.startswith("rerank") for m in modes):
        reranker = None
    elif reranker is None and settings.reranker:
        from service.wiring import load_reranker

        reranker = load_reranker(settings)
    # Without one (PARTNERSEARCH_RERANKER off, none injected) the rerank modes are left out,
    # like "use" without the channel.
    if reranker is not None:
        reranker = CachedPairScorer(reranker)  # type: ignore[assignment]
    requested = list(modes)
    modes = available_modes(modes, use_embedder, reranker)
    if not modes:
        raise EvalDataError(
            f"none of the modes {requested} can run: 'use' needs PARTNERSEARCH_USE_CHANNEL=true, "
            "the rerank modes PARTNERSEARCH_RERANKER=true"
        )
    work_dir = Path(work_dir) if work_dir is not None else default_work_dir(settings)
    config = settings.search_options_object()
    # Load every input before the long part, so a typo fails in a second, not after indexing.
    items = load_gold(gold_path) if gold else []
    limits = dict(beir_max_queries or {})
    datasets = [
        load_beir(Path(p), max_queries=limits.get(Path(p).name, max_queries), seed=seed)
        for p in beir
    ]
    corpus = corpus if corpus is not None else default_corpus_dir()
    if gold and (corpus is None or not Path(corpus).is_dir()):
        raise EvalDataError(f"corpus folder {corpus} not found; pass --corpus DIR")

    metrics: dict[str, Any] = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "run": {
            "commit": git_commit(),
            "model": f"{embedder.name}@{embedder.fingerprint()}",
            "chunking": (
                f"windows of {settings.window_sentences} sentences, stride {settings.window_stride}"
                if settings.passages == "windows"
                else f"{settings.chunk_max_tokens} tokens, overlap {settings.chunk_overlap_tokens}"
            ),
            "search": " ".join(f"{k}={v}" for k, v in config.as_dict().items()),
            "answer_threshold": settings.answer_threshold,
            "modes": ",".join(modes),
            "backend": embedder.backend,
            "chunk_vectors": settings.chunk_vectors,
            "beir_sentences": beir_sentences,
            "use_channel": (
                f"{use_embedder.name}@{use_embedder.fingerprint()}" if use_embedder else "off"
            ),
            "reranker": reranker.name if reranker is not None else "off",
        },
    }
    if gold:
        gold_dir = work_dir / "gold"
        indexer = _indexer(gold_dir, embedder, settings, show_progress, use_embedder)
        report = _own_index(gold_dir, lambda: indexer.ingest([Path(corpus)], prune=True))  # type: ignore[arg-type]
        if report.skipped:
            logger.warning("corpus files skipped: %s", report.skipped)
        metrics["run"]["gold_index"] = str(gold_dir)
        metrics["gold"] = evaluate_gold(
            gold_dir,
            embedder,
            items,
            config=config,
            answer_threshold=settings.answer_threshold,
            modes=modes,
            # With other sets, fusion is chosen on the suite's macro average, never on
            # the gold set alone.
            sweep=sweep and not datasets,
            use_embedder=use_embedder,
            reranker=reranker,
        )
    if datasets:
        metrics["beir"] = {}
        for dataset in datasets:
            # The sentence tables change what is indexed for unchanged documents, so each
            # protocol keeps its own cached index.
            name = dataset.name + ("-sentences" if beir_sentences else "")
            section = evaluate_beir(
                dataset,
                work_dir / "beir" / name,
                embedder,
                settings,
                modes=modes,
                config=config,
                sentences=beir_sentences,
                show_progress=show_progress,
                use_embedder=use_embedder,
                reranker=reranker,
            )
            section["seed"] = seed
            metrics["beir"][dataset.name] = section

    metrics["macro"] = macro_average(metrics)
    if answer_passages is not None:
        from eval.passages import score_answer_passages

        metrics["answer_passages"] = score_answer_passages(
            settings,
            embedder,
            use_embedder,
            config,
            piaf=Path(answer_passages),
            work_dir=work_dir,
            # The rerank modes are scored on the suite's sets; not on this second protocol.
            modes=[m for m in modes if not m.startswith("rerank")],
            seed=seed,
            show_progress=show_progress,
        )
    metrics["similar"] = evaluate_similar(
        settings,
        embedder,
        use_embedder,
        config,
        gold_dir=work_dir / "gold" if gold else None,
        items=items,
        datasets=[d for d in datasets if d.name in SIMILAR_SETS],
        work_dir=work_dir,
        show_progress=show_progress,
    )
    if sweep and datasets:
        sets = []
        if gold:
            sets.append(_gold_sweep_set(work_dir / "gold", embedder, items, config, use_embedder))
        for dataset in datasets:
            name = dataset.name + ("-sentences" if beir_sentences else "")
            sets.append(
                SweepSet(
                    name=dataset.name,
                    searcher=open_searcher(
                        work_dir / "beir" / name, embedder, config, use_embedder
                    ),
                    queries=dataset.queries,
                    qrels=dataset.qrels,
                    unit="doc",
                    k=100,
                )
            )
        metrics["fusion_sweep"] = sweep_suite(sets, config, show_progress=show_progress)
    root = Path(out) if out is not None else default_reports_dir()
    folder = new_report_dir(root)
    return write_report(folder, metrics, root=root)


#: BEIR sets whose queries are drafts and relevant documents the wanted wording: /similar
#: is scored on them too (over an index with the documents' sentences).
SIMILAR_SETS = ("diabla_fr_en",)


def evaluate_similar(
    settings: Settings,
    embedder: Embedder,
    use_embedder: Embedder | None,
    config: SearchOptions,
    *,
    gold_dir: Path | None,
    items: Sequence[GoldItem],
    datasets: Sequence[BeirDataset],
    work_dir: Path,
    show_progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """The "similar" section: {set: {channel setup: metrics}}, e5 alone and, with the USE
    channel, e5 and USE fused."""
    setups = [("e5", config.with_(use_weight=0.0))]
    if use_embedder is not None:
        setups.append(("e5+use", config))
    kw = {"dup_overlap": settings.similar_dup_overlap, "show_progress": show_progress}

    def per_setup(data_dir: Path, score: Callable[..., dict[str, Any]], data: Any):
        return {
            name: score(open_searcher(data_dir, embedder, opts, use_embedder), data, **kw)
            for name, opts in setups
        }

    out: dict[str, dict[str, Any]] = {}
    if gold_dir is not None and any(i.type == "precedent" for i in items):
        out["gold"] = per_setup(gold_dir, score_gold_similar, items)
    for dataset in datasets:
        data_dir = work_dir / "beir" / f"{dataset.name}-sentences"
        docs = passages(dataset, sentences=True)
        indexer = _indexer(data_dir, embedder, settings, show_progress, use_embedder, beir=True)
        _own_index(data_dir, lambda indexer=indexer, docs=docs: indexer.ingest_parsed(docs))
        out[dataset.name] = per_setup(data_dir, score_beir_similar, dataset)
    return out


def _gold_sweep_set(
    data_dir: Path,
    embedder: Embedder,
    items: Sequence[GoldItem],
    config: SearchOptions,
    use_embedder: Embedder | None = None,
) -> SweepSet:
    """The gold set for the suite sweep: qrels pooled over every channel at depth 100
    (every chunk of corpus/), so any fusion's ranking is judged in full."""
    searcher = open_searcher(data_dir, embedder, config, use_embedder)
    questions = {i.id: i.question for i in items if i.answerable}
    channels = available_modes(("dense", "lexical", "use"), use_embedder)
    retrieved = retrieve(searcher, questions, modes=channels, depth=100)
    qrels = gold_qrels([i for i in items if i.answerable], retrieved)
    return SweepSet(
        name="gold", searcher=searcher, queries=questions, qrels=qrels, unit="chunk", k=10
    )


def macro_average(metrics: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Per mode, the mean nDCG@10 and MRR@10 over every scored set (gold set included):
    the number tuning is judged by, so no single set decides."""
    per_mode: dict[str, list[dict[str, float]]] = {}
    for mode, data in ((metrics.get("gold") or {}).get("modes") or {}).items():
        per_mode.setdefault(mode, []).append(data["overall"])
    for section in (metrics.get("beir") or {}).values():
        for mode, scores in section["modes"].items():
            per_mode.setdefault(mode, []).append(scores)
    return {
        mode: {
            "ndcg@10": float(np.mean([s["ndcg@10"] for s in sets])),
            "mrr@10": float(np.mean([s["mrr@10"] for s in sets])),
            "sets": len(sets),
        }
        for mode, sets in per_mode.items()
    }


def _own_index(data_dir: Path, ingest: Callable[[], IngestReport]) -> IngestReport:
    """Run ``ingest`` on one of eval's own indexes; one built by another model or index
    format is eval's cache, not user data, so it is deleted and built again."""
    try:
        return ingest()
    except IndexMismatchError as exc:
        logger.warning("rebuilding eval index %s: %s", data_dir, exc)
        shutil.rmtree(data_dir)
        return ingest()
