"""Which embedders may read or extend an index: the one rule, used by reader and writer.

The manifest records the model, its fingerprint, the backend that computed the vectors
("onnx-int8", "onnx", "torch") and the probe vector: the embedding of one fixed text.
The same model and fingerprint is always compatible. Another backend of the same model
is compatible when its probe vector is within :data:`PROBE_MIN_COSINE` of the recorded
one (int8 and float32 e5-small agree to about 0.997): its query vectors then search the
stored passage vectors as well as their own would. Anything else is refused with the fix.

The fingerprint does not see the query/passage prompts a model declares, so the manifest
records them too: other prompts are refused. A manifest written before prompts were
recorded is checked by its probe, which was embedded with the passage prompt.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import IndexMismatchError
from ingest.embed import Embedder

logger = logging.getLogger(__name__)

__all__ = ["PROBE_MIN_COSINE", "PROBE_TEXT", "check_compatible", "model_fields"]

#: The text whose vector the manifest records (embedded as a passage).
PROBE_TEXT = "PartnerSearch probe — l’Inserm signe une convention de partenariat avec la Région."
#: Lowest cosine between the recorded and the configured probe vector that still counts
#: as the same model under another backend.
PROBE_MIN_COSINE = 0.99


def model_fields(embedder: Embedder) -> dict[str, Any]:
    """What the manifest says about the embedder that wrote the vectors."""
    probe = embedder.embed_passages([PROBE_TEXT])[0]
    return {
        "model": embedder.name,
        "fingerprint": embedder.fingerprint(),
        "backend": embedder.backend,
        "dim": embedder.dim,
        "prompts": dict(embedder.prompts),
        "probe": [round(float(x), 6) for x in probe],
    }


def check_compatible(manifest: dict[str, Any], embedder: Embedder, data_dir: Path) -> None:
    """Raise IndexMismatchError unless ``embedder`` may query and extend this index."""
    built = f"{manifest.get('model')}@{manifest.get('fingerprint')} ({manifest.get('backend')})"
    configured = f"{embedder.name}@{embedder.fingerprint()} ({embedder.backend})"
    fix = "re-run partnersearch ingest --rebuild PATH"
    if manifest.get("model") != embedder.name or manifest.get("dim") != embedder.dim:
        raise IndexMismatchError(
            f"index in {data_dir} built with '{built}', dim {manifest.get('dim')}, but the "
            f"configured model is '{configured}', dim {embedder.dim}; {fix}"
        )
    recorded_prompts = manifest.get("prompts")
    if recorded_prompts is not None and recorded_prompts != dict(embedder.prompts):
        raise IndexMismatchError(
            f"index in {data_dir} was embedded with prompts {recorded_prompts} but the "
            f"configured model '{configured}' uses {dict(embedder.prompts)}; check the model's "
            f"config_sentence_transformers.json or {fix}"
        )
    # A manifest from before prompts were recorded is checked by its probe (a passage,
    # prompt included) even when the fingerprint, which does not see prompts, agrees.
    same = manifest.get("fingerprint") == embedder.fingerprint()
    if same and (recorded_prompts is not None or not manifest.get("probe")):
        return
    recorded = np.asarray(manifest.get("probe") or [], dtype=np.float32)
    if recorded.shape != (embedder.dim,):
        raise IndexMismatchError(
            f"index in {data_dir} built with '{built}' records no probe vector, so vectors of "
            f"'{configured}' cannot be checked against it; {fix}"
        )
    cosine = float(embedder.embed_passages([PROBE_TEXT])[0] @ recorded)
    if cosine < PROBE_MIN_COSINE:
        backend = manifest.get("backend")
        hint = f"set PARTNERSEARCH_BACKEND={backend} or " if backend != embedder.backend else ""
        raise IndexMismatchError(
            f"index in {data_dir} built with '{built}' but the configured model '{configured}' "
            f"gives other vectors (probe cosine {cosine:.4f} < {PROBE_MIN_COSINE}); {hint}{fix}"
        )
    logger.info(
        "index built with %s, configured %s: compatible (probe cosine %.4f)",
        built,
        configured,
        cosine,
    )
