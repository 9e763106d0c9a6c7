"""Audit: every event of every service, verified; timelines across services; state as of a moment.

The evaluation service gathers events from the owning services' stream APIs (it never trusts its
own read models for this) and verifies each stream's hash chain itself. ``AuditClient`` is used
both by the HTTP API below and by the ``jalin audit`` command.
"""
from __future__ import annotations

import json
from typing import Iterator
from urllib.parse import quote

import requests
from flask import jsonify, request
from flask_smorest import Blueprint
from marshmallow import fields, validate


from shared.config import Settings
from shared.envelope import verify_chain
from shared.http import Problem, ext
from shared.schema import Schema
from shared.streams import STREAM_OWNERS

from services.evaluation import queries
from services.evaluation.bootstrap import current

SERVICES = ("partners", "agreements", "evaluation")


class AuditClient:
    """Reads the write services' stream APIs with an auditor's (or service) token.

    ``log`` reads a whole store in one pass (``jalin audit verify/export``); ``events`` and
    ``verified`` read one stream (the per-stream audit API, timelines).
    """

    def __init__(self, settings: Settings, token: str, timeout: float = 30.0):
        self.settings, self.token, self.timeout = settings, token, timeout
        self.http = requests.Session()

    def _get(self, service: str, path: str, **params):
        response = self.http.get(self.settings.service_url(service) + path, params=params, timeout=self.timeout,
                                 headers={"Authorization": f"Bearer {self.token}"})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response

    @staticmethod
    def owner(stream_id: str) -> str | None:
        """The service that owns the stream (by its type prefix); None for an id no service owns."""
        return STREAM_OWNERS.get(stream_id.split("-", 1)[0])

    def stream_ids(self, service: str) -> Iterator[str]:
        page = 1
        while True:
            items = self._get(service, "/api/v1/streams", page=page, per_page=5000).json()["items"]
            yield from items
            if len(items) < 5000:
                return
            page += 1

    def log(self, service: str) -> Iterator[dict]:
        """Every stored commit of ``service`` in one pass (``GET /api/v1/streams/log``), as it arrives.

        The read timeout applies between chunks, not to the whole answer, so a large store
        streams for as long as it takes.
        """
        response = self.http.get(self.settings.service_url(service) + "/api/v1/streams/log", stream=True,
                                 timeout=(10, self.timeout), headers={"Authorization": f"Bearer {self.token}"})
        with response:
            response.raise_for_status()
            for line in response.iter_lines(chunk_size=1 << 16):
                if line:
                    yield json.loads(line)

    def events(self, stream_id: str) -> list[dict] | None:
        if self.owner(stream_id) is None:
            return None  # no such stream anywhere: 404, like an unknown id of a known type
        response = self._get(self.owner(stream_id), f"/api/v1/streams/{quote(stream_id, safe='')}/events")
        return response.json()["events"] if response is not None else None

    def verified(self, stream_id: str) -> dict | None:
        events = self.events(stream_id)
        if events is None:
            return None
        problems = verify_chain(events, stream_id)
        return {"stream_id": stream_id, "service": self.owner(stream_id), "events": events,
                "verification": {"intact": not problems, "problems": [p.as_dict() for p in problems],
                                 "events": len(events), "last_hash": events[-1]["hash"] if events else None}}

    def state(self, stream_id: str, as_of: str | None = None, version: int | None = None) -> dict | None:
        params = {k: v for k, v in (("as_of", as_of), ("version", version)) if v}
        if self.owner(stream_id) is None:
            return None
        response = self._get(self.owner(stream_id), f"/api/v1/streams/{quote(stream_id, safe='')}/state", **params)
        return response.json() if response is not None else None

    def download_status(self, agreement_id: str, file_id: str) -> int:
        response = self.http.get(f"{self.settings.agreements_url}/api/v1/agreements/{agreement_id}/files/{file_id}",
                                 headers={"Authorization": f"Bearer {self.token}"}, timeout=self.timeout)
        return response.status_code


def agreement_related_ids(agreement_events: list[dict], evaluation_ids: list[str]) -> list[str]:
    """The partner streams an agreement names (in any version) and its evaluations."""
    partners: list[str] = []
    for event in agreement_events:
        ids = event["data"].get("partner_ids") or (event["data"].get("changes") or {}).get("partner_ids") or []
        partners += [p for p in ids if p not in partners]
    return partners + list(evaluation_ids)


def timeline(client: AuditClient, agreement_id: str, evaluation_ids: list[str]) -> dict | None:
    """The agreement's events, its partners' and its evaluations', in time order, each stream verified."""
    own = client.verified(agreement_id)
    if own is None:
        return None
    streams = [own] + [s for s in (client.verified(sid) for sid in
                                   agreement_related_ids(own["events"], evaluation_ids)) if s]
    entries = sorted(((e, s["stream_id"]) for s in streams for e in s["events"]),
                     key=lambda pair: (pair[0]["occurred_at"], pair[1], pair[0]["version"]))
    return {"agreement_id": agreement_id,
            "streams": {s["stream_id"]: s["verification"] for s in streams},
            "intact": all(s["verification"]["intact"] for s in streams),
            "events": [e for e, _ in entries]}


# ---------------------------------------------------------------- HTTP

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit",
                description="Audit: verified histories across services, time travel")
AUDITORS = ("auditor",)


class StateQuery(Schema):
    as_of = fields.String(load_default=None, metadata={"description": "ISO date-time with offset"})
    version = fields.Integer(load_default=None, validate=validate.Range(min=1))


def client_for_request() -> AuditClient:
    """Forward the caller's own token: the owning services check the auditor role again."""
    token = request.headers.get("Authorization", "").partition(" ")[2]
    return AuditClient(ext().settings, token)


@blp.route("/streams/<stream_id>")
def stream(stream_id):
    """Every event of any stream of any service, in order, with its hash-chain verification."""
    try:
        result = client_for_request().verified(stream_id)
    except ValueError as exc:
        raise Problem(400, "Bad Request", str(exc), rule="unknown_stream_type") from exc
    if result is None:
        raise Problem(404, "Not Found", f"{stream_id} does not exist", rule="not_found")
    return jsonify(result)


@blp.route("/streams/<stream_id>/state")
@blp.arguments(StateQuery, location="query")
def state(query, stream_id):
    """The state as of a moment or a version, folded by the owning service's own domain code."""
    try:
        result = client_for_request().state(stream_id, query["as_of"], query["version"])
    except requests.HTTPError as exc:
        raise Problem(exc.response.status_code, "Bad Request", exc.response.text[:500], rule="state_refused")
    if result is None:
        raise Problem(404, "Not Found", f"{stream_id} has no state at that point", rule="not_found")
    return jsonify(result)


@blp.route("/agreements/<agreement_id>/timeline")
def agreement_timeline(agreement_id):
    """The agreement's own events, its partners' and its evaluations', verified, in time order."""
    evaluation_ids = queries.evaluation_ids_of(current().read_db(), agreement_id)
    result = timeline(client_for_request(), agreement_id, evaluation_ids)
    if result is None:
        raise Problem(404, "Not Found", f"{agreement_id} does not exist", rule="not_found")
    return jsonify(result)
