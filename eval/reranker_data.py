"""What the rerank stage's cross-encoder learns from, and with which vocabulary: the
training and held-out PIAF questions, hard negatives mined with the project's own hybrid
retrieval, and the vocabulary cut (pieces kept, the rebuilt tokenizer, the share of each
set's tokens it keeps). Why these choices: ``eval.reranker``."""

from __future__ import annotations

import json
import logging
import random
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eval.beir import BeirDataset, load_beir, rank_documents

if TYPE_CHECKING:
    from eval.reranker import RerankerConfig
    from index import Searcher

logger = logging.getLogger(__name__)

__all__ = [
    "Group",
    "coverage",
    "coverage_by_set",
    "mine_groups",
    "prune_tokenizer",
    "select_questions",
    "select_vocab",
]

_SPACE = "\u2581"


@dataclass(frozen=True, slots=True)
class Group:
    """One training question: its gold passage first, then its hard negatives."""

    qid: str
    query: str
    passages: tuple[str, ...]


# -- vocabulary -----------------------------------------------------------------------------


def _latin_char(ch: str) -> bool:
    if ch.isascii():
        return True
    category = unicodedata.category(ch)
    if category[0] in "PSNZ":
        return True
    return "LATIN" in unicodedata.name(ch, "")


def select_vocab(
    tokenizer_json: dict,
    encode: Callable[[str], list[int]],
    texts: Iterable[str],
    *,
    ascii_top: int,
) -> list[int]:
    """Sorted ids kept: special tokens, every piece ``texts`` use, the ``ascii_top`` most
    probable ASCII pieces, and every one-character piece of Latin script or punctuation."""
    vocab = tokenizer_json["model"]["vocab"]
    kept = {t["id"] for t in tokenizer_json["added_tokens"]}
    for text in texts:
        kept.update(encode(text))
    ascii_ids = [i for i, (piece, _) in enumerate(vocab) if piece.replace(_SPACE, "").isascii()]
    ascii_ids.sort(key=lambda i: (-vocab[i][1], i))
    kept.update(ascii_ids[:ascii_top])
    for i, (piece, _) in enumerate(vocab):
        bare = piece.replace(_SPACE, "")
        if len(bare) <= 1 and all(_latin_char(c) for c in bare):
            kept.add(i)
    return sorted(kept)


def prune_tokenizer(tokenizer_json: dict, kept: Sequence[int]) -> dict:
    """A tokenizer.json whose Unigram vocabulary is ``kept`` (old ids, sorted), renumbered
    in order; special tokens follow their pieces. Words whose pieces were cut get the best
    segmentation into kept pieces."""
    new_id = {old: new for new, old in enumerate(kept)}
    out = json.loads(json.dumps(tokenizer_json))
    model = out["model"]
    model["vocab"] = [tokenizer_json["model"]["vocab"][i] for i in kept]
    model["unk_id"] = new_id[tokenizer_json["model"]["unk_id"]]
    for token in out["added_tokens"]:
        token["id"] = new_id[token["id"]]
    special = (out.get("post_processor") or {}).get("special_tokens") or {}
    for entry in special.values():
        entry["ids"] = [new_id[i] for i in entry["ids"]]
    out["truncation"] = None
    out["padding"] = None
    return out


def coverage(encode: Callable[[str], list[int]], kept: set[int], texts: Iterable[str]) -> float:
    """Share of the tokens of ``texts`` (original tokenizer) that the cut vocabulary keeps."""
    total = hit = 0
    for text in texts:
        ids = encode(text)
        total += len(ids)
        hit += sum(i in kept for i in ids)
    return hit / total if total else 1.0


def coverage_by_set(
    encode, kept: set[int], piaf: BeirDataset, held_q: Sequence[str], evaldata: Path | None
) -> dict[str, float]:
    """Share of tokens kept on PIAF's held-out questions and paragraphs and on up to 500
    documents and queries of every other set of the suite (measured, not used to choose)."""
    held_docs = sorted({d for q in held_q for d in piaf.qrels[q]})
    out = {
        "piaf_held_out": round(
            coverage(
                encode,
                kept,
                [piaf.queries[q] for q in held_q] + [piaf.corpus[d].body for d in held_docs],
            ),
            4,
        )
    }
    root = evaldata or piaf.path.parent
    for name in ("scifact_beir", "service_public_qr_dev", "diabla_fr_en"):
        path = root / name
        if not path.is_dir():
            continue
        data = load_beir(path, max_queries=500, seed=0)
        docs = sorted(data.corpus)[:500]
        texts = list(data.queries.values()) + [data.corpus[d].body for d in docs]
        out[name] = round(coverage(encode, kept, texts), 4)
    return out


# -- data -----------------------------------------------------------------------------------


def mine_groups(
    searcher: Searcher,
    dataset: BeirDataset,
    qids: Sequence[str],
    allowed: set[str],
    *,
    negatives: int,
    depth: int,
    seed: int,
    show_progress: bool = False,
) -> list[Group]:
    """A group per question: gold passage, then ``negatives`` passages drawn (seeded) from
    the hybrid top ``depth`` that are not gold and belong to ``allowed`` documents."""
    from tqdm.auto import tqdm

    rng = random.Random(seed)
    groups = []
    for qid in tqdm(qids, desc="mining negatives", unit="question", disable=not show_progress):
        query = dataset.queries[qid]
        gold = {d for d, g in dataset.qrels[qid].items() if g > 0}
        hits = searcher.search(query, k=depth, mode="hybrid")
        pool = [
            d
            for d in rank_documents((h.doc_id for h in hits), depth=depth)
            if d not in gold and d in allowed
        ]
        if len(pool) < negatives or not gold:
            continue
        picked = rng.sample(pool, negatives)
        positive = dataset.corpus[sorted(gold)[0]].body
        groups.append(Group(qid, query, (positive, *(dataset.corpus[d].body for d in picked))))
    return groups


def select_questions(
    dataset: BeirDataset, piaf: Path, config: RerankerConfig
) -> tuple[list[str], list[str], set[str]]:
    """(train questions, measured held-out questions, train-side documents): the
    answerer's split by article; train questions have every gold paragraph on the train
    side and are not in the suite's PIAF sample; held-out ones are drawn with the seed."""
    from eval.answerer_data import split_by_article
    from eval.run import SUITES

    splits = split_by_article(dataset, seed=config.seed, held_out=config.held_out)
    suite_sample = set(
        load_beir(piaf, max_queries=SUITES["dev"][piaf.name], seed=0).queries
        if SUITES["dev"].get(piaf.name)
        else ()
    )
    gold_of = {q: sorted(d for d, g in rel.items() if g > 0) for q, rel in dataset.qrels.items()}
    train_q = [
        q
        for q in sorted(dataset.queries)
        if q not in suite_sample and all(splits.get(d) == "train" for d in gold_of[q])
    ]
    held_q = [
        q for q in sorted(dataset.queries) if all(splits.get(d) == "held_out" for d in gold_of[q])
    ]
    rng = random.Random(config.seed)
    if config.max_questions is not None:
        train_q = sorted(rng.sample(train_q, min(config.max_questions, len(train_q))))
    held_q = sorted(rng.sample(held_q, min(config.eval_questions, len(held_q))))
    return train_q, held_q, {d for d, s in splits.items() if s == "train"}
