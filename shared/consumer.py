"""The consumer runner: Kafka → projections → MongoDB, never skipping, never reordering.

Per poll batch: decode and upcast the events, apply each to the projections through one
``UnitOfWork``, flush it with bulk writes, record the applied version of every stream, and only
then commit the Kafka offsets (at-least-once delivery + version-checked apply = effectively once).

For each event of stream S at version v, with p the last version of S applied here:
- v ≤ p: a duplicate, ignored;
- v = p + 1: applied;
- v > p + 1: a gap. The missing versions are fetched from the owning service's stream API
  (``StreamSource``); if that fails the event is *parked* and retried later.
A handler that keeps failing sends its event to the dead letters (a collection + the DLQ topic);
later events of the same stream are parked behind it, other streams go on. Operators request a
retry or a discard by changing the dead letter's status; the runner carries it out.

The same holds when the failure comes later, when the batch's writes are flushed (the database or
the driver refuses a key with a NUL byte, an integer beyond 64 bits…): the flush is all-or-nothing
per batch and does not say which event's write it refused, so the batch is applied again one event
at a time and the event whose own writes are refused is dead-lettered. Only an unavailable database
(``readmodel.is_transient``) stops a batch: it is retried from the last committed offsets. Kafka
errors (a rebalance that fails the commit, a broker restart) are retried too; no event and no
Kafka hiccup can stop the runner.
"""
from __future__ import annotations

import abc
import json
import logging
import threading
import time
import traceback
from datetime import datetime, timezone
from typing import Iterable, Sequence

import bson
from kafka.errors import KafkaError
from pymongo import ASCENDING, UpdateOne
from pymongo.database import Database
from pymongo.errors import PyMongoError

from shared import checkpoint
from shared.envelope import compute_hash
from shared.kafka import decode
from shared.logs import correlation_id_var
from shared.messaging import Publisher, StreamSource
from shared.metrics import Metrics
from shared.readmodel import UnitOfWork, WriteRefused, is_transient
from shared.upcasting import Upcasters

log = logging.getLogger("jalin.consumer")

POSITIONS, PARKED, DEAD_LETTERS = "positions", "parked_events", "dead_letters"
# Written journaled and last in each batch, before the Kafka offsets are committed (shared.mongo).
RUNNER_RECORDS = (POSITIONS, PARKED, DEAD_LETTERS)
# A position is written as a creating upsert and then an update (UnitOfWork.versioned); a reader
# between the two sees the created document, which must read as "nothing applied yet".
UNAPPLIED = {"version": 0}
REQUIRED = ("event_id", "event_type", "stream_id", "stream_type", "version", "data", "hash")


class Projection(abc.ABC):
    """Builds read-model documents from events. Must only write through the unit of work."""

    name: str = ""
    collections: tuple[str, ...] = ()  # what it writes (a single-projection rebuild needs to know)

    def setup(self, db: Database) -> None:
        """Create indexes (idempotent)."""

    @abc.abstractmethod
    def handles(self, event_type: str) -> bool: ...

    @abc.abstractmethod
    def apply(self, event: dict, uow: UnitOfWork) -> None: ...

    def before_flush(self, uow: UnitOfWork) -> None:
        """Queue writes derived from what this batch changed (called once per batch, after every
        event of the batch was applied and before the flush; e.g. list rows built from the state
        documents the batch touched). Must be idempotent: a batch may be applied again."""

    def refresh(self, db: Database) -> None:
        """Recompute derived documents (statistics) from the state documents.

        Called after batches that applied events (at most every ``refresh_every`` seconds) and
        when the consumer is idle; derived documents are a pure function of the state, so a
        refresh is idempotent and a crash can never double-count.
        """


class GapNotFilled(Exception):
    """The missing events could not be fetched or did not fit the stream."""


def storable(envelope: dict) -> dict:
    """How an envelope is kept in a dead letter or a parked entry: as is when BSON can hold it,
    else as its JSON text (a key with a NUL byte or an integer beyond 64 bits, the very content
    that may have made its writes fail, must not make the dead letter's own write fail; FerretDB
    on PostgreSQL refuses a NUL byte in any string, so a NUL anywhere takes the JSON path too)."""
    try:
        if _plain(envelope):
            bson.encode({"envelope": envelope})
            return {"envelope": envelope}
    except Exception:  # noqa: BLE001 - any encoding failure: keep the JSON text instead
        pass
    return {"envelope_json": json.dumps(envelope, ensure_ascii=False, default=str)}


