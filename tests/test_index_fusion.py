"""Fusion rules (index.fusion), checked against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from index.fusion import Channels, agreement, fuse

CH = Channels(
    dense_rows=np.array([1, 2, 3]),
    dense_scores=np.array([0.9, 0.8, 0.5]),
    lex_rows=np.array([3, 4]),
    lex_scores=np.array([8.0, 2.0]),
)


def _fuse(**kw):
    opts = {"k": 60, "dense_weight": 1.0, "lexical_weight": 1.0, "adaptive": False}
    return fuse(CH, **({"method": "rrf", "agreement_depth": 10} | opts | kw))


def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    rows, scores = _fuse(lexical_weight=2.0)
    # row 3: 1/63 + 2/61; row 4: 2/62; row 1: 1/61; row 2: 1/62
    assert rows.tolist() == [3, 4, 1, 2]
    assert scores.tolist() == pytest.approx([1 / 63 + 2 / 61, 2 / 62, 1 / 61, 1 / 62])


def test_convex_mixes_min_max_dense_and_max_scaled_bm25() -> None:
    rows, scores = _fuse(method="convex", lexical_weight=0.5)
    # dense01: row1 1.0, row2 0.75, row3 0.0; bm25/max: row3 1.0, row4 0.25
    assert rows.tolist() == [1, 2, 3, 4]
    assert scores.tolist() == pytest.approx([1.0, 0.75, 0.5, 0.125])


def test_agreement_scales_the_lexical_weight() -> None:
    assert agreement(CH, 3) == pytest.approx(1 / 3)  # row 3 in both top-3 lists
    rows, scores = _fuse(lexical_weight=3.0, adaptive=True, agreement_depth=3)
    assert dict(zip(rows.tolist(), scores.tolist(), strict=True))[4] == pytest.approx(1 / 62)


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fusion method 'max'"):
        _fuse(method="max")
