"""Application-layer seedwork: clocks, command context and the event-sourced repository.

A command handler is always the same three steps: load the stream, let the pure domain
decide, append the decided events as one commit. ``Repository`` does the first and the last
(envelopes, hash chain, optimistic concurrency) so handlers hold only the decision.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Generic, Sequence, Type, TypeVar
import uuid
from zoneinfo import ZoneInfo

from shared.domain import Aggregate, NewEvent
from shared.envelope import GENESIS_HASH, Actor, seal
from shared.eventstore import ConcurrencyError, EventStore
from shared.upcasting import Upcasters


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
    """Loads aggregates from an ``EventStore`` and appends their decisions as sealed envelopes."""

    def __init__(self, store: EventStore, aggregate_cls: Type[A], clock: Clock | None = None,
                 upcasters: Upcasters | None = None):
        self.store = store
        self.aggregate_cls = aggregate_cls
        self.clock = clock or Clock()
        self.upcasters = upcasters or Upcasters()

    def events(self, stream_id: str, from_version: int = 1, to_version: int | None = None) -> list[dict]:
        """The stream's envelopes, upcast to the current schema versions."""
        return [self.upcasters.upcast(e) for e in self.store.load(stream_id, from_version, to_version)]

    def load(self, stream_id: str, expected_version: int | None = None, to_version: int | None = None) -> A:
        """Rebuild the aggregate; raise ``StreamNotFound`` or ``VersionMismatch`` (If-Match)."""
        events = self.events(stream_id, to_version=to_version)
        if not events:
            raise StreamNotFound(stream_id)
        aggregate = self.aggregate_cls.rebuild(stream_id, events)
        aggregate._last_hash = events[-1]["hash"]
        if expected_version is not None and expected_version != aggregate.version:
            raise VersionMismatch(stream_id, expected_version, aggregate.version)
        return aggregate

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
        self.store.append(aggregate.stream_id, self.aggregate_cls.stream_type, expected, envelopes, now)
        self.store.committed()
        aggregate._last_hash = prev_hash
        return envelopes


def new_stream_id(stream_type: str) -> str:
    """A fresh stream id ``<type>-<uuid4>``."""
    return f"{stream_type}-{uuid.uuid4()}"


__all__ = ["Clock", "FixedClock", "CommandContext", "StreamNotFound", "VersionMismatch", "Repository",
           "ConcurrencyError", "new_stream_id"]
