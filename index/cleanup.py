"""Crash leftovers: what a killed ingest or upload leaves in a data directory, and its removal.

A SIGKILL can strike between any two steps of a write, and each leaves something behind
that nothing would ever delete: a half-built ``snapshots/<id>.tmp``, an
``uploads/.incoming-*`` staging folder, a file moved into ``uploads/`` whose document was
never published, or (killed right after the CURRENT switch, before the old snapshots
were collected) a snapshot that is neither CURRENT nor the one before it. The published
index is never touched: CURRENT and the snapshot its manifest names as ``previous``
(kept for readers still on it) stay, and so does every upload a current document cites.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from index import snapshot
from index.errors import IndexMismatchError
from index.store import Store

logger = logging.getLogger(__name__)

__all__ = ["Leftovers", "clean_leftovers", "remove_leftovers"]

UPLOADS = "uploads"
INCOMING_PREFIX = ".incoming-"


@dataclass(slots=True)
class Leftovers:
    """What one clean-up removed (names relative to the data directory)."""

    snapshots: list[str] = field(default_factory=list)
    incoming: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.snapshots or self.incoming or self.uploads)


def clean_leftovers(data_dir: Path, *, wait: bool = True) -> Leftovers | None:
    """Take the writer lock and remove crash leftovers. With ``wait=False`` (service
    start-up) a held lock means another writer is running: nothing is done, None returned."""
    data_dir = Path(data_dir)
    if wait:
        with snapshot.writer_lock(data_dir):
            return remove_leftovers(data_dir)
    with snapshot.try_writer_lock(data_dir) as held:
        return remove_leftovers(data_dir) if held else None


def remove_leftovers(data_dir: Path) -> Leftovers:
    """Remove crash leftovers; the caller holds the writer lock (so nothing is in flight)."""
    data_dir = Path(data_dir)
    found = Leftovers()
    uploads = data_dir / UPLOADS
    if uploads.is_dir():
        for path in sorted(uploads.glob(INCOMING_PREFIX + "*")):
            if _remove(path, "incoming upload folder"):
                found.incoming.append(f"{UPLOADS}/{path.name}")
    try:
        ref = snapshot.current(data_dir)
    except IndexMismatchError as exc:
        # An index this version cannot read: leave its files alone until --rebuild.
        logger.warning("not cleaning %s: %s", data_dir, exc)
        return found
    keep: set[str] = set()
    cited: set[Path] = set()
    if ref is not None:
        keep = {ref.snapshot_id, ref.manifest.get("previous") or ""}
        store = Store.open_readonly(ref.path / snapshot.STORE)
        try:
            cited = {Path(stored.source).resolve() for stored in store.hashes().values()}
        finally:
            store.close()
    root = snapshot.snapshots_dir(data_dir)
    if root.is_dir():
        for path in sorted(root.iterdir()):
            if path.name in keep:
                continue
            kind = "abandoned snapshot build" if path.name.endswith(".tmp") else "old snapshot"
            if _remove(path, kind):
                found.snapshots.append(path.name)
    if uploads.is_dir():
        for path in sorted(uploads.iterdir()):
            if path.name.startswith(".") or not path.is_file() or path.resolve() in cited:
                continue
            if _remove(path, "upload no document cites"):
                found.uploads.append(f"{UPLOADS}/{path.name}")
    return found


def _remove(path: Path, what: str) -> bool:
    try:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError as exc:
        logger.warning("could not remove %s %s: %s", what, path, exc)
        return False
    logger.warning("removed %s %s (left by a stopped writer)", what, path)
    return True
