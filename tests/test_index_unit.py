"""Index unit tests on hand-built documents with the fast HashEmbedder."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from index_docs import make_doc, sample_docs, versioned

from index import Filters, Indexer, Searcher
from index.dense import DenseIndex, stable_id, stable_ids
from index.errors import IndexMismatchError, IndexNotFoundError, QueryError
from index.fusion import Channels
from index.lexical import analyze, analyze_query, fold
from index.write import contextual_text
from ingest.embed import HashEmbedder


@pytest.fixture()
def built(tmp_path: Path, hash_embedder: HashEmbedder) -> tuple[Path, Indexer, Searcher]:
    indexer = Indexer(tmp_path / "data", hash_embedder)
    indexer.ingest_parsed(sample_docs())
    return tmp_path / "data", indexer, Searcher.open(tmp_path / "data", hash_embedder)


def _docs(hits) -> set[str]:
    return {h.doc_id for h in hits}


# -- analysis -------------------------------------------------------------------------


def test_analysis_strips_elisions_with_both_apostrophes_and_folds_accents() -> None:
    assert analyze("l’Université d'Amiens qu'il", "fr") == ["universit", "amien"]
    assert analyze("L'université", "fr") == analyze("universite", "fr")
    assert fold("Élève Œuvre") == "eleve oeuvre"
    assert analyze("The agreements and the signatures", "en") == ["agreement", "signatur"]


def test_query_analysis_is_the_union_of_both_languages_without_stopwords() -> None:
    terms = analyze_query("Les entreprises and the agreements")
    assert "les" not in terms and "the" not in terms and "and" not in terms
    assert {"entrepris", "agreement", "entreprises", "agreements"} <= set(terms)


def test_stable_id_is_63_bit_and_deterministic() -> None:
    assert stable_id("doc#c0") == stable_id("doc#c0") != stable_id("doc#c1")
    assert 0 <= stable_id("doc#c0") < 2**63


# -- search ---------------------------------------------------------------------------


def test_each_mode_ranks_the_matching_chunk_first(built) -> None:
    _, _, searcher = built
    for mode in ("hybrid", "dense", "lexical"):
        hits = searcher.search("entreprises Roquette Merck", k=3, mode=mode)
        assert hits[0].chunk_id == "a_lille#c1", mode
        assert (
            hits[0].text
            == "Les entreprises Roquette et Merck travaillent avec les unités lilloises."
        )
    top = searcher.search("entreprises Roquette Merck", k=3)[0]
    assert top.ranks == {"dense": 1, "lexical": 1}
    assert (top.title, top.date, top.lang, top.doc_type) == (
        "L'Université de Lille et l'Inserm signent un protocole de co",
        dt.date(2024, 7, 8),
        "fr",
        "press_release",
    )
    assert searcher.search("Roquette", k=5, mode="lexical")[0].ranks == {"lexical": 1}


def test_hit_text_is_the_verbatim_span_of_the_document(built) -> None:
    _, _, searcher = built
    for hit in searcher.search("Inserm", k=20, mode="dense"):
        doc = searcher.document(hit.doc_id)
        assert doc is not None and doc.text[hit.start : hit.end] == hit.text


def test_lexical_mode_returns_only_chunks_containing_a_query_term(built) -> None:
    _, _, searcher = built
    hits = searcher.search("Roquette", k=10, mode="lexical")
    assert [h.chunk_id for h in hits] == ["a_lille#c1"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(lang="en"), {"c_normandy", "d_interview"}),
        (Filters(lang="fr"), {"a_lille", "b_saclay"}),
        (Filters(doc_type="convention"), {"b_saclay"}),
        (Filters(doc_type="interview"), {"d_interview"}),
        (Filters(date_from=dt.date(2023, 1, 1)), {"a_lille", "b_saclay"}),
        (Filters(date_to=dt.date(2023, 9, 27)), {"b_saclay", "c_normandy"}),
        (Filters(date_from=dt.date(2022, 1, 1), date_to=dt.date(2022, 12, 31)), {"c_normandy"}),
        (Filters(partner="universite de LILLE"), {"a_lille", "d_interview"}),
        (Filters(partner="Normandie"), {"c_normandy"}),
        (Filters(doc_id="b_saclay"), {"b_saclay"}),
        (Filters(lang="en", partner="Lille"), {"d_interview"}),
        (Filters(doc_type="web_page"), set()),
    ],
)
@pytest.mark.parametrize("mode", ["hybrid", "dense"])
def test_filters_give_exact_document_sets(built, filters, expected, mode) -> None:
    _, _, searcher = built
    assert (
        _docs(searcher.search("Inserm université agreement", k=50, mode=mode, filters=filters))
        == expected
    )


def test_filters_apply_before_the_top_k_cut(built) -> None:
    _, _, searcher = built
    unfiltered = searcher.search("entreprises Roquette Merck", k=1)
    assert unfiltered[0].lang == "fr"
    for mode in ("hybrid", "dense", "lexical"):
        hits = searcher.search(
            "entreprises Roquette Merck Normandy", k=1, mode=mode, filters=Filters(lang="en")
        )
        assert len(hits) == 1 and hits[0].lang == "en", mode


def test_bad_queries_and_filters_raise_query_error(built) -> None:
    _, _, searcher = built
    with pytest.raises(QueryError, match="empty query"):
        searcher.search("   ")
    with pytest.raises(QueryError, match="unknown language 'de'"):
        searcher.search("x", filters=Filters(lang="de"))  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="unknown mode 'fuzzy'"):
        searcher.search("x", mode="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="date_from 2024-01-01 is after date_to 2023-01-01"):
        searcher.search(
            "x", filters=Filters(date_from=dt.date(2024, 1, 1), date_to=dt.date(2023, 1, 1))
        )


def test_similar_sentences_and_stored_vectors(built, hash_embedder) -> None:
    _, _, searcher = built
    hits = searcher.similar("The agreement lasts six years", k=2)
    assert hits[0].sentence_id == "c_normandy#s1"
    assert hits[0].text == "The agreement lasts six years and funds medical research teams."
    assert searcher.similar("agreement", k=5, filters=Filters(lang="fr"))[0].lang == "fr"
    vecs = searcher.sentence_vectors(["c_normandy#s1", "a_lille#s0"])
    # Sentences are embedded with their document's title in front (contextual_text).
    expected = hash_embedder.embed_passages(
        [
            contextual_text(
                searcher.document("c_normandy").title,
                "The agreement lasts six years and funds medical research teams.",
            ),
            contextual_text(
                searcher.document("a_lille").title,
                "L'Université de Lille et l'Inserm signent un protocole de coopération.",
            ),
        ]
    )
    np.testing.assert_allclose(vecs, expected, atol=1e-6)
    with pytest.raises(QueryError, match="unknown id 'nope#s0'"):
        searcher.sentence_vectors(["nope#s0"])


def test_sentences_in_returns_overlapping_sentences(built) -> None:
    _, _, searcher = built
    doc = searcher.document("c_normandy")
    assert doc is not None
    sents = searcher.sentences_in("c_normandy", 0, len(doc.text))
    assert [s.sentence_id for s in sents] == ["c_normandy#s0", "c_normandy#s1"]
    assert [s.sentence_id for s in searcher.sentences_in("c_normandy", 70, 71)] == ["c_normandy#s1"]
    assert all(doc.text[s.start : s.end] == s.text for s in sents)


def test_documents_paging_and_filters(built) -> None:
    _, _, searcher = built
    page, total = searcher.documents(offset=1, limit=2)
    assert total == 4 and [d.doc_id for d in page] == ["b_saclay", "c_normandy"]
    page, total = searcher.documents(filters=Filters(lang="en"))
    assert total == 2 and [d.doc_id for d in page] == ["c_normandy", "d_interview"]
    assert page[0].partners == ("Région Normandie",)
    assert searcher.document("missing") is None
    assert searcher.counts() == {"documents": 4, "chunks": 8, "sentences": 8}


# -- incremental ingest, snapshots ----------------------------------------------------


def test_second_ingest_of_unchanged_documents_embeds_nothing(built) -> None:
    _data, indexer, searcher = built
    report = indexer.ingest_parsed(sample_docs())
    assert report.chunks_embedded == 0 and report.sentences_embedded == 0
    assert sorted(report.unchanged) == ["a_lille", "b_saclay", "c_normandy", "d_interview"]
    assert report.snapshot_id == searcher.snapshot_id
    assert searcher.refresh() is False


def test_changed_document_replaces_its_chunks_and_reuses_other_vectors(
    built, hash_embedder
) -> None:
    _data, indexer, searcher = built
    docs = sample_docs()
    docs[2] = make_doc(
        "c_normandy",
        ["The Normandy agreement was renewed with hospitals."],
        lang="en",
        date=dt.date(2025, 1, 1),
    )
    report = indexer.ingest_parsed(docs)
    assert report.updated == ["c_normandy"] and report.added == []
    assert report.chunks_embedded == 1 and report.sentences_embedded == 1
    assert (report.documents, report.chunks, report.sentences) == (4, 7, 7)
    old_hits = searcher.search("lasts six years", k=1, mode="lexical")
    assert old_hits[0].chunk_id == "c_normandy#c1"  # the old snapshot still answers
    assert searcher.refresh() is True
    assert searcher.search("lasts six years", k=5, mode="lexical") == []
    assert searcher.search("renewed hospitals", k=1)[0].chunk_id == "c_normandy#c0"
    # the reused vectors of unchanged documents are the ones first embedded
    np.testing.assert_allclose(
        searcher.sentence_vectors(["a_lille#s0"]),
        hash_embedder.embed_passages(
            ["L'Université de Lille et l'Inserm signent un protocole de coopération."]
        ),
        atol=1e-6,
    )


def test_ids_are_stable_across_re_ingest_and_rebuild(built, hash_embedder) -> None:
    data, indexer, searcher = built

    def faiss_ids() -> list[int]:
        ref = json.loads((data / "snapshots" / searcher.snapshot_id / "manifest.json").read_text())
        ids, _ = DenseIndex.load(
            data / "snapshots" / ref["snapshot_id"] / "chunks.faiss"
        ).all_vectors()
        return sorted(ids.tolist())

    before_ids = faiss_ids()
    before = [(h.chunk_id, h.start, h.end) for h in searcher.search("Inserm", k=20, mode="dense")]
    report = indexer.ingest_parsed(sample_docs(), rebuild=True)
    assert report.chunks_embedded == 8
    assert searcher.refresh() is True
    assert (
        faiss_ids()
        == before_ids
        == sorted(
            stable_id(f"{d}#c{i}")
            for d in ("a_lille", "b_saclay", "c_normandy", "d_interview")
            for i in (0, 1)
        )
    )
    assert [
        (h.chunk_id, h.start, h.end) for h in searcher.search("Inserm", k=20, mode="dense")
    ] == before


def test_delete_removes_a_document_everywhere(built) -> None:
    _data, indexer, searcher = built
    assert indexer.delete("missing") is False
    assert indexer.delete("a_lille") is True
    searcher.refresh()
    assert searcher.document("a_lille") is None
    assert "a_lille" not in _docs(searcher.search("Roquette Merck Lille", k=50, mode="dense"))
    assert searcher.search("Roquette", mode="lexical") == []
    assert searcher.counts() == {"documents": 3, "chunks": 6, "sentences": 6}


def test_old_snapshots_are_collected_keeping_the_previous_one(built) -> None:
    data, indexer, searcher = built
    first = searcher.snapshot_id
    docs = sample_docs()
    ids = [first]
    for n in range(3):
        docs[0] = make_doc("a_lille", [f"Version {n} du protocole lillois."])
        ids.append(indexer.ingest_parsed(docs).snapshot_id)
    assert sorted(os.listdir(data / "snapshots")) == sorted(ids[-2:])
    assert (data / "CURRENT").read_text().strip() == ids[-1]
    # a reader still on a collected snapshot keeps answering from its open files
    assert searcher.search("Roquette", mode="lexical")[0].chunk_id == "a_lille#c1"
    assert searcher.refresh() is True and searcher.snapshot_id == ids[-1]


def test_manifest_describes_the_index_and_no_pickle_is_written(built) -> None:
    data, _, searcher = built
    snap = data / "snapshots" / searcher.snapshot_id
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["model"] == "hash-64" and manifest["fingerprint"] == "hash64"
    assert manifest["dim"] == 64 and manifest["counts"] == {
        "documents": 4,
        "chunks": 8,
        "sentences": 8,
    }
    assert manifest["snapshot_id"] == searcher.snapshot_id and manifest["version"]
    assert manifest["dense"] == {"chunks": "flat", "sentences": "flat"}
    suffixes = {p.suffix for p in snap.rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".npy", ".npz", ".faiss", ".sqlite"}
    for npy in [*snap.rglob("*.npy"), *snap.rglob("*.npz")]:
        np.load(npy, allow_pickle=False)
    assert (snap / "langdir.npz").is_file()


def test_hnsw_past_the_threshold_still_finds_the_chunk(tmp_path, hash_embedder) -> None:
    indexer = Indexer(tmp_path, hash_embedder, hnsw_threshold=4)
    indexer.ingest_parsed(sample_docs())
    searcher = Searcher.open(tmp_path, hash_embedder)
    assert searcher.manifest["dense"] == {"chunks": "hnsw", "sentences": "hnsw"}
    assert (
        searcher.search("entreprises Roquette Merck", k=3, mode="dense")[0].chunk_id == "a_lille#c1"
    )
    hits = searcher.search("Inserm", k=10, mode="dense", filters=Filters(doc_id="b_saclay"))
    assert _docs(hits) == {"b_saclay"} and len(hits) == 2


def test_two_data_directories_do_not_interfere(tmp_path, hash_embedder) -> None:
    docs = sample_docs()
    Indexer(tmp_path / "one", hash_embedder).ingest_parsed(docs[:1])
    Indexer(tmp_path / "two", hash_embedder).ingest_parsed(docs[1:])
    one = Searcher.open(tmp_path / "one", hash_embedder)
    two = Searcher.open(tmp_path / "two", hash_embedder)
    assert _docs(one.search("Inserm", k=50, mode="dense")) == {"a_lille"}
    assert _docs(two.search("Inserm", k=50, mode="dense")) == {
        "b_saclay",
        "c_normandy",
        "d_interview",
    }


# -- errors ---------------------------------------------------------------------------


def test_no_index_says_to_run_ingest(tmp_path, hash_embedder) -> None:
    with pytest.raises(
        IndexNotFoundError, match=r"no index in .*; run `partnersearch ingest PATH`"
    ):
        Searcher.open(tmp_path, hash_embedder)


def test_model_mismatch_is_refused_with_the_fix(built) -> None:
    data, _, _ = built
    other = HashEmbedder(dim=32)
    message = (
        f"index in {data} built with 'hash-64@hash64 (hash)', dim 64, but the configured model "
        "is 'hash-32@hash32 (hash)', dim 32; re-run partnersearch ingest --rebuild PATH"
    )
    with pytest.raises(IndexMismatchError) as exc:
        Searcher.open(data, other)
    assert str(exc.value) == message
    with pytest.raises(IndexMismatchError) as exc:
        Indexer(data, other).ingest_parsed(sample_docs())
    assert str(exc.value) == message
    report = Indexer(data, other).ingest_parsed(sample_docs(), rebuild=True)
    assert report.chunks_embedded == 8
    assert Searcher.open(data, other).manifest["dim"] == 32


def test_cross_lingual_fusion_lets_dense_rank_stand_in_for_bm25(tmp_path, hash_embedder) -> None:
    Indexer(tmp_path, hash_embedder).ingest_parsed(sample_docs())
    query = "What are the terms of the agreement that was signed with the region?"
    dense_rows, lex_rows = np.array([0, 4, 5]), np.array([4, 5])  # row 0: a_lille#c0 (fr)
    fused = {}
    channels = Channels(dense_rows, np.array([0.9, 0.8, 0.7]), lex_rows, np.array([3.0, 2.0]))
    for cross in (False, True):
        searcher = Searcher.open(
            tmp_path,
            hash_embedder,
            cross_lingual=cross,
            fusion="rrf",
            fusion_k=60,
            lexical_weight=0.5,
        )
        rows, scores = searcher.fuse(query, channels)
        fused[cross] = (rows.tolist(), scores.tolist())
    assert fused[False][0] == [4, 5, 0]
    # the French chunk, first for the dense retriever, is not outranked for lacking English words
    assert fused[True][0] == [0, 4, 5]
    assert fused[True][1][0] == pytest.approx(1.5 / 61)
    assert fused[True][1][1] == pytest.approx(1 / 62 + 0.5 / 61)


def test_concurrent_searches_while_ingesting_and_refreshing(tmp_path, hash_embedder) -> None:
    indexer = Indexer(tmp_path, hash_embedder)
    indexer.ingest_parsed(versioned(0))
    searcher = Searcher.open(tmp_path, hash_embedder)

    def one(i: int) -> int:
        mode = ("hybrid", "dense", "lexical")[i % 3]
        if i % 7 == 0:
            searcher.refresh()
        hits = searcher.search(
            "paragraphe protocole", k=20, mode=mode, filters=Filters(doc_id="a_lille")
        )
        versions = {int(re.match(r"Version (\d+) ", h.text).group(1)) for h in hits}
        assert len(versions) == 1 and len(hits) == min(versions) % 3 + 1
        return versions.pop()

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(one, i) for i in range(300)]
        for version in range(1, 6):
            indexer.ingest_parsed(versioned(version))
        seen = {f.result() for f in futures}
    assert seen <= set(range(6))
    searcher.refresh()
    assert one(1) == 5


def test_index_in_an_older_format_asks_for_rebuild_and_rebuild_replaces_it(
    tmp_path, hash_embedder
) -> None:
    import json

    from index import Indexer
    from index.snapshot import FORMAT_VERSION, current

    data = tmp_path / "data"
    indexer = Indexer(data, hash_embedder)
    indexer.ingest_parsed(sample_docs())
    ref = current(data)
    manifest = json.loads((ref.path / "manifest.json").read_text())
    manifest["format"] = FORMAT_VERSION - 1
    (ref.path / "manifest.json").write_text(json.dumps(manifest))
    message = f"has format {FORMAT_VERSION - 1} but this version reads format {FORMAT_VERSION}"
    with pytest.raises(IndexMismatchError, match=message):
        Searcher.open(data, hash_embedder)
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        indexer.ingest_parsed(sample_docs())
    report = indexer.ingest_parsed(sample_docs(), rebuild=True)
    assert report.chunks_embedded == report.chunks > 0
    assert Searcher.open(data, hash_embedder).counts()["chunks"] == report.chunks


def test_language_direction_is_projected_out_of_the_query() -> None:
    from index.langdir import LangDirection, debias

    rng = np.random.default_rng(0)
    base = rng.normal(size=(20, 8)).astype(np.float32)
    shift = np.eye(8, dtype=np.float32)[3] * 2.0
    vectors = np.concatenate([base[:10] + shift, base[10:] - shift])
    langs = np.array([0] * 10 + [1] * 10, np.int8)
    ld = LangDirection(np.arange(20), vectors, langs)
    expected = vectors[:10].mean(0) - vectors[10:].mean(0)
    np.testing.assert_allclose(ld.direction, expected / np.linalg.norm(expected), atol=1e-6)
    q = np.ones(8, np.float32) / np.sqrt(8)
    out = debias(q, ld.direction)
    assert abs(float(out @ ld.direction)) < 1e-6
    assert abs(float(np.linalg.norm(out)) - 1.0) < 1e-6
    # too few sentences in one language: no direction, queries left alone
    few = LangDirection(np.arange(12), vectors[:12], np.array([0] * 10 + [1] * 2, np.int8))
    assert few.direction is None
    assert debias(q, few.direction) is q


def test_language_sample_reuses_previous_vectors(hash_embedder) -> None:
    from index.langdir import LangDirection

    calls: list[list[str]] = []

    class Counting:
        dim = hash_embedder.dim

        def embed_passages(self, texts, show_progress=False):
            calls.append(list(texts))
            return hash_embedder.embed_passages(texts)

    sentences = [(i, "fr" if i % 2 else "en") for i in range(40)]
    texts = {i: f"phrase numéro {i}" for i in range(41)}
    texts[40] = "une phrase de plus"
    first = LangDirection.build(sentences, lambda v: {i: texts[i] for i in v}, Counting())
    assert len(calls[0]) == 40 and first.direction is not None
    second = LangDirection.build(
        [*sentences, (40, "fr")], lambda v: {i: texts[i] for i in v}, Counting(), previous=first
    )
    assert calls[1] == ["une phrase de plus"]
    assert len(second.vids) == 41


def test_dense_chunk_score_uses_its_best_sentence(tmp_path, hash_embedder) -> None:
    from index import Indexer
    from index.rows import _overlaps

    data = tmp_path / "data"
    Indexer(data, hash_embedder).ingest_parsed(sample_docs())
    searcher = Searcher.open(data, hash_embedder, sentence_weight=1.0, debias=False)
    state = searcher._state
    lo, hi = state.chunk_sentences
    for row in range(len(state.chunks.vids)):
        for s in range(lo[row], hi[row]):
            assert state.sentences.doc[s] == state.chunks.doc[row]
            assert state.sentences.start[s] < state.chunks.end[row]
            assert state.sentences.end[s] > state.chunks.start[row]
    assert _overlaps(state.chunks, state.sentences)[0].tolist() == lo.tolist()
    sentence = "The agreement lasts six years and funds medical research teams."
    hit = searcher.search(sentence, k=1, mode="dense")[0]
    vec = hash_embedder.embed_queries([sentence])[0]
    best = max(
        float(v @ vec)
        for v in searcher.sentence_vectors(
            [s.sentence_id for s in searcher.sentences_in(hit.doc_id, hit.start, hit.end)]
        )
    )
    assert hit.chunk_id.startswith("c_normandy")
    assert hit.score == pytest.approx(best, abs=1e-5)


def test_search_leaves_the_callers_openmp_thread_count_alone(tmp_path, hash_embedder) -> None:
    import faiss

    data = tmp_path / "data"
    from index import Indexer

    Indexer(data, hash_embedder).ingest_parsed(sample_docs())
    searcher = Searcher.open(data, hash_embedder)
    faiss.omp_set_num_threads(2)
    try:
        searcher.search("protocole de coopération", k=3, mode="dense")
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(os.cpu_count() or 1)


def test_pooled_chunk_vectors_are_the_mean_of_their_sentences(tmp_path, hash_embedder) -> None:
    docs = sample_docs()
    report = Indexer(tmp_path, hash_embedder, chunk_vectors="pooled").ingest_parsed(docs)
    assert report.chunks_embedded == 0  # every sample chunk holds a sentence
    assert report.sentences_embedded == sum(len(d.sentences) for d in docs)
    searcher = Searcher.open(tmp_path, hash_embedder)
    assert searcher.manifest["chunk_vectors"] == "pooled"
    state = searcher._state
    for parsed in docs:
        title = parsed.document.title
        for chunk in parsed.chunks:
            inside = [s for s in parsed.sentences if s.start < chunk.end and s.end > chunk.start]
            mean = hash_embedder.embed_passages([contextual_text(title, s.text) for s in inside])
            want = mean.mean(axis=0) / np.linalg.norm(mean.mean(axis=0))
            got = state.chunk_dense.vectors_for(stable_ids([chunk.chunk_id]))[0]
            np.testing.assert_allclose(got, want, atol=1e-6)


def test_changing_chunk_vectors_asks_for_rebuild(tmp_path, hash_embedder) -> None:
    Indexer(tmp_path, hash_embedder).ingest_parsed(sample_docs())
    with pytest.raises(
        IndexMismatchError,
        match=r"has 'embedded' chunk vectors but PARTNERSEARCH_CHUNK_VECTORS is 'pooled'; "
        r"re-run partnersearch ingest --rebuild PATH",
    ):
        Indexer(tmp_path, hash_embedder, chunk_vectors="pooled").ingest_parsed(sample_docs())


class _Prompted(HashEmbedder):
    """HashEmbedder that says it puts E5's prompts before its texts."""

    prompts = property(lambda self: {"query": "query: ", "passage": "passage: "})


