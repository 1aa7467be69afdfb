"""Indexer: incremental ingest into a new snapshot, published atomically.

A run compares each file's content hash with the published snapshot: unchanged files are
neither parsed nor embedded, changed files replace their document's chunks and sentences,
and (with ``prune``) documents whose files are gone from the given folders are removed.
Everything is written into a fresh snapshot directory by ``index.write`` (store copied
from the previous one, vectors of unchanged documents reused from its FAISS files) and
published with one rename; a run that changes nothing publishes nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import get_args

from tqdm import tqdm

from index import cleanup, snapshot
from index.compat import check_compatible
from index.errors import IndexMismatchError
from index.store import Store, StoredFile
from index.types import ChunkVectors, IngestReport
from index.write import Changes, SnapshotWriter, passages_label
from ingest.embed import Embedder
from ingest.errors import IngestError
from ingest.readers import ReadLimits
from ingest.types import ParsedDocument

logger = logging.getLogger(__name__)

__all__ = ["Indexer", "Upload"]

_UPLOADS = cleanup.UPLOADS


@dataclass(frozen=True)
class Upload:
    """One uploaded file, checked and parsed once: the bytes kept and the document indexed."""

    name: str  # a plain file name (ingest.check_upload_name)
    data: bytes
    parsed: ParsedDocument


class Indexer:
    """Writes the index in ``data_dir``; one writer at a time (a file lock serialises runs)."""

    def __init__(
        self,
        data_dir: Path,
        embedder: Embedder,
        *,
        max_tokens: int = 200,
        overlap_tokens: int = 30,
        hnsw_threshold: int = 200_000,
        chunk_vectors: ChunkVectors = "embedded",
        show_progress: bool = False,
        read_limits: ReadLimits | None = None,
        use_embedder: Embedder | None = None,
        windows: tuple[int, int] | None = None,
    ) -> None:
        if chunk_vectors not in get_args(ChunkVectors):
            raise ValueError(f"chunk_vectors must be one of {get_args(ChunkVectors)}")
        self.chunk_vectors = chunk_vectors
        self.data_dir = Path(data_dir)
        self.read_limits = read_limits or ReadLimits()
        self.embedder = embedder
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens
        #: Passages: token-packed chunks (None) or (size, stride) sentence windows.
        self.windows = tuple(windows) if windows is not None else None
        self.hnsw_threshold = hnsw_threshold
        self.show_progress = show_progress
        #: The second dense channel (USE); None writes snapshots without it.
        self.use_embedder = use_embedder

    # -- public API -----------------------------------------------------------------------

    def ingest(
        self, paths: Sequence[Path], *, prune: bool = False, rebuild: bool = False
    ) -> IngestReport:
        """Ingest files and folders incrementally; bad files land in ``report.skipped``.

        ``prune`` removes documents whose file, under one of ``paths``, no longer exists;
        ``rebuild`` ignores the published snapshot (another model, or a fresh start).
        """
        import ingest as ingest_pkg

        report = IngestReport()
        existing: list[Path] = []
        for path in map(Path, paths):
            if path.exists():
                existing.append(path)
            else:
                report.skipped.append((str(path), "no such file or directory"))
        files = list(ingest_pkg.iter_input_files(existing))
        roots = [p.resolve() for p in existing]
        with snapshot.writer_lock(self.data_dir):
            cleanup.remove_leftovers(self.data_dir)
            ref = self._base(rebuild)
            known = self._known(ref)
            plan = self._plan_files(files, known, report)
            if prune and ref is not None:
                plan.removed = [
                    doc_id
                    for doc_id, stored in known.items()
                    if doc_id not in plan.seen
                    and _under(Path(stored.source), roots)
                    and not Path(stored.source).exists()
                ]
            return self._commit(plan, ref, report, rebuild=rebuild)

    def parse_upload(self, name: str, data: bytes) -> Upload:
        """Check ``name`` (``ingest.check_upload_name``) and parse ``data`` with this
        indexer's chunking; raises the IngestError that names the file. The service calls
        it for every file before any is indexed, so one bad file refuses the upload."""
        import ingest as ingest_pkg

        parsed = self._parse(Path(ingest_pkg.check_upload_name(name)), data)
        return Upload(name=name, data=data, parsed=parsed)

    def _parse(self, path: Path, data: bytes) -> ParsedDocument:
        """``data`` (the bytes of ``path``, read once) parsed with this indexer's chunking."""
        import ingest as ingest_pkg

        return ingest_pkg.parse_file(
            path,
            data=data,
            count_tokens=self.embedder.count_tokens,
            max_tokens=self.max_tokens,
            overlap_tokens=self.overlap_tokens,
            windows=self.windows,
            limits=self.read_limits,
        )

    def ingest_uploads(
        self, uploads: Sequence[Upload], *, refused: Sequence[tuple[str, str]] = ()
    ) -> IngestReport:
        """Index parsed uploads in one snapshot and keep their files under ``data_dir/uploads``.

        Each is parsed once (``parse_upload``); a name given twice keeps its first file and
        reports the second in ``skipped``, as ``refused`` (name, reason) files are: the
        snapshot's run log records them all.
        """
        report = IngestReport()
        report.skipped.extend(refused)
        report.files_read += len(refused)
        kept = self.data_dir / _UPLOADS
        # Staged under the writer lock, so a clean-up (which holds it) never sees a live one.
        with snapshot.writer_lock(self.data_dir):
            cleanup.remove_leftovers(self.data_dir)
            ref = self._base(rebuild=False)
            known = self._known(ref)
            plan = Changes()
            chosen: dict[str, Upload] = {}
            for upload in uploads:
                report.files_read += 1
                if upload.name in chosen:
                    report.skipped.append((upload.name, "same file name twice in one upload"))
                    continue
                source = str((kept / upload.name).resolve())
                self._plan_one(upload.parsed, source, known, plan, report, path=upload.name)
                if plan.seen.get(upload.parsed.document.doc_id) == upload.name:
                    chosen[upload.name] = upload
            incoming = kept / f"{cleanup.INCOMING_PREFIX}{secrets.token_hex(4)}"
            incoming.mkdir(parents=True)
            try:
                for upload in chosen.values():
                    staged = incoming / upload.name
                    staged.write_bytes(upload.data)
                    staged.replace(kept / upload.name)
                return self._commit(plan, ref, report, rebuild=False)
            finally:
                shutil.rmtree(incoming, ignore_errors=True)

    def ingest_files(self, files: Sequence[tuple[str, bytes]]) -> IngestReport:
        """Ingest uploaded files (name, bytes): ``parse_upload`` then ``ingest_uploads``.

        A file that fails its name check or parsing is reported in ``skipped`` and changes
        nothing; the others are indexed.
        """
        uploads: list[Upload] = []
        refused: list[tuple[str, str]] = []
        for name, data in files:
            try:
                uploads.append(self.parse_upload(name, data))
            except IngestError as exc:
                refused.append((name, str(exc)))
        return self.ingest_uploads(uploads, refused=refused)

    def ingest_parsed(
        self, docs: Sequence[ParsedDocument], *, rebuild: bool = False
    ) -> IngestReport:
        """Ingest already-parsed documents (tests, other front ends); same rules as files."""
        report = IngestReport()
        with snapshot.writer_lock(self.data_dir):
            cleanup.remove_leftovers(self.data_dir)
            ref = self._base(rebuild)
            known = self._known(ref)
            plan = Changes()
            for parsed in docs:
                report.files_read += 1
                self._plan_one(parsed, parsed.document.source, known, plan, report)
            return self._commit(plan, ref, report, rebuild=rebuild)

    def delete(self, doc_id: str) -> bool:
        """Remove one document; False when it is not in the index."""
        with snapshot.writer_lock(self.data_dir):
            cleanup.remove_leftovers(self.data_dir)
            ref = self._base(rebuild=False)
            known = self._known(ref)
            if doc_id not in known:
                return False
            plan = Changes(removed=[doc_id])
            self._commit(plan, ref, IngestReport(), rebuild=False)
            source = Path(known[doc_id].source)
            if _under(source, [(self.data_dir / _UPLOADS).resolve()]):
                source.unlink(missing_ok=True)
            return True

    # -- planning -------------------------------------------------------------------------

    def _base(self, rebuild: bool) -> snapshot.SnapshotRef | None:
        if rebuild:
            return None  # also the way out of an index in an older format
        ref = snapshot.current(self.data_dir)
        if ref is None:
            return None
        check_compatible(ref.manifest, self.embedder, self.data_dir)
        if self.use_embedder is not None and "use" in ref.manifest:
            check_compatible(ref.manifest["use"], self.use_embedder, self.data_dir)
        passages = ref.manifest.get("passages", "chunks")
        if passages != passages_label(self.windows):
            raise IndexMismatchError(
                f"index in {self.data_dir} has {passages!r} passages but the settings ask for "
                f"{passages_label(self.windows)!r} (PARTNERSEARCH_PASSAGES and window sizes); "
                "re-run partnersearch ingest --rebuild PATH"
            )
        built = ref.manifest.get("chunk_vectors", "embedded")
        if built != self.chunk_vectors:
            raise IndexMismatchError(
                f"index in {self.data_dir} has {built!r} chunk vectors but "
                f"PARTNERSEARCH_CHUNK_VECTORS is {self.chunk_vectors!r}; re-run partnersearch "
                "ingest --rebuild PATH"
            )
        return ref

    @staticmethod
    def _known(ref: snapshot.SnapshotRef | None) -> dict[str, StoredFile]:
        if ref is None:
            return {}
        store = Store.open_readonly(ref.path / snapshot.STORE)
        try:
            return store.hashes()
        finally:
            store.close()

    def _plan_files(
        self,
        files: Iterable[Path],
        known: dict[str, StoredFile],
        report: IngestReport,
    ) -> Changes:
        """Decide per file: unchanged (hash known), parse and upsert, or skip with a reason."""
        import ingest as ingest_pkg

        plan = Changes()
        files = list(files)
        bar = tqdm(
            files, desc="reading", unit="file", disable=not self.show_progress, file=sys.stderr
        )
        for path in bar:
            report.files_read += 1
            label = str(path)
            source = str(path.resolve())
            try:
                data = path.read_bytes()
            except OSError as exc:
                report.skipped.append((label, f"cannot read: {exc.strerror or exc}"))
                continue
            digest = ingest_pkg.content_hash(data)
            stem = Path(source).stem
            if stem in plan.seen:
                report.skipped.append(
                    (label, f"document id {stem!r} already read from {plan.seen[stem]}")
                )
                continue
            if stem in known and known[stem].content_hash == digest:
                plan.seen[stem] = label
                report.unchanged.append(stem)
                if known[stem].source != source:
                    plan.moves[stem] = source
                continue
            try:
                parsed = self._parse(path, data)  # the bytes hashed above, not re-read
            except IngestError as exc:
                report.skipped.append((label, str(exc)))
                continue
            self._plan_one(parsed, source, known, plan, report, path=label)
        return plan

    @staticmethod
    def _plan_one(
        parsed: ParsedDocument,
        source: str,
        known: dict[str, StoredFile],
        plan: Changes,
        report: IngestReport,
        *,
        path: str | None = None,
    ) -> None:
        doc = parsed.document
        origin = path or source
        if doc.doc_id in plan.seen:
            report.skipped.append(
                (origin, f"document id {doc.doc_id!r} already read from {plan.seen[doc.doc_id]}")
            )
            return
        plan.seen[doc.doc_id] = origin
        if doc.doc_id in known and known[doc.doc_id].content_hash == doc.content_hash:
            report.unchanged.append(doc.doc_id)
            if known[doc.doc_id].source != source:
                plan.moves[doc.doc_id] = source
            return
        if doc.source != source:
            parsed = dataclasses.replace(parsed, document=dataclasses.replace(doc, source=source))
        plan.upserts.append(parsed)
        (report.updated if doc.doc_id in known else report.added).append(doc.doc_id)

    # -- writing a snapshot ---------------------------------------------------------------

    def _writer(self) -> SnapshotWriter:
        """The writer with this Indexer's configuration (its fields have the same names)."""
        return SnapshotWriter(**{f.name: getattr(self, f.name) for f in fields(SnapshotWriter)})

    def _commit(
        self,
        plan: Changes,
        ref: snapshot.SnapshotRef | None,
        report: IngestReport,
        *,
        rebuild: bool,
    ) -> IngestReport:
        try:
            published = snapshot.current(self.data_dir)
        except IndexMismatchError:
            if not rebuild:
                raise
            published = None  # an older format being replaced by --rebuild
        # Turning the USE channel on (or off) changes the index even when no file did: the
        # next run adds its vectors for every passage (e5 vectors are reused) or drops them.
        channel_change = ref is not None and (self.use_embedder is not None) != (
            "use" in ref.manifest
        )
        if not plan.changes_anything() and not (rebuild and plan.seen) and not channel_change:
            # Nothing to write: report the published snapshot as it stands.
            if published is not None and not rebuild:
                _fill_counts(report, published.manifest)
            return report
        if rebuild and not plan.upserts:
            logger.warning("rebuild read no document; keeping the published index")
            if published is not None:
                _fill_counts(report, published.manifest)
            return report

        writer = self._writer()
        chunk_vecs, sent_vecs = writer.embed(plan.upserts, report)
        use_vecs = writer.embed_use(plan.upserts)
        snapshot.checkpoint("embedded")

        snapshot_id = snapshot.new_snapshot_id()
        building = snapshot.building_dir(self.data_dir, snapshot_id)
        try:
            manifest = writer.write(
                building, snapshot_id, plan, ref, report, chunk_vecs, sent_vecs, use_vecs
            )
            snapshot.publish(self.data_dir, building, snapshot_id)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        keep = {snapshot_id} | ({published.snapshot_id} if published else set())
        snapshot.gc(self.data_dir, keep=keep)
        _fill_counts(report, manifest)
        report.snapshot_id = snapshot_id
        return report


def _fill_counts(report: IngestReport, manifest: dict) -> None:
    counts = manifest.get("counts", {})
    report.documents = counts.get("documents", 0)
    report.chunks = counts.get("chunks", 0)
    report.sentences = counts.get("sentences", 0)
    report.languages = dict(manifest.get("languages", {}))
    report.snapshot_id = report.snapshot_id or manifest.get("snapshot_id")


def _under(path: Path, roots: Sequence[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == root or resolved.is_relative_to(root) for root in roots)
