"""The outbox relay: publishes stored commits to Kafka in order, then marks them published.

It runs as its own process; production runs two for availability. The topic is the audit log and
must hold each (stream, version) once, so:

- Only the holder of a lease publishes. Every acquisition gets a new *generation* (a fencing
  token); the holder renews the lease at each batch and, atomically with the renewal, checks that
  the generation is still its own before it marks commits published. The lease's TTL is longer
  than a batch's worst case (the publisher's send and flush deadlines), and a batch that runs out
  of time abandons its producer, so a relay that lost its lease can no longer write.
- A send that failed or timed out may still have been written by the broker (an expired
  in-flight batch; the idempotent producer then resets its id and no longer recognises a re-send:
  this is how a broker outage once published every event sent during it twice). So whenever the
  outcome of earlier sends is uncertain — after a failed batch, and when a relay takes the lease
  over — the relay first reads what the topic holds past its *checkpoint* (per-partition offsets
  up to which everything is accounted for, kept in the lease document) and does not send again
  what is already there.

Commands still succeed while Kafka is down (they only write the event store) and the relay
publishes the backlog when Kafka returns. Within a stream, commits are published in version
order; a commit is marked published once all its events are in the topic, and every earlier
commit of its stream.
"""
from __future__ import annotations

import abc
import logging
import os
import select
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Sequence

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from shared.eventstore import Commit, EventStore
from shared.messaging import Publisher, PublishError
from shared.metrics import Metrics

log = logging.getLogger("jalin.relay")

#: Per-partition offsets: everything before them in the topic is accounted for.
Offsets = dict[int, int]


class Lease(abc.ABC):
    """Port: a time-limited exclusive right to run, with a fencing generation and a checkpoint."""

    @abc.abstractmethod
    def acquire(self, owner: str, ttl_seconds: float) -> int | None:
        """Take or renew the lease; return its generation (new at each takeover), None if held by another."""

    @abc.abstractmethod
    def confirm(self, owner: str, generation: int, ttl_seconds: float, checkpoint: Offsets | None = None) -> bool:
        """Renew if ``owner`` still holds ``generation`` (and store ``checkpoint``); False if not."""

    @abc.abstractmethod
    def checkpoint(self) -> Offsets:
        """The stored checkpoint (empty when none)."""

    @abc.abstractmethod
    def release(self, owner: str) -> None: ...


class InMemoryLease(Lease):
    """Fake lease for unit tests (one process)."""

    def __init__(self):
        self.owner: str | None = None
        self.expires = 0.0
        self.generation = 0
        self.offsets: Offsets = {}
        self._lock = threading.Lock()

    def acquire(self, owner, ttl_seconds):
        with self._lock:
            now = time.monotonic()
            if self.owner == owner and self.expires >= now:
                self.expires = now + ttl_seconds
                return self.generation
            if self.owner is None or self.expires < now:
                self.owner, self.expires, self.generation = owner, now + ttl_seconds, self.generation + 1
                return self.generation
            return None

    def confirm(self, owner, generation, ttl_seconds, checkpoint=None):
        with self._lock:
            now = time.monotonic()
            if self.owner != owner or self.generation != generation or self.expires < now:
                return False
            self.expires = now + ttl_seconds
            if checkpoint is not None:
                self.offsets = dict(checkpoint)
            return True

    def checkpoint(self):
        with self._lock:
            return dict(self.offsets)

    def release(self, owner):
        with self._lock:
            if self.owner == owner:
                self.owner = None


