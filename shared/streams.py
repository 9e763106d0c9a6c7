"""The event store read API every write service exposes, and its HTTP client.

``GET /api/v1/streams/{stream_id}/events?from=&to=`` returns a stream's stored envelopes
exactly as stored (no upcasting: auditors verify hashes on them); ``GET /api/v1/streams/log``
streams every commit of the service in one pass (whole-store audits). Readers: auditor, service, admin.
"""
from __future__ import annotations

import json
from datetime import timezone

import requests
from flask import Response, jsonify, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from shared.auth import mint_token
from shared.config import Settings
from shared.envelope import verify_chain
from shared.eventstore import EventStore
from shared.http import Problem
from shared.schema import Schema
from shared.upcasting import Upcasters

# Which service owns each stream type (the topology, in one place).
STREAM_OWNERS = {"partner": "partners", "agreement": "agreements", "evaluation": "evaluation"}


class StreamQuery(Schema):
    from_version = fields.Integer(data_key="from", load_default=1, validate=validate.Range(min=1))
    to_version = fields.Integer(data_key="to", load_default=None, validate=validate.Range(min=1))


class ActorSchema(Schema):
    sub = fields.String()
    role = fields.String()
    name = fields.String()
    opd = fields.String()


class EnvelopeSchema(Schema):
    event_id = fields.String()
    event_type = fields.String()
    schema_version = fields.Integer()
    stream_id = fields.String()
    stream_type = fields.String()
    version = fields.Integer()
    occurred_at = fields.String()
    actor = fields.Nested(ActorSchema)
    correlation_id = fields.String()
    causation_id = fields.String(allow_none=True)
    data = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


class StreamEventsSchema(Schema):
    stream_id = fields.String()
    version = fields.Integer()
    chain_intact = fields.Boolean(metadata={"description": "whole stream verified (only when from=1 and no to)"})
    events = fields.List(fields.Nested(EnvelopeSchema))


class StreamListQuery(Schema):
    type = fields.String(metadata={"description": "stream type (partner, agreement, evaluation)"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=10000))


class StateQuery(Schema):
    version = fields.Integer(load_default=None, validate=validate.Range(min=1))
    as_of = fields.AwareDateTime(load_default=None, metadata={"description": "ISO date-time with offset"})


def events_as_of(events: list[dict], as_of) -> list[dict]:
    """The prefix of ``events`` that had occurred at ``as_of`` (an aware datetime)."""
    if as_of is None:
        return events
    limit = as_of.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [e for e in events if e["occurred_at"] <= limit]


def streams_blueprint(store_getter, aggregate_cls=None, upcasters: Upcasters | None = None) -> Blueprint:
    """The event store read API of a service (``store_getter()`` -> EventStore).

    With ``aggregate_cls``, ``/streams/{id}/state`` folds the stream up to a version or a moment
    with the service's own domain code: the state an auditor asks about "as of" that point.
    """
    blp = Blueprint("streams", __name__, url_prefix="/api/v1/streams",
                    description="Event store read API (audit, gap filling, time travel)")
    upcasters = upcasters or Upcasters()

    @blp.route("")
    @blp.arguments(StreamListQuery, location="query")
    def listing(query):
        """Every stream id of this service (in first-commit order), for audits and verification."""
        store: EventStore = store_getter()
        ids = store.stream_ids(query.get("type"))
        start = (query["page"] - 1) * query["per_page"]
        page = [sid for i, sid in enumerate(ids) if start <= i < start + query["per_page"]]
        return jsonify({"items": page, "page": query["page"], "per_page": query["per_page"]})

    @blp.route("/log")
    def log():
        """Every stored commit of this service in one ordered pass, streamed as NDJSON (for audits).

        One line per commit: ``{"stream_id", "first_version", "last_version", "published",
        "events"}``, the events exactly as stored. The whole store is one sequential read, so an
        audit costs time linear in events, not a scanning query per stream.
        """
        store: EventStore = store_getter()

        def lines():
            chunk, size = [], 0
            for commit in store.scan():
                line = json.dumps({"stream_id": commit.stream_id, "first_version": commit.first_version,
                                   "last_version": commit.last_version, "published": commit.published,
                                   "events": commit.events}, ensure_ascii=False, separators=(",", ":")) + "\n"
                chunk.append(line)
                size += len(line)
                if size >= 1 << 16:  # one socket write per ~64 KiB, not per commit
                    yield "".join(chunk)
                    chunk, size = [], 0
            if chunk:
                yield "".join(chunk)

        return Response(stream_with_context(lines()), mimetype="application/x-ndjson")

    if aggregate_cls is not None:
        @blp.route("/<stream_id>/state")
        @blp.arguments(StateQuery, location="query")
        def state(query, stream_id):
            """The aggregate's state at a version or a moment, folded by the write side's domain code."""
            store: EventStore = store_getter()
            events = store.load(stream_id, 1, query["version"])
            if not events:
                raise Problem(404, "Not Found", f"{stream_id} does not exist", rule="not_found")
            events = events_as_of(events, query["as_of"])
            if not events:
                raise Problem(404, "Not Found", f"{stream_id} did not exist yet at that moment", rule="not_yet")
            aggregate = aggregate_cls.rebuild(stream_id, [upcasters.upcast(e) for e in events])
            return jsonify({"stream_id": stream_id, "version": aggregate.version,
                            "as_of": events[-1]["occurred_at"], "state": aggregate.snapshot()})

    @blp.route("/<stream_id>/events")
    class StreamEvents(MethodView):
        @blp.arguments(StreamQuery, location="query")
        @blp.response(200, StreamEventsSchema)
        def get(self, query, stream_id):
            store: EventStore = store_getter()
            stored = store.load_stored(stream_id)  # all that is stored, as stored: auditors verify it
            if not stored:
                raise Problem(404, "Not Found", f"{stream_id} does not exist", rule="not_found")
            low, high = query["from_version"], query["to_version"]
            events = [e for e in stored if e.get("version", 0) >= low and (high is None or e["version"] <= high)]
            whole = low == 1 and high is None
            return {"stream_id": stream_id, "version": stored[-1].get("version"),
                    "chain_intact": (not verify_chain(events, stream_id)) if whole else None,
                    "events": events}

    return blp


class HttpStreamSource:
    """The ``StreamSource`` port (shared/messaging.py) over the owning services' stream APIs (used to fill gaps)."""

    def __init__(self, settings: Settings, timeout: float = 5.0):
        self.settings = settings
        self.timeout = timeout
        self._session = requests.Session()

    def _token(self) -> str:
        return self.settings.service_token or mint_token(self.settings, "service", sub="jalin-projector",
                                                         ttl_seconds=300)

    def events(self, stream_id, stream_type, from_version, to_version):
        base = self.settings.service_url(STREAM_OWNERS[stream_type])
        response = self._session.get(f"{base}/api/v1/streams/{stream_id}/events",
                                     params={"from": from_version, "to": to_version},
                                     headers={"Authorization": f"Bearer {self._token()}"}, timeout=self.timeout)
        response.raise_for_status()
        return response.json()["events"]
