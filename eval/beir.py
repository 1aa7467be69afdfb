"""BEIR-format datasets: load them, index their corpus through the normal pipeline, score each mode.

Layout (as published by BEIR): ``corpus.jsonl`` ({"_id", "title", "text"}),
``queries.jsonl`` ({"_id", "text"}), ``qrels/<split>.tsv`` (header
``query-id<TAB>corpus-id<TAB>score``). Each corpus document becomes one text file
(title, blank line, text) named after its id, so the index's doc_id is the BEIR id
and the same ingest/index code that serves users is what gets measured. Documents
longer than a chunk are split by the indexer; a document's rank is that of its
best chunk (MaxP).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm import tqdm

from eval.errors import EvalDataError
from eval.metrics import BEIR_MEASURES, Qrels, mean_scores, score_per_query
from eval.retrieval import ALL_MODES, available_modes, own_index, searcher_for
from index.errors import QueryError
from ingest.chunk import split_sentences
from ingest.lang import detect_lang
from ingest.types import Chunk, Document, Lang, ParsedDocument, Sentence

if TYPE_CHECKING:
    from index import Searcher
    from index.options import SearchOptions
    from index.rerank import PairScorer
    from index.types import IngestReport
    from ingest.embed import Embedder
    from service.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "BeirDataset",
    "BeirDoc",
    "beir_file_name",
    "evaluate_beir",
    "index_beir",
    "load_beir",
    "passages",
    "rank_documents",
    "score_beir",
    "write_beir_corpus",
]

_SAFE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")


@dataclass(frozen=True, slots=True)
class BeirDoc:
    """One corpus document; ``lang`` comes from its ``metadata.lang`` when the file gives one."""

    title: str
    text: str
    lang: str | None = None

    @property
    def body(self) -> str:
        """Title, blank line, text: what gets indexed (BEIR scores title + text together)."""
        title, text = self.title.strip(), self.text.strip()
        return f"{title}\n\n{text}" if title else text


@dataclass(frozen=True, slots=True)
class BeirDataset:
    """A BEIR dataset in memory; ``queries`` holds only queries that have qrels."""

    name: str
    path: Path
    corpus: dict[str, BeirDoc]
    queries: dict[str, str]  # query id -> text
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: grade}
    total_queries: int  # queries with qrels before any sampling


def load_beir(
    path: Path, *, split: str = "test", max_queries: int | None = None, seed: int = 0
) -> BeirDataset:
    """Read a BEIR folder; keep ``max_queries`` queries drawn with ``seed`` when given.

    Raises EvalDataError naming the missing file or bad line.
    """
    path = Path(path)
    corpus_file, queries_file = path / "corpus.jsonl", path / "queries.jsonl"
    qrels_file = path / "qrels" / f"{split}.tsv"
    for f in (corpus_file, queries_file, qrels_file):
        if not f.is_file():
            raise EvalDataError(
                f"{f} not found; a BEIR folder holds corpus.jsonl, queries.jsonl and "
                f"qrels/{split}.tsv"
            )
    corpus = {
        str(row["_id"]): BeirDoc(
            title=str(row.get("title") or ""),
            text=str(row.get("text") or ""),
            lang=(row.get("metadata") or {}).get("lang") or row.get("lang"),
        )
        for row in _jsonl(corpus_file, required=("_id", "text"))
    }
    all_queries = {
        str(row["_id"]): str(row["text"]) for row in _jsonl(queries_file, ("_id", "text"))
    }
    qrels = _read_qrels(qrels_file)
    unknown = sorted({d for docs in qrels.values() for d in docs} - corpus.keys())
    if unknown:
        logger.warning(
            "%d qrels point to documents absent from %s (e.g. %s)",
            len(unknown),
            corpus_file,
            unknown[0],
        )
    ids = sorted(q for q in qrels if q in all_queries and any(g > 0 for g in qrels[q].values()))
    if not ids:
        raise EvalDataError(f"{qrels_file}: no query of {queries_file} has a relevant document")
    total = len(ids)
    if max_queries is not None and max_queries < total:
        ids = sorted(random.Random(seed).sample(ids, max_queries))
    logger.info("BEIR %s: %d docs, %d/%d queries", path.name, len(corpus), len(ids), total)
    return BeirDataset(
        name=path.name,
        path=path,
        corpus=corpus,
        queries={q: all_queries[q] for q in ids},
        qrels={q: dict(qrels[q]) for q in ids},
        total_queries=total,
    )


def beir_file_name(doc_id: str) -> str:
    """File name whose stem is ``doc_id``; raises EvalDataError for ids unfit as file names."""
    if not _SAFE_ID.fullmatch(doc_id) or len(doc_id) > 200:
        raise EvalDataError(
            f"BEIR document id {doc_id!r} cannot be a file name; ids must match "
            f"{_SAFE_ID.pattern} (at most 200 characters)"
        )
    return f"{doc_id}.txt"


def write_beir_corpus(dataset: BeirDataset, dest: Path) -> list[Path]:
    """Write one UTF-8 text file per document into ``dest`` (title, blank line, text).

    Files whose content is already there are left untouched, so a re-run re-indexes nothing.
    """
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for doc_id, doc in dataset.corpus.items():
        file = dest / beir_file_name(doc_id)
        body = doc.body + "\n"
        if not file.is_file() or file.read_text(encoding="utf-8") != body:
            file.write_text(body, encoding="utf-8")
        paths.append(file)
    return paths


def passages(dataset: BeirDataset, *, sentences: bool = False) -> list[ParsedDocument]:
    """Each document as one pre-split passage (the BEIR protocol), for ``Indexer.ingest_parsed``.

    By default no sentences are produced: BEIR scores passages, and skipping sentence
    embeddings makes indexing several times faster. With ``sentences`` each passage also
    gets its sentence table (ingest's splitter), so best-sentence scoring and pooled chunk
    vectors can be measured as the service runs them. Languages come from the dataset's
    metadata, else from detection.
    """
    source = str(dataset.path / "corpus.jsonl")
    out = []
    for doc_id, doc in dataset.corpus.items():
        text = doc.body
        lang: Lang = doc.lang if doc.lang in ("fr", "en") else detect_lang(text)  # type: ignore[assignment]
        document = Document(
            doc_id=doc_id,
            source=f"{source}#{doc_id}",
            title=doc.title.strip() or doc_id,
            text=text,
            content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            lang=lang,
            doc_type="other",
        )
        chunk = Chunk(
            doc_id=doc_id,
            ordinal=0,
            text=text,
            start=0,
            end=len(text),
            lang=lang,
        )
        table = _sentence_table(doc_id, text, lang) if sentences else ()
        out.append(ParsedDocument(document=document, chunks=(chunk,), sentences=table))
    return out


def _sentence_table(doc_id: str, text: str, lang: Lang) -> tuple[Sentence, ...]:
    spans = [
        span
        for line in re.finditer(r"[^\n]+", text)
        for span in split_sentences(text, line.start(), line.end())
    ]
    return tuple(
        Sentence(
            doc_id=doc_id,
            ordinal=i,
            text=text[a:b],
            start=a,
            end=b,
            lang=lang,
        )
        for i, (a, b) in enumerate(spans)
    )


def rank_documents(doc_ids: Iterable[str], *, depth: int) -> list[str]:
    """Collapse a chunk ranking (one doc id per chunk, best first) to its top ``depth`` docs."""
    seen: dict[str, None] = {}
    for d in doc_ids:
        if d not in seen:
            seen[d] = None
            if len(seen) == depth:
                break
    return list(seen)


def score_beir(
    dataset: BeirDataset,
    search: Callable[[str], Sequence[str]],
    *,
    measures: dict[str, object] = BEIR_MEASURES,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Run ``search(query) -> ranked doc ids`` on every query; return (means, per query)."""
    ranking = {qid: list(search(text)) for qid, text in dataset.queries.items()}
    per_query = score_per_query(
        dataset.qrels, ranking, measures=measures, query_ids=dataset.queries
    )
    return mean_scores(per_query), per_query


def index_beir(
    dataset: BeirDataset,
    data_dir: Path,
    settings: Settings,
    embedder: Embedder,
    use_embedder: Embedder | None = None,
    *,
    sentences: bool = False,
    show_progress: bool = False,
) -> IngestReport:
    """Index :func:`passages` of ``dataset`` into ``data_dir`` (incremental; rebuilt when
    stale). The passages are pre-split, so the passage setting does not apply: they are
    always indexed as chunks, and one cached index serves every passage setting."""
    from service.wiring import make_indexer

    docs = passages(dataset, sentences=sentences)

    def ingest() -> IngestReport:
        indexer = make_indexer(
            settings,
            embedder,
            use_embedder,
            data_dir=data_dir,
            show_progress=show_progress,
            windows=None,
        )
        return indexer.ingest_parsed(docs)

    return own_index(data_dir, ingest)


def evaluate_beir(
    dataset: BeirDataset,
    data_dir: Path,
    embedder: Embedder,
    settings: Settings,
    *,
    modes: Sequence[str] = ALL_MODES,
    config: SearchOptions | None = None,
    depth: int = 100,
    sentences: bool = False,
    show_progress: bool = False,
    use_embedder: Embedder | None = None,
    reranker: PairScorer | None = None,
) -> dict[str, Any]:
    """Index ``dataset`` (one passage per document, with its sentences if ``sentences``;
    incremental) into ``data_dir``; score modes: a run's section of one BEIR set."""
    from service.wiring import open_searcher

    started = time.perf_counter()
    modes = available_modes(modes, use_embedder, reranker)
    report = index_beir(
        dataset,
        data_dir,
        settings,
        embedder,
        use_embedder,
        sentences=sentences,
        show_progress=show_progress,
    )
    index_seconds = time.perf_counter() - started
    logger.info(
        "BEIR %s indexed: %d new/changed passages embedded in %.0f s",
        dataset.name,
        report.chunks_embedded,
        index_seconds,
    )
    searcher = open_searcher(
        settings, embedder, use_embedder, data_dir=data_dir, options=config, reranker=reranker
    )
    started = time.perf_counter()
    results: dict[str, dict[str, float]] = {}
    bar = tqdm(
        total=len(dataset.queries) * len(modes),
        desc=f"{dataset.name} queries",
        unit="query",
        disable=not show_progress,
    )
    for mode in modes:
        mode_searcher, index_mode = searcher_for(searcher, mode)

        def search(
            text: str, mode_searcher: Searcher = mode_searcher, index_mode: str = index_mode
        ) -> list[str]:
            bar.update()
            try:
                hits = mode_searcher.search(text, k=depth, mode=index_mode)  # type: ignore[arg-type]
            except QueryError as exc:
                logger.warning("BEIR query %.60r skipped: %s", text, exc)
                return []
            return rank_documents((h.doc_id for h in hits), depth=depth)

        results[mode], _ = score_beir(dataset, search)
        logger.info("BEIR %s %s: %s", dataset.name, mode, results[mode])
    bar.close()
    # How often the query-language guess the cross-lingual rule relies on says what
    # (reported beside the scores; the sets' own query language is known).
    detected = Counter(
        detect_lang(t, default="other", quick=True) for t in dataset.queries.values()
    )
    return {
        "path": str(dataset.path),
        "query_languages": dict(sorted(detected.items())),
        "n_docs": len(dataset.corpus),
        "n_queries": len(dataset.queries),
        "total_queries": dataset.total_queries,
        "seed": None,
        "index_seconds": round(index_seconds, 1),
        "passages_embedded": report.chunks_embedded,
        "sentences": sentences,
        "sentences_embedded": report.sentences_embedded,
        "search_seconds": round(time.perf_counter() - started, 1),
        "modes": results,
    }


def _jsonl(path: Path, required: tuple[str, ...]) -> Iterable[dict]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalDataError(f"{path}:{n}: invalid JSON ({exc})") from exc
            missing = [k for k in required if k not in row]
            if missing:
                raise EvalDataError(f"{path}:{n}: missing field(s) {missing}")
            yield row


def _read_qrels(path: Path) -> Qrels:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\r\n").split("\t")
            if not line.strip():
                continue
            if len(parts) != 3:
                raise EvalDataError(
                    f"{path}:{n}: expected 3 tab-separated columns, got {len(parts)}"
                )
            qid, doc, grade = parts
            try:
                value = int(grade)
            except ValueError as exc:
                if n == 1:  # the header line BEIR writes
                    continue
                raise EvalDataError(f"{path}:{n}: score {grade!r} is not an integer") from exc
            qrels.setdefault(qid, {})[doc] = value
    return qrels
