"""Read-model writes: a unit of work that batches MongoDB operations for one poll batch.

Projections never write directly; they add operations here and the consumer runner flushes
them with ordered bulk writes before committing Kafka offsets. ``versioned`` makes an update
idempotent: it applies only if the document has not yet seen this version of the stream, so
re-delivery after a crash between the flush and the offset commit changes nothing.
"""
from __future__ import annotations

from typing import Any, Mapping

from pymongo import UpdateOne
from pymongo.database import Database


# Read-model documents their own stream has filled in (``versioned`` creates a document first and
# fills it in the next operation; another stream may also create it before its own stream does).
FILLED = {"version": {"$exists": True}}


class UnitOfWork:
    """Ordered write operations grouped per collection at flush time."""

    def __init__(self, db: Database):
        self.db = db
        self._ops: list[tuple[str, Any]] = []

    def __len__(self) -> int:
        return len(self._ops)

    def add(self, collection: str, operation: Any) -> None:
        """Queue a pymongo write model (UpdateOne, InsertOne, DeleteOne, ReplaceOne…)."""
        self._ops.append((collection, operation))

    def versioned(self, collection: str, doc_id: Any, stream_id: str, version: int, *,
                  set_fields: Mapping[str, Any] | None = None, set_on_insert: Mapping[str, Any] | None = None,
                  unset_fields: list[str] | None = None, push: Mapping[str, Any] | None = None,
                  inc: Mapping[str, Any] | None = None) -> None:
        """Update ``doc_id`` once per stream version (creating it if absent).

        The last version applied from each source stream is kept in ``_seen.<stream_id>``;
        an update with a version not greater than that is skipped by its filter.
        """
        seen = f"_seen.{stream_id}"
        self.add(collection, UpdateOne({"_id": doc_id}, {"$setOnInsert": {seen: 0, **(set_on_insert or {})}},
                                       upsert=True))
        update: dict[str, Any] = {"$set": {seen: version, **(set_fields or {})}}
        if unset_fields:
            update["$unset"] = {f: "" for f in unset_fields}
        if push:
            update["$push"] = dict(push)
        if inc:
            update["$inc"] = dict(inc)
        # "$exists: false" covers documents created by another stream before this one touched them.
        self.add(collection, UpdateOne({"_id": doc_id, "$or": [{seen: {"$lt": version}}, {seen: {"$exists": False}}]},
                                       update))

    def mark(self) -> int:
        """A point to roll back to if the handler that follows fails."""
        return len(self._ops)

    def rollback(self, mark: int) -> None:
        del self._ops[mark:]

    def find_one(self, collection: str, query: Mapping[str, Any], projection: Any = None) -> dict | None:
        """Read after writing what is queued, so handlers see their own batch's writes."""
        self.flush()
        return self.db[collection].find_one(query, projection)

    # FerretDB v1 keeps a result set open per matched update statement until the command ends and
    # has 100 connections per database: a bulk command of ~100 matching updates never returns.
    MAX_OPS_PER_COMMAND = 40

    def flush(self) -> int:
        """Execute the queued operations in order; return how many were sent."""
        sent = len(self._ops)
        run_collection, run = None, []
        for collection, operation in self._ops:
            if run and (collection != run_collection or len(run) >= self.MAX_OPS_PER_COMMAND):
                self.db[run_collection].bulk_write(run, ordered=True)
                run = []
            run_collection = collection
            run.append(operation)
        if run:
            self.db[run_collection].bulk_write(run, ordered=True)
        self._ops = []
        return sent
