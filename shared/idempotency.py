"""Idempotency-Key support for POST commands: a command runs at most once per key, and its answer is never lost.

The first request with a key reserves it (``pending``, with the body's fingerprint and an owner
token) and runs. Before its command appends to the event store, the target stream is recorded on
the key (``record_stream``), and the commit itself carries the key (``idempotency_key`` in the
commit document). When the request ends its answer is stored; a retry with the same key and body
gets that answer; the same key with another body is refused (422); a retry while the first is
still running gets 409.

A reservation whose owner crashed becomes stale after ``stale_after`` seconds. It is taken over
only by a request with the same body, and the taker first looks in the event store for a commit
made under the key on the recorded streams: if there is one the command is NOT run again, the
retry is answered with the committed result (``Reservation.committed``). Likewise, when a request
fails after its commit (the view raised, or storing the answer failed), the decorator answers the
committed result instead of 500 and keeps the key, so a retry cannot create a duplicate.

Residual window (documented, not closed): an owner that stalls more than ``stale_after`` between
recording its stream and inserting its commit, while a retry takes over. For an existing stream
the two appends then collide on the version (one gets 409); only a command creating a new stream
could be stored twice. The owner token makes the stalled owner's later writes to the key fail.
"""
from __future__ import annotations

import abc
import contextvars
import hashlib
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterator, Protocol

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError



class Commit(Protocol):
    """What this module needs of an event store's commit (``shared.eventstore.Commit``, which
    imports this module: the event stores call ``key_for_append`` and ``appended``)."""

    stream_id: str
    first_version: int
    last_version: int


class EventStore(Protocol):
    """What this module needs of an event store: the commits made under a key."""

    def commits_under_key(self, stream_id: str, key: str) -> list: ...


@dataclass
class StoredResponse:
    """What a finished request answered (enough to answer a retry byte for byte)."""

    status: int
    body: bytes
    headers: dict


@dataclass
class Reservation:
    """The outcome of reserving a key.

    ``fresh``: run the request (as ``owner``). Otherwise an earlier request's state: its stored
    ``response``, or ``committed`` (commits it made before its owner crashed; answer them, as
    ``owner``, instead of running again), or neither (still running: 409).
    """

    fresh: bool
    fingerprint_matches: bool = True
    response: StoredResponse | None = None
    owner: str | None = None
    committed: list[Commit] = field(default_factory=list)


class KeyLost(Exception):
    """This request no longer owns its key (it was stale and another request took it over)."""


def key_id(scope: str, key: str) -> str:
    """Storage id of a key within a scope (caller, method, path)."""
    return hashlib.sha256(f"{scope}\n{key}".encode()).hexdigest()


class IdempotencyStore(abc.ABC):
    """Port: remembers requests by key; ``events`` is the event store whose commits carry the keys."""

    stale_after = 60.0
    events: EventStore | None = None

    @abc.abstractmethod
    def reserve(self, kid: str, fingerprint: str) -> Reservation:
        """Reserve ``kid`` for a request with this body ``fingerprint`` (see ``Reservation``)."""

    @abc.abstractmethod
    def record_stream(self, kid: str, owner: str, stream_id: str) -> None:
        """Note, before the append, the stream the command writes; raise ``KeyLost`` if not the owner."""

    @abc.abstractmethod
    def complete(self, kid: str, owner: str, response: StoredResponse) -> None:
        """Store the answer of the owner's request."""

    @abc.abstractmethod
    def release(self, kid: str, owner: str) -> None:
        """Forget a reservation whose request failed before any commit, so a retry can run it again."""

    def _committed(self, kid: str, streams: list[str]) -> list[Commit]:
        """Commits made under ``kid`` on the recorded ``streams`` (the stale takeover's check)."""
        if not streams:
            return []
        if self.events is None:
            raise RuntimeError("an idempotency store with recorded streams needs its event store")
        return [c for s in streams for c in self.events.commits_under_key(s, kid)]


class InMemoryIdempotencyStore(IdempotencyStore):
    """Fake for unit tests."""

    def __init__(self, events: EventStore | None = None):
        self.events = events
        self._items: dict[str, dict] = {}
        self._lock = threading.Lock()

    def reserve(self, kid, fingerprint):
        now = datetime.now(timezone.utc)
        with self._lock:
            item = self._items.get(kid)
            if item is None:
                owner = uuid.uuid4().hex
                self._items[kid] = {"fingerprint": fingerprint, "response": None, "at": now, "owner": owner,
                                    "streams": []}
                return Reservation(True, owner=owner)
            matches = item["fingerprint"] == fingerprint
            if item["response"] is None and matches and now - item["at"] > timedelta(seconds=self.stale_after):
                item["owner"], item["at"] = uuid.uuid4().hex, now
                committed = self._committed(kid, item["streams"])
                return Reservation(not committed, owner=item["owner"], committed=committed)
            return Reservation(False, matches, item["response"])

    def record_stream(self, kid, owner, stream_id):
        with self._lock:
            item = self._items.get(kid)
            if item is None or item["owner"] != owner:
                raise KeyLost(kid)
            if stream_id not in item["streams"]:
                item["streams"].append(stream_id)

    def complete(self, kid, owner, response):
        with self._lock:
            item = self._items.get(kid)
            if item is not None and item["owner"] == owner:
                item["response"] = response

    def release(self, kid, owner):
        with self._lock:
            if self._items.get(kid, {}).get("owner") == owner:
                del self._items[kid]


