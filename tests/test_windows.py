"""Sliding sentence windows as passages: exact spans, the manifest, near-copies collapsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from index import Indexer, Searcher
from index import snapshot as snap
from index.errors import IndexMismatchError
from ingest.chunk import Segment, chunk_document, sentence_windows
from ingest.embed import HashEmbedder
from service.settings import Settings
from service.wiring import make_indexer


def _words(text: str) -> int:
    return len(text.split())


def test_window_spans_are_exact_and_cover_the_end() -> None:
    text = "A b. C d. E f. G h. I j."
    segs = [Segment(i * 5, i * 5 + 4, "sentence", 0) for i in range(5)]
    assert [text[s.start : s.end] for s in segs] == ["A b.", "C d.", "E f.", "G h.", "I j."]
    two = sentence_windows(text, segs, size=2, stride=1, count_tokens=_words)
    assert [text[a:b] for a, b in two] == ["A b. C d.", "C d. E f.", "E f. G h.", "G h. I j."]
    # size 4, stride 2: a window from sentence 2 would be short; the last one starts at 1
    four = sentence_windows(text, segs, size=4, stride=2, count_tokens=_words)
    assert [text[a:b] for a, b in four] == ["A b. C d. E f. G h.", "C d. E f. G h. I j."]
    # fewer sentences than the size: one window of all of them
    assert sentence_windows(text, segs[:2], size=4, stride=2, count_tokens=_words) == [(0, 9)]
    # a token cap shortens a window, never below one sentence, and skips no sentence
    capped = sentence_windows(text, segs, size=3, stride=3, count_tokens=_words, max_tokens=4)
    assert [text[a:b] for a, b in capped] == ["A b. C d.", "E f. G h.", "G h. I j."]
    with pytest.raises(ValueError, match="stride"):
        sentence_windows(text, segs, size=2, stride=3, count_tokens=_words)


def test_settings_refuse_a_stride_past_the_window() -> None:
    with pytest.raises(ValueError, match="window_stride"):
        Settings(passages="windows", window_sentences=2, window_stride=3)


def _write(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "accord.txt").write_text(
        "La Région et l'institut signent un accord. L'accord dure six ans. "
        "Il couvre la cardiologie. Il finance deux thèses. Le comité se réunit chaque année.\n",
        encoding="utf-8",
    )
    return folder


def test_index_of_windows_records_them_and_collapses_near_copies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(
        data_dir=data, cache=tmp_path / "c", passages="windows", window_sentences=3, window_stride=1
    )
    make_indexer(settings, HashEmbedder()).ingest([_write(tmp_path / "docs")])
    ref = snap.current(data)
    assert ref.manifest["passages"] == "windows 3/1"
    searcher = Searcher.open(data, HashEmbedder())
    doc = searcher.document("accord")
    hits = searcher.search("accord six ans cardiologie", k=10, mode="lexical")
    assert hits, "the windows are searchable"
    for h in hits:
        assert doc.text[h.start : h.end] == h.text  # exact offsets
    # No two results share half of the shorter one's text.
    for i, a in enumerate(hits):
        for b in hits[i + 1 :]:
            shared = min(a.end, b.end) - max(a.start, b.start)
            assert shared < 0.5 * min(a.end - a.start, b.end - b.start)
    assert searcher.counts()["chunks"] == 3  # 5 sentences: windows start at 0, 1, 2
    assert len(hits) < 3  # overlapping windows collapsed into the best

    # Another passage setting on the same index is refused with the fix.
    with pytest.raises(IndexMismatchError, match=r"windows 3/1.*--rebuild"):
        Indexer(data, HashEmbedder()).ingest([tmp_path / "docs"])


def test_chunk_document_windows_are_passages_of_the_sentence_table() -> None:
    from index_docs import make_doc

    document = make_doc("d", ["Un deux. Trois quatre. Cinq six."]).document
    chunks, sentences = chunk_document(
        document, count_tokens=_words, max_tokens=64, overlap_tokens=4, windows=(2, 1)
    )
    assert [c.text for c in chunks] == ["Un deux. Trois quatre.", "Trois quatre. Cinq six."]
    assert [c.chunk_id for c in chunks] == ["d#c0", "d#c1"]
    assert all(document.text[c.start : c.end] == c.text for c in chunks)
    assert (chunks[0].start, chunks[-1].end) == (sentences[0].start, sentences[-1].end)
