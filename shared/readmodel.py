"""Read-model writes: a unit of work that batches MongoDB operations for one poll batch.

Projections never write directly; they add operations here and the consumer runner flushes
them with ordered bulk writes before committing Kafka offsets. ``versioned`` makes an update
idempotent: it applies only if the document has not yet seen this version of the stream, so
re-delivery after a crash between the flush and the offset commit changes nothing.
"""
from __future__ import annotations

from typing import Any, Mapping

from pymongo import InsertOne, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, ConnectionFailure, ExecutionTimeout, PyMongoError, WTimeoutError

DUPLICATE_KEY = 11000


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unavailable (retry the same writes later) rather than
    that it refused what was written (retrying the same writes fails again).

    Connection failures, timeouts and errors labelled retryable are transient; everything else
    (an invalid key name, an integer beyond 64 bits, a string that is not UTF-8, an answer the
    driver cannot read) is about the data and would fail again at every retry.
    """
    if isinstance(exc, (ConnectionFailure, ExecutionTimeout, WTimeoutError)):
        return True
    return isinstance(exc, PyMongoError) and (exc.has_error_label("RetryableWriteError")
                                              or exc.has_error_label("TransientTransactionError"))


def safe_key(value: object) -> str:
    """``str(value)`` usable as a key of a read-model document whatever the value (a tally by
    urusan or OPD code, say): a NUL byte, a leading ``$`` and ``.`` are replaced by look-alikes
    (U+FFFD, U+FF04, U+FF0E) that MongoDB-protocol servers accept as plain key text."""
    text = str(value).replace("\x00", "\ufffd").replace(".", "\uff0e")
    return "\uff04" + text[1:] if text.startswith("$") else text


class WriteRefused(Exception):
    """The database (or the driver encoding for it) refused queued writes for their content.

    Raised by ``UnitOfWork.flush`` instead of the cause, so the consumer runner can tell it from
    a handler's own failure and from an unavailable database: the batch is then applied again one
    event at a time to find the event whose writes are refused (see ``ConsumerRunner``).
    """

    def __init__(self, collection: str, cause: BaseException):
        super().__init__(f"writes to {collection} refused: {cause!r}")
        self.collection, self.cause = collection, cause


class _InsertNew(InsertOne):
    """An insert that is skipped if a document with its _id exists (see ``insert_new``)."""


# Read-model documents their own stream has filled in (``versioned`` creates a document first and
# fills it in the next operation; another stream may also create it before its own stream does).
FILLED = {"version": {"$exists": True}}


class UnitOfWork:
    """Ordered write operations, sent as bulk writes per collection.

    Operations on one collection are always sent in the order they were added. Operations on
    different collections are independent (MongoDB has no cross-collection constraints), so
    ``find_one`` sends only the reading collection's queued operations and leaves the others
    batched: a handler reads its own writes without turning every read into a round trip for
    the whole batch.
    """

    def __init__(self, db: Database):
        self.db = db
        self._ops: list[tuple[int, str, Any]] = []  # (sequence number, collection, write model)
        self._seq = 0

    def __len__(self) -> int:
        return len(self._ops)

    def add(self, collection: str, operation: Any) -> None:
        """Queue a pymongo write model (UpdateOne, InsertOne, DeleteOne, ReplaceOne…)."""
        self._ops.append((self._seq, collection, operation))
        self._seq += 1

    def versioned(self, collection: str, doc_id: Any, stream_id: str, version: int, *,
                  set_fields: Mapping[str, Any] | None = None, set_on_insert: Mapping[str, Any] | None = None,
                  unset_fields: list[str] | None = None, push: Mapping[str, Any] | None = None,
                  inc: Mapping[str, Any] | None = None, create: bool = True) -> None:
        """Update ``doc_id`` once per stream version (creating it first if absent).

        The last version applied from each source stream is kept in ``_seen.<stream_id>``;
        an update with a version not greater than that is skipped by its filter.
        ``create=False`` leaves out the creating upsert (one write fewer) when the document is
        known to exist: a stream's own document after its first event, which created it (the
        runner applies every version in order, never skipping one).
        """
        seen = f"_seen.{stream_id}"
        if create:
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

    def insert_new(self, collection: str, document: Mapping[str, Any]) -> None:
        """Insert ``document`` unless its ``_id`` exists: an append-only entry keyed by something
        unique such as an event id, so a redelivered event adds nothing. Cheaper than an upsert
        (on FerretDB an insert is a fraction of the cost of an update)."""
        self.add(collection, _InsertNew(dict(document)))

    def mark(self) -> int:
        """A point to roll back to if the handler that follows fails (operations already sent stay)."""
        return self._seq

    def rollback(self, mark: int) -> None:
        self._ops = [op for op in self._ops if op[0] < mark]

    def find_one(self, collection: str, query: Mapping[str, Any], projection: Any = None) -> dict | None:
        """Read after sending what is queued for ``collection``, so handlers see their own writes."""
        self.flush(collection)
        return self.db[collection].find_one(query, projection)

    # FerretDB v1 keeps a result set open per matched update statement until the command ends and
    # has 100 connections per database: a bulk command of ~100 matching updates never returns.
    MAX_OPS_PER_COMMAND = 40

    def flush(self, collection: str | None = None) -> int:
        """Send the queued operations (only ``collection``'s if given); return how many.

        One ordered bulk write per collection (split at ``MAX_OPS_PER_COMMAND``), collections in
        the order they were first written to, so interleaved handlers cost one command per
        collection rather than one per switch between collections.
        """
        chosen = [op for op in self._ops if collection is None or op[1] == collection]
        if not chosen:
            return 0
        self._ops = [op for op in self._ops if collection is not None and op[1] != collection]
        by_collection: dict[str, list[Any]] = {}
        for _seq, name, operation in chosen:
            by_collection.setdefault(name, []).append(operation)
        for name, operations in by_collection.items():
            run: list[Any] = []
            for operation in operations:
                if run and (len(run) >= self.MAX_OPS_PER_COMMAND
                            or isinstance(operation, _InsertNew) != isinstance(run[0], _InsertNew)):
                    self._send(name, run)
                    run = []
                run.append(operation)
            self._send(name, run)
        return len(chosen)

    def _send(self, collection: str, run: list[Any]) -> None:
        try:
            self._bulk(collection, run)
        except Exception as exc:
            if is_transient(exc):
                raise
            raise WriteRefused(collection, exc) from exc

    def _bulk(self, collection: str, run: list[Any]) -> None:
        if not isinstance(run[0], _InsertNew):
            self.db[collection].bulk_write(run, ordered=True)
            return
        try:
            self.db[collection].bulk_write(run, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])) \
                    or exc.details.get("writeConcernErrors"):
                raise