class MongoLease(Lease):
    """A lease document ``{owner, expires_at, generation, offsets}``; unique ``_id`` arbitrates."""

    def __init__(self, db: Database, name: str, collection: str = "leases"):
        self._col = db[collection]
        self.name = name

    def acquire(self, owner, ttl_seconds):
        now = datetime.now(timezone.utc)
        expires = now + timedelta(seconds=ttl_seconds)
        renewed = self._col.find_one_and_update({"_id": self.name, "owner": owner, "expires_at": {"$gte": now}},
                                                {"$set": {"expires_at": expires}}, return_document=ReturnDocument.AFTER)
        if renewed is not None:
            return renewed["generation"]
        try:
            # Free or expired (also our own expired lease: someone may have held it meanwhile).
            taken = self._col.find_one_and_update(
                {"_id": self.name, "expires_at": {"$lt": now}},
                {"$set": {"owner": owner, "expires_at": expires}, "$inc": {"generation": 1}},
                upsert=True, return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            return None  # the document exists and another owner's lease is still valid
        return taken["generation"]

    def confirm(self, owner, generation, ttl_seconds, checkpoint=None):
        now = datetime.now(timezone.utc)
        update = {"expires_at": now + timedelta(seconds=ttl_seconds)}
        if checkpoint is not None:
            update["offsets"] = {str(p): o for p, o in checkpoint.items()}
        done = self._col.update_one({"_id": self.name, "owner": owner, "generation": generation,
                                     "expires_at": {"$gte": now}}, {"$set": update})
        return done.matched_count == 1

    def checkpoint(self):
        doc = self._col.find_one({"_id": self.name}, {"offsets": 1}) or {}
        return {int(p): int(o) for p, o in (doc.get("offsets") or {}).items()}

    def release(self, owner):
        self._col.update_one({"_id": self.name, "owner": owner},
                             {"$set": {"expires_at": datetime.fromtimestamp(0, timezone.utc)}})


class RelayWake:
    """A wake-up call from a service's API processes to its relay, so that a commit is published
    at once rather than at the relay's next idle poll (up to ``max_idle_seconds`` later).

    ``address`` (``JALIN_RELAY_WAKE``) names where the relay listens, ``{service}`` standing for
    the service: ``unix:<path>`` (a datagram socket; the local stack uses one per service in its
    folder) or ``udp:<host>:<port>`` (across containers). One datagram per commit, sent without
    waiting; a datagram lost (no relay listening, the other relay of a pair holding the lease) costs
    only the wait for the idle poll, which stays the safety net. The datagram carries nothing: the
    relay publishes what the outbox holds, in order, exactly as after a poll, so order and
    exactly-once per (stream, version) are the relay's as before.
    """

    def __init__(self, address: str, service: str):
        scheme, _, rest = address.format(service=service).partition(":")
        if scheme == "unix" and rest:
            self.family, self.target = socket.AF_UNIX, rest
        elif scheme == "udp" and rest.rpartition(":")[2].isdigit():
            host, _, port = rest.rpartition(":")
            self.family, self.target = socket.AF_INET, (host, int(port))
        else:
            raise ValueError(f"JALIN_RELAY_WAKE must be unix:<path> or udp:<host>:<port>, not {address!r}")
        self._sender: socket.socket | None = None
        self._lock = threading.Lock()

    def notify(self) -> None:
        """Wake the relay (never blocks, never raises)."""
        try:
            with self._lock:
                if self._sender is None:
                    self._sender = socket.socket(self.family, socket.SOCK_DGRAM)
                    self._sender.setblocking(False)
                self._sender.sendto(b"!", self.target)
        except OSError:  # nobody listening, buffer full: the relay's poll finds the commit
            pass

    def listen(self) -> "WakeListener":
        """Bind the relay's end (a stale socket file of an earlier relay is replaced)."""
        sock = socket.socket(self.family, socket.SOCK_DGRAM)
        if self.family == socket.AF_UNIX:
            try:
                os.unlink(self.target)
            except FileNotFoundError:
                pass
        sock.bind(self.target)
        sock.setblocking(False)
        return WakeListener(sock, self.target if self.family == socket.AF_UNIX else None)


class WakeListener:
    """The relay's end of a ``RelayWake``."""

    def __init__(self, sock: socket.socket, path: str | None):
        self._sock, self._path = sock, path

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        """Wait up to ``timeout`` for a wake-up (True) or ``stop`` (checked every 0.1 s); False on timeout."""
        deadline = time.monotonic() + timeout
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self._sock], [], [], min(left, 0.1))
            if ready:
                self._drain()
                return True
        return False

    def _drain(self) -> None:
        """Read every pending datagram: one batch publishes all the commits they announce."""
        try:
            while self._sock.recv(16):
                pass
        except OSError:  # BlockingIOError once empty
            pass

    def close(self) -> None:
        self._sock.close()
        if self._path:
            try:
                os.unlink(self._path)
            except FileNotFoundError:
                pass


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
    """Moves unpublished commits from an ``EventStore`` to a topic (see the module docstring)."""

    def __init__(self, store: EventStore, publisher: Publisher, topic: str, lease: Lease,
                 metrics: Metrics | None = None, batch_size: int = 500, lease_ttl: float = 15.0,
                 owner: str | None = None):
        self.store, self.publisher, self.topic, self.lease = store, publisher, topic, lease
        self.batch_size = batch_size
        # Longer than a batch can take: the publish deadline, reading the topic back, the DB calls.
        worst_case = publisher.worst_case_seconds
        self.lease_ttl = max(lease_ttl, worst_case + 15.0)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._generation: int | None = None
        self._uncertain = True  # until this relay has read the topic back under its generation
        metrics = metrics or Metrics()
        self._published = metrics.counter("relay_events_published_total", "Events acknowledged by Kafka", ("topic",))
        self._failures = metrics.counter("relay_publish_failures_total", "Failed publish attempts", ("topic",))
        self._found = metrics.counter("relay_events_found_in_topic_total",
                                      "Events not sent again because the topic already held them", ("topic",))
        self._lost = metrics.counter("relay_lease_lost_total", "Batches not marked: the lease moved on", ("topic",))
        self._backlog = metrics.gauge("relay_backlog_commits", "Commits waiting to be published", ("topic",))
        self._holder = metrics.gauge("relay_lease_held", "1 if this relay holds the lease", ("topic",))

    def run_once(self) -> int:
        """Publish one batch if this relay holds the lease; return the number of events sent."""
        generation = self.lease.acquire(self.owner, self.lease_ttl)
        if generation is None:
            self._holder.labels(self.topic).set(0)
            return 0
        self._holder.labels(self.topic).set(1)
        if generation != self._generation:  # taken (over): what did the previous holder write?
            self._generation, self._uncertain = generation, True
        commits = self.store.unpublished(self.batch_size)
        if not commits:
            self._backlog.labels(self.topic).set(0)
            return 0
        self._backlog.labels(self.topic).set(len(commits))
        checkpoint = self.lease.checkpoint()
        present: set[tuple[str, int]] = set()
        if self._uncertain:
            present, end = self.publisher.published_since(self.topic, checkpoint)
            # Where the reading started stays the checkpoint until this batch is marked: a relay
            # taking over (or this one after a failure) reads these records again.
            checkpoint = {p: checkpoint.get(p, o) for p, o in end.items()}
            if not self.lease.confirm(self.owner, generation, self.lease_ttl, checkpoint):
                return 0
            checkpoint = {p: max(checkpoint[p], o) for p, o in end.items()}
            self._uncertain = False
        # Per-stream version order, keeping the streams' relative (commit time) order.
        first_seen = {c.stream_id: i for i, c in reversed(list(enumerate(commits)))}
        commits.sort(key=lambda c: (first_seen[c.stream_id], c.first_version))
        events = [(c.stream_id, e) for c in commits for e in c.events]
        to_send = [i for i, (sid, e) in enumerate(events) if (sid, e["version"]) not in present]
        self._found.labels(self.topic).inc(len(events) - len(to_send))
        failure: PublishError | None = None
        acked: Offsets = {}
        try:
            if to_send:
                acked = self.publisher.publish([(self.topic, events[i][0], events[i][1]) for i in to_send]) or {}
        except PublishError as exc:
            failure = exc
            self._uncertain = True  # some of the failed sends may have been written anyway
            self._failures.labels(self.topic).inc()
            log.warning("publish failed", extra={"topic": self.topic, "failed": len(exc.failed),
                                                 "error": str(exc.cause)})
        failed = {to_send[i] for i in failure.failed} if failure else set()
        if failure is None:
            checkpoint = {p: max(checkpoint.get(p, 0), o) for p, o in {**checkpoint, **acked}.items()}
        # The fencing check: only the holder of this generation marks (and moves the checkpoint).
        if not self.lease.confirm(self.owner, generation, self.lease_ttl, checkpoint if failure is None else None):
            self._lost.labels(self.topic).inc()
            self._uncertain = True
            log.warning("lease lost during a batch; not marking", extra={"topic": self.topic, "owner": self.owner})
            return 0
        done = publishable_prefix(commits, failed)
        self.store.mark_published(done)
        done_ids = set(done)
        commit_of_event = [c.id for c in commits for _ in c.events]
        sent = sum(1 for i in to_send if commit_of_event[i] in done_ids)
        self._published.labels(self.topic).inc(sent)
        if failure is not None:
            raise failure
        return sent

    def run(self, stop: threading.Event, idle_seconds: float = 0.2, max_backoff: float = 5.0,
            max_idle_seconds: float = 1.0, wake: WakeListener | None = None) -> None:
        """Loop until ``stop`` is set, backing off while Kafka or the database is unavailable.

        When there is nothing to publish the poll interval doubles up to ``max_idle_seconds``
        (looking for unpublished commits is a scan on FerretDB), and drops back on the next work.
        With ``wake`` (``RelayWake.listen``) a commit announced by an API process ends the wait at
        once; the poll stays for commits whose wake-up was lost.
        """
        backoff, idle = idle_seconds, idle_seconds
        log.info("relay started", extra={"topic": self.topic, "owner": self.owner})
        while not stop.is_set():
            try:
                sent = self.run_once()
                backoff = idle_seconds
                if sent == 0:
                    woken = wake.wait(idle, stop) if wake is not None else stop.wait(idle)
                    idle = idle_seconds if woken else min(max_idle_seconds, idle * 2)
                else:
                    idle = idle_seconds
            except Exception as exc:  # Kafka or DB down: keep trying, the outbox keeps everything
                log.warning("relay retrying", extra={"topic": self.topic, "error": repr(exc), "in_s": backoff})
                stop.wait(backoff)
                backoff = min(max_backoff, backoff * 2)
        self.lease.release(self.owner)
        log.info("relay stopped", extra={"topic": self.topic})