def test_an_index_embedded_with_other_prompts_is_refused(tmp_path):
    Indexer(tmp_path / "data", _Prompted()).ingest_parsed(sample_docs())
    manifest = json.loads(
        next((tmp_path / "data" / "snapshots").glob("*/manifest.json")).read_text()
    )
    assert manifest["prompts"] == {"query": "query: ", "passage": "passage: "}
    Searcher.open(tmp_path / "data", _Prompted())  # the same prompts: fine
    with pytest.raises(
        IndexMismatchError, match=r"was embedded with prompts .*query: .* uses \{\}"
    ):
        Searcher.open(tmp_path / "data", HashEmbedder())


def test_a_manifest_from_before_prompts_is_checked_by_its_probe(tmp_path):
    data = tmp_path / "data"
    Indexer(data, HashEmbedder()).ingest_parsed(sample_docs())
    (path,) = (data / "snapshots").glob("*/manifest.json")
    manifest = json.loads(path.read_text())
    del manifest["prompts"]
    path.write_text(json.dumps(manifest))
    Searcher.open(data, HashEmbedder())  # same model, probe agrees
    manifest["probe"] = [0.0] * (len(manifest["probe"]) - 1) + [1.0]
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="gives other vectors"):
        Searcher.open(data, HashEmbedder())


