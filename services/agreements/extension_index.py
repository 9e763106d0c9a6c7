"""The ``ExtensionIndex`` port on the agreements service's own database: one document per extended
agreement, ``{_id: <old id>, extension_id, claimed_at}``.

The unique ``_id`` makes the first claim atomic (two concurrent inserts: one wins) and a takeover
is an update filtered on the holder it replaces (compare-and-set), so no transaction is needed.
"""
from __future__ import annotations

from datetime import datetime

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

COLLECTION = "extension_index"


class MongoExtensionIndex:
    """Claims of "the live extension of <old id>" (see ``ports.ExtensionIndex``)."""

    def __init__(self, db: Database, collection: str = COLLECTION):
        self._col = db[collection]

    def get(self, old_id: str) -> dict | None:
        doc = self._col.find_one({"_id": old_id})
        return {"extension_id": doc["extension_id"], "claimed_at": doc["claimed_at"]} if doc else None

    def insert(self, old_id: str, extension_id: str, claimed_at: datetime) -> bool:
        try:
            self._col.insert_one({"_id": old_id, "extension_id": extension_id, "claimed_at": claimed_at})
            return True
        except DuplicateKeyError:
            return False

    def replace(self, old_id: str, holder: str, extension_id: str, claimed_at: datetime) -> bool:
        result = self._col.update_one({"_id": old_id, "extension_id": holder},
                                      {"$set": {"extension_id": extension_id, "claimed_at": claimed_at}})
        return result.modified_count == 1

    def release(self, old_id: str, extension_id: str) -> None:
        self._col.delete_one({"_id": old_id, "extension_id": extension_id})
