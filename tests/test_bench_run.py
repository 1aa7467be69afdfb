"""The benchmark runner's plan (bench/run.py, bench/sizes.py), without the real model."""

from __future__ import annotations

import pytest

from bench import run, sizes


def test_backends_parse_in_order_with_the_primary_first() -> None:
    assert run.parse_backends(run.DEFAULT_BACKENDS) == ["onnx-int8", "onnx", "torch"]
    assert run.parse_backends(" torch , onnx ,onnx-int8") == ["torch", "onnx", "onnx-int8"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "needs at least one of onnx-int8, onnx, torch"),
        ("onnx-int8,cuda", "unknown backend 'cuda'; choose from onnx-int8, onnx, torch"),
        ("torch,onnx-int8,torch", "lists a backend twice"),
    ],
)
def test_bad_backends_are_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run.parse_backends(text)


def test_sizes_parse() -> None:
    assert [run.parse_size(s) for s in ("1k", "10k", "100k", "300", "2k")] == [
        1000,
        10000,
        100000,
        300,
        2000,
    ]
    with pytest.raises(ValueError, match="size 'ten' is not a chunk count"):
        run.parse_size("ten")
    with pytest.raises(ValueError, match="must be at least 1 chunk"):
        run.parse_size("0")


def test_query_slices_are_disjoint_and_sized_per_phase() -> None:
    counts = sizes.phase_counts(10)
    assert counts == {
        "search_1": 10,
        "search_8": 20,
        "ask_1": 10,
        "ask_8": 10,
        "inproc": 10,
        "qembed": 10,
    }
    pool = [f"q{i}" for i in range(140)]
    slices = sizes.slice_queries(pool, ["1k", "10k"], counts)
    seen = [q for per_size in slices.values() for qs in per_size.values() for q in qs]
    assert len(seen) == 140 and len(set(seen)) == 140
    assert slices["1k"]["search_1"] == pool[:10]
    assert slices["10k"]["qembed"] == pool[130:140]
    with pytest.raises(ValueError, match="query pool has 139 queries, 140 needed"):
        sizes.slice_queries(pool[:139], ["1k", "10k"], counts)


def test_bad_options_are_refused_before_anything_runs(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        run.main(["--requests", "1"])
    assert "--requests must be at least 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run.main(["--server-env", "OMP_NUM_THREADS"])
    assert "--server-env wants KEY=VALUE, got ['OMP_NUM_THREADS']" in capsys.readouterr().err
