"""Eval: score retrieval and /ask against the gold questions and BEIR datasets, and report.

``run_eval(settings, EvalPlan(...))`` (what ``partnersearch eval`` calls) indexes corpus/
into eval's own folder, runs every retrieval mode on the gold set (``eval/data/gold.jsonl``,
relevance = the passage holds the answer span), measures /ask abstention with a threshold
sweep and a hybrid fusion sweep, scores BEIR folders, and writes
``eval/reports/<timestamp>/`` (report.md, metrics.json, PNG charts) with the previous
run's numbers beside the new ones. Metrics come from ir-measures.
"""

from eval.beir import BeirDataset, evaluate_beir, load_beir
from eval.gold import GOLD_PATH, GoldItem, contains_answer, load_gold
from eval.gold_scores import evaluate_gold
from eval.metrics import BEIR_MEASURES, GOLD_MEASURES, score_per_query, threshold_sweep
from eval.retrieval import ALL_MODES
from eval.run import EvalPlan, run_eval

__all__ = [
    "ALL_MODES",
    "BEIR_MEASURES",
    "GOLD_MEASURES",
    "GOLD_PATH",
    "BeirDataset",
    "EvalPlan",
    "GoldItem",
    "contains_answer",
    "evaluate_beir",
    "evaluate_gold",
    "load_beir",
    "load_gold",
    "run_eval",
    "score_per_query",
    "threshold_sweep",
]
