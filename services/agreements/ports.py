"""The ports the agreements handlers depend on, with their in-memory fakes.

``PartnerDirectory`` is read from the partner replica on MongoDB (``partner_replica.py``),
``EvaluationDirectory`` from the evaluation replica (``evaluation_replica.py``), ``ExtensionIndex``
is a collection of the service's own database (``extension_index.py``), ``AttachmentStore`` is
GridFS (``files.py``). The fakes stand in for them in the handlers'
unit tests; tests/integration/test_port_contracts.py runs each fake through the same contract
as its real adapter so the fakes stay honest.
"""
from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import datetime, timezone
from typing import BinaryIO, Callable, Iterable, Iterator, Protocol

from shared.domain import DomainError, Refusal

from services.agreements.uploads import accepted_media_type, safe_filename

CHUNK = 256 * 1024


class TooLarge(Exception):
    """The upload exceeds the configured limit."""


class StoredFile:
    """An attachment's metadata (file_id, filename, size, media_type, sha256) and its bytes:
    ``chunks()`` streams them (a download holds one chunk at a time), ``content`` reads them all."""

    def __init__(self, meta: dict, content: bytes | None = None, *,
                 chunks: Callable[[], Iterator[bytes]] | None = None):
        self.meta = meta
        self._content, self._chunks = content, chunks

    def chunks(self) -> Iterator[bytes]:
        if self._chunks is not None:
            return self._chunks()
        return iter([self._content or b""])

    @property
    def content(self) -> bytes:
        return self._content if self._chunks is None else b"".join(self._chunks())


class PartnerDirectory(Protocol):
    """The partners as the agreement rules see them (id, name, kind, status, country)."""

    def views(self, partner_ids: Iterable[str]) -> tuple[list[dict], list[str]]:
        """``(views found, ids not found)`` in the order asked, each id once."""


class EvaluationDirectory(Protocol):
    """The finalized evaluations of agreements, as the extension rules see them."""

    def finalized(self, agreement_id: str, period: str) -> list[dict]:
        """The FINALIZED evaluations of ``agreement_id`` for ``period`` (``AKHIR``…), each
        ``{id, agreement_id, period, year, overall, rating, finalized_at}``, oldest first."""


class ExtensionIndex(Protocol):
    """Which extension of each agreement holds the claim "the live extension of <old id>".

    Claims are numbered per old agreement (generation 1, 2, …) and only ever inserted: the claim is
    the latest generation, and taking one over is inserting the next, which only one claimant can
    do (an insert on a unique key is atomic on every MongoDB-protocol server, where an update
    filtered on the old holder is not on FerretDB). The handlers decide whether a holder is still
    live (``AgreementHandlers._claim_extension``).
    """

    def get(self, old_id: str) -> dict | None:
        """The latest claim on ``old_id`` (``{extension_id, claimed_at, generation}``), or None."""

    def insert(self, old_id: str, generation: int, extension_id: str, claimed_at: datetime) -> bool:
        """Claim generation ``generation`` of ``old_id`` for ``extension_id``; False if it is taken."""

    def release(self, old_id: str, extension_id: str) -> None:
        """Drop ``extension_id``'s claims on ``old_id`` (its draft was not stored after all)."""


class AttachmentStore(Protocol):
    """Uploaded files, kept with the sha256 that the events record."""

    max_bytes: int

    def put(self, stream: BinaryIO, filename: str, media_type: str, uploaded_by: str, *,
            pending: bool = False) -> dict:
        """Store the upload (``TooLarge`` beyond ``max_bytes``, nothing kept); return its metadata.
        ``pending``: loose evidence, owned by its uploader until a report cites it (see ``link``);
        a pending file that nothing cites expires (``expire_pending``)."""

    def meta(self, file_id: str) -> dict | None:
        """The metadata of a stored file, or None."""

    def provenance(self, file_id: str) -> dict | None:
        """Who uploaded it and where it belongs: ``{uploaded_by, uploaded_at, agreement_id, pending}``."""

    def link(self, file_id: str, agreement_id: str) -> None:
        """The file now belongs to ``agreement_id`` (no longer pending, never expires)."""

    def pending_count(self, uploaded_by: str) -> int:
        """How many pending uploads ``uploaded_by`` has (the upload quota)."""

    def expire_pending(self, uploaded_before: datetime) -> int:
        """Delete the pending uploads older than ``uploaded_before``; how many were deleted."""

    def get_verified(self, file_id: str, expected_sha256: str | None = None) -> StoredFile:
        """The file, refused (``file_not_found``, ``attachment_tampered``) if missing or altered."""

    def delete(self, file_id: str) -> None:
        """Remove a file; removing a missing one is not an error."""


class InMemoryPartnerDirectory:
    """Fake ``PartnerDirectory``: partners held in a dict, as the replica would hold them."""

    def __init__(self, partners: Iterable[dict] = ()):
        self.partners: dict[str, dict] = {}
        for partner in partners:
            self.add(**partner)

    def add(self, id: str, name: str, kind: str, status: str = "verified", country: str = "ID") -> None:
        """Record (or replace) a partner as the replica would after its events."""
        self.partners[id] = {"id": id, "name": name, "kind": kind, "status": status, "country": country}

    def views(self, partner_ids: Iterable[str]) -> tuple[list[dict], list[str]]:
        ids = list(dict.fromkeys(partner_ids))
        return ([dict(self.partners[i]) for i in ids if i in self.partners],
                [i for i in ids if i not in self.partners])


