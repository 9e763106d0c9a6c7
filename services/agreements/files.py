"""Attachments in GridFS: stored with their sha256, which the events record, checked on download.

The upload rules (a sanitised filename, allow-listed media types, download headers) are in
``uploads.py``, applied alike by this adapter and by the in-memory fake. Downloads stream the
file in chunks (``StoredFile.chunks``).
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone
from typing import BinaryIO, Iterator

import gridfs
from pymongo.database import Database

from shared.domain import DomainError, Refusal

from services.agreements.ports import StoredFile, TooLarge
from services.agreements.uploads import accepted_media_type, safe_filename

CHUNK = 256 * 1024
class GridFSAttachmentStore:
    """The ``AttachmentStore`` port on the GridFS bucket ``attachments`` of the agreements database."""

    def __init__(self, db: Database, max_bytes: int):
        self._bucket = gridfs.GridFSBucket(db, bucket_name="attachments")
        self._files = db["attachments.files"]
        self.max_bytes = max_bytes

    def put(self, stream: BinaryIO, filename: str, media_type: str, uploaded_by: str, *,
            pending: bool = False) -> dict:
        """Store the upload; return its metadata (file_id, filename, size, media_type, sha256).

        The filename is sanitised and the media type checked against the allow-list first
        (``safe_filename``, ``accepted_media_type``)."""
        filename = safe_filename(filename)
        media_type = accepted_media_type(media_type, filename)
        digest, size = hashlib.sha256(), 0
        file_id = f"file-{uuid.uuid4()}"
        upload = self._bucket.open_upload_stream_with_id(
            file_id, filename, metadata={"media_type": media_type, "uploaded_by": uploaded_by, "pending": pending,
                                         "agreement_id": None})
        try:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise TooLarge()
                digest.update(chunk)
                upload.write(chunk)
        except BaseException:
            upload.abort()
            raise
        upload.close()
        sha256 = digest.hexdigest()
        self._files.update_one({"_id": file_id}, {"$set": {"metadata.sha256": sha256}})
        return {"file_id": file_id, "filename": filename, "size": size, "media_type": media_type, "sha256": sha256}

    def meta(self, file_id: str) -> dict | None:
        doc = self._files.find_one({"_id": file_id})
        if doc is None:
            return None
        return {"file_id": file_id, "filename": doc["filename"], "size": doc["length"],
                "media_type": doc["metadata"]["media_type"], "sha256": doc["metadata"].get("sha256")}

    def provenance(self, file_id: str) -> dict | None:
        doc = self._files.find_one({"_id": file_id}, {"metadata": 1, "uploadDate": 1})
        if doc is None:
            return None
        metadata = doc.get("metadata") or {}
        uploaded_at = doc["uploadDate"]
        return {"uploaded_by": metadata.get("uploaded_by"), "agreement_id": metadata.get("agreement_id"),
                "pending": bool(metadata.get("pending")),  # files from before pending uploads: never expire
                "uploaded_at": uploaded_at if uploaded_at.tzinfo else uploaded_at.replace(tzinfo=timezone.utc)}

    def link(self, file_id: str, agreement_id: str) -> None:
        self._files.update_one({"_id": file_id}, {"$set": {"metadata.agreement_id": agreement_id,
                                                          "metadata.pending": False}})

    def pending_count(self, uploaded_by: str) -> int:
        return self._files.count_documents({"metadata.pending": True, "metadata.uploaded_by": uploaded_by})

    def expire_pending(self, uploaded_before: datetime) -> int:
        expired = [d["_id"] for d in self._files.find({"metadata.pending": True, "uploadDate": {"$lt": uploaded_before}},
                                                      {"_id": 1})]
        for file_id in expired:
            self.delete(file_id)
        return len(expired)

    def get_verified(self, file_id: str, expected_sha256: str | None = None) -> StoredFile:
        """The file, refused (409 ``attachment_tampered``) if its bytes no longer match their hash.

        The bytes are hashed in a first streaming pass and streamed again to the caller, so a
        download holds one chunk in memory at a time, never the whole file."""
        meta = self.meta(file_id)
        if meta is None:
            raise DomainError("file_not_found", f"{file_id} does not exist", kind=Refusal.NOT_FOUND)
        digest = hashlib.sha256()
        for chunk in self._read(file_id):
            digest.update(chunk)
        actual = digest.hexdigest()
        for expected in (meta["sha256"], expected_sha256):
            if expected and expected != actual:
                raise DomainError("attachment_tampered",
                                  f"{file_id} does not match the sha256 recorded when it was attached", kind=Refusal.CONFLICT)
        return StoredFile(meta, chunks=lambda: self._read(file_id))

    def _read(self, file_id: str) -> Iterator[bytes]:
        with self._bucket.open_download_stream(file_id) as stream:
            while chunk := stream.read(CHUNK):
                yield chunk

    def delete(self, file_id: str) -> None:
        try:
            self._bucket.delete(file_id)
        except gridfs.errors.NoFile:
            pass
