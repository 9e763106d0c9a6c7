"""Application-layer seedwork: clocks, command context and the event-sourced repository.

A command handler is always the same three steps: load the stream, let the pure domain
decide, append the decided events as one commit. ``Repository`` does the first and the last
(envelopes, hash chain, optimistic concurrency) so handlers hold only the decision.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Generic, Sequence, Type, TypeVar
import uuid
from zoneinfo import ZoneInfo

from shared.domain import Aggregate, NewEvent
from shared.envelope import GENESIS_HASH, Actor, seal
from shared.eventstore import ConcurrencyError, EventStore
from shared.snapshots import Snapshot, Unsnapshottable, decode_state, encode_state, fold_id
from shared.upcasting import Upcasters

log = logging.getLogger(__name__)


class Clock:
    """Port for the current time; inject a ``FixedClock`` in tests and schedulers."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def today(self, tz: str) -> date:
        """Today's date in the time zone ``tz`` (agreement dates are the region's local dates)."""
        return self.now().astimezone(ZoneInfo(tz)).date()


class FixedClock(Clock):
    """A clock that only moves when told to (tests, the scheduler's simulated time)."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> None:
        self.moment += timedelta(**delta)


class FileClock(Clock):
    """Reads the current moment from a file on every call (``2025-06-30`` or a full ISO time).

    Lets tests and rehearsals move time for running processes (the scheduler, the APIs);
    refused in production by ``Settings.check``. A missing or empty file means real time.
    """

    def __init__(self, path: str):
        self.path = path

    def now(self) -> datetime:
        try:
            with open(self.path, encoding="utf-8") as fh:
                text = fh.read().strip()
        except FileNotFoundError:
            text = ""
        if not text:
            return super().now()
        moment = datetime.fromisoformat(text if "T" in text else text + "T12:00:00+07:00")
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def clock_from_settings(settings) -> Clock:
    """``system`` → the real clock; ``file:<path>`` → a ``FileClock``."""
    if settings.clock.startswith("file:"):
        return FileClock(settings.clock[len("file:"):])
    return Clock()


@dataclass(frozen=True)
class CommandContext:
    """Who asks and which request chain the resulting events belong to."""

    actor: Actor
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    causation_id: str | None = None


class StreamNotFound(Exception):
    """No stream with this id exists."""

    def __init__(self, stream_id: str):
        super().__init__(stream_id)
        self.stream_id = stream_id


class VersionMismatch(Exception):
    """The client's expected version (If-Match) is not the stream's current version."""

    def __init__(self, stream_id: str, expected: int, current: int):
        super().__init__(f"{stream_id}: expected {expected}, current {current}")
        self.stream_id, self.expected, self.current = stream_id, expected, current


A = TypeVar("A", bound=Aggregate)


class Repository(Generic[A]):
    """Loads aggregates from an ``EventStore`` and appends their decisions as sealed envelopes.

    A load starts from the stream's snapshot when the store keeps snapshots and one is usable
    (``shared.snapshots``: same fold, on the current hash chain), and folds only the commits after
    it; a command that leaves ``snapshot_every`` or more events since the last snapshot takes a new
    one (by default as often as the store advises: ``EventStore.snapshot_every``). So the cost of a
    command does not grow with the length of its stream.
    """

    SNAPSHOT_EVERY = 32  # when the store gives no advice

    def __init__(self, store: EventStore, aggregate_cls: Type[A], clock: Clock | None = None,
                 upcasters: Upcasters | None = None, snapshot_every: int | None = None):
        self.store = store
        self.aggregate_cls = aggregate_cls
        self.clock = clock or Clock()
        self.upcasters = upcasters or Upcasters()
        self.snapshot_every = snapshot_every
        self._fold: str | None = None

    def fold(self) -> str:
        """What folds this repository's streams: the aggregate's ``fold_id`` and the upcasters
        applied on the way (a snapshot taken under other upcasters is not used)."""
        if self._fold is None:
            steps = sorted((event_type, version, getattr(fn, "__qualname__", repr(fn)),
                            getattr(getattr(fn, "__code__", None), "co_code", b"").hex())
                           for (event_type, version), fn in self.upcasters._steps.items())
            digest = hashlib.sha256(repr(steps).encode()).hexdigest()[:12] if steps else "none"
            self._fold = f"{fold_id(self.aggregate_cls)}:up-{digest}"
        return self._fold

    def events(self, stream_id: str, from_version: int = 1, to_version: int | None = None) -> list[dict]:
        """The stream's envelopes, upcast to the current schema versions."""
        return [self.upcasters.upcast(e) for e in self.store.load(stream_id, from_version, to_version)]

    def load(self, stream_id: str, expected_version: int | None = None, to_version: int | None = None) -> A:
        """Rebuild the aggregate; raise ``StreamNotFound`` or ``VersionMismatch`` (If-Match)."""
        aggregate = self._from_snapshot(stream_id, to_version) or self._folded(stream_id, to_version)
        if aggregate is None:
            raise StreamNotFound(stream_id)
        if expected_version is not None and expected_version != aggregate.version:
            raise VersionMismatch(stream_id, expected_version, aggregate.version)
        return aggregate

    def _folded(self, stream_id: str, to_version: int | None) -> A | None:
        """The aggregate folded from the stream's first event."""
        commits = self._upto(self.store.commits_from(stream_id), to_version)
        if not commits:
            return None
        aggregate = self.aggregate_cls.rebuild(stream_id, self._events(commits, 0, to_version))
        return self._placed(aggregate, commits, to_version, snapshot_version=0)

    def _from_snapshot(self, stream_id: str, to_version: int | None) -> A | None:
        """The aggregate from its snapshot and the commits after it; None when there is no usable one."""
        snapshots = self.store.snapshots
        snapshot = snapshots.get(stream_id) if snapshots is not None else None
        if snapshot is None or snapshot.fold != self.fold() \
                or (to_version is not None and to_version < snapshot.version):
            return None
        commits = self._upto(self.store.commits_from(stream_id, snapshot.first_version), to_version)
        if not commits or commits[0].last_version != snapshot.version \
                or commits[0].events[-1].get("hash") != snapshot.hash \
                or Snapshot.digest_of(snapshot.hash, snapshot.state) != snapshot.digest:
            log.warning("snapshot not on the stream's hash chain; folding the stream",
                        extra={"stream_id": stream_id, "version": snapshot.version})
            return None
        try:
            state = decode_state(snapshot.state, self._packages())
        except (Unsnapshottable, ValueError, TypeError, KeyError, AttributeError, ImportError):
            log.warning("snapshot unreadable; folding the stream", extra={"stream_id": stream_id})
            return None
        aggregate = self.aggregate_cls(stream_id)
        aggregate.__dict__.update(state)
        for event in self._events(commits[1:], snapshot.version, to_version):
            aggregate.apply(event["event_type"], event["data"])
        return self._placed(aggregate, commits, to_version, snapshot_version=snapshot.version)

    @staticmethod
    def _upto(commits: list, to_version: int | None) -> list:
        return commits if to_version is None else [c for c in commits if c.first_version <= to_version]

    def _events(self, commits, after: int, to_version: int | None):
        return [self.upcasters.upcast(e) for c in commits for e in c.events
                if e["version"] > after and (to_version is None or e["version"] <= to_version)]

    def _placed(self, aggregate: A, commits: list, to_version: int | None, snapshot_version: int) -> A:
        """Remember where the aggregate stands in its stream: the hash its next event chains to,
        the commit that ends it (the store's hint) and the version of the snapshot it came from."""
        last = commits[-1]
        event = last.events[-1] if to_version is None else \
            [e for e in last.events if e["version"] <= to_version][-1]
        aggregate._last_hash = event["hash"]
        aggregate._last_commit = last.id
        aggregate._snapshot_version = snapshot_version
        return aggregate

    def _packages(self) -> tuple[str, ...]:
        """Where the classes of a snapshot's state may come from: the aggregate's own top package."""
        return (self.aggregate_cls.__module__.split(".")[0],)

    def save(self, aggregate: A, new_events: Sequence[NewEvent], ctx: CommandContext) -> list[dict]:
        """Seal ``new_events`` onto the aggregate's stream as one commit; return the envelopes.

        ``aggregate.version`` already includes the new events (the domain applied them), so the
        expected version of the stream is ``aggregate.version - len(new_events)``.
        """
        if not new_events:
            return []
        expected = aggregate.version - len(new_events)
        prev_hash = getattr(aggregate, "_last_hash", None) or GENESIS_HASH
        if expected == 0:
            prev_hash = GENESIS_HASH
        now = self.clock.now()
        envelopes = []
        for offset, event in enumerate(new_events, start=1):
            envelope = seal(
                event_type=event.type, data=event.data, schema_version=event.schema_version,
                stream_id=aggregate.stream_id, stream_type=self.aggregate_cls.stream_type,
                version=expected + offset, prev_hash=prev_hash, occurred_at=now, actor=ctx.actor,
                correlation_id=ctx.correlation_id, causation_id=ctx.causation_id,
            )
            prev_hash = envelope["hash"]
            envelopes.append(envelope)
        commit = self.store.append(aggregate.stream_id, self.aggregate_cls.stream_type, expected, envelopes, now,
                                   last_commit=getattr(aggregate, "_last_commit", None) if expected else None)
        self.store.committed()
        aggregate._last_hash = prev_hash
        aggregate._last_commit = commit.id
        every = self.snapshot_every or self.store.snapshot_every() or self.SNAPSHOT_EVERY
        if aggregate.version - getattr(aggregate, "_snapshot_version", 0) >= every:
            self._snapshot(aggregate, commit)
        return envelopes

    def _snapshot(self, aggregate: A, commit) -> None:
        """Keep the aggregate's state as of ``commit`` (best effort: a snapshot is only a cache)."""
        if self.store.snapshots is None:
            return
        state = {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}
        try:
            text = encode_state(state)
            if decode_state(text, self._packages()) != state:
                raise Unsnapshottable("the state does not survive the round trip unchanged")
            self.store.snapshots.put(Snapshot(aggregate.stream_id, aggregate.version, commit.first_version,
                                              aggregate._last_hash, self.fold(), text,
                                              Snapshot.digest_of(aggregate._last_hash, text)))
            aggregate._snapshot_version = aggregate.version
        except Unsnapshottable as exc:
            aggregate._snapshot_version = aggregate.version  # do not try again on every command
            log.info("aggregate not snapshotted", extra={"stream_id": aggregate.stream_id, "reason": str(exc)})
        except Exception:  # the command is stored; a missing snapshot costs only time
            log.warning("could not store a snapshot", extra={"stream_id": aggregate.stream_id}, exc_info=True)


def new_stream_id(stream_type: str) -> str:
    """A fresh stream id ``<type>-<uuid4>``."""
    return f"{stream_type}-{uuid.uuid4()}"


__all__ = ["Clock", "FixedClock", "CommandContext", "StreamNotFound", "VersionMismatch", "Repository",
           "ConcurrencyError", "new_stream_id"]
