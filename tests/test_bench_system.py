"""bench/system.py: percentiles, the latency loop, and imports that stay light."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.system import OFFLINE_ENV, latency, percentiles, run_folder, save_report

REPO = Path(__file__).resolve().parent.parent


def test_percentiles_are_milliseconds() -> None:
    got = percentiles([0.001, 0.002, 0.003, 0.004, 0.010])
    # numpy's linear interpolation: p95 = 4 + 0.8 * (10 - 4) = 8.8 ms
    assert got["p50"] == pytest.approx(3.0)
    assert got["p95"] == pytest.approx(8.8)
    assert got["mean"] == pytest.approx(4.0)
    assert got["n"] == 5
    assert percentiles([])["n"] == 0


def test_latency_skips_the_first_call_and_clears_caches_first() -> None:
    events: list[str] = []
    got = latency(events.append, ["warm", "a", "b"], before=lambda: events.append("clear"))
    assert events == ["clear", "warm", "a", "b"]
    assert got["n"] == 2 and got["p50"] >= 0.0


def test_importing_the_runner_changes_no_environment_and_onnx_never_imports_torch() -> None:
    # A fresh interpreter: importing every bench.run module, reading the machine and resetting
    # cores for an ONNX backend must leave torch unloaded and the environment as it was.
    code = (
        "import os, sys, bench.run, bench.channels, bench.rerank, bench.threads\n"
        "from bench.system import all_cores, machine_info\n"
        "class E: backend = 'onnx-int8'\n"
        "all_cores(E()); machine_info()\n"
        "print('torch' in sys.modules, 'HF_HUB_OFFLINE' in os.environ)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False False"


def test_a_run_writes_its_result_and_report_into_a_new_stamped_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as real_dt
    from types import SimpleNamespace

    import bench.system

    class _Frozen(real_dt.datetime):
        @classmethod
        def now(cls, tz=None):  # every run in this test starts in the same second
            return real_dt.datetime(2026, 12, 1, 20, 0, 0, tzinfo=tz)

    monkeypatch.setattr(bench.system, "dt", SimpleNamespace(datetime=_Frozen, UTC=real_dt.UTC))
    folder = run_folder(tmp_path, "rerank")
    assert folder.name == "rerank-20261201T200000Z"
    assert folder.parent == tmp_path and re.fullmatch(r"rerank-\d{8}T\d{6}Z", folder.name)
    save_report(folder, "rerank", {"latency": {}}, "| call |\n")
    assert capsys.readouterr().out == f"| call |\n\nwritten to {folder}\n"
    assert json.loads((folder / "rerank.json").read_text()) == {"latency": {}}
    assert (folder / "rerank.md").read_text() == "| call |\n"
    with pytest.raises(FileExistsError):  # run_folder never reuses a folder
        run_folder(tmp_path, "rerank")
