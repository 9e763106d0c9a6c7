"""Unique keys across streams (e.g. one partner per region code), without transactions.

A key is claimed by a stream before its events are appended. If the append then fails, the
claim is left behind pointing at a stream that does not exist; the next claimant notices
(``owner_exists`` is false) and takes it over, so a crash can never lock a key for ever.

A claim whose stream does not exist *yet* may also be one whose append is still in flight (two
requests racing for the same key). A claimant that passes ``pending_for`` and whose ``owner_exists``
answers ``None`` for "no such stream" (rather than ``False``: "it exists but no longer holds the
key", e.g. a cancelled evaluation) treats such a claim as live for that long after it was made, so
of two concurrent claimants only one goes on to append; without it (the default) an unbacked claim
is taken over at once.
"""
from __future__ import annotations

import abc
import threading
import time
from typing import Callable

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError


class UniqueKeys(abc.ABC):
    """Port: claim ``key`` for ``owner``; return the other owner if someone holds it."""

    @abc.abstractmethod
    def _insert(self, key: str, owner: str, at: float) -> tuple[str, float] | None:
        """Insert the claim made at ``at`` (epoch seconds), or return the current (owner, claimed at)."""

    @abc.abstractmethod
    def _replace(self, key: str, old_owner: str, owner: str, at: float) -> bool: ...

    @abc.abstractmethod
    def release(self, key: str, owner: str) -> None:
        """Free ``key`` if ``owner`` holds it (anyone else's claim is left alone)."""

    def claim(self, key: str, owner: str, owner_exists: Callable[[str], bool | None], *,
              pending_for: float = 0.0, now: Callable[[], float] = time.time) -> str | None:
        """Claim ``key``; return None on success or the id of the stream that holds it: one that
        ``owner_exists`` (True), or one not stored at all (None) within ``pending_for`` seconds of
        its claim — its append may still be under way. ``False``: the holder gave the key up."""
        at = now()
        held = self._insert(key, owner, at)
        if held is None or held[0] == owner:
            return None
        holder, claimed_at = held
        exists = owner_exists(holder)
        if exists or (exists is None and at - claimed_at < pending_for):
            return holder
        if self._replace(key, holder, owner, at):
            return None
        held = self._insert(key, owner, at)
        return None if held is None or held[0] == owner else held[0]


class InMemoryUniqueKeys(UniqueKeys):
    """Fake ``UniqueKeys`` for unit tests (one process, a lock for concurrent claims); ``keys`` maps
    each key to its owner."""

    def __init__(self):
        self.keys: dict[str, str] = {}
        self.claimed_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def _insert(self, key, owner, at):
        with self._lock:
            if key in self.keys:
                return self.keys[key], self.claimed_at[key]
            self.keys[key], self.claimed_at[key] = owner, at
            return None

    def _replace(self, key, old_owner, owner, at):
        with self._lock:
            if self.keys.get(key) == old_owner:
                self.keys[key], self.claimed_at[key] = owner, at
                return True
            return False

    def release(self, key, owner):
        with self._lock:
            if self.keys.get(key) == owner:
                del self.keys[key], self.claimed_at[key]


class MongoUniqueKeys(UniqueKeys):
    """``UniqueKeys`` on a MongoDB collection, written by inserts only, so the server's unique ``_id``
    decides every race — also on FerretDB, where an update filtered on the previous holder is not a
    compare-and-set (two concurrent takeovers of one stale claim could both report success).

    A key's claims are generations: ``_id`` = the key (generation 0, the document earlier versions
    wrote and updated in place), then ``<key>#~1``, ``<key>#~2`` …; the newest one holds the key.
    Taking a key over or releasing it inserts the next generation (``owner`` None: released), so of
    two claimants only the one whose insert lands wins. Generations are read by ``_id`` (cheap on
    every backend) and are few: one per takeover or release of that key.
    """

    def __init__(self, db: Database, collection: str = "unique_keys"):
        self._col = db[collection]

    @staticmethod
    def _id(key: str, generation: int) -> str:
        return key if generation == 0 else f"{key}#~{generation}"

    def _newest(self, key: str) -> tuple[int, dict | None]:
        """The newest generation of ``key`` and its document (-1, None: never claimed)."""
        generation, newest = -1, None
        while (doc := self._col.find_one({"_id": self._id(key, generation + 1)})) is not None:
            generation, newest = generation + 1, doc
        return generation, newest

    def _put(self, key: str, generation: int, owner: str | None, at: float) -> bool:
        try:
            self._col.insert_one({"_id": self._id(key, generation), "key": key, "generation": generation,
                                  "owner": owner, "claimed_at": at})
            return True
        except DuplicateKeyError:
            return False

    def _insert(self, key, owner, at):
        while True:
            generation, doc = self._newest(key)
            if doc is not None and doc.get("owner") is not None:
                # claims written before claimed_at was recorded count as old
                return doc["owner"], doc.get("claimed_at", 0.0)
            if self._put(key, generation + 1, owner, at):  # never claimed, or released
                return None
            # another claimant's generation landed first: look again

    def _replace(self, key, old_owner, owner, at):
        generation, doc = self._newest(key)
        return doc is not None and doc.get("owner") == old_owner and self._put(key, generation + 1, owner, at)

    def release(self, key, owner):
        generation, doc = self._newest(key)
        if doc is not None and doc.get("owner") == owner:
            self._put(key, generation + 1, None, time.time())  # lost to a takeover meanwhile: nothing to free
