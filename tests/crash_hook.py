"""The crash tests' checkpoint hook: at one point of an ingest, write a marker and sleep,
so the test can SIGKILL the process exactly there."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from index import snapshot

logger = logging.getLogger(__name__)


def pause_at(point: str, marker: Path, seconds: float = 120.0) -> Callable[[str], None]:
    """A hook for ``snapshot.set_checkpoint_hook`` that pauses at ``point``."""
    if point not in snapshot.CHECKPOINTS:
        raise ValueError(f"unknown checkpoint {point!r}")

    def hook(name: str) -> None:
        if name != point:
            return
        Path(marker).write_text(name, encoding="utf-8")
        logger.warning("test hook: pausing at %s", name)
        time.sleep(seconds)

    return hook


def install_from_argv(argv: list[str]) -> list[str]:
    """Strip ``--pause-at POINT MARKER`` from ``argv`` and install that hook; return the rest."""
    if len(argv) >= 3 and argv[0] == "--pause-at":
        snapshot.set_checkpoint_hook(pause_at(argv[1], Path(argv[2])))
        return argv[3:]
    return argv
