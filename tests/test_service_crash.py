"""A server SIGKILLed mid-upload, then restarted: start-up cleans what the crash left (issue 15).

Each server is a real process (uvicorn on 127.0.0.1, HashEmbedder) paused by the
snapshot test hook at a write's checkpoint, then killed there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from service_testdata import EXTRA_DOC, build_index, write_docs

from index import Indexer, Searcher
from ingest.embed import HashEmbedder

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
TOKEN = "crash-token"
_SERVER = f"""
import logging, sys
sys.path[:0] = [{str(TESTS)!r}, {str(REPO)!r}]
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(message)s")
from crash_hook import install_from_argv
args = install_from_argv(sys.argv[1:])
import uvicorn
from ingest.embed import HashEmbedder
from service import create_app
from service.settings import Settings
app = create_app(Settings(), embedder=HashEmbedder())
uvicorn.run(app, host="127.0.0.1", port=int(args[0]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    def __init__(self, root: Path, name: str, pause_at: str | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.marker = root / f"{name}.paused"
        self.log = root / f"{name}.log"
        env = {
            **os.environ,
            "PARTNERSEARCH_DATA_DIR": str(root / "data"),
            "PARTNERSEARCH_CACHE": str(root / "cache"),
            "PARTNERSEARCH_API_TOKEN": TOKEN,
            "PARTNERSEARCH_REFRESH_INTERVAL_S": "0",
            "TMPDIR": str(root / "tmp"),
        }
        hook = ["--pause-at", pause_at, str(self.marker)] if pause_at else []
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _SERVER, *hook, str(self.port)],
                env=env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)

    def upload_in_background(self, name: str, text: str) -> threading.Thread:
        def post() -> None:
            with contextlib.suppress(httpx.TransportError):  # the server is killed under it
                httpx.post(
                    self.url + "/documents",
                    files=[("files", (name, text.encode()))],
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=120,
                )

        thread = threading.Thread(target=post, daemon=True)
        thread.start()
        return thread

    def kill_when_paused(self) -> None:
        deadline = time.monotonic() + 60
        while not self.marker.exists():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the upload never reached the pause point"
            time.sleep(0.05)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def _snapshots(data: Path) -> set[str]:
    return {p.name for p in (data / "snapshots").iterdir()}


def _upload_temp_dirs(root: Path) -> list[Path]:
    return sorted((root / "tmp").glob("partnersearch-upload-*"))


@pytest.mark.timeout(240)
def test_restart_after_kills_mid_upload_cleans_every_leftover(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (tmp_path / "tmp").mkdir()
    build_index(data, tmp_path / "docs")
    name, text = EXTRA_DOC
    (extra,) = write_docs(tmp_path / "more", {name: text})
    Indexer(data, HashEmbedder()).ingest([extra])
    published = _snapshots(data)
    assert len(published) == 2  # CURRENT and the one before it

    # 1. Killed after the upload was staged and moved into uploads/, before publishing.
    first = _Server(tmp_path, "first", pause_at="embedded")
    first.upload_in_background("orphan.txt", "Un document jamais publié sur l'Inserm.\n")
    first.kill_when_paused()
    assert _upload_temp_dirs(tmp_path) == []  # uploads are parsed in memory, never in /tmp
    # A temp folder an older version (which parsed uploads there) left when it was killed.
    (tmp_path / "tmp" / "partnersearch-upload-999999999-x").mkdir()
    incoming, orphan = sorted((data / "uploads").iterdir())
    assert incoming.name.startswith(".incoming-") and incoming.is_dir()
    assert orphan.name == "orphan.txt"
    assert Searcher.open(data, HashEmbedder()).document("orphan") is None
    assert _snapshots(data) == published

    # 2. The restart cleans it; then it is killed right after the CURRENT switch.
    second = _Server(tmp_path, "second", pause_at="current_switched")
    assert _upload_temp_dirs(tmp_path) == []
    assert sorted(p.name for p in (data / "uploads").iterdir()) == []
    log = second.log.read_text()
    assert "removed temp upload folder" in log
    assert "removed incoming upload folder" in log
    assert "removed upload no document cites" in log and "orphan.txt" in log
    second.upload_in_background("kept.txt", "Accord de recherche entre l'Inserm et Tours.\n")
    second.kill_when_paused()
    after_switch = _snapshots(data)
    assert len(after_switch) == 3 and published < after_switch  # one too many

    # 3. A normal restart keeps CURRENT and its previous snapshot only, and serves.
    third = _Server(tmp_path, "third")
    try:
        current = (data / "CURRENT").read_text().strip()
        (oldest,) = sorted(published)[:1]
        assert _snapshots(data) == after_switch - {oldest}
        assert current in _snapshots(data)
        assert _upload_temp_dirs(tmp_path) == []
        assert sorted(p.name for p in (data / "uploads").iterdir()) == ["kept.txt"]
        log = third.log.read_text()
        assert f"removed old snapshot {data / 'snapshots' / oldest}" in log
        assert httpx.get(third.url + "/documents/kept").status_code == 200
        health = httpx.get(third.url + "/health").json()
        assert health["snapshot_id"] == current and health["counts"]["documents"] == 5
    finally:
        third.stop()


def test_each_write_cleans_leftovers_too(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_index(data, tmp_path / "docs")
    indexer = Indexer(data, HashEmbedder())
    (data / "uploads" / ".incoming-dead").mkdir(parents=True)
    (data / "uploads" / ".incoming-dead" / "half.txt").write_text("moitié")
    (data / "uploads" / "stray.txt").write_text("personne ne me cite")
    (data / "snapshots" / "20000101T000000000000-abcdef").mkdir()
    (data / "snapshots" / "20000101T000000000001-abcdef.tmp").mkdir()
    published = (data / "CURRENT").read_text().strip()
    # A write that changes nothing (so publishes nothing) still cleans.
    assert indexer.delete("no_such_document") is False
    assert list((data / "uploads").iterdir()) == []
    assert _snapshots(data) == {published}
