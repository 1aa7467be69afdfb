"""One evaluation run: every retrieval mode on the gold set and on BEIR datasets, then a report.

:class:`EvalPlan` says what a run evaluates; :func:`run_eval` loads the models, builds
eval's indexes (incrementally, in its own working folder, never in the user's index),
gathers each section (``eval.gold_scores``, ``eval.beir``, ``eval.passages``,
``eval.similar``, ``eval.sweep``) into metrics.json and writes the report.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eval.beir import BeirDataset, evaluate_beir, load_beir
from eval.errors import EvalDataError
from eval.gold import GOLD_PATH, GoldItem, load_gold
from eval.gold_scores import evaluate_gold, gold_sweep_set
from eval.report import git_commit, new_report_dir, write_report
from eval.retrieval import (
    ALL_MODES,
    CachedPairScorer,
    CachedQueryEmbedder,
    available_modes,
    index_files,
    known_mode,
)
from eval.similar import SIMILAR_SETS, evaluate_similar
from eval.sweep import SweepSet, sweep_suite
from ingest.embed import Embedder

if TYPE_CHECKING:
    from index.options import SearchOptions
    from index.rerank import PairScorer
    from service.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "SUITES",
    "EvalPlan",
    "default_corpus_dir",
    "default_evaldata_dir",
    "default_reports_dir",
    "default_work_dir",
    "macro_average",
    "run_eval",
    "suite_sets",
]

_REPO = Path(__file__).resolve().parent.parent

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


@dataclass(frozen=True, slots=True)
class EvalPlan:
    """What one run evaluates and where it writes (``partnersearch eval``'s options).

    Sequences are kept as tuples. Raises EvalDataError for an unknown mode or when there
    is nothing to evaluate (no gold set, no BEIR folder, no ``answer_passages``).
    """

    gold: bool = True
    gold_path: Path = GOLD_PATH
    corpus: Path | None = None  # the gold set's documents [default: the checkout's corpus/]
    beir: Sequence[Path] = ()  # BEIR folders
    beir_max_queries: Mapping[str, int] = field(default_factory=dict)  # by folder name
    max_queries: int | None = None  # query sample of the other BEIR folders
    seed: int = 0  # of the query samples
    modes: Sequence[str] = ALL_MODES
    sweep: bool = True  # fusion sweep: the gold set's alone, or the suite's with BEIR sets
    beir_sentences: bool = False  # give BEIR passages their sentence tables
    answer_passages: Path | None = None  # PIAF folder with answers.jsonl
    out: Path | None = None  # reports root [default: default_reports_dir()]
    work_dir: Path | None = None  # eval's indexes [default: default_work_dir(settings)]
    show_progress: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "beir", tuple(Path(p) for p in self.beir))
        object.__setattr__(self, "beir_max_queries", dict(self.beir_max_queries))
        object.__setattr__(self, "modes", tuple(self.modes))
        unknown = [m for m in self.modes if not known_mode(m)]
        if unknown or not self.modes:
            raise EvalDataError(
                f"unknown mode(s) {unknown}; choose among {', '.join(ALL_MODES)} "
                "(or rerank@W, W in [0, 1], for the reranker at weight W)"
            )
        if not self.gold and not self.beir and self.answer_passages is None:
            raise EvalDataError("nothing to evaluate: keep the gold set or pass --beir DIR")

    def beir_dir(self, work_dir: Path, dataset: BeirDataset) -> Path:
        """The cached index of ``dataset``: the sentence tables change what is indexed for
        unchanged documents, so each protocol keeps its own."""
        return work_dir / "beir" / (dataset.name + ("-sentences" if self.beir_sentences else ""))


@dataclass(frozen=True, slots=True)
class _Models:
    """The run's models, each behind a run-long cache; None where off."""

    embedder: Embedder
    use_embedder: Embedder | None
    reranker: PairScorer | None


def default_work_dir(settings: Settings) -> Path:
    """Where eval keeps its own indexes: beside the user's index, never inside it."""
    data_dir = Path(settings.data_dir)
    return data_dir.parent / f"{data_dir.name}-eval"


def default_corpus_dir() -> Path | None:
    """The repository's corpus/ when running from a checkout, else None."""
    corpus = _REPO / "corpus"
    return corpus if corpus.is_dir() else None


def default_evaldata_dir() -> Path:
    """$PARTNERSEARCH_EVALDATA, else the shared folder beside the repository."""
    env = os.environ.get("PARTNERSEARCH_EVALDATA")
    return Path(env) if env else _REPO.parent / "shared" / "evaldata"


def default_reports_dir() -> Path:
    """eval/reports/ in a checkout (git-ignored), else ./eval-reports."""
    return _REPO / "eval" / "reports" if (_REPO / "eval").is_dir() else Path("eval-reports")


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


def run_eval(
    settings: Settings,
    plan: EvalPlan | None = None,
    *,
    embedder: Embedder | None = None,
    use_embedder: Embedder | None = None,
    reranker: PairScorer | None = None,
    **options: Any,
) -> Path:
    """Evaluate as ``plan`` says, write ``<out>/<timestamp>/report.md`` (+ metrics.json,
    PNGs), return its path. Without a plan, ``options`` are EvalPlan's fields by keyword.
    Models not given are loaded from ``settings`` (tests inject fakes).

    Raises EvalDataError for unknown modes, a missing corpus or a malformed dataset;
    index errors propagate (all PartnerSearchError).
    """
    if plan is None:
        plan = EvalPlan(**options)
    elif options:
        raise TypeError(f"run_eval takes a plan or its fields, not both: {sorted(options)}")
    models = _load_models(settings, plan.modes, embedder, use_embedder, reranker)
    modes = available_modes(plan.modes, models.use_embedder, models.reranker)
    if not modes:
        raise EvalDataError(
            f"none of the modes {list(plan.modes)} can run: 'use' needs "
            "PARTNERSEARCH_USE_CHANNEL=true, the rerank modes PARTNERSEARCH_RERANKER=true"
        )
    work_dir = Path(plan.work_dir) if plan.work_dir is not None else default_work_dir(settings)
    config = settings.search_options_object()
    # Load every input before the long part, so a typo fails in a second, not after indexing.
    items = load_gold(plan.gold_path) if plan.gold else []
    datasets = [
        load_beir(
            p, max_queries=plan.beir_max_queries.get(p.name, plan.max_queries), seed=plan.seed
        )
        for p in plan.beir
    ]
    corpus = plan.corpus if plan.corpus is not None else default_corpus_dir()
    if plan.gold and (corpus is None or not Path(corpus).is_dir()):
        raise EvalDataError(f"corpus folder {corpus} not found; pass --corpus DIR")

    emb, use = models.embedder, models.use_embedder
    metrics: dict[str, Any] = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "run": _run_info(settings, config, plan, models, modes),
    }
    gold_dir = work_dir / "gold"
    if plan.gold:
        report = index_files(
            gold_dir, [Path(corpus)], settings, emb, use, show_progress=plan.show_progress
        )
        if report.skipped:
            logger.warning("corpus files skipped: %s", report.skipped)
        metrics["run"]["gold_index"] = str(gold_dir)
        metrics["gold"] = evaluate_gold(
            gold_dir,
            emb,
            items,
            config=config,
            answer_threshold=settings.answer_threshold,
            modes=modes,
            # With other sets, fusion is chosen on the suite's macro average, never on
            # the gold set alone.
            sweep=plan.sweep and not datasets,
            use_embedder=use,
            reranker=models.reranker,
        )
    if datasets:
        metrics["beir"] = {}
        for dataset in datasets:
            section = evaluate_beir(
                dataset,
                plan.beir_dir(work_dir, dataset),
                emb,
                settings,
                modes=modes,
                config=config,
                sentences=plan.beir_sentences,
                show_progress=plan.show_progress,
                use_embedder=use,
                reranker=models.reranker,
            )
            section["seed"] = plan.seed
            metrics["beir"][dataset.name] = section

    metrics["macro"] = macro_average(metrics)
    if plan.answer_passages is not None:
        from eval.passages import score_answer_passages

        metrics["answer_passages"] = score_answer_passages(
            settings,
            emb,
            use,
            config,
            piaf=Path(plan.answer_passages),
            work_dir=work_dir,
            # The rerank modes are scored on the suite's sets; not on this second protocol.
            modes=[m for m in modes if not m.startswith("rerank")],
            seed=plan.seed,
            show_progress=plan.show_progress,
        )
    metrics["similar"] = evaluate_similar(
        settings,
        emb,
        use,
        config,
        gold_dir=gold_dir if plan.gold else None,
        items=items,
        datasets=[d for d in datasets if d.name in SIMILAR_SETS],
        work_dir=work_dir,
        show_progress=plan.show_progress,
    )
    if plan.sweep and datasets:
        metrics["fusion_sweep"] = _suite_sweep(
            settings, config, plan, models, work_dir, items, datasets
        )
    root = Path(plan.out) if plan.out is not None else default_reports_dir()
    return write_report(new_report_dir(root), metrics, root=root)