class InMemoryEvaluationDirectory:
    """Fake ``EvaluationDirectory``: evaluations held in a dict, as the replica would hold them."""

    def __init__(self):
        self.evaluations: dict[str, dict] = {}

    def add(self, id: str, agreement_id: str, period: str, year: int, status: str = "FINALIZED",
            overall: float | None = 80.0, rating: int | None = 4,
            finalized_at: str | None = "2025-01-01T00:00:00.000000Z") -> None:
        """Record (or replace) an evaluation as the replica would after its events."""
        finalized = status == "FINALIZED"
        self.evaluations[id] = {"id": id, "agreement_id": agreement_id, "period": period, "year": year,
                                "status": status, "overall": overall if finalized else None,
                                "rating": rating if finalized else None,
                                "finalized_at": finalized_at if finalized else None}

    def finalized(self, agreement_id: str, period: str) -> list[dict]:
        found = [e for e in self.evaluations.values() if e["agreement_id"] == agreement_id
                 and e["period"] == period and e["status"] == "FINALIZED"]
        return [{k: v for k, v in e.items() if k != "status"}
                for e in sorted(found, key=lambda e: (e["finalized_at"] or "", e["id"]))]


class InMemoryExtensionIndex:
    """Fake ``ExtensionIndex``: claims in a dict keyed like the database's unique ``_id``."""

    def __init__(self):
        self.claims: dict[tuple[str, int], dict] = {}
        self._lock = threading.Lock()

    def get(self, old_id: str) -> dict | None:
        with self._lock:
            mine = [(generation, claim) for (old, generation), claim in self.claims.items() if old == old_id]
            if not mine:
                return None
            generation, claim = max(mine, key=lambda item: item[0])
            return {**claim, "generation": generation}

    def insert(self, old_id: str, generation: int, extension_id: str, claimed_at: datetime) -> bool:
        with self._lock:
            if (old_id, generation) in self.claims:
                return False
            self.claims[(old_id, generation)] = {"extension_id": extension_id, "claimed_at": claimed_at}
            return True

    def release(self, old_id: str, extension_id: str) -> None:
        with self._lock:
            for key in [k for k, claim in self.claims.items() if k[0] == old_id and claim["extension_id"] == extension_id]:
                del self.claims[key]


class InMemoryAttachmentStore:
    """Fake ``AttachmentStore``: files held in a dict with the sha256 computed on upload."""

    def __init__(self, max_bytes: int = 1024 * 1024, now: Callable[[], datetime] | None = None):
        self.max_bytes = max_bytes
        self.files: dict[str, tuple[dict, bytes]] = {}
        self.owners: dict[str, dict] = {}
        self.now = now or (lambda: datetime.now(timezone.utc))

    def put(self, stream: BinaryIO, filename: str, media_type: str, uploaded_by: str, *,
            pending: bool = False) -> dict:
        filename = safe_filename(filename)  # the same upload rules as the GridFS store
        media_type = accepted_media_type(media_type, filename)
        content = b""
        while chunk := stream.read(CHUNK):
            content += chunk
            if len(content) > self.max_bytes:
                raise TooLarge()
        file_id = f"file-{uuid.uuid4()}"
        meta = {"file_id": file_id, "filename": filename, "size": len(content), "media_type": media_type,
                "sha256": hashlib.sha256(content).hexdigest()}
        self.files[file_id] = (meta, content)
        self.owners[file_id] = {"uploaded_by": uploaded_by, "uploaded_at": self.now(), "agreement_id": None,
                                "pending": pending}
        return dict(meta)

    def provenance(self, file_id: str) -> dict | None:
        return dict(self.owners[file_id]) if file_id in self.owners and file_id in self.files else None

    def link(self, file_id: str, agreement_id: str) -> None:
        if file_id in self.owners:
            self.owners[file_id].update(agreement_id=agreement_id, pending=False)

    def pending_count(self, uploaded_by: str) -> int:
        return sum(1 for fid, o in self.owners.items()
                   if fid in self.files and o["pending"] and o["uploaded_by"] == uploaded_by)

    def expire_pending(self, uploaded_before: datetime) -> int:
        expired = [fid for fid, o in self.owners.items()
                   if fid in self.files and o["pending"] and o["uploaded_at"] < uploaded_before]
        for file_id in expired:
            self.delete(file_id)
        return len(expired)

    def meta(self, file_id: str) -> dict | None:
        stored = self.files.get(file_id)
        return dict(stored[0]) if stored else None

    def get_verified(self, file_id: str, expected_sha256: str | None = None) -> StoredFile:
        if file_id not in self.files:
            raise DomainError("file_not_found", f"{file_id} does not exist", kind=Refusal.NOT_FOUND)
        meta, content = self.files[file_id]
        actual = hashlib.sha256(content).hexdigest()
        for expected in (meta["sha256"], expected_sha256):
            if expected and expected != actual:
                raise DomainError("attachment_tampered",
                                  f"{file_id} does not match the sha256 recorded when it was attached",
                                  kind=Refusal.CONFLICT)
        return StoredFile(dict(meta), content)

    def delete(self, file_id: str) -> None:
        self.files.pop(file_id, None)

    def tamper(self, file_id: str, content: bytes) -> None:
        """Replace a file's bytes behind the store's back (what an intruder with DB access could do)."""
        meta, _ = self.files[file_id]
        self.files[file_id] = (meta, content)
