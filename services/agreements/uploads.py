"""What an upload may be, whichever store keeps it.

What an upload brings besides its bytes is untrusted and ends up in an event for good, then in a
``Content-Disposition`` header at every download: the filename is reduced to one line of printable
text of bounded length (``safe_filename``), and only document and evidence media types are kept
(``MEDIA_TYPES``), so a file can never be served back as HTML or script; downloads carry headers
that make browsers save, not render, it (``download_headers``). Pure functions: the GridFS store
and the in-memory fake apply the same rules.
"""
from __future__ import annotations

import mimetypes
import posixpath
import re
import unicodedata
import urllib.parse

from shared.domain import DomainError

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