def _load_models(
    settings: Settings,
    modes: Sequence[str],
    embedder: Embedder | None,
    use_embedder: Embedder | None,
    reranker: PairScorer | None,
) -> _Models:
    """The injected models, else the settings' ones: no USE embedder with the channel off,
    no reranker without a rerank mode; a reranker injected is kept even with
    PARTNERSEARCH_RERANKER off."""
    from service.wiring import load_e5, load_reranker, use_embedder_for

    if embedder is None:
        embedder = load_e5(settings)
    if not settings.use_channel:
        use_embedder = None
    elif use_embedder is None:
        use_embedder = use_embedder_for(settings)
    if not any(m.startswith("rerank") for m in modes):
        reranker = None
    elif reranker is None and settings.reranker:
        reranker = load_reranker(settings)
    # Without one (PARTNERSEARCH_RERANKER off, none injected) the rerank modes are left out,
    # like "use" without the channel.
    return _Models(
        embedder=CachedQueryEmbedder(embedder),
        use_embedder=CachedQueryEmbedder(use_embedder) if use_embedder is not None else None,
        reranker=CachedPairScorer(reranker) if reranker is not None else None,
    )


def _run_info(
    settings: Settings,
    config: SearchOptions,
    plan: EvalPlan,
    models: _Models,
    modes: Sequence[str],
) -> dict[str, Any]:
    """metrics.json's "run": what was measured, with what, at which commit."""
    emb, use = models.embedder, models.use_embedder
    return {
        "commit": git_commit(),
        "model": f"{emb.name}@{emb.fingerprint()}",
        "chunking": (
            f"windows of {settings.window_sentences} sentences, stride {settings.window_stride}"
            if settings.passages == "windows"
            else f"{settings.chunk_max_tokens} tokens, overlap {settings.chunk_overlap_tokens}"
        ),
        "search": " ".join(f"{k}={v}" for k, v in config.as_dict().items()),
        "answer_threshold": settings.answer_threshold,
        "modes": ",".join(modes),
        "backend": emb.backend,
        "chunk_vectors": settings.chunk_vectors,
        "beir_sentences": plan.beir_sentences,
        "use_channel": f"{use.name}@{use.fingerprint()}" if use is not None else "off",
        "reranker": models.reranker.name if models.reranker is not None else "off",
    }


def _suite_sweep(
    settings: Settings,
    config: SearchOptions,
    plan: EvalPlan,
    models: _Models,
    work_dir: Path,
    items: Sequence[GoldItem],
    datasets: Sequence[BeirDataset],
) -> dict[str, Any]:
    """The fusion sweep over the gold set (when evaluated) and every BEIR set, over the
    indexes the run built."""
    from service.wiring import open_searcher

    emb, use = models.embedder, models.use_embedder
    sets = [gold_sweep_set(work_dir / "gold", emb, items, config, use)] if plan.gold else []
    sets += [
        SweepSet(
            name=dataset.name,
            searcher=open_searcher(
                settings, emb, use, data_dir=plan.beir_dir(work_dir, dataset), options=config
            ),
            queries=dataset.queries,
            qrels=dataset.qrels,
            unit="doc",
            k=100,
        )
        for dataset in datasets
    ]
    return sweep_suite(sets, config, show_progress=plan.show_progress)


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
