"""Idempotency-Key support for POST commands: a client retry returns the first result.

The first request with a key reserves it (``pending``), runs, and stores its response; a
retry with the same key and body gets that stored response; the same key with another body
is refused (422); a retry while the first is still running gets 409. A reservation left by a
crashed process expires after ``stale_after`` seconds so the key is not blocked for ever.
"""
from __future__ import annotations

import abc
import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError


@dataclass
class StoredResponse:
    """What a finished request answered (enough to answer a retry byte for byte)."""

    status: int
    body: bytes
    headers: dict


@dataclass
class Reservation:
    """The outcome of reserving a key: ``fresh`` to run the request, or an earlier state."""

    fresh: bool
    fingerprint_matches: bool = True
    response: StoredResponse | None = None  # set when the earlier request finished


def key_id(scope: str, key: str) -> str:
    """Storage id of a key within a scope (caller, method, path)."""
    return hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()


class IdempotencyStore(abc.ABC):
    """Port: remembers requests by key."""

    stale_after = 60.0

    @abc.abstractmethod
    def reserve(self, kid: str, fingerprint: str) -> Reservation: ...

    @abc.abstractmethod
    def complete(self, kid: str, response: StoredResponse) -> None: ...

    @abc.abstractmethod
    def release(self, kid: str) -> None:
        """Forget a reservation whose request failed, so a retry can run it again."""


class InMemoryIdempotencyStore(IdempotencyStore):
    """Fake for unit tests."""

    def __init__(self):
        self._items: dict[str, dict] = {}
        self._lock = threading.Lock()

    def reserve(self, kid, fingerprint):
        now = datetime.now(timezone.utc)
        with self._lock:
            item = self._items.get(kid)
            if item is None or (item["response"] is None and now - item["at"] > timedelta(seconds=self.stale_after)):
                self._items[kid] = {"fingerprint": fingerprint, "response": None, "at": now}
                return Reservation(True)
            return Reservation(False, item["fingerprint"] == fingerprint, item["response"])

    def complete(self, kid, response):
        with self._lock:
            self._items[kid]["response"] = response

    def release(self, kid):
        with self._lock:
            self._items.pop(kid, None)


class MongoIdempotencyStore(IdempotencyStore):
    """Keys in a collection of the service's own database (unique ``_id`` = reservation)."""

    def __init__(self, db: Database, collection: str = "idempotency_keys"):
        self._col = db[collection]

    def reserve(self, kid, fingerprint):
        now = datetime.now(timezone.utc)
        try:
            self._col.insert_one({"_id": kid, "fingerprint": fingerprint, "state": "pending", "at": now})
            return Reservation(True)
        except DuplicateKeyError:
            pass
        doc = self._col.find_one({"_id": kid})
        if doc is None:  # released in between: try once more
            return self.reserve(kid, fingerprint)
        if doc["state"] == "pending":
            stale = now.replace(tzinfo=None) - doc["at"].replace(tzinfo=None) > timedelta(seconds=self.stale_after)
            if stale:
                taken = self._col.update_one({"_id": kid, "state": "pending", "at": doc["at"]},
                                             {"$set": {"at": now, "fingerprint": fingerprint}})
                if taken.modified_count == 1:
                    return Reservation(True)
            return Reservation(False, doc["fingerprint"] == fingerprint)
        response = StoredResponse(doc["status"], bytes(doc["body"]), doc["headers"])
        return Reservation(False, doc["fingerprint"] == fingerprint, response)

    def complete(self, kid, response):
        self._col.update_one({"_id": kid}, {"$set": {"state": "done", "status": response.status,
                                                    "body": response.body, "headers": response.headers}})

    def release(self, kid):
        self._col.delete_one({"_id": kid, "state": "pending"})
