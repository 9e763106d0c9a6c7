"""The ``ExtensionIndex`` port on the agreements service's own database: one document per claim,
``{_id: "<old id>#<generation>", old_id, generation, extension_id, claimed_at}``.

Only inserts decide: the unique ``_id`` lets one claimant have each generation, on MongoDB and on
FerretDB alike (an update filtered on the previous holder is not a compare-and-set on FerretDB v1:
several concurrent ones all report a modification). The documents that stay behind are the
history of the agreement's extensions.
"""
from __future__ import annotations

from datetime import datetime

from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

COLLECTION = "extension_index"


class MongoExtensionIndex:
    """Claims of "the live extension of <old id>" (see ``ports.ExtensionIndex``)."""

    def __init__(self, db: Database, collection: str = COLLECTION):
        self._col = db[collection]

    def get(self, old_id: str) -> dict | None:
        doc = next(iter(self._col.find({"old_id": old_id}).sort("generation", DESCENDING).limit(1)), None)
        if doc is None:
            return None
        return {"extension_id": doc["extension_id"], "claimed_at": doc["claimed_at"], "generation": doc["generation"]}

    def insert(self, old_id: str, generation: int, extension_id: str, claimed_at: datetime) -> bool:
        try:
            self._col.insert_one({"_id": f"{old_id}#{generation}", "old_id": old_id, "generation": generation,
                                  "extension_id": extension_id, "claimed_at": claimed_at})
            return True
        except DuplicateKeyError:
            return False

    def release(self, old_id: str, extension_id: str) -> None:
        self._col.delete_many({"old_id": old_id, "extension_id": extension_id})
