"""Crash safety: SIGKILLed ingests leave the previous snapshot intact; readers never see a mix."""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from index_docs import versioned

from index import Filters, Indexer, Searcher, snapshot
from index.snapshot import CHECKPOINTS
from ingest.embed import HashEmbedder

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

# Ingests version N of the documents (a_lille gets N % 3 + 1 paragraphs naming N), once per
# version given on the command line.
_WRITER = f"""
import sys
sys.path[:0] = [{str(TESTS)!r}, {str(REPO)!r}]
from pathlib import Path
from crash_hook import install_from_argv
from index_docs import versioned
from index import Indexer
from ingest.embed import HashEmbedder
args = install_from_argv(sys.argv[1:])
indexer = Indexer(Path(args[0]), HashEmbedder())
for version in args[1:]:
    indexer.ingest_parsed(versioned(int(version)))
"""


def _writer(data: Path, *versions: int, pause: tuple[str, Path] | None = None) -> subprocess.Popen:
    hook = ["--pause-at", pause[0], str(pause[1])] if pause else []
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, *hook, str(data), *map(str, versions)], cwd=REPO
    )


def _version_seen(searcher: Searcher, mode: str = "dense") -> int:
    """The one version all of a_lille's chunks name; fails on a mix or a wrong chunk count."""
    hits = searcher.search(
        "paragraphe protocole", k=50, mode=mode, filters=Filters(doc_id="a_lille")
    )
    versions = {int(re.match(r"Version (\d+) ", h.text).group(1)) for h in hits}
    assert len(versions) == 1, [h.text for h in hits]
    (version,) = versions
    assert len(hits) == version % 3 + 1
    return version


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, "writer exited before reaching the pause point"
        assert time.monotonic() < deadline, "writer never reached the pause point"
        time.sleep(0.05)


@pytest.mark.parametrize("point", CHECKPOINTS)
def test_sigkill_at_each_point_leaves_a_readable_index(tmp_path, point) -> None:
    data = tmp_path / "data"
    embedder = HashEmbedder()
    Indexer(data, embedder).ingest_parsed(versioned(1))
    marker = tmp_path / "paused"
    proc = _writer(data, 2, pause=(point, marker))
    try:
        _wait_for(marker, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert marker.read_text() == point
    searcher = Searcher.open(data, embedder)
    expected = 2 if point == "current_switched" else 1
    assert _version_seen(searcher, "dense") == expected
    assert _version_seen(searcher, "lexical") == expected
    assert searcher.counts()["chunks"] == 6 + expected % 3 + 1
    # the next ingest takes the lock the dead writer held and clears its leftovers
    report = Indexer(data, embedder).ingest_parsed(versioned(3))
    assert searcher.refresh() is True and _version_seen(searcher) == 3
    snapshots = sorted(p.name for p in (data / "snapshots").iterdir())
    assert not any(name.endswith(".tmp") for name in snapshots)
    assert report.snapshot_id in snapshots and len(snapshots) == 2


def test_sigkill_at_random_moments_never_breaks_the_index(tmp_path) -> None:
    data = tmp_path / "data"
    embedder = HashEmbedder()
    Indexer(data, embedder).ingest_parsed(versioned(0))
    rng = random.Random(4)
    previous, killed_mid_run = 0, 0
    for attempt in range(6):
        versions = range(100 * attempt + 1, 100 * attempt + 101)
        proc = _writer(data, *versions)
        time.sleep(rng.uniform(0.5, 2.5))
        proc.send_signal(signal.SIGKILL)
        killed_mid_run += proc.wait() == -signal.SIGKILL
        version = _version_seen(Searcher.open(data, embedder))
        assert version == previous or version in versions
        previous = version
    assert killed_mid_run >= 4  # the kills did land while ingests were running


def test_reader_sees_old_or_new_snapshot_never_a_mix(tmp_path) -> None:
    data = tmp_path / "data"
    embedder = HashEmbedder()
    Indexer(data, embedder).ingest_parsed(versioned(0))
    searcher = Searcher.open(data, embedder)
    versions = list(range(1, 41))
    proc = _writer(data, *versions)
    seen: list[int] = []
    snapshot_ids = set()
    try:
        while proc.poll() is None:
            searcher.refresh()
            snapshot_ids.add(searcher.snapshot_id)
            seen.append(_version_seen(searcher, "dense"))
            seen.append(_version_seen(searcher, "lexical"))
            seen.append(_version_seen(searcher, "hybrid"))
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == 0
    searcher.refresh()
    assert _version_seen(searcher) == 40
    assert seen == sorted(seen)  # versions only move forward
    assert set(seen) <= {0, *versions}
    assert len(snapshot_ids) >= 2  # the reader did switch while the writer ran


def test_an_injected_hook_sees_every_checkpoint_in_order(tmp_path) -> None:
    seen: list[str] = []
    snapshot.set_checkpoint_hook(seen.append)
    try:
        Indexer(tmp_path / "data", HashEmbedder()).ingest_parsed(versioned(1))
    finally:
        snapshot.set_checkpoint_hook(None)
    assert seen == list(CHECKPOINTS)
    Indexer(tmp_path / "data", HashEmbedder()).ingest_parsed(versioned(2))
    assert seen == list(CHECKPOINTS)  # removed: the next ingest calls nothing
    with pytest.raises(ValueError, match="unknown checkpoint 'nowhere'"):
        snapshot.checkpoint("nowhere")
