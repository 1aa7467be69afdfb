"""Evaluation reports: ``<root>/<UTC timestamp>/`` with report.md, metrics.json and chart PNGs.

Every number in report.md comes from the metrics dict written beside it; the previous
value of each number (from the most recent earlier report that measured the same
thing) is printed next to it so a regression is visible at a glance. Here: the folders
and the previous reports; the text in ``eval.report_markdown`` (with the quality bar the
CLI checks too), the charts in ``eval.report_charts``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.errors import EvalDataError
from eval.report_charts import write_beir_chart, write_chart
from eval.report_markdown import QUALITY_BAR, lookup, quality_checks, render_markdown

logger = logging.getLogger(__name__)

__all__ = [
    # The quality bar lives with the text that shows it; the CLI checks it from here.
    "QUALITY_BAR",
    "find_previous",
    "new_report_dir",
    "quality_checks",
    "write_report",
]


def new_report_dir(root: Path, *, now: dt.datetime | None = None) -> Path:
    """Create and return ``root/<YYYYmmddTHHMMSSZ>`` (suffixed ``-2``, ``-3``... if taken)."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        path = root / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise EvalDataError(f"cannot create a report folder under {root}; clean it up")


def find_previous(
    root: Path, current: Path | None, section: Sequence[str]
) -> dict[str, Any] | None:
    """metrics.json of the latest report before ``current`` that holds ``section``, or None.

    Folders sort by their timestamp names; unreadable files are skipped with a warning.
    """
    if not root.is_dir():
        return None
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), reverse=True):
        if current is not None and folder.name >= current.name:
            continue
        file = folder / "metrics.json"
        if not file.is_file():
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            logger.warning("skipping unreadable previous report %s: %s", file, exc)
            continue
        if lookup(data, section) is not None:
            return data
    return None


def write_report(folder: Path, metrics: Mapping[str, Any], *, root: Path | None = None) -> Path:
    """Write metrics.json, chart PNGs and report.md into ``folder``; return report.md's path."""
    root = root if root is not None else folder.parent
    previous = {key: find_previous(root, folder, key) for key in _sections(metrics)}
    (folder / "metrics.json").write_text(
        json.dumps(metrics, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8"
    )
    charts = []
    if "gold" in metrics:
        charts.append(write_chart(folder / "gold.png", metrics["gold"]))
    if metrics.get("beir"):
        charts.append(write_beir_chart(folder / "beir.png", metrics["beir"]))
    report = folder / "report.md"
    report.write_text(
        render_markdown(metrics, previous, [c.name for c in charts]), encoding="utf-8"
    )
    logger.info("wrote %s", report)
    return report


def _sections(metrics: Mapping[str, Any]) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = []
    if "gold" in metrics:
        keys.append(("gold",))
    keys += [("beir", name) for name in metrics.get("beir") or {}]
    if metrics.get("macro"):
        keys.append(("macro",))
    if metrics.get("similar"):
        keys.append(("similar",))
    if metrics.get("answer_passages"):
        keys.append(("answer_passages",))
    return keys


def git_commit() -> str | None:
    """Short hash of the checkout's HEAD, or None outside git (recorded in every report)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None
