"""The report's PNG charts (matplotlib, Agg): the gold set by group, BEIR sets by mode."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["write_beir_chart", "write_chart"]


def write_chart(path: Path, gold: Mapping[str, Any]) -> Path:
    """Grouped bars, modes side by side: hit@1 and MRR@10 by language pair and by question type."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(gold["modes"])
    panels = [
        ("by_lang_pair", "hit@1"),
        ("by_lang_pair", "mrr@10"),
        ("by_type", "hit@1"),
        ("by_type", "mrr@10"),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), constrained_layout=True)
    for ax, (key, measure) in zip(axes.flat, panels, strict=True):
        groups = ["overall", *gold["modes"][modes[0]][key]]
        width = 0.8 / max(len(modes), 1)
        for i, mode in enumerate(modes):
            data = gold["modes"][mode]
            values = [
                data["overall"][measure] if g == "overall" else data[key][g][measure]
                for g in groups
            ]
            xs = [x + (i - (len(modes) - 1) / 2) * width for x in range(len(groups))]
            ax.bar(xs, values, width, label=mode)
        ax.set_xticks(range(len(groups)), groups, rotation=20)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{measure} by {key.removeprefix('by_').replace('_', ' ')}")
        ax.grid(axis="y", alpha=0.3)
    axes.flat[0].legend(loc="lower left")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_beir_chart(path: Path, beir: Mapping[str, Any]) -> Path:
    """Bars of nDCG@10, modes side by side, one group per BEIR set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(beir)
    modes = list(dict.fromkeys(m for d in beir.values() for m in d["modes"]))
    fig, ax = plt.subplots(figsize=(max(6, 3 * len(names)), 4.5), constrained_layout=True)
    width = 0.8 / max(len(modes), 1)
    for i, mode in enumerate(modes):
        values = [beir[n]["modes"].get(mode, {}).get("ndcg@10", 0.0) for n in names]
        xs = [x + (i - (len(modes) - 1) / 2) * width for x in range(len(names))]
        ax.bar(xs, values, width, label=mode)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylim(0, 1.0)
    ax.set_title("BEIR nDCG@10 by mode")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
