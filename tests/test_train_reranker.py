"""train-reranker: the vocabulary cut and the rebuilt tokenizer on e5-small's real
tokenizer, and a tiny end-to-end training run that gives the same artifact twice."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from test_eval_train_answerer import _write_piaf
from tokenizers import Tokenizer

from eval.reranker import RerankerConfig, render_report, train_reranker
from eval.reranker_data import coverage, prune_tokenizer, select_questions, select_vocab
from index.rerank import OnnxReranker
from ingest.embed import HashEmbedder
from service.settings import Settings


def test_training_questions_come_from_train_articles_outside_the_suite(tmp_path: Path) -> None:
    from eval.answerer_data import split_by_article
    from eval.beir import load_beir

    _write_piaf(tmp_path / "piaf")
    dataset = load_beir(tmp_path / "piaf")
    config = RerankerConfig(held_out=0.25, eval_questions=3)
    train_q, held_q, allowed = select_questions(dataset, tmp_path / "piaf", config)
    splits = split_by_article(dataset, seed=0, held_out=0.25)
    assert {splits[d] for q in train_q for d in dataset.qrels[q]} == {"train"}
    assert {splits[d] for q in held_q for d in dataset.qrels[q]} == {"held_out"}
    assert len(train_q) == 12 and len(held_q) == 3
    assert allowed == {d for d, s in splits.items() if s == "train"}
    # Under the suite's folder name, the suite's PIAF sample (here: every question, the set
    # being smaller than the sample) is never trained on.
    _write_piaf(tmp_path / "piaf_v1.1")
    suite = load_beir(tmp_path / "piaf_v1.1")
    assert select_questions(suite, tmp_path / "piaf_v1.1", config)[0] == []


@pytest.fixture(scope="module")
def e5_tokenizer(model_cache: Path) -> tuple[dict, Tokenizer]:
    from ingest.model_build import ensure_model_dir

    path = ensure_model_dir(model_cache) / "tokenizer.json"
    return json.loads(path.read_text(encoding="utf-8")), Tokenizer.from_file(str(path))


@pytest.mark.slow
def test_cut_vocabulary_keeps_pool_segmentation_and_latin_text_never_unk(e5_tokenizer) -> None:
    data, original = e5_tokenizer

    def encode(text: str) -> list[int]:
        return original.encode(text, add_special_tokens=False).ids

    pool = ["La convention de partenariat est signée pour six ans."]
    kept = select_vocab(data, encode, pool, ascii_top=50)
    assert kept == sorted(kept) and kept[:4] == [0, 1, 2, 3]
    pruned = Tokenizer.from_str(json.dumps(prune_tokenizer(data, kept)))
    assert pruned.get_vocab_size() == len(kept)
    # Text of the pool: the same pieces, renumbered.
    same = pruned.encode(pool[0], add_special_tokens=False)
    assert same.tokens == original.encode(pool[0], add_special_tokens=False).tokens
    # A word whose pieces were cut is spelled with smaller kept pieces, not <unk>.
    other = pruned.encode("Immunotherapy biomarkers", add_special_tokens=False)
    assert "<unk>" not in other.tokens
    # A character outside Latin script, digits and punctuation that the pool lacks is cut.
    unk = pruned.token_to_id("<unk>")
    assert pruned.encode("IFN-γ", add_special_tokens=False).ids[-1] == unk
    assert unk not in other.ids
    assert "".join(other.tokens).replace("\u2581", "") == "Immunotherapybiomarkers"
    # Pair template: <s> A </s></s> B </s> with the specials' new ids.
    pair = pruned.encode("q", "p")
    assert pair.ids[0] == 0 and pair.tokens.count("</s>") == 3
    assert coverage(encode, set(kept), pool) == 1.0
    assert coverage(encode, set(kept), ["Immunotherapy biomarkers"]) < 1.0


@pytest.mark.slow
def test_train_reranker_end_to_end_is_reproducible(tmp_path: Path, model_cache: Path) -> None:
    _write_piaf(tmp_path / "piaf")
    settings = Settings(data_dir=tmp_path / "data", cache=model_cache, use_channel=False)
    config = RerankerConfig(
        layers=1,
        max_tokens=48,
        negatives=2,
        mine_depth=8,
        batch_questions=2,
        ascii_top=200,
        eval_questions=4,
        top_n=4,
    )
    manifests, digests = [], []
    for n in range(2):
        out = tmp_path / f"out{n}"
        manifest = train_reranker(
            settings,
            piaf=tmp_path / "piaf",
            work_dir=tmp_path / f"work{n}",
            out=out,
            config=config,
            embedder=HashEmbedder(),
        )
        manifests.append(manifest)
        digests.append(hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest())
        assert sorted(p.name for p in out.iterdir()) == [
            "model.onnx",
            "reranker.json",
            "tokenizer.json",
        ]
    assert digests[0] == digests[1]
    first, second = manifests
    assert first["held_out_piaf"] == second["held_out_piaf"]
    assert first["training"]["loss_by_tenth"] == second["training"]["loss_by_tenth"]
    data = first["data"]
    # 8 articles, 2 held out (0.3 of 8, rounded): 12 train questions, 4 measured.
    assert data["train_questions"] == 12 and data["held_out_questions"] == 4
    assert first["command"] == (
        "partnersearch train-reranker --layers 1 --max-tokens 48 --negatives 2 "
        "--mine-depth 8 --batch-questions 2 --ascii-top 200 --eval-questions 4 --top-n 4"
    )
    report = render_report(first)
    assert first["command"] in report and "## Vocabulary cut" in report
    assert "| int8 | rerank@1 |" in report
    model = OnnxReranker(tmp_path / "out0", threads=1)
    assert model.score("Quand le musée a-t-il été fondé ?", ["a", "b", "c"]).shape == (3,)
