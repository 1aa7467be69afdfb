"""Small documents the service tests write into tmp_path and index with HashEmbedder."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from index.types import IngestReport
from ingest.embed import HashEmbedder

# The Inserm boilerplate sentence, present in two documents with different apostrophes:
# /similar must report it once, with both occurrences.
BOILERPLATE_FR = (
    "L'Inserm est le seul organisme public français entièrement dédié à la recherche "
    "biologique, médicale et en santé des populations."
)
BOILERPLATE_FR_CURLY = BOILERPLATE_FR.replace("L'Inserm", "L’Inserm")

DOCS: dict[str, str] = {
    "lille_protocol.txt": (
        "Lille, le 8 juillet 2024\n\n"
        "L'Université de Lille, le CHU de Lille et l'Inserm signent un protocole de coopération\n\n"
        "Le protocole de coopération a été signé le 8 juillet 2024 au CHU de Lille par les trois "
        "partenaires. Il prévoit le développement commun d'activités de transfert de technologies. "
        "Les partenaires structurent aussi des coopérations internationales sur les thématiques "
        f"majeures du site lillois. {BOILERPLATE_FR}\n"
    ),
    "northwest_interview.txt": (
        "Interview with the head of the North-West regional delegation\n\n"
        "Anne Dupont heads the Inserm North-West regional delegation, which covers "
        "Hauts-de-France and Normandy. She explains that the delegation supports forty research "
        "units across the two regions. The delegation signed an agreement with the Normandy "
        "Region in February 2022 to fund research chairs. Inserm is the only French public "
        "research organisation entirely dedicated to biological, medical and public health "
        "research.\n"
    ),
    "saclay_convention.txt": (
        "Paris-Saclay, le 27 septembre 2023\n\n"
        "Convention cadre entre l'Inserm et l'Université Paris-Saclay\n\n"
        "L'Inserm et l'Université Paris-Saclay renouvellent leur convention cadre pour cinq ans. "
        "La convention organise la gestion commune de quarante unités mixtes de recherche "
        f"sur le plateau de Saclay. {BOILERPLATE_FR_CURLY}\n"
    ),
}

EXTRA_DOC = (
    "marseille_chair.txt",
    "Marseille, le 3 mars 2025\n\n"
    "Aix-Marseille Université et l'Inserm créent une chaire d'excellence en immunologie\n\n"
    "La chaire d'excellence en immunologie accueillera douze doctorants à Marseille. "
    "Elle est financée pour quatre ans par les deux partenaires.\n",
)


def write_docs(folder: Path, docs: dict[str, str] | None = None) -> list[Path]:
    """Write ``docs`` (default DOCS) as UTF-8 files into ``folder``; return their paths, sorted."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in (docs or DOCS).items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return sorted(paths)


def build_index(data_dir: Path, docs_dir: Path, docs: dict[str, str] | None = None) -> IngestReport:
    """Index ``docs`` with HashEmbedder into ``data_dir``; returns the IngestReport."""
    from index import Indexer

    paths = write_docs(docs_dir, docs)
    return Indexer(data_dir, HashEmbedder()).ingest(paths)


TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def api_settings(data_dir: Path, **overrides: Any) -> Any:
    """Settings of the API tests: writes on with TOKEN, /ask never declines, no refresh wait."""
    from service.settings import Settings

    values: dict[str, Any] = {
        "data_dir": data_dir,
        "cache": data_dir.parent / "cache",
        "api_token": TOKEN,
        "answer_threshold": 0.0,
        "refresh_interval_s": 0.0,
    }
    values.update(overrides)
    return Settings(**values)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_thread(settings: Any) -> Iterator[tuple[str, int]]:
    """A real uvicorn on loopback (HashEmbedder) for what TestClient cannot show: bodies
    answered before they are read, a browser. Yields (host, port)."""
    import uvicorn

    from service import create_app

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, embedder=HashEmbedder()),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        assert thread.is_alive(), "uvicorn stopped during start-up"
        time.sleep(0.05)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def index_in(root: Path) -> Path:
    """A fresh index of DOCS under ``root`` (documents in root/docs); its data folder."""
    build_index(root / "data", root / "docs")
    return root / "data"


@contextmanager
def api_client(data_dir: Path, **overrides: Any) -> Iterator[Any]:
    """A TestClient over ``data_dir`` with api_settings (HashEmbedder), started and stopped."""
    from fastapi.testclient import TestClient

    from service import create_app

    app = create_app(api_settings(data_dir, **overrides), embedder=HashEmbedder())
    with TestClient(app) as client:
        yield client
