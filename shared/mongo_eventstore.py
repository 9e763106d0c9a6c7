"""MongoDB adapter of the event store: one document per commit (DESIGN.md §2).

The commit's ``_id`` is ``<stream_id>:<first_version>``, so two writers appending at the same
expected version collide on the primary key and the loser gets ``ConcurrencyError``. One
``insert_one`` is atomic, hence a command's events are all stored or none are; no
multi-document transaction is needed (FerretDB v1 has none).
"""
from __future__ import annotations

from typing import Iterator

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared import idempotency
from shared.eventstore import Commit, ConcurrencyError, EventStore, check_append, commit_id
from shared.snapshots import MongoSnapshotStore

COMMITS = "commits"


class MongoEventStore(EventStore):
    """Event store over a pymongo ``Database`` (MongoDB or FerretDB).

    A stream is read with ONE query on the ``(stream_id, first_version)`` index on MongoDB. FerretDB
    (SQLite backend) runs no filter but ``_id`` equality without decoding the whole collection, so
    there a stream is read by primary-key look-ups, commit after commit (``_walk``). Either way
    ``Repository`` starts at its latest snapshot (``snapshots``), so a load reads a short tail.
    ``indexed_reads`` forces the choice; by default it is made from the server's ``buildInfo``.
    """

    def __init__(self, db: Database, collection: str = COMMITS, indexed_reads: bool | None = None):
        self._commits = db[collection]
        self._indexed_reads = indexed_reads
        self.snapshots = MongoSnapshotStore(db)

    def snapshot_every(self):
        # Walking by _id costs a round trip per commit after the snapshot, so on FerretDB a
        # snapshot after every command keeps a load at three look-ups (measured: bench
        # streamlength); with the index the tail is one query whatever its length.
        return None if self._indexed() else 1

    def _indexed(self) -> bool:
        if self._indexed_reads is None:
            info = self._commits.database.client.admin.command("buildInfo")
            self._indexed_reads = "ferretdbVersion" not in info
        return self._indexed_reads

    def ensure_indexes(self) -> None:
        """Create the indexes the store relies on (idempotent)."""
        self._commits.create_index([("stream_id", ASCENDING), ("first_version", ASCENDING)], unique=True)
        self._commits.create_index([("published", ASCENDING), ("committed_at", ASCENDING)])
        self._commits.create_index([("stream_type", ASCENDING)])

    def append(self, stream_id, stream_type, expected_version, events, committed_at, last_commit=None):
        check_append(stream_id, expected_version, events)
        commit = Commit(stream_id, stream_type, expected_version + 1, expected_version + len(events),
                        list(events), committed_at)
        key = idempotency.key_for_append(stream_id)  # recorded on the key before the commit exists
        if expected_version > 0 and not self._ends_at(stream_id, expected_version, last_commit):
            # Appending after a stale read would leave a hole or overlap; refuse early.
            raise ConcurrencyError(stream_id, expected_version, self._last_version(stream_id))
        doc = {
            "_id": commit.id, "stream_id": stream_id, "stream_type": stream_type,
            "first_version": commit.first_version, "last_version": commit.last_version,
            "events": commit.events, "committed_at": committed_at, "published": False,
        }
        if key is not None:
            doc["idempotency_key"] = key  # lets a retry find this commit if its answer was lost
        try:
            self._commits.insert_one(doc)
        except DuplicateKeyError as exc:
            raise ConcurrencyError(stream_id, expected_version, self._last_version(stream_id)) from exc
        idempotency.appended(commit)
        return commit

    def commits_under_key(self, stream_id, key):
        # Walks the stream by primary key (see ``_walk``); only a stale key's takeover asks.
        return [_to_commit(doc) for doc in self._walk(stream_id) if doc.get("idempotency_key") == key]

    def _ends_at(self, stream_id: str, version: int, last_commit: str | None) -> bool:
        """Whether ``version`` is where the stream ends, as far as an insert at version + 1 needs.

        A commit ending exactly at ``version`` suffices: should another one start right after it,
        the insert collides with it on ``_id``. The caller's ``last_commit`` names that commit.
        """
        if last_commit is not None:
            doc = self._commits.find_one({"_id": last_commit}, {"stream_id": 1, "last_version": 1})
            if doc is not None and doc["stream_id"] == stream_id and doc["last_version"] == version:
                return True
        return self._last_version(stream_id) == version

    def _walk(self, stream_id: str, to_version: int | None = None, with_events: bool = True, start: int = 1):
        """The stream's commits in order from the one starting at ``start``, as a chain: the next
        commit starts at last_version + 1, and the chain stops at a missing one.

        MongoDB: one query on the (stream_id, first_version) index. FerretDB: each commit fetched
        by its ``_id`` (``<stream>:<first_version>``), the one filter its SQLite backend runs
        without scanning the collection.
        """
        version = start
        projection = None if with_events else {"last_version": 1, "first_version": 1}
        if self._indexed():
            query = {"stream_id": stream_id, "first_version": {"$gte": start}}
            if to_version is not None:
                query["first_version"]["$lte"] = to_version
            for doc in self._commits.find(query, projection).sort("first_version", ASCENDING):
                if doc["first_version"] != version:
                    return
                yield doc
                version = doc["last_version"] + 1
            return
        while to_version is None or version <= to_version:
            doc = self._commits.find_one({"_id": commit_id(stream_id, version)}, projection)
            if doc is None:
                return
            yield doc
            version = doc["last_version"] + 1

    def _last_version(self, stream_id: str) -> int:
        last = 0
        for doc in self._walk(stream_id, with_events=False):
            last = doc["last_version"]
        return last

    def commits_from(self, stream_id, first_version=1):
        return [_to_commit(doc) for doc in self._walk(stream_id, start=first_version)]

    def version(self, stream_id):
        return self._last_version(stream_id)

    def load(self, stream_id, from_version=1, to_version=None):
        events = []
        for doc in self._walk(stream_id, to_version):
            if doc["last_version"] < from_version:
                continue
            events.extend(e for e in doc["events"]
                          if e["version"] >= from_version and (to_version is None or e["version"] <= to_version))
        return events

    def load_stored(self, stream_id):
        events = []
        for doc in self._commits.find({"stream_id": stream_id}, {"events": 1}).sort("first_version", ASCENDING):
            events.extend(doc["events"])
        return events

    def scan(self, batch_size: int = 1000):
        # No filter and no sort: the one read FerretDB/SQLite streams without decoding the
        # collection up front, and a plain collection scan on MongoDB.
        for doc in self._commits.find({}, {"idempotency_key": 0}).batch_size(batch_size):
            yield _to_commit(doc)

    def unpublished(self, limit=500):
        docs = self._commits.find({"published": False}).sort([("committed_at", ASCENDING),
                                                             ("first_version", ASCENDING)]).limit(limit)
        return [_to_commit(d) for d in docs]

    def unpublished_count(self):
        return self._commits.count_documents({"published": False})

    def mark_published(self, commit_ids):
        # One primary-key update each: an ``$in`` filter is a collection scan on FerretDB/SQLite.
        for cid in commit_ids:
            self._commits.update_one({"_id": cid}, {"$set": {"published": True}})

    def stream_ids(self, stream_type=None) -> Iterator[str]:
        query = {"first_version": 1}
        if stream_type:
            query["stream_type"] = stream_type
        for doc in self._commits.find(query, {"stream_id": 1}).sort("committed_at", ASCENDING):
            yield doc["stream_id"]


def _to_commit(doc: dict) -> Commit:
    return Commit(doc["stream_id"], doc["stream_type"], doc["first_version"], doc["last_version"],
                  doc["events"], doc["committed_at"], doc["published"], doc["_id"])
