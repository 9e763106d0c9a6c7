"""The event envelope and its tamper-evidence hash chain (DESIGN.md §2).

The rule is deliberately simple so that anyone can verify a stream with nothing but
the standard library::

    canonical(x) = json.dumps(x, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode("utf-8")
    hash         = sha256(canonical(envelope without the "hash" key)).hexdigest()
    prev_hash    = previous event's hash in the same stream, or GENESIS_HASH for version 1

Because ``prev_hash`` is inside the hashed envelope, each hash covers the whole history
of its stream.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

GENESIS_HASH = "0" * 64

ENVELOPE_FIELDS = (
    "event_id", "event_type", "schema_version", "stream_id", "stream_type", "version",
    "occurred_at", "actor", "correlation_id", "causation_id", "data", "prev_hash", "hash",
)


def canonical(value: Any) -> bytes:
    """Serialise ``value`` to the canonical JSON bytes that are hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def compute_hash(envelope: Mapping[str, Any]) -> str:
    """Return the sha256 hex digest of ``envelope`` without its ``hash`` key."""
    body = {k: v for k, v in envelope.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def utc_iso(moment: datetime) -> str:
    """Format an aware datetime as UTC ISO-8601 with microseconds and a ``Z`` suffix."""
    if moment.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Actor:
    """Who caused an event: the token subject, its role and optionally a display name."""

    sub: str
    role: str
    name: str | None = None
    opd: str | None = None

    def as_dict(self) -> dict:
        out = {"sub": self.sub, "role": self.role}
        if self.name:
            out["name"] = self.name
        if self.opd:
            out["opd"] = self.opd
        return out


def seal(
    *,
    event_type: str,
    data: Mapping[str, Any],
    stream_id: str,
    stream_type: str,
    version: int,
    prev_hash: str,
    occurred_at: datetime,
    actor: Actor,
    correlation_id: str,
    causation_id: str | None = None,
    schema_version: int = 1,
    event_id: str | None = None,
) -> dict:
    """Build a complete envelope and compute its chained hash."""
    envelope = {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": schema_version,
        "stream_id": stream_id,
        "stream_type": stream_type,
        "version": version,
        "occurred_at": utc_iso(occurred_at),
        "actor": actor.as_dict(),
        "correlation_id": correlation_id,
        "causation_id": causation_id,
        "data": dict(data),
        "prev_hash": prev_hash,
    }
    envelope["hash"] = compute_hash(envelope)
    return envelope


@dataclass(frozen=True)
class ChainProblem:
    """One defect found while verifying a stream: the version it concerns and what is wrong."""

    version: int | None
    problem: str
    detail: str

    def as_dict(self) -> dict:
        return {"version": self.version, "problem": self.problem, "detail": self.detail}


def verify_chain(events: Iterable[Mapping[str, Any]], stream_id: str | None = None,
                 computed: Iterable[str] | None = None) -> list[ChainProblem]:
    """Check a stream's events in stored order; return every problem found (empty = intact).

    Detects edited events (hash mismatch), deleted or reordered events (version gaps or
    broken ``prev_hash`` links) and events that belong to another stream. ``computed``, when
    given, holds ``compute_hash`` of each event, already taken (then ``events`` need only their
    ``stream_id``, ``version``, ``prev_hash`` and ``hash``: a whole-store audit keeps no more).
    """
    problems: list[ChainProblem] = []
    expected_prev = GENESIS_HASH
    expected_version = 1
    computed = iter(computed) if computed is not None else None
    for event in events:
        version = event.get("version")
        if stream_id is not None and event.get("stream_id") != stream_id:
            problems.append(ChainProblem(version, "foreign_event", f"event belongs to {event.get('stream_id')}"))
        if version != expected_version:
            problems.append(ChainProblem(version, "version_gap", f"expected version {expected_version}, found {version}"))
        if event.get("prev_hash") != expected_prev:
            problems.append(ChainProblem(version, "broken_link", "prev_hash does not match the previous event's hash"))
        actual = next(computed) if computed is not None else compute_hash(event)
        if event.get("hash") != actual:
            problems.append(ChainProblem(version, "hash_mismatch", "stored hash does not match the event's content"))
        expected_prev = event.get("hash")
        expected_version = (version if isinstance(version, int) else expected_version) + 1
    return problems
