"""Unique keys across streams (e.g. one partner per region code), without transactions.

A key is claimed by a stream before its events are appended. If the append then fails, the
claim is left behind pointing at a stream that does not exist; the next claimant notices
(``owner_exists`` is false) and takes it over, so a crash can never lock a key for ever.
"""
from __future__ import annotations

import abc
import threading
from typing import Callable

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError


class UniqueKeys(abc.ABC):
    """Port: claim ``key`` for ``owner``; return the other owner if someone holds it."""

    @abc.abstractmethod
    def _insert(self, key: str, owner: str) -> str | None:
        """Insert the claim, or return the current owner if the key exists."""

    @abc.abstractmethod
    def _replace(self, key: str, old_owner: str, owner: str) -> bool: ...

    @abc.abstractmethod
    def release(self, key: str, owner: str) -> None: ...

    def claim(self, key: str, owner: str, owner_exists: Callable[[str], bool]) -> str | None:
        """Claim ``key``; return None on success or the id of the live stream that holds it."""
        holder = self._insert(key, owner)
        if holder is None or holder == owner:
            return None
        if owner_exists(holder):
            return holder
        return None if self._replace(key, holder, owner) else self._insert(key, owner)


class InMemoryUniqueKeys(UniqueKeys):
    def __init__(self):
        self.keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def _insert(self, key, owner):
        with self._lock:
            holder = self.keys.get(key)
            if holder is None:
                self.keys[key] = owner
            return holder

    def _replace(self, key, old_owner, owner):
        with self._lock:
            if self.keys.get(key) == old_owner:
                self.keys[key] = owner
                return True
            return False

    def release(self, key, owner):
        with self._lock:
            if self.keys.get(key) == owner:
                del self.keys[key]


class MongoUniqueKeys(UniqueKeys):
    def __init__(self, db: Database, collection: str = "unique_keys"):
        self._col = db[collection]

    def _insert(self, key, owner):
        try:
            self._col.insert_one({"_id": key, "owner": owner})
            return None
        except DuplicateKeyError:
            doc = self._col.find_one({"_id": key})
            return doc["owner"] if doc else self._insert(key, owner)

    def _replace(self, key, old_owner, owner):
        return self._col.update_one({"_id": key, "owner": old_owner}, {"$set": {"owner": owner}}).modified_count == 1

    def release(self, key, owner):
        self._col.delete_one({"_id": key, "owner": owner})
