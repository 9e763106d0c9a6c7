"""Attachments in GridFS: stored with their sha256, which the events record, checked on download.

What an upload brings besides its bytes is untrusted and ends up in an event for good, then in a
``Content-Disposition`` header at every download: the filename is reduced to one line of printable
text of bounded length (``safe_filename``), and only document and evidence media types are kept
(``MEDIA_TYPES``), so a file can never be served back as HTML or script. Downloads stream the
file in chunks (``StoredFile.chunks``) with headers that make browsers save, not render, it
(``download_headers``).
"""
from __future__ import annotations

import hashlib
import mimetypes
import posixpath
import re
import unicodedata
import urllib.parse
import uuid
from typing import BinaryIO, Callable, Iterator

import gridfs
from pymongo.database import Database

from shared.domain import DomainError, Refusal

CHUNK = 256 * 1024
MAX_FILENAME = 150  # characters, extension included

# Documents (naskah, KAK, studi kelayakan, scans) and evidence (photos, spreadsheets, archives).
MEDIA_TYPES = frozenset({
    "application/pdf",
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/heic",
    "application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation", "application/rtf",
    "text/plain", "text/csv",
    "application/zip", "application/x-7z-compressed",
})
# What clients send for "some file": the type is then taken from the filename's extension.
UNSPECIFIC = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/x-download"})
ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-zip-compressed": "application/zip",
           "application/x-pdf": "application/pdf", "image/x-png": "image/png"}


class TooLarge(Exception):
    """The upload exceeds the configured limit."""


def safe_filename(name: str | None) -> str:
    """``name`` as one line of printable text: no control or format characters (CR/LF, NUL, bidi
    overrides), no path, at most ``MAX_FILENAME`` characters keeping the extension; "berkas" if
    nothing is left."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/")
    text = posixpath.basename(text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text
                   if unicodedata.category(c) not in ("Cf", "Cs", "Co", "Cn"))
    text = re.sub(r"\s+", " ", text).strip(" .")
    if len(text) > MAX_FILENAME:
        stem, dot, ext = text.rpartition(".")
        ext = dot + ext if dot and 0 < len(ext) <= 10 else ""
        text = (stem if ext else text)[:MAX_FILENAME - len(ext)].rstrip(" .") + ext
    return text or "berkas"


def accepted_media_type(declared: str | None, filename: str) -> str:
    """The media type an upload is stored (and later served) with, or a refusal (422
    ``media_type_not_allowed``) for anything but documents and evidence."""
    media_type = (declared or "").split(";")[0].strip().lower()
    media_type = ALIASES.get(media_type, media_type)
    if media_type in UNSPECIFIC:
        guessed = mimetypes.guess_type(filename, strict=False)[0] or ""
        media_type = ALIASES.get(guessed, guessed)
    if media_type not in MEDIA_TYPES:
        raise DomainError("media_type_not_allowed",
                          f"{media_type or 'this kind of file'} is not accepted; upload a document or evidence "
                          "(PDF, image, office document, CSV, text, ZIP)",
                          fields={"file": [f"media type {media_type or 'unknown'} is not allowed"]})
    return media_type


def served_media_type(stored: str | None) -> str:
    """The type a download is served with: the stored one if allowed (files stored before the
    allow-list may carry anything), else a download of opaque bytes."""
    return stored if stored in MEDIA_TYPES else "application/octet-stream"


def download_headers(meta: dict) -> dict[str, str]:
    """Headers of a download: saved as a file under its (sanitised) name, never sniffed or rendered."""
    name = safe_filename(meta.get("filename"))
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return {
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; "
                               f"filename*=UTF-8''{urllib.parse.quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }


class StoredFile:
    """A stored file's metadata and bytes: ``chunks()`` streams them, ``content`` reads them all."""

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


class AttachmentStore:
    """GridFS bucket ``attachments`` of the agreements database."""

    def __init__(self, db: Database, max_bytes: int):
        self._bucket = gridfs.GridFSBucket(db, bucket_name="attachments")
        self._files = db["attachments.files"]
        self.max_bytes = max_bytes

    def put(self, stream: BinaryIO, filename: str, media_type: str, uploaded_by: str) -> dict:
        """Store the upload; return its metadata (file_id, filename, size, media_type, sha256).

        The filename is sanitised and the media type checked against the allow-list first
        (``safe_filename``, ``accepted_media_type``)."""
        filename = safe_filename(filename)
        media_type = accepted_media_type(media_type, filename)
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
