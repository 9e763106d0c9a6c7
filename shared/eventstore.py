"""The event store port, its commit model and the in-memory fake (DESIGN.md §2).

A command's events are appended as ONE commit; a commit is also the outbox entry that the
relay publishes. The store guarantees per stream: versions are contiguous from 1, and an
append at an expected version that is no longer current fails with ``ConcurrencyError``.
"""
from __future__ import annotations

import abc
import copy
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterator, Sequence

from shared import idempotency
from shared.snapshots import InMemorySnapshotStore, SnapshotStore


class ConcurrencyError(Exception):
    """The stream moved on since it was loaded: another commit took the expected version."""

    def __init__(self, stream_id: str, expected_version: int, current_version: int | None = None):
        super().__init__(f"{stream_id}: expected version {expected_version}, current {current_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.current_version = current_version


@dataclass
class Commit:
    """The events of one command on one stream, stored atomically and published together."""

    stream_id: str
    stream_type: str
    first_version: int
    last_version: int
    events: list[dict]
    committed_at: datetime
    published: bool = False
    id: str = field(default="")

    def __post_init__(self):
        if not self.id:
            self.id = commit_id(self.stream_id, self.first_version)


def commit_id(stream_id: str, first_version: int) -> str:
    """The commit key: two appends at the same position of a stream collide on it."""
    return f"{stream_id}:{first_version}"


def check_append(stream_id: str, expected_version: int, events: Sequence[dict]) -> None:
    """Validate an append request before any adapter writes it."""
    if not events:
        raise ValueError("a commit needs at least one event")
    for offset, event in enumerate(events, start=1):
        if event["stream_id"] != stream_id or event["version"] != expected_version + offset:
            raise ValueError(f"event {event.get('event_id')} does not follow {stream_id}@{expected_version}")


class EventStore(abc.ABC):
    """Port: durable, append-only streams of envelopes, doubling as the outbox.

    ``snapshots`` is where ``Repository`` keeps aggregate snapshots beside the commits
    (``shared.snapshots``); None: every load folds the whole stream.
    """

    snapshots: SnapshotStore | None = None

    @abc.abstractmethod
    def append(self, stream_id: str, stream_type: str, expected_version: int, events: Sequence[dict],
               committed_at: datetime, last_commit: str | None = None) -> Commit:
        """Store ``events`` (versions expected_version+1…) atomically or raise ConcurrencyError.

        ``last_commit`` is the id of the commit that ended the stream at ``expected_version`` when
        the caller loaded it (``Commit.id``): a hint that lets an adapter confirm the expected
        version with one look-up instead of reading the stream; a wrong hint costs only time.
        """

    @abc.abstractmethod
    def load(self, stream_id: str, from_version: int = 1, to_version: int | None = None) -> list[dict]:
        """Return the stream's envelopes in version order (empty list if it does not exist)."""

    @abc.abstractmethod
    def commits_from(self, stream_id: str, first_version: int = 1) -> list[Commit]:
        """The stream's chain of commits from the one that starts at ``first_version`` (a commit
        boundary, e.g. a snapshot's) to the end, in order; empty if no commit starts there.

        What ``Repository.load`` reads: one indexed read, or primary-key look-ups where the
        database has no other cheap access path.
        """

    @abc.abstractmethod
    def unpublished(self, limit: int = 500) -> list[Commit]:
        """Commits not yet marked published, oldest first, in version order within a stream."""

    @abc.abstractmethod
    def mark_published(self, commit_ids: Sequence[str]) -> None:
        """Record that these commits reached the broker."""

    @abc.abstractmethod
    def stream_ids(self, stream_type: str | None = None) -> Iterator[str]:
        """Every stream id in the store (optionally of one type), for audits and rebuilds."""

    @abc.abstractmethod
    def commits_under_key(self, stream_id: str, key: str) -> list[Commit]:
        """The stream's commits made by a request with this Idempotency-Key (``shared.idempotency``)."""

    @abc.abstractmethod
    def scan(self) -> Iterator[Commit]:
        """Every stored commit, as stored, in one pass in the store's own order (for audits).

        The order is the store's natural one (insertion order on FerretDB/SQLite), not sorted:
        one sequential read whatever the number of streams. Commits of one stream normally come
        in version order; a reader must not rely on it (an edited store may break it).
        """

    def snapshot_every(self) -> int | None:
        """How many events a snapshot should be behind at most, given what reading a commit costs
        here (``Repository`` asks); None: no advice."""
        return None

    def load_stored(self, stream_id: str) -> list[dict]:
        """Everything stored for the stream, in stored order, even past a hole (for audits).

        ``load`` follows the chain of commits and stops at a missing one; an auditor must see
        what lies beyond a deletion too.
        """
        return self.load(stream_id)

    def version(self, stream_id: str) -> int:
        """The stream's current version (0 when it does not exist)."""
        events = self.load(stream_id)
        return events[-1]["version"] if events else 0

    def unpublished_count(self) -> int:
        """How many commits wait for the relay (a gauge for operators)."""
        return len(self.unpublished(limit=1_000_000))

    def add_commit_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each commit a ``Repository`` stores (the relay's wake-up call,
        ``shared.relay.RelayWake``); what it raises is ignored: the commit is stored either way."""
        self.__dict__.setdefault("_commit_listeners", []).append(listener)

    def committed(self) -> None:
        """Tell the listeners that a commit was stored."""
        for listener in self.__dict__.get("_commit_listeners", ()):
            try:
                listener()
            except Exception:  # noqa: BLE001 - a wake-up is an optimisation, never the command's failure
                pass


class InMemoryEventStore(EventStore):
    """Fake event store for unit tests; passes the same contract suite as the real adapter."""

    def __init__(self):
        self.snapshots = InMemorySnapshotStore()
        self._commits: dict[str, Commit] = {}
        self._order: list[str] = []
        self._keys: dict[str, str] = {}  # commit id -> Idempotency-Key it was made under
        self._lock = threading.Lock()

    def append(self, stream_id, stream_type, expected_version, events, committed_at, last_commit=None):
        check_append(stream_id, expected_version, events)
        commit = Commit(stream_id, stream_type, expected_version + 1, expected_version + len(events),
                        copy.deepcopy(list(events)), committed_at)
        key = idempotency.key_for_append(stream_id)
        with self._lock:
            # The same rule as the unique _id in MongoDB: the position may be taken only once,
            # and only at the end of the stream.
            if commit.id in self._commits or self._current(stream_id) != expected_version:
                raise ConcurrencyError(stream_id, expected_version, self._current(stream_id))
            self._commits[commit.id] = commit
            self._order.append(commit.id)
            if key is not None:
                self._keys[commit.id] = key
        idempotency.appended(commit)
        return commit

    def commits_under_key(self, stream_id, key):
        return [copy.deepcopy(c) for c in self._commits.values()
                if c.stream_id == stream_id and self._keys.get(c.id) == key]

    def _current(self, stream_id: str) -> int:
        versions = [c.last_version for c in self._commits.values() if c.stream_id == stream_id]
        return max(versions, default=0)

    def load(self, stream_id, from_version=1, to_version=None):
        commits = sorted((c for c in self._commits.values() if c.stream_id == stream_id),
                         key=lambda c: c.first_version)
        return [copy.deepcopy(e) for c in commits for e in c.events
                if e["version"] >= from_version and (to_version is None or e["version"] <= to_version)]

    def commits_from(self, stream_id, first_version=1):
        chain, position = [], first_version
        while (commit := self._commits.get(commit_id(stream_id, position))) is not None:
            chain.append(copy.deepcopy(commit))
            position = commit.last_version + 1
        return chain

    def unpublished(self, limit=500):
        pending = [self._commits[i] for i in self._order if not self._commits[i].published]
        return [copy.deepcopy(c) for c in pending[:limit]]

    def mark_published(self, commit_ids):
        for cid in commit_ids:
            self._commits[cid].published = True

    def scan(self):
        return iter([copy.deepcopy(self._commits[i]) for i in self._order])

    def stream_ids(self, stream_type=None):
        seen = dict.fromkeys(c.stream_id for c in (self._commits[i] for i in self._order)
                             if stream_type is None or c.stream_type == stream_type)
        return iter(seen)
