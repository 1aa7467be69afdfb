"""ONNX exports of the built multilingual-e5-small: float32 and int8, built once.

Why these tools: the float32 graph comes from torch's own TorchScript exporter
(``torch.onnx.export(dynamo=False)``: it ships with the pinned torch, needs no
``onnxscript``, and gives the same bytes for the same weights); mean pooling and L2
normalisation are part of the graph, so the runtime side is tokenise -> run. The int8
graph is onnxruntime's dynamic quantizer (``quantize_dynamic``) with per-channel int8
weights: per-tensor weights missed the fidelity bar (corpus sentences, cosine to torch
float32: mean 0.988, min 0.972), per-channel meets it (mean 0.997, min 0.992).
sentence-transformers' ONNX helpers wrap the same quantizer but need ``optimum``.

Torch is needed only here, at build time; the embedder that reads these files
(:class:`ingest.embed.OnnxEmbedder`) imports onnxruntime and tokenizers only.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path
from typing import Any

from ingest.errors import ModelBuildError
from ingest.model_build import build_once, ensure_model_dir, read_marker

logger = logging.getLogger(__name__)

__all__ = [
    "ONNX_FP32",
    "ONNX_INT8",
    "ONNX_MARKER",
    "build_onnx_dir",
    "ensure_onnx_dir",
    "export_onnx",
    "mean_pool",
    "quantize_int8",
]

ONNX_FP32 = "model.onnx"
ONNX_INT8 = "model_int8.onnx"
#: Written last inside a finished export; says which model directory it came from.
ONNX_MARKER = "partnersearch-onnx.json"
#: Bump when the exported graphs change, so old caches are rebuilt.
_ONNX_BUILDER_VERSION = 1
_OPSET = 17


def ensure_onnx_dir(cache_dir: Path) -> Path:
    """The ONNX directory beside the built model directory, exporting it first if needed."""
    model_dir = ensure_model_dir(Path(cache_dir))
    final = model_dir.with_name(model_dir.name + "-onnx")
    return build_once(
        final,
        lambda tmp: build_onnx_dir(model_dir, tmp),
        is_complete=_is_complete,
        what=f"ONNX float32 and int8 exports of {model_dir.name}",
    )


def build_onnx_dir(model_dir: Path, dest: Path) -> Path:
    """Write model.onnx (float32), model_int8.onnx, tokenizer.json and the marker into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    _export_fp32(model_dir, dest / ONNX_FP32)
    quantize_int8(dest / ONNX_FP32, dest / ONNX_INT8)
    shutil.copyfile(model_dir / "tokenizer.json", dest / "tokenizer.json")
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    prompts = json.loads(
        (model_dir / "config_sentence_transformers.json").read_text(encoding="utf-8")
    )["prompts"]
    info = {
        "builder_version": _ONNX_BUILDER_VERSION,
        "source_model_dir": model_dir.name,
        "dim": config["hidden_size"],
        "max_tokens": config["max_position_embeddings"],
        "pad_token_id": config["pad_token_id"],
        "prompts": prompts,
        "opset": _OPSET,
        "files": {"fp32": ONNX_FP32, "int8": ONNX_INT8},
    }
    (dest / ONNX_MARKER).write_text(json.dumps(info, indent=1), encoding="utf-8")
    return dest


def _is_complete(path: Path) -> bool:
    info = read_marker(path / ONNX_MARKER)
    return (
        info is not None
        and info.get("builder_version") == _ONNX_BUILDER_VERSION
        and all((path / name).is_file() for name in (ONNX_FP32, ONNX_INT8, "tokenizer.json"))
    )


def _export_fp32(model_dir: Path, dest: Path) -> None:
    try:
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:  # pragma: no cover - both are dependencies
        raise ModelBuildError(f"exporting ONNX needs torch and transformers: {exc}") from exc

    class _Pooled(torch.nn.Module):
        """The encoder followed by sentence-transformers' Pooling(mean) and Normalize."""

        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            pooled = mean_pool(hidden, attention_mask)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    hf_logging.disable_progress_bar()  # "Loading weights" bars are not the user's business
    # Eager attention: the SDPA path traces into ops the TorchScript exporter handles worse.
    encoder = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    ids = torch.tensor([[0, 581, 2], [0, 2, 1]], dtype=torch.int64)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]], dtype=torch.int64)
    export_onnx(_Pooled(encoder), (ids, mask), dest, output="sentence_embedding")


def mean_pool(hidden: Any, attention_mask: Any) -> Any:
    """Mean of the token vectors under the mask (sentence-transformers' Pooling(mean)),
    for torch tensors; shared by the e5 export and the reranker's head."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def export_onnx(module: Any, example: tuple[Any, Any], dest: Path, *, output: str) -> None:
    """Export a torch module taking (input_ids, attention_mask) to ``dest`` with
    TorchScript (batch and token axes dynamic, one output named ``output``)."""
    import torch

    # The tracer warns about every Python-level shape check in the encoder; the graph is
    # checked against torch's outputs by the tests, so the warnings are only noise here.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            example,
            str(dest),
            dynamo=False,
            external_data=False,
            input_names=["input_ids", "attention_mask"],
            output_names=[output],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                output: {0: "batch"},
            },
            opset_version=_OPSET,
            do_constant_folding=True,
        )


def quantize_int8(src: Path, dest: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantizer logs a hint about shape pre-processing on the root logger; for a
    # transformer of static rank it changes nothing, so keep it out of the user's console.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(src), str(dest), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
