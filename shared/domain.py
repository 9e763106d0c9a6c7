"""Seedwork for pure domain code: the aggregate base class, decided events and rule errors.

Domain packages import this module and nothing that does I/O. An aggregate is rebuilt by
folding its events through ``apply`` and decides by returning new events from its command
methods (which also apply them, so one command may build on its own decisions).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Iterable, Mapping


class Refusal(StrEnum):
    """What kind of refusal a ``DomainError`` is; the HTTP edge (shared/http.py) maps each to a status."""

    INVALID = "invalid"        # the request breaks a rule about its content
    CONFLICT = "conflict"      # not allowed in the current state of things
    FORBIDDEN = "forbidden"    # this actor may not do it
    NOT_FOUND = "not_found"    # what it refers to does not exist


class DomainError(Exception):
    """A command was refused by a named rule.

    ``rule`` is a stable machine name (``term_exceeds_five_years``) that API errors carry;
    ``kind`` says what sort of refusal it is (the domain knows nothing of HTTP);
    ``fields`` optionally maps input fields to messages.
    """

    def __init__(self, rule: str, detail: str, *, kind: Refusal = Refusal.INVALID,
                 fields: Mapping[str, Any] | None = None):
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail
        self.kind = Refusal(kind)
        self.fields = dict(fields or {})


class InvalidTransition(DomainError):
    """A command is not allowed in the aggregate's current state (a conflict)."""

    def __init__(self, command: str, state: str, rule: str = "invalid_transition"):
        super().__init__(rule, f"'{command}' is not allowed while the status is {state}", kind=Refusal.CONFLICT)
        self.command = command
        self.state = state


@dataclass(frozen=True)
class NewEvent:
    """An event decided by an aggregate but not yet stored (no envelope yet)."""

    type: str
    data: Mapping[str, Any] = field(default_factory=dict)
    schema_version: int = 1


class Aggregate:
    """Base class of event-sourced aggregates.

    Subclasses set ``stream_type`` and define ``when_<event_type with dots as underscores>``
    methods that change state; events without a ``when_`` method are ignored so that old
    streams keep loading when an event type is retired.
    """

    stream_type: ClassVar[str] = ""

    def __init__(self, stream_id: str):
        self.stream_id = stream_id
        self.version = 0

    @classmethod
    def rebuild(cls, stream_id: str, events: Iterable[Mapping[str, Any]]):
        """Fold stored envelopes (``event_type`` and ``data`` keys) into a fresh aggregate."""
        aggregate = cls(stream_id)
        for event in events:
            aggregate.apply(event["event_type"], event["data"])
        return aggregate

    def apply(self, event_type: str, data: Mapping[str, Any]) -> None:
        """Change state by one event and advance the version."""
        handler = getattr(self, "when_" + event_type.replace(".", "_"), None)
        if handler is not None:
            handler(data)
        self.version += 1

    def _emit(self, event_type: str, data: Mapping[str, Any] | None = None, schema_version: int = 1) -> NewEvent:
        """Record a decision: apply it now and return it for the caller to store."""
        event = NewEvent(event_type, dict(data or {}), schema_version)
        self.apply(event.type, event.data)
        return event
