"""Operator API over a consumer's dead letters: list, inspect, retry, discard (DESIGN.md §3).

The API only records the operator's request (status ``retry_requested`` / ``discard_requested``,
with who and why in the letter's history); the consumer runner carries it out, in stream order,
so the read model keeps a single writer.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import jsonify
from flask_smorest import Blueprint
from marshmallow import fields, validate
from pymongo import ASCENDING

from shared.auth import current_actor
from shared.consumer import DEAD_LETTERS, stored_envelope
from shared.http import Problem
from shared.schema import Schema

OPERATORS = ("admin",)
STATUSES = ("open", "retry_requested", "retrying", "discard_requested", "resolved", "discarded", "undecodable")


class DeadLetterQuery(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    stream_id = fields.String()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class DiscardSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=1000))


class RetrySchema(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=1000))


def summary(doc: dict, full: bool = False) -> dict:
    out = {"id": doc["_id"], "consumer": doc.get("consumer"), "status": doc.get("status"),
           "stream_id": doc.get("stream_id"), "version": doc.get("version"), "event_type": doc.get("event_type"),
           "error": doc.get("error"), "attempts": doc.get("attempts"), "created_at": doc.get("created_at"),
           "updated_at": doc.get("updated_at"), "history": doc.get("history", [])}
    if full:
        # Kept as JSON text when BSON cannot hold it (see ``consumer.storable``); shown as JSON alike.
        out["envelope"] = stored_envelope(doc) if ("envelope" in doc or "envelope_json" in doc) else None
        out["traceback"] = doc.get("traceback")
    return out


def deadletters_blueprint(db_getter, name: str = "deadletters") -> Blueprint:
    """Dead-letter operations over the collection in ``db_getter()``."""
    blp = Blueprint(name, __name__, url_prefix="/api/v1/deadletters", description="Dead letters of the projectors")

    @blp.route("")
    @blp.arguments(DeadLetterQuery, location="query")
    def listing(args):
        """Dead letters, newest first (filter by status or stream)."""
        query = {k: args[k] for k in ("status", "stream_id") if args.get(k)}
        docs = db_getter()[DEAD_LETTERS].find(query).sort("updated_at", -1).limit(args["limit"])
        items = [summary(d) for d in docs]
        return jsonify({"items": items, "total": db_getter()[DEAD_LETTERS].count_documents(query)})

    def load(letter_id: str) -> dict:
        doc = db_getter()[DEAD_LETTERS].find_one({"_id": letter_id})
        if doc is None:
            raise Problem(404, "Not Found", f"no dead letter {letter_id}", rule="not_found")
        return doc

    @blp.route("/<path:letter_id>")
    def inspect(letter_id):
        """One dead letter with its event and the error's traceback."""
        return jsonify(summary(load(letter_id), full=True))

    def request_change(letter_id: str, status: str, reason: str | None):
        doc = load(letter_id)
        if doc.get("status") != "open":
            raise Problem(409, "Conflict", f"the dead letter is {doc.get('status')}, not open", rule="not_open")
        actor = current_actor()
        entry = {"status": status, "by": actor.sub, "role": actor.role, "reason": reason,
                 "at": datetime.now(timezone.utc)}
        result = db_getter()[DEAD_LETTERS].update_one({"_id": letter_id, "status": "open"},
                                                      {"$set": {"status": status}, "$push": {"history": entry}})
        if result.modified_count != 1:
            raise Problem(409, "Conflict", "the dead letter changed meanwhile", rule="not_open")
        return jsonify(summary(load(letter_id))), 202

    @blp.route("/<path:letter_id>/retry", methods=["POST"])
    @blp.arguments(RetrySchema)
    def retry(data, letter_id):
        """Ask the consumer to apply the event again (then what was parked behind it, in order)."""
        return request_change(letter_id, "retry_requested", data.get("note"))

    @blp.route("/<path:letter_id>/discard", methods=["POST"])
    @blp.arguments(DiscardSchema)
    def discard(data, letter_id):
        """Ask the consumer to skip the event for good; the reason is recorded."""
        return request_change(letter_id, "discard_requested", data["reason"])

    return blp


def ensure_indexes(db) -> None:
    db[DEAD_LETTERS].create_index([("updated_at", ASCENDING)])
