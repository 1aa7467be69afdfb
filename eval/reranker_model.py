"""The rerank stage's cross-encoder itself: e5-small's first layers under a one-logit
head, trained listwise on question groups, exported to ONNX (float32 or int8), and
measured against hybrid retrieval on held-out questions. Seeded by the caller."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eval.beir import BeirDataset, rank_documents, score_beir
from eval.reranker_data import Group
from index.rerank import rerank

if TYPE_CHECKING:
    from eval.reranker import RerankerConfig
    from index import Searcher

logger = logging.getLogger(__name__)

__all__ = ["cross_encoder", "export", "measure", "train"]


def cross_encoder(model_dir: Path, layers: int, kept: Sequence[int]):
    """e5-small from ``model_dir`` cut to its first ``layers`` layers and to the pieces
    ``kept`` (old ids, sorted), under a new one-logit head initialised from torch's RNG:
    a module (input_ids, attention_mask) -> [batch] logits."""
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


def train(
    model,
    tokenizer,
    groups: Sequence[Group],
    config: RerankerConfig,
    *,
    prefixes: tuple[str, str],
    show_progress: bool,
    say: Callable[[str], None],
) -> dict:
    """Train ``model`` in place, listwise (cross-entropy over each group's passages, gold
    first), batches in an order seeded by ``config.seed``; returns steps, pairs, seconds
    and the mean loss of each tenth of the run."""
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


def export(model, dest: Path, *, int8: bool) -> None:
    """Write ``model`` to ``dest`` as ONNX: int8 (dynamic quantization) or float32."""
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
