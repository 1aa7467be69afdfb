"""Crash-safe snapshots: build in a temporary directory, publish with one atomic rename.

Layout of a data directory::

    CURRENT                    name of the published snapshot (replaced with os.replace)
    snapshots/<id>/            manifest.json (written last), store.sqlite, chunks.faiss,
                               sentences.faiss, lexical/
    snapshots/<id>.tmp/        a snapshot being built; garbage if no ingest holds the lock
    ingest.lock                flock held by the one writer

A reader resolves CURRENT to a complete directory, so killing an ingest at any moment
leaves the previous snapshot published and intact. The snapshot before the current one
is kept for readers still using it; older ones are deleted by the next ingest.

Test hook: ``set_checkpoint_hook(hook)`` has every ingest call ``hook(point)`` at each of
:data:`CHECKPOINTS`; the crash tests install one that pauses there so they can SIGKILL
the process. Without a hook a checkpoint does nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.errors import IndexMismatchError, IndexNotFoundError

logger = logging.getLogger(__name__)

__all__ = [
    "CHECKPOINTS",
    "FORMAT_VERSION",
    "SnapshotRef",
    "checkpoint",
    "current",
    "gc",
    "new_snapshot_id",
    "publish",
    "read_manifest",
    "require_current",
    "set_checkpoint_hook",
    "try_writer_lock",
    "write_manifest",
    "writer_lock",
]

# 2: chunks and sentences embedded with their title; langdir.npz (cross-lingual debiasing)
# 3: rows/ (per-row tables as .npy, memory-mapped on open); backend and probe vector
FORMAT_VERSION = 3
MANIFEST = "manifest.json"
STORE = "store.sqlite"
CHUNKS_FAISS = "chunks.faiss"
SENTENCES_FAISS = "sentences.faiss"
#: The second dense channel (USE), present when the manifest has a "use" entry.
CHUNKS_USE_FAISS = "chunks_use.faiss"
SENTENCES_USE_FAISS = "sentences_use.faiss"
LEXICAL_DIR = "lexical"
LANGDIR = "langdir.npz"
_CURRENT = "CURRENT"
_SNAPSHOTS = "snapshots"
_LOCK = "ingest.lock"
_TMP_SUFFIX = ".tmp"

#: Points where the test hook can pause an ingest, in the order an ingest reaches them.
CHECKPOINTS = (
    "embedded",
    "store_written",
    "dense_written",
    "lexical_written",
    "manifest_written",
    "snapshot_renamed",
    "current_switched",
)


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    """A published snapshot: its id, directory and manifest."""

    snapshot_id: str
    path: Path
    manifest: dict[str, Any]


def snapshots_dir(data_dir: Path) -> Path:
    return data_dir / _SNAPSHOTS


def new_snapshot_id() -> str:
    """Sortable and unique: UTC time to the microsecond plus a random suffix."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    return f"{now}-{secrets.token_hex(3)}"


def current_id(data_dir: Path) -> str | None:
    try:
        text = (data_dir / _CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


def current_key(data_dir: Path) -> tuple[int, int, int] | None:
    """Cheap change detector for CURRENT (inode, mtime, size); None when absent."""
    try:
        st = os.stat(data_dir / _CURRENT)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_manifest(path: Path) -> dict[str, Any]:
    with open(path / MANIFEST, encoding="utf-8") as fh:
        manifest = json.load(fh)
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"index in {path} has format {manifest.get('format')!r} but this version reads "
            f"format {FORMAT_VERSION}; re-run partnersearch ingest --rebuild PATH"
        )
    return manifest


def current(data_dir: Path) -> SnapshotRef | None:
    """The published snapshot, or None when the directory holds none yet."""
    snapshot_id = current_id(data_dir)
    if snapshot_id is None:
        return None
    path = snapshots_dir(data_dir) / snapshot_id
    try:
        manifest = read_manifest(path)
    except FileNotFoundError:
        return None
    return SnapshotRef(snapshot_id, path, manifest)


def require_current(data_dir: Path) -> SnapshotRef:
    ref = current(data_dir)
    if ref is None:
        raise IndexNotFoundError(
            f"no index in {data_dir}; run `partnersearch ingest PATH` first "
            "(or set PARTNERSEARCH_DATA_DIR to the directory that holds one)"
        )
    return ref


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest last, via a temporary name, so its presence means 'complete'."""
    tmp = path / (MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path / MANIFEST)


def building_dir(data_dir: Path, snapshot_id: str) -> Path:
    path = snapshots_dir(data_dir) / (snapshot_id + _TMP_SUFFIX)
    path.mkdir(parents=True)
    return path


def publish(data_dir: Path, building: Path, snapshot_id: str) -> Path:
    """Rename the finished directory into place, then switch CURRENT to it atomically."""
    for item in building.rglob("*"):
        if item.is_file():
            fsync_file(item)
    _fsync_dir(building)
    final = snapshots_dir(data_dir) / snapshot_id
    os.rename(building, final)
    _fsync_dir(final.parent)
    checkpoint("snapshot_renamed")
    tmp = data_dir / (_CURRENT + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(snapshot_id + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, data_dir / _CURRENT)
    _fsync_dir(data_dir)
    logger.info("published snapshot %s", snapshot_id)
    checkpoint("current_switched")
    return final


def gc(data_dir: Path, *, keep: set[str]) -> list[str]:
    """Delete snapshots not in ``keep`` and abandoned builds. Call only under the writer lock."""
    removed = []
    root = snapshots_dir(data_dir)
    if not root.is_dir():
        return removed
    for path in sorted(root.iterdir()):
        if path.name in keep:
            continue
        try:
            shutil.rmtree(path)
        except OSError as exc:
            # The new snapshot is already published; a leftover directory only costs disk.
            logger.warning("could not remove old snapshot %s: %s", path, exc)
            continue
        removed.append(path.name)
        logger.info("removed old snapshot %s", path.name)
    return removed


@contextlib.contextmanager
def writer_lock(data_dir: Path) -> Iterator[None]:
    """Serialise writers of one data directory (readers never take it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / _LOCK, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def try_writer_lock(data_dir: Path) -> Iterator[bool]:
    """Like writer_lock but never waits: yields False when another writer holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / _LOCK, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


_checkpoint_hook: Callable[[str], None] | None = None


def set_checkpoint_hook(hook: Callable[[str], None] | None) -> None:
    """Have every ingest in this process call ``hook(point)`` at each checkpoint; None
    removes it. For crash tests (see module docstring)."""
    global _checkpoint_hook
    _checkpoint_hook = hook


def checkpoint(name: str) -> None:
    """A point of an ingest where a test hook may run (see :data:`CHECKPOINTS`)."""
    if name not in CHECKPOINTS:
        raise ValueError(f"unknown checkpoint {name!r}; known: {', '.join(CHECKPOINTS)}")
    if _checkpoint_hook is not None:
        _checkpoint_hook(name)