def _plain(value) -> bool:
    """No key anywhere that MongoDB-protocol servers refuse or read as an operator or a path, and
    no NUL byte in any string."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str) or key.startswith("$") or "." in key or "\x00" in key:
                    return False
                stack.append(sub)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and "\x00" in item:
            return False
    return True


def stored_envelope(doc: dict) -> dict:
    """The envelope of a dead letter or parked entry written with ``storable``."""
    if "envelope" in doc:
        return doc["envelope"]
    return json.loads(doc["envelope_json"])


class ConsumerRunner:
    """Applies events to projections with the guarantees described in the module docstring."""

    def __init__(self, name: str, db: Database, projections: Sequence[Projection], *,
                 source: StreamSource | None = None, upcasters: Upcasters | None = None,
                 metrics: Metrics | None = None, dlq: Publisher | None = None, dlq_topic: str | None = None,
                 max_attempts: int = 3, refresh_every: float = 5.0):
        self.name, self.db, self.projections = name, db, list(projections)
        self.refresh_every = refresh_every
        self._dirty, self._refreshed_at, self._refresh_seconds = False, 0.0, 0.0
        # Stream positions this runner wrote or read. A position only grows, so an entry can only
        # be behind the stored one (another instance moved the stream on while it held the
        # partition): that costs a gap fill or a skipped duplicate, never a wrong read model.
        # Cleared when the partition assignment changes and when it grows past POSITION_CACHE.
        self._positions: dict[str, dict] = {}
        self._touched: set[str] = set()  # collections written by the batch in hand (shared.checkpoint)
        self.source, self.upcasters = source, upcasters or Upcasters()
        self.dlq, self.dlq_topic, self.max_attempts = dlq, dlq_topic, max_attempts
        metrics = metrics or Metrics()
        self.metrics = metrics
        self._events = metrics.counter("consumer_events_total", "Events by outcome", ("consumer", "outcome"))
        self._gaps = metrics.counter("consumer_gaps_total", "Gaps detected and filled", ("consumer", "outcome"))
        self._parked_gauge = metrics.gauge("consumer_parked_events", "Events parked behind a gap or dead letter", ("consumer",))
        self._dead_gauge = metrics.gauge("consumer_dead_letters_open", "Dead letters waiting for an operator", ("consumer",))
        self._lag = metrics.gauge("consumer_lag", "Messages not yet consumed", ("consumer", "topic", "partition"))
        self._batch_seconds = metrics.histogram("consumer_batch_seconds", "Time to apply and flush one batch", ("consumer",))
        self._refresh_failures = metrics.counter("consumer_refresh_failures_total",
                                                 "Refreshes of derived documents that failed", ("consumer", "projection"))
        self._kafka_errors = metrics.counter("consumer_kafka_errors_total",
                                             "Kafka errors retried by the runner", ("consumer", "error"))

    # ------------------------------------------------------------ setup

    def setup(self) -> None:
        """Create the runner's and the projections' indexes; start a new checkpoint epoch (see
        ``shared.checkpoint``: writes of a batch flushed before a crash may not have been counted)."""
        self.db[PARKED].create_index([("stream_id", ASCENDING), ("version", ASCENDING)])
        self.db[DEAD_LETTERS].create_index([("status", ASCENDING)])
        self.db[DEAD_LETTERS].create_index([("stream_id", ASCENDING)])
        for projection in self.projections:
            projection.setup(self.db)
        checkpoint.bump(self.db, self.name, (), epoch=True)

    # ------------------------------------------------------------ core

    def handle(self, envelopes: Iterable[dict]) -> None:
        """Apply a batch of envelopes (already decoded) durably; safe to call again with the same."""
        started = time.perf_counter()
        self._process(list(envelopes))
        self._batch_seconds.labels(self.name).observe(time.perf_counter() - started)

    def _process(self, envelopes: list[dict], draining: frozenset[str] = frozenset()) -> None:
        if not envelopes:
            return
        try:
            self._process_batch(envelopes, draining)
        except Exception as exc:
            if is_transient(exc):
                raise  # the database is unavailable: not the events' fault, the batch is retried
            log.warning("batch refused, applying its events one by one",
                        extra={"consumer": self.name, "events": len(envelopes), "error": repr(exc)})
            self._positions.clear()  # part of the batch may have been written
            for envelope in envelopes:
                self._process_alone(envelope, draining)

    def _process_alone(self, envelope: dict, draining: frozenset[str]) -> None:
        """Apply one event in its own batch; dead-letter it if its writes keep being refused."""
        error: Exception | None = None
        for _attempt in range(self.max_attempts):
            try:
                self._process_batch([envelope], draining)
                return
            except Exception as exc:
                if is_transient(exc):
                    raise
                error = exc
                self._positions.pop(envelope["stream_id"], None)
        uow = UnitOfWork(self.db, RUNNER_RECORDS)
        self._dead_letter(uow, envelope, error.cause if isinstance(error, WriteRefused) else error)
        uow.flush()

    def _process_batch(self, envelopes: list[dict], draining: frozenset[str]) -> None:
        sids = list(dict.fromkeys(e["stream_id"] for e in envelopes))
        positions = self._known_positions(sids)
        blocked = self._blocked(sids) - draining
        uow = UnitOfWork(self.db, RUNNER_RECORDS)
        applied: dict[str, dict] = {}
        self._touched: set[str] = set()
        for envelope in envelopes:
            sid, version = envelope["stream_id"], envelope["version"]
            last = applied.get(sid) or positions.get(sid) or {"version": 0, "hash": None}
            if sid in blocked:
                self._park(uow, envelope, "behind_dead_letter" if self._has_open_dead_letter(sid) else "behind_gap")
                continue
            if version <= last["version"]:
                self._events.labels(self.name, "duplicate").inc()
                continue
            chain = [envelope]
            if version > last["version"] + 1:
                self._gaps.labels(self.name, "detected").inc()
                try:
                    chain = self._fill(sid, envelope, last) + [envelope]
                    self._gaps.labels(self.name, "filled").inc()
                except GapNotFilled as exc:
                    log.warning("gap not filled, parking", extra={"stream_id": sid, "version": version, "error": str(exc)})
                    self._park(uow, envelope, "gap")
                    blocked.add(sid)
                    continue
            for event in chain:
                if not self._apply(uow, event):
                    blocked.add(sid)
                    break
                applied[sid] = {"version": event["version"], "hash": event["hash"]}
        if applied:
            for projection in self.projections:
                projection.before_flush(uow)
        for sid, pos in applied.items():
            uow.versioned(POSITIONS, sid, "self", pos["version"],
                          set_fields={"version": pos["version"], "hash": pos["hash"],
                                      "updated_at": datetime.now(timezone.utc)},
                          set_on_insert=UNAPPLIED, create=sid not in positions)
        uow.flush()
        self._positions.update(applied)
        checkpoint.bump(self.db, self.name, self._touched)  # after the writes it counts

    POSITION_CACHE = 200_000

    def _known_positions(self, sids: list[str]) -> dict[str, dict]:
        """The applied version of each stream: from the cache, else one lookup by _id per stream
        (an ``$in`` over _id is not narrowed by the _id index on FerretDB and scans the collection)."""
        if len(self._positions) > self.POSITION_CACHE:
            self._positions.clear()
        for sid in sids:
            if sid not in self._positions:
                doc = self.db[POSITIONS].find_one({"_id": sid}, {"version": 1, "hash": 1})
                if doc:
                    self._positions[sid] = {"version": doc["version"], "hash": doc.get("hash")}
        return {sid: self._positions[sid] for sid in sids if sid in self._positions}

    def forget_positions(self) -> None:
        """Drop the cached positions (after a rebalance, or when another process wrote them)."""
        self._positions.clear()

    def _apply(self, uow: UnitOfWork, envelope: dict) -> bool:
        """Apply one event to every projection that handles it; dead-letter it if it keeps failing."""
        event = self.upcasters.upcast(envelope)
        handlers = [p for p in self.projections if p.handles(event["event_type"])]
        if not handlers:
            self._events.labels(self.name, "unknown").inc()
            return True
        token = correlation_id_var.set(event.get("correlation_id"))
        try:
            error = None
            for _attempt in range(self.max_attempts):
                mark = uow.mark()
                try:
                    for projection in handlers:
                        projection.apply(event, uow)
                    self._touched.update(c for p in handlers for c in p.collections)
                    self._events.labels(self.name, "applied").inc()
                    self._dirty = True
                    return True
                except (PyMongoError, WriteRefused):
                    # A database failure, even one a handler's read ran into: the queued writes of
                    # earlier events went with it, so the whole batch goes back (see ``_process``).
                    raise
                except Exception as exc:  # a handler bug or an event it cannot digest
                    uow.rollback(mark)
                    error = exc
            self._dead_letter(uow, envelope, error)
            return False
        finally:
            correlation_id_var.reset(token)

    def _fill(self, sid: str, envelope: dict, last: dict) -> list[dict]:
        if self.source is None:
            raise GapNotFilled("no stream source configured")
        start, end = last["version"] + 1, envelope["version"] - 1
        try:
            missing = self.source.events(sid, envelope["stream_type"], start, end)
        except Exception as exc:
            raise GapNotFilled(f"fetch failed: {exc!r}") from exc
        if [e.get("version") for e in missing] != list(range(start, end + 1)):
            raise GapNotFilled(f"source returned versions {[e.get('version') for e in missing]}")
        prev = last["hash"]
        for event in missing + [envelope]:
            if (prev is not None and event["prev_hash"] != prev) or compute_hash(event) != event["hash"]:
                raise GapNotFilled(f"hash chain does not link at version {event['version']}")
            prev = event["hash"]
        return missing

    # ------------------------------------------------------------ parking and dead letters

    def _blocked(self, sids: list[str]) -> set[str]:
        query = {"stream_id": {"$in": sids}}
        blocked = {d["stream_id"] for d in self.db[PARKED].find(query, {"stream_id": 1})}
        blocked |= {d["stream_id"] for d in self.db[DEAD_LETTERS].find(
            {**query, "status": {"$in": ["open", "retry_requested", "discard_requested"]}}, {"stream_id": 1})}
        return blocked

    def _has_open_dead_letter(self, sid: str) -> bool:
        return self.db[DEAD_LETTERS].count_documents(
            {"stream_id": sid, "status": {"$in": ["open", "retry_requested", "discard_requested"]}}, limit=1) > 0

    def _park(self, uow: UnitOfWork, envelope: dict, reason: str) -> None:
        self._events.labels(self.name, "parked").inc()
        uow.add(PARKED, UpdateOne(
            {"_id": f"{envelope['stream_id']}:{envelope['version']}"},
            {"$setOnInsert": {"stream_id": envelope["stream_id"], "version": envelope["version"],
                              **storable(envelope), "reason": reason, "parked_at": datetime.now(timezone.utc)}},
            upsert=True))

    def _dead_letter(self, uow: UnitOfWork, envelope: dict, error: Exception | None) -> None:
        self._events.labels(self.name, "dead_lettered").inc()
        detail = "".join(traceback.format_exception(error)) if error else ""
        log.error("event dead-lettered", extra={"stream_id": envelope["stream_id"], "version": envelope["version"],
                                                 "event_type": envelope["event_type"], "error": repr(error)})
        uow.add(DEAD_LETTERS, UpdateOne(
            {"_id": f"{envelope['stream_id']}:{envelope['version']}"},
            {"$set": {"stream_id": envelope["stream_id"], "version": envelope["version"],
                      "event_type": envelope["event_type"], **storable(envelope), "status": "open",
                      "error": repr(error), "traceback": detail[-4000:], "consumer": self.name,
                      "updated_at": datetime.now(timezone.utc)},
             "$setOnInsert": {"created_at": datetime.now(timezone.utc), "history": []},
             "$inc": {"attempts": self.max_attempts}},
            upsert=True))
        if self.dlq is not None and self.dlq_topic:
            try:
                self.dlq.publish([(self.dlq_topic, envelope["stream_id"],
                                   {"consumer": self.name, "error": repr(error), "envelope": envelope})])
            except Exception as exc:  # the collection is the source of truth; the topic is a copy
                log.warning("dlq publish failed", extra={"error": repr(exc)})

    def refresh(self, force: bool = False) -> None:
        """Let projections recompute derived documents if events were applied since the last time."""
        # While a backlog is applied, refresh at most every refresh_every seconds and never for
        # more than a quarter of the time: a recomputation over a large read model takes seconds.
        interval = max(self.refresh_every, 3 * self._refresh_seconds)
        if not self._dirty or (not force and time.monotonic() - self._refreshed_at < interval):
            return
        self._dirty = False
        started = time.monotonic()
        for projection in self.projections:
            try:
                projection.refresh(self.db)
                if type(projection).refresh is not Projection.refresh:  # it derives documents
                    checkpoint.bump(self.db, self.name, projection.collections)
            except Exception as exc:
                if is_transient(exc):
                    self._dirty = True
                    raise
                # Derived documents a stored event makes unwritable: they stay as they were (and
                # are tried again after the next batch); the events go on being applied.
                self._dirty = True
                self._refresh_failures.labels(self.name, projection.name).inc()
                log.error("refresh failed", extra={"consumer": self.name, "projection": projection.name,
                                                   "error": repr(exc)})
        self._refreshed_at = time.monotonic()
        self._refresh_seconds = self._refreshed_at - started

    def maintain(self) -> None:
        """Carry out operator requests on dead letters and retry parked streams."""
        for letter in list(self.db[DEAD_LETTERS].find({"status": "discard_requested"})):
            self._settle(letter, "discarded")
        for letter in list(self.db[DEAD_LETTERS].find({"status": "retry_requested"})):
            envelope = stored_envelope(letter)
            pos = self.db[POSITIONS].find_one({"_id": letter["stream_id"]}) or {"version": 0}
            if envelope["version"] <= pos["version"]:
                self._settle(letter, "resolved")
                continue
            self.db[DEAD_LETTERS].update_one({"_id": letter["_id"]}, {"$set": {"status": "retrying"}})
            self._positions.pop(letter["stream_id"], None)
            # Its own batch, as after a refused flush: the dead letter is written again as open,
            # with the new error, if the handler or the writes fail again.
            self._process_alone(envelope, frozenset({letter["stream_id"]}))
            pos = self.db[POSITIONS].find_one({"_id": letter["stream_id"]}) or {"version": 0}
            if envelope["version"] <= pos["version"]:
                self._settle(letter, "resolved")
        self._drain_parked()
        self.refresh()
        self._parked_gauge.labels(self.name).set(self.db[PARKED].count_documents({}))
        self._dead_gauge.labels(self.name).set(self.db[DEAD_LETTERS].count_documents({"status": "open"}))

    def _settle(self, letter: dict, status: str) -> None:
        if status == "discarded":
            envelope = stored_envelope(letter)
            self._positions.pop(letter["stream_id"], None)
            uow = UnitOfWork(self.db, RUNNER_RECORDS)
            uow.versioned(POSITIONS, letter["stream_id"], "self", envelope["version"],
                          set_fields={"version": envelope["version"], "hash": envelope["hash"],
                                      "updated_at": datetime.now(timezone.utc)}, set_on_insert=UNAPPLIED)
            uow.flush()
        self.db[DEAD_LETTERS].update_one({"_id": letter["_id"]}, {
            "$set": {"status": status, "updated_at": datetime.now(timezone.utc)},
            "$push": {"history": {"status": status, "at": datetime.now(timezone.utc)}}})

    def _drain_parked(self) -> None:
        sids = sorted({d["stream_id"] for d in self.db[PARKED].find({}, {"stream_id": 1})})
        for sid in sids:
            if self._has_open_dead_letter(sid):
                continue
            docs = list(self.db[PARKED].find({"stream_id": sid}).sort("version", ASCENDING))
            self._process([stored_envelope(d) for d in docs], draining=frozenset({sid}))
            pos = self.db[POSITIONS].find_one({"_id": sid}) or {"version": 0}
            self.db[PARKED].delete_many({"stream_id": sid, "version": {"$lte": pos["version"]}})

    # ------------------------------------------------------------ the Kafka loop

    def run(self, consumer, stop: threading.Event, maintain_every: float = 2.0, poll_ms: int = 500,
            should_yield=None) -> None:
        """Poll → apply → commit until ``stop`` is set (or ``should_yield()`` says so between batches).

        ``consumer`` is a kafka-python KafkaConsumer.
        """
        self.setup()
        last_maintenance, assignment, kafka_failures = 0.0, None, 0
        log.info("consumer started", extra={"consumer": self.name})
        while not stop.is_set() and not (should_yield and should_yield()):
            try:
                records = consumer.poll(timeout_ms=poll_ms)
                if consumer.assignment() != assignment:
                    assignment = consumer.assignment()
                    self.forget_positions()
                batch = []
                for _tp, messages in sorted(records.items(), key=lambda kv: (kv[0].topic, kv[0].partition)):
                    for message in messages:
                        envelope = self._decode(message)
                        if envelope is not None:
                            batch.append(envelope)
                if batch:
                    self.handle(batch)
                if records:
                    consumer.commit()
                self.refresh(force=not records)
                if time.monotonic() - last_maintenance > maintain_every:
                    self.maintain()
                    self._measure_lag(consumer)
                    last_maintenance = time.monotonic()
            except (PyMongoError, WriteRefused) as exc:
                # Nothing was committed: rewind to the last committed offsets and retry. (A refused
                # write reaching here is one the runner could not pin on an event: even the dead
                # letter was refused, as when the disk is full. Nothing is skipped; it waits.)
                log.warning("database unavailable, retrying batch", extra={"error": repr(exc)})
                try:
                    self._rewind(consumer)
                except KafkaError as kafka_exc:  # a rebalance meanwhile: the new assignment starts there anyway
                    log.warning("rewind failed", extra={"error": repr(kafka_exc)})
                stop.wait(1.0)
            except KafkaError as exc:
                # A rebalance under way (the commit is refused: CommitFailedError, unknown member
                # id), a broker restarting… The batch in hand was applied; what was not committed
                # is delivered again (to this member or the partition's new owner) and skipped as
                # duplicates. The next poll rejoins the group.
                self._kafka_errors.labels(self.name, type(exc).__name__).inc()
                log.warning("kafka error, retrying", extra={"consumer": self.name, "error": repr(exc)})
                self.forget_positions()
                backoff = min(10.0, 0.5 * 2 ** min(kafka_failures, 5))
                kafka_failures += 1
                stop.wait(backoff)
                continue
            kafka_failures = 0
        self.refresh(force=True)
        log.info("consumer stopped", extra={"consumer": self.name})

    def _decode(self, message) -> dict | None:
        try:
            envelope = decode(message.value)
            missing = [k for k in REQUIRED if k not in envelope]
            if missing:
                raise ValueError(f"envelope lacks {missing}")
            return envelope
        except Exception as exc:  # undecodable bytes cannot block anything: record and go on
            self._events.labels(self.name, "undecodable").inc()
            self.db[DEAD_LETTERS].update_one(
                {"_id": f"{message.topic}:{message.partition}:{message.offset}"},
                {"$set": {"status": "undecodable", "error": repr(exc), "raw": message.value[:10000],
                          "consumer": self.name, "updated_at": datetime.now(timezone.utc)}}, upsert=True)
            return None

    @staticmethod
    def _rewind(consumer) -> None:
        for tp in consumer.assignment():
            committed = consumer.committed(tp)
            if committed is not None:
                consumer.seek(tp, committed)
            else:
                consumer.seek_to_beginning(tp)

    def _measure_lag(self, consumer) -> None:
        try:
            assignment = list(consumer.assignment())
            if not assignment:
                return
            ends = consumer.end_offsets(assignment)
            for tp in assignment:
                self._lag.labels(self.name, tp.topic, str(tp.partition)).set(max(0, ends[tp] - consumer.position(tp)))
        except Exception as exc:  # lag is informative only
            log.debug("lag not measured", extra={"error": repr(exc)})


class StoreStreamSource:
    """A ``StreamSource`` reading an ``EventStore`` directly (tools, tests of the runner)."""

    def __init__(self, stores: dict):
        self.stores = stores  # stream_type -> EventStore

    def events(self, stream_id, stream_type, from_version, to_version):
        return self.stores[stream_type].load(stream_id, from_version, to_version)
