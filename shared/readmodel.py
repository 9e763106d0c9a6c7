"""Read-model writes: a unit of work that batches MongoDB operations for one poll batch.

Projections never write directly; they add operations here and the consumer runner flushes
them with ordered bulk writes before committing Kafka offsets. ``versioned`` makes an update
idempotent: it applies only if the document has not yet seen this version of the stream, so
re-delivery after a crash between the flush and the offset commit changes nothing.

At the flush, the versioned updates one stream makes to one document are *coalesced* into one
update (fields set merged, the last value winning; pushes concatenated; increments summed; the
``_seen`` version at the highest), so a batch writes each document it touches once rather than
once per event. See ``_Group`` for when updates are merged and how a merged update stays exactly
as idempotent as the updates it replaces.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from pymongo import InsertOne, UpdateOne
from pymongo.database import Database

from shared.mongo import JOURNALED
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


def _guard(seen: str, version: int) -> dict:
    # "$exists: false" covers documents created by another stream before this one touched them.
    return {"$or": [{seen: {"$lt": version}}, {seen: {"$exists": False}}]}


@dataclass
class _Change:
    """One queued ``versioned`` update, kept as data until the flush (which may merge it)."""

    doc_id: Any
    stream_id: str
    version: int
    set_fields: dict
    unset_fields: list
    push: dict
    inc: dict

    @property
    def seen(self) -> str:
        return f"_seen.{self.stream_id}"

    def model(self) -> UpdateOne:
        """The update as one event applies it alone."""
        update: dict[str, Any] = {"$set": {self.seen: self.version, **self.set_fields}}
        if self.unset_fields:
            update["$unset"] = {f: "" for f in self.unset_fields}
        if self.push:
            update["$push"] = dict(self.push)
        if self.inc:
            update["$inc"] = dict(self.inc)
        return UpdateOne({"_id": self.doc_id, **_guard(self.seen, self.version)}, update)

    def paths(self) -> list[tuple[str, str, Any]] | None:
        """``(path, operator, value)`` of every field it writes; None if it cannot be merged
        (a ``$push`` with modifiers other than ``$each``: ``$slice``, ``$sort``, ``$position``)."""
        out: list[tuple[str, str, Any]] = [(k, "set", v) for k, v in self.set_fields.items()]
        out += [(k, "unset", None) for k in self.unset_fields]
        out += [(k, "inc", v) for k, v in self.inc.items()]
        for k, v in self.push.items():
            if isinstance(v, Mapping) and any(str(key).startswith("$") for key in v):
                if set(v) != {"$each"}:
                    return None
                out.append((k, "push", list(v["$each"])))
            else:
                out.append((k, "push", [v]))
        return out


def _related(a: str, b: str) -> bool:
    """Whether two distinct paths overlap (one is a prefix of the other): one update cannot hold both."""
    return a.startswith(b + ".") or b.startswith(a + ".")


@dataclass
class _Group:
    """Consecutive versioned updates of one document by one stream, sent as one merged update.

    Merging is exact only where the result cannot depend on the order inside the group: a field
    set or unset again keeps the last value, increments of one field add up, pushes to one field
    concatenate in order. Anything else (an increment after a set of the same field, overlapping
    paths such as ``a`` and ``a.b``, a push with modifiers) closes the group and the next update
    starts a new one.

    Idempotence: the merged update is guarded by the group's *first* version, so it applies on a
    document that has seen none of the group (the usual case) and is skipped on one that has
    seen all of it (a redelivery). A document that has seen only part of the group (the read model
    ran ahead of the committed offsets after a crash, with other batch boundaries, or another
    instance applied part of it during a rebalance) is found after the write (``UnitOfWork``
    verifies every merged update) and gets the rest of the group, merged, guarded by the exact
    version it has seen.
    """

    first: _Change
    changes: list[_Change] = field(default_factory=list)
    fields: dict[str, tuple[str, Any]] = field(default_factory=dict)
    mergeable: bool = True

    def __post_init__(self) -> None:
        self.changes = [self.first]
        paths = self.first.paths()
        self.mergeable = paths is not None and self._fold(paths, self.fields)

    def __len__(self) -> int:
        return len(self.changes)

    @staticmethod
    def _fold(paths: list[tuple[str, str, Any]], fields: dict[str, tuple[str, Any]]) -> bool:
        """Fold ``paths`` into ``fields``; False (``fields`` then half-updated) on a conflict."""
        for path, op, value in paths:
            old = fields.get(path)
            if old is None:
                if any(_related(path, other) for other in fields):
                    return False
                fields[path] = (op, value)
            elif op in ("set", "unset"):
                fields.pop(path)  # re-inserted: the last writer's place in the update
                fields[path] = (op, value)
            elif op == old[0] == "inc":
                fields[path] = ("inc", old[1] + value)
            elif op == old[0] == "push":
                fields[path] = ("push", old[1] + value)
            else:
                return False
        return True

    def absorb(self, change: _Change) -> bool:
        """Merge ``change`` (a later version of the same stream and document) if it can be."""
        if not self.mergeable or change.stream_id != self.first.stream_id or change.version <= self.changes[-1].version:
            return False
        paths = change.paths()
        trial = dict(self.fields)
        if paths is None or not self._fold(paths, trial):
            return False
        self.fields = trial
        self.changes.append(change)
        return True

    @property
    def last_version(self) -> int:
        return self.changes[-1].version

    def model(self, after: int | None = None) -> UpdateOne:
        """The merged update of the changes with a version above ``after`` (all if None), guarded
        by the first version (``after`` None) or by exactly ``after`` having been seen."""
        if len(self.changes) == 1 and after is None:
            return self.first.model()
        changes = [c for c in self.changes if after is None or c.version > after]
        fields: dict[str, tuple[str, Any]] = {}
        for change in changes:
            self._fold(change.paths() or [], fields)
        seen = self.first.seen
        update: dict[str, dict] = {"$set": {seen: self.last_version}}
        for path, (op, value) in fields.items():
            if op == "set":
                update["$set"][path] = value
            elif op == "unset":
                update.setdefault("$unset", {})[path] = ""
            elif op == "inc":
                update.setdefault("$inc", {})[path] = value
            else:
                update.setdefault("$push", {})[path] = {"$each": value}
        guard = _guard(seen, changes[0].version) if after is None else {seen: after}
        return UpdateOne({"_id": self.first.doc_id, **guard}, update)

    def partly_seen(self) -> UpdateOne:
        """An update that changes nothing and matches the document only if it has seen part of
        the group, not all of it (counted after the merged update was sent)."""
        seen = self.first.seen
        return UpdateOne({"_id": self.first.doc_id, seen: {"$gte": self.first.version, "$lt": self.last_version}},
                         {"$max": {seen: self.first.version}})


def _key(doc_id: Any) -> Any:
    """A hashable stand-in for a document _id (ids may be dicts or lists)."""
    try:
        hash(doc_id)
        return (type(doc_id).__name__, doc_id)
    except TypeError:
        return ("repr", repr(doc_id))


def _doc_key(operation: Any) -> tuple[bool, Any]:
    """``(True, _id)`` of the one document a write model touches, ``(False, None)`` if unknown."""
    if isinstance(operation, InsertOne):
        doc = operation._doc  # noqa: SLF001 - pymongo keeps the document there
        return ("_id" in doc, doc.get("_id"))
    spec = getattr(operation, "_filter", None)
    if isinstance(spec, Mapping) and "_id" in spec and not isinstance(spec["_id"], Mapping):
        return True, spec["_id"]
    return False, None


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

    def __init__(self, db: Database, durable: tuple[str, ...] = ()):
        """``durable``: collections written last in a full flush, journaled (``shared.mongo.JOURNALED``),
        which makes the flush's earlier writes durable too when ``db`` writes without the journal."""
        self.db = db
        self.durable = durable
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
        an update with a version not greater than that is skipped by its filter. Several versions
        of one stream for one document in a batch are written as one update (see ``_Group``).
        ``create=False`` leaves out the creating upsert (one write fewer) when the document is
        known to exist: a stream's own document after its first event, which created it (the
        runner applies every version in order, never skipping one).
        """
        seen = f"_seen.{stream_id}"
        if create:
            self.add(collection, UpdateOne({"_id": doc_id}, {"$setOnInsert": {seen: 0, **(set_on_insert or {})}},
                                           upsert=True))
        self.add(collection, _Change(doc_id, stream_id, version, dict(set_fields or {}), list(unset_fields or []),
                                     dict(push or {}), dict(inc or {})))

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
    # Inserts hold no result set: one command of many is one SQLite transaction on FerretDB (2,000
    # feed entries: 0.14 s in one command, 0.29 s in commands of 40).
    MAX_INSERTS_PER_COMMAND = 1000

    def flush(self, collection: str | None = None) -> int:
        """Send the queued operations (only ``collection``'s if given); return how many.

        One ordered bulk write per collection (split at ``MAX_OPS_PER_COMMAND``), collections in
        the order they were first written to, so interleaved handlers cost one command per
        collection rather than one per switch between collections. Within a collection, the
        versioned updates of one document by one stream are merged (``_Group``); other writes to
        that document keep their place between them.
        """
        chosen = [op for op in self._ops if collection is None or op[1] == collection]
        if not chosen:
            return 0
        self._ops = [op for op in self._ops if collection is not None and op[1] != collection]
        by_collection: dict[str, list[Any]] = {}
        for _seq, name, operation in chosen:
            by_collection.setdefault(name, []).append(operation)
        # independent collections: the durable ones go last (see ``__init__``)
        for name, operations in sorted(by_collection.items(), key=lambda item: item[0] in self.durable):
            for phase in self._phases(operations):
                self._send_phase(name, phase)
        return len(chosen)

    @staticmethod
    def _phases(operations: list[Any]) -> list[list[Any]]:
        """Write models and ``_Group``s in sending order, cut into phases.

        A merged group is verified after its phase is sent (``_verify``), and a document whose
        group may still need the rest of it sent must not be written to by a later operation
        before that: such an operation starts a new phase.
        """
        phases: list[list[Any]] = [[]]
        open_groups: dict[Any, _Group] = {}  # per document: the group a next change may join
        grown: set[Any] = set()  # documents with a group of 2+ changes in the current phase

        def touch(known: bool, key: Any) -> None:
            if (known and key in grown) or (not known and grown):
                phases.append([])
                grown.clear()
                open_groups.clear()
            if known:
                open_groups.pop(key, None)
            else:
                open_groups.clear()

        for operation in operations:
            if isinstance(operation, _Change):
                key = _key(operation.doc_id)
                group = open_groups.get(key)
                if group is not None and group.absorb(operation):
                    grown.add(key)
                    continue
                touch(True, key)
                group = _Group(operation)
                open_groups[key] = group
                phases[-1].append(group)
            else:
                known, doc_id = _doc_key(operation)
                touch(known, _key(doc_id) if known else None)
                phases[-1].append(operation)
        return [phase for phase in phases if phase]

    def _send_phase(self, collection: str, phase: list[Any]) -> None:
        run: list[Any] = []
        for item in phase:
            operation = item.model() if isinstance(item, _Group) else item
            limit = self.MAX_INSERTS_PER_COMMAND if run and isinstance(run[0], _InsertNew) else self.MAX_OPS_PER_COMMAND
            if run and (len(run) >= limit or isinstance(operation, _InsertNew) != isinstance(run[0], _InsertNew)):
                self._send(collection, run)
                run = []
            run.append(operation)
        if run:
            self._send(collection, run)
        grown = [item for item in phase if isinstance(item, _Group) and len(item) > 1]
        if grown:
            self._verify(collection, grown)

    def _verify(self, collection: str, groups: list[_Group]) -> None:
        """Complete the merged updates skipped because their document had seen part of the group.

        One command of no-op updates counts such documents (none, but after a crash or a
        rebalance); each of those is then read and sent the rest of its group, guarded by the
        version it was read at (read again if another writer moved it on meanwhile).
        """
        partly: list[_Group] = []
        for start in range(0, len(groups), self.MAX_OPS_PER_COMMAND):
            chunk = groups[start:start + self.MAX_OPS_PER_COMMAND]
            try:
                matched = self.db[collection].bulk_write([g.partly_seen() for g in chunk], ordered=False).matched_count
            except Exception as exc:
                if is_transient(exc):
                    raise
                raise WriteRefused(collection, exc) from exc
            if matched:
                partly += chunk
        for group in partly:
            self._complete(collection, group)

    def _complete(self, collection: str, group: _Group) -> None:
        stream = group.first.stream_id
        while True:  # each turn either finishes or finds the document moved on by another writer
            doc = self.db[collection].find_one({"_id": group.first.doc_id}, {f"_seen.{stream}": 1})
            seen = ((doc or {}).get("_seen") or {}).get(stream)
            if seen is None or seen >= group.last_version:
                return  # absent, not this stream's (the merged update applied), or all seen
            self._send(collection, [group.model(after=seen)])

    def _send(self, collection: str, run: list[Any]) -> None:
        try:
            self._bulk(collection, run)
        except Exception as exc:
            if is_transient(exc):
                raise
            raise WriteRefused(collection, exc) from exc

    def _bulk(self, collection: str, run: list[Any]) -> None:
        target = self.db.get_collection(collection, write_concern=JOURNALED) if collection in self.durable \
            else self.db[collection]
        if not isinstance(run[0], _InsertNew):
            target.bulk_write(run, ordered=True)
            return
        try:
            target.bulk_write(run, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", [])) \
                    or exc.details.get("writeConcernErrors"):
                raise
