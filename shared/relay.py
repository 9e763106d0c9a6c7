"""The outbox relay: publishes stored commits to Kafka in order, then marks them published.

It runs as its own process. A lease in the service's database makes a second copy harmless:
only the lease holder publishes. If Kafka is down, commands still succeed (they only write
the event store) and the relay publishes the backlog when Kafka returns. Within a stream,
commits are published in version order; a commit is marked published only once every one of
its events and every earlier commit of its stream was acknowledged, so a failure can cause a
re-publication (consumers drop duplicates by version) but never a loss.
"""
from __future__ import annotations

import abc
import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Sequence

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.eventstore import Commit, EventStore
from shared.messaging import Publisher, PublishError
from shared.metrics import Metrics

log = logging.getLogger("jalin.relay")


class Lease(abc.ABC):
    """Port: a time-limited exclusive right to run (renewed by the holder)."""

    @abc.abstractmethod
    def acquire(self, owner: str, ttl_seconds: float) -> bool: ...

    @abc.abstractmethod
    def release(self, owner: str) -> None: ...


class InMemoryLease(Lease):
    """Fake lease for unit tests (one process)."""

    def __init__(self):
        self.owner: str | None = None
        self.expires = 0.0
        self._lock = threading.Lock()

    def acquire(self, owner, ttl_seconds):
        with self._lock:
            now = time.monotonic()
            if self.owner in (None, owner) or self.expires < now:
                self.owner, self.expires = owner, now + ttl_seconds
                return True
            return False

    def release(self, owner):
        with self._lock:
            if self.owner == owner:
                self.owner = None


class MongoLease(Lease):
    """A lease document: taken when free, expired or already ours (unique ``_id`` arbitrates)."""

    def __init__(self, db: Database, name: str, collection: str = "leases"):
        self._col = db[collection]
        self.name = name

    def acquire(self, owner, ttl_seconds):
        now = datetime.now(timezone.utc)
        try:
            self._col.update_one(
                {"_id": self.name, "$or": [{"owner": owner}, {"expires_at": {"$lt": now}}]},
                {"$set": {"owner": owner, "expires_at": now + timedelta(seconds=ttl_seconds)}},
                upsert=True)
            return True
        except DuplicateKeyError:
            return False  # the document exists and another owner's lease is still valid

    def release(self, owner):
        self._col.update_one({"_id": self.name, "owner": owner},
                             {"$set": {"expires_at": datetime.fromtimestamp(0, timezone.utc)}})


def publishable_prefix(commits: Sequence[Commit], failed_events: set[int]) -> list[str]:
    """Ids of commits safe to mark published, given indexes of unacknowledged events.

    Events were sent in the order of ``commits``; a commit qualifies if none of its events
    failed and no earlier commit of the same stream failed.
    """
    done: list[str] = []
    blocked: set[str] = set()
    index = 0
    for commit in commits:
        indexes = range(index, index + len(commit.events))
        index += len(commit.events)
        if commit.stream_id in blocked or any(i in failed_events for i in indexes):
            blocked.add(commit.stream_id)
            continue
        done.append(commit.id)
    return done


class OutboxRelay:
    """Moves unpublished commits from an ``EventStore`` to a topic."""

    def __init__(self, store: EventStore, publisher: Publisher, topic: str, lease: Lease,
                 metrics: Metrics | None = None, batch_size: int = 500, lease_ttl: float = 15.0,
                 owner: str | None = None):
        self.store, self.publisher, self.topic, self.lease = store, publisher, topic, lease
        self.batch_size, self.lease_ttl = batch_size, lease_ttl
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        metrics = metrics or Metrics()
        self._published = metrics.counter("relay_events_published_total", "Events acknowledged by Kafka", ("topic",))
        self._failures = metrics.counter("relay_publish_failures_total", "Failed publish attempts", ("topic",))
        self._backlog = metrics.gauge("relay_backlog_commits", "Commits waiting to be published", ("topic",))
        self._holder = metrics.gauge("relay_lease_held", "1 if this relay holds the lease", ("topic",))

    def run_once(self) -> int:
        """Publish one batch if this relay holds the lease; return the number of events sent."""
        if not self.lease.acquire(self.owner, self.lease_ttl):
            self._holder.labels(self.topic).set(0)
            return 0
        self._holder.labels(self.topic).set(1)
        commits = self.store.unpublished(self.batch_size)
        if not commits:
            self._backlog.labels(self.topic).set(0)
            return 0
        # Per-stream version order, keeping the streams' relative (commit time) order.
        first_seen = {c.stream_id: i for i, c in reversed(list(enumerate(commits)))}
        commits.sort(key=lambda c: (first_seen[c.stream_id], c.first_version))
        messages = [(self.topic, c.stream_id, e) for c in commits for e in c.events]
        try:
            self.publisher.publish(messages)
            failed: set[int] = set()
        except PublishError as exc:
            failed = exc.failed
            self._failures.labels(self.topic).inc()
            log.warning("publish failed", extra={"topic": self.topic, "failed": len(failed), "error": str(exc.cause)})
        self._backlog.labels(self.topic).set(len(commits))
        done = publishable_prefix(commits, failed)
        self.store.mark_published(done)
        sent = sum(len(c.events) for c in commits if c.id in set(done))
        self._published.labels(self.topic).inc(sent)
        if failed:
            raise PublishError(failed)
        return sent

    def run(self, stop: threading.Event, idle_seconds: float = 0.2, max_backoff: float = 5.0,
            max_idle_seconds: float = 1.0) -> None:
        """Loop until ``stop`` is set, backing off while Kafka or the database is unavailable.

        When there is nothing to publish the poll interval doubles up to ``max_idle_seconds``
        (looking for unpublished commits is a scan on FerretDB), and drops back on the next work.
        """
        backoff, idle = idle_seconds, idle_seconds
        log.info("relay started", extra={"topic": self.topic, "owner": self.owner})
        while not stop.is_set():
            try:
                sent = self.run_once()
                backoff = idle_seconds
                if sent == 0:
                    stop.wait(idle)
                    idle = min(max_idle_seconds, idle * 2)
                else:
                    idle = idle_seconds
            except Exception as exc:  # Kafka or DB down: keep trying, the outbox keeps everything
                log.warning("relay retrying", extra={"topic": self.topic, "error": repr(exc), "in_s": backoff})
                stop.wait(backoff)
                backoff = min(max_backoff, backoff * 2)
        self.lease.release(self.owner)
        log.info("relay stopped", extra={"topic": self.topic})
