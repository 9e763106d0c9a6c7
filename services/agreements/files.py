"""Attachments in GridFS: stored with their sha256, which the events record, checked on download."""
from __future__ import annotations

import hashlib
import uuid
from typing import BinaryIO

import gridfs
from pymongo.database import Database

from shared.domain import DomainError, Refusal

from services.agreements.ports import StoredFile, TooLarge

CHUNK = 256 * 1024


class GridFSAttachmentStore:
    """The ``AttachmentStore`` port on the GridFS bucket ``attachments`` of the agreements database."""

    def __init__(self, db: Database, max_bytes: int):
        self._bucket = gridfs.GridFSBucket(db, bucket_name="attachments")
        self._files = db["attachments.files"]
        self.max_bytes = max_bytes

    def put(self, stream: BinaryIO, filename: str, media_type: str, uploaded_by: str) -> dict:
        """Store the upload; return its metadata (file_id, filename, size, media_type, sha256)."""
        digest, size = hashlib.sha256(), 0
        file_id = f"file-{uuid.uuid4()}"
        upload = self._bucket.open_upload_stream_with_id(
            file_id, filename, metadata={"media_type": media_type, "uploaded_by": uploaded_by})
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

    def get_verified(self, file_id: str, expected_sha256: str | None = None) -> StoredFile:
        """The file's bytes, refused (409 ``attachment_tampered``) if they no longer match their hash."""
        meta = self.meta(file_id)
        if meta is None:
            raise DomainError("file_not_found", f"{file_id} does not exist", kind=Refusal.NOT_FOUND)
        content = self._bucket.open_download_stream(file_id).read()
        actual = hashlib.sha256(content).hexdigest()
        for expected in (meta["sha256"], expected_sha256):
            if expected and expected != actual:
                raise DomainError("attachment_tampered",
                                  f"{file_id} does not match the sha256 recorded when it was attached", kind=Refusal.CONFLICT)
        return StoredFile(meta, content)

    def delete(self, file_id: str) -> None:
        try:
            self._bucket.delete(file_id)
        except gridfs.errors.NoFile:
            pass
