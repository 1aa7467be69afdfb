"""The API's response models and the stage dataclasses they copy from by field name."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from index.types import Hit, SentenceHit
from service.schemas import HitOut, Occurrence, SimilarMatch


@pytest.mark.parametrize(
    "model,source,own",
    [
        (HitOut, Hit, {"highlight_start", "highlight_end"}),
        (Occurrence, SentenceHit, set()),
        (SimilarMatch, SentenceHit, {"occurrences"}),
    ],
)
def test_each_response_field_is_a_field_of_its_stage_type_or_its_own(model, source, own):
    """``shared_fields`` copies by name: a field renamed on one side fails here, not in a
    request. The public contract lists its fields itself (with descriptions), on purpose."""
    names = {f.name for f in dataclasses.fields(source)}
    assert set(model.model_fields) - own <= names
    assert own.isdisjoint(names)


def test_hit_out_carries_the_hit_and_its_highlight():
    hit = Hit("d", "d#c0", "T", dt.date(2024, 1, 2), "fr", "convention", "Texte.", 3, 9, None, 0.5)
    out = HitOut.from_hit(hit, highlight=(4, 8))
    assert out.model_dump() == {
        "doc_id": "d",
        "chunk_id": "d#c0",
        "title": "T",
        "date": dt.date(2024, 1, 2),
        "lang": "fr",
        "doc_type": "convention",
        "text": "Texte.",
        "start": 3,
        "end": 9,
        "page": None,
        "score": 0.5,
        "highlight_start": 4,
        "highlight_end": 8,
    }