_LEXICAL_BUILD = """
import sys
from pathlib import Path
import numpy as np
from index.lexical import LexicalIndex
terms = [["accord", "region", "normandie", "six", "ans"], ["inserm", "lille", "accord"],
         ["universite", "saclay", "convention", "inserm"], ["roquette", "merck", "lille"]]
LexicalIndex.build(np.arange(4), terms).save(Path(sys.argv[1]))
"""


def test_lexical_files_are_the_same_whatever_the_hash_seed(tmp_path) -> None:
    """bm25s numbers terms in set order; the index numbers them sorted, so one set of
    chunks always gives the same files (reproducible snapshots)."""
    import os
    import subprocess
    import sys

    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", _LEXICAL_BUILD, str(out)], check=True, env=env)
        outs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert outs[0] == outs[1]
    assert "vocab.index.json" in outs[0]


def test_lexical_scores_do_not_depend_on_how_terms_are_numbered() -> None:
    import bm25s

    from index.lexical import LexicalIndex

    terms = [["accord", "region", "six"], ["inserm", "lille", "accord"], ["lille", "merck"]]
    ours = LexicalIndex.build(np.arange(3), terms)
    theirs = bm25s.BM25()
    theirs.index(terms, show_progress=False)
    for query in (["accord"], ["lille", "accord"], ["merck", "six", "inconnu"]):
        known = [t for t in query if t in theirs.vocab_dict]
        assert ours.scores(query).tolist() == pytest.approx(theirs.get_scores(known).tolist())