class MongoIdempotencyStore(IdempotencyStore):
    """Keys in a collection of the service's own database (unique ``_id`` = reservation);
    ``events`` is the service's event store (where a stale key's commit is looked for)."""

    def __init__(self, db: Database, events: EventStore, collection: str = "idempotency_keys"):
        self.events = events
        self._col = db[collection]

    def reserve(self, kid, fingerprint):
        now = datetime.now(timezone.utc)
        owner = uuid.uuid4().hex
        try:
            self._col.insert_one({"_id": kid, "fingerprint": fingerprint, "state": "pending", "at": now,
                                  "owner": owner, "streams": []})
            return Reservation(True, owner=owner)
        except DuplicateKeyError:
            pass
        doc = self._col.find_one({"_id": kid})
        if doc is None:  # released in between: try once more
            return self.reserve(kid, fingerprint)
        matches = doc["fingerprint"] == fingerprint
        if doc["state"] == "pending":
            stale = now.replace(tzinfo=None) - doc["at"].replace(tzinfo=None) > timedelta(seconds=self.stale_after)
            if stale and matches:
                # Compare-and-set on the old owner: of several retries, one takes over.
                taken = self._col.update_one({"_id": kid, "state": "pending", "owner": doc.get("owner")},
                                             {"$set": {"at": now, "owner": owner}})
                if taken.modified_count == 1:
                    committed = self._committed(kid, list(doc.get("streams") or []))
                    return Reservation(not committed, owner=owner, committed=committed)
            return Reservation(False, matches)
        response = StoredResponse(doc["status"], bytes(doc["body"]), doc["headers"])
        return Reservation(False, matches, response)

    def record_stream(self, kid, owner, stream_id):
        done = self._col.update_one({"_id": kid, "owner": owner, "state": "pending"},
                                    {"$addToSet": {"streams": stream_id}})
        if done.matched_count != 1:
            raise KeyLost(kid)

    def complete(self, kid, owner, response):
        self._col.update_one({"_id": kid, "owner": owner},
                             {"$set": {"state": "done", "status": response.status, "body": response.body,
                                       "headers": response.headers}})

    def release(self, kid, owner):
        self._col.delete_one({"_id": kid, "state": "pending", "owner": owner})


# ---------------------------------------------------------------- the request's key, seen by the event store

@dataclass
class KeyedCommand:
    """The Idempotency-Key of the command running in this context, and the commits it made."""

    store: IdempotencyStore
    kid: str
    owner: str
    commits: list[Commit] = field(default_factory=list)


_running: contextvars.ContextVar[KeyedCommand | None] = contextvars.ContextVar("jalin_idempotency", default=None)


class running_under_key:
    """Context manager: commands appended inside run under ``command``'s key (see ``key_for_append``)."""

    def __init__(self, command: KeyedCommand):
        self.command = command

    def __enter__(self) -> KeyedCommand:
        self._token = _running.set(self.command)
        return self.command

    def __exit__(self, *exc) -> None:
        _running.reset(self._token)


def key_for_append(stream_id: str) -> str | None:
    """Called by an event store just before it appends to ``stream_id``: records the stream on the
    running command's key and returns the key to store in the commit (None outside a keyed request).

    Raises ``KeyLost`` when the key was taken over meanwhile, so a stalled owner cannot commit
    after a retry has started.
    """
    command = _running.get()
    if command is None:
        return None
    command.store.record_stream(command.kid, command.owner, stream_id)
    return command.kid


def appended(commit: Commit) -> None:
    """Called by an event store after a commit was stored (the decorator answers it if the view fails)."""
    command = _running.get()
    if command is not None:
        command.commits.append(commit)


def committed_streams(commits: list[Commit]) -> Iterator[tuple[str, int, int]]:
    """``(stream_id, first_version, last_version)`` of each stream the commits touched, merged."""
    merged: dict[str, list[int]] = {}
    for commit in commits:
        first, last = merged.get(commit.stream_id, [commit.first_version, commit.last_version])
        merged[commit.stream_id] = [min(first, commit.first_version), max(last, commit.last_version)]
    for stream_id, (first, last) in merged.items():
        yield stream_id, first, last
