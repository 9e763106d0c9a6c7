"""Idempotency-Key over HTTP: a command never runs twice and its answer is never lost.

Each test reproduces an observation of issue 10 on a tiny app whose command appends to an
in-memory event store (the same contract as the real one, tests/integration/test_port_contracts.py).
"""
import io
import json
from datetime import datetime, timezone

import pytest
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from shared.auth import mint_token
from shared.config import Settings
from shared.eventstore import InMemoryEventStore
from shared.http import create_service_app, idempotent, versioned
from shared.idempotency import InMemoryIdempotencyStore, KeyedCommand, key_id, running_under_key
from shared.policy import Policy, allow

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
TOKEN = mint_token(Settings.from_env(), "kerjasama", sub="siti")


class ItemIn(Schema):
    name = fields.String(required=True)


def event(stream_id, version, **data):
    return {"event_id": f"{stream_id}-{version}", "event_type": "item.named", "stream_id": stream_id,
            "stream_type": "item", "version": version, "data": data, "hash": "h", "prev_hash": "p"}


class World:
    """The app, its stores, and switches that make the view fail at chosen points."""

    def __init__(self):
        self.events = InMemoryEventStore()
        self.keys = InMemoryIdempotencyStore(self.events)
        settings = Settings.from_env({"max_body_bytes": 4096, "max_upload_bytes": 200_000})
        self.app, api = create_service_app("test", settings, title="t", idempotency=self.keys, policy=Policy({
            "POST /api/v1/items/<item_id>/name": allow("kerjasama"),
            "POST /api/v1/items/<item_id>/documents": allow("kerjasama")}))
        self.fail_after_commit = False
        self.runs = 0
        blp = Blueprint("items", __name__, url_prefix="/api/v1/items")
        world = self

        @blp.route("/<item_id>/name")
        class Name(MethodView):
            @blp.arguments(ItemIn)
            @idempotent
            def post(self, data, item_id):
                world.runs += 1
                version = world.events.version(item_id)
                world.events.append(item_id, "item", version, [event(item_id, version + 1, name=data["name"])], NOW)
                if world.fail_after_commit:
                    raise ConnectionError("the database went away after the commit")
                return versioned({"id": item_id, "name": data["name"]}, version + 1, 201 if version == 0 else 200)

        @blp.route("/<item_id>/documents", methods=["POST"])
        @idempotent
        def upload(item_id):
            world.runs += 1
            content = request.files["file"].stream.read()
            version = world.events.version(item_id)
            world.events.append(item_id, "item", version, [event(item_id, version + 1, size=len(content))], NOW)
            return versioned({"id": item_id, "size": len(content)}, version + 1, 201)

        api.register_blueprint(blp)

    def post(self, path, key, **kwargs):
        headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": key}
        return self.app.test_client().post(path, headers=headers, **kwargs)

    def crashed_owner(self, path, key, body, commit: bool):
        """The state a process leaves when it dies mid-request: a pending key, maybe a commit under it."""
        kid = key_id(f"siti\nPOST\n{path}", key)
        from hashlib import sha256

        reservation = self.keys.reserve(kid, sha256(json.dumps(body).encode()).hexdigest())
        assert reservation.fresh
        if commit:
            with running_under_key(KeyedCommand(self.keys, kid, reservation.owner)):
                self.events.append("item-1", "item", 0, [event("item-1", 1, name=body["name"])], NOW)
        self.keys.stale_after = 0.0  # the owner is gone: its reservation is stale


@pytest.fixture
def world():
    return World()


def test_a_stale_key_is_not_taken_over_with_another_body(world):
    world.crashed_owner("/api/v1/items/item-1/name", "k", {"name": "first"}, commit=False)
    r = world.post("/api/v1/items/item-1/name", "k", json={"name": "second"})
    assert r.status_code == 422 and r.get_json()["rule"] == "idempotency_key_reused"
    assert world.runs == 0


def test_a_stale_key_whose_owner_committed_answers_the_commit_instead_of_running_again(world):
    world.crashed_owner("/api/v1/items/item-1/name", "k", {"name": "first"}, commit=True)
    r = world.post("/api/v1/items/item-1/name", "k", data=json.dumps({"name": "first"}),
                   content_type="application/json")
    assert r.status_code == 201 and r.headers["ETag"] == '"1"'
    assert r.get_json()["id"] == "item-1" and r.get_json()["status"] == "committed"
    assert world.runs == 0 and world.events.version("item-1") == 1
    again = world.post("/api/v1/items/item-1/name", "k", data=json.dumps({"name": "first"}),
                       content_type="application/json")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert world.events.version("item-1") == 1


def test_a_stale_key_without_a_commit_is_taken_over_and_runs_once(world):
    world.crashed_owner("/api/v1/items/item-1/name", "k", {"name": "first"}, commit=False)
    r = world.post("/api/v1/items/item-1/name", "k", data=json.dumps({"name": "first"}),
                   content_type="application/json")
    assert r.status_code == 201 and r.get_json() == {"id": "item-1", "name": "first"}
    assert world.runs == 1 and world.events.version("item-1") == 1


def test_a_failure_after_the_commit_answers_the_committed_result_and_a_retry_does_not_duplicate(world):
    world.fail_after_commit = True
    first = world.post("/api/v1/items/item-1/name", "k", json={"name": "first"})
    assert first.status_code == 201 and first.headers["ETag"] == '"1"'
    assert first.get_json()["status"] == "committed"
    world.fail_after_commit = False
    retry = world.post("/api/v1/items/item-1/name", "k", json={"name": "first"})
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert world.runs == 1 and world.events.version("item-1") == 1


def test_a_failure_before_any_commit_releases_the_key(world):
    world.events.append("item-1", "item", 0, [event("item-1", 1)], NOW)
    original = world.events.append

    def broken(*args, **kwargs):
        raise ConnectionError("database down")

    world.events.append = broken
    assert world.post("/api/v1/items/item-1/name", "k", json={"name": "x"}).status_code == 500
    world.events.append = original
    assert world.post("/api/v1/items/item-1/name", "k", json={"name": "x"}).status_code == 200
    assert world.events.version("item-1") == 2


def test_storing_the_answer_fails_after_the_commit_the_answer_is_still_given_and_a_retry_finds_it(world):
    complete = world.keys.complete
    world.keys.complete = lambda *a: (_ for _ in ()).throw(ConnectionError("database down"))
    first = world.post("/api/v1/items/item-1/name", "k", json={"name": "first"})
    assert first.status_code == 201 and first.get_json() == {"id": "item-1", "name": "first"}
    world.keys.complete = complete
    assert world.post("/api/v1/items/item-1/name", "k", json={"name": "first"}).status_code == 409  # still pending
    world.keys.stale_after = 0.0  # later, once the reservation is stale
    retry = world.post("/api/v1/items/item-1/name", "k", json={"name": "first"})
    assert retry.status_code == 201 and retry.headers["ETag"] == '"1"'
    assert world.runs == 1 and world.events.version("item-1") == 1


def test_a_stalled_owner_cannot_commit_after_a_takeover(world):
    path = "/api/v1/items/item-1/name"
    kid = key_id(f"siti\nPOST\n{path}", "k")
    from hashlib import sha256

    stalled = world.keys.reserve(kid, sha256(b'{"name": "a"}').hexdigest())
    world.keys.stale_after = 0.0
    assert world.post(path, "k", data='{"name": "a"}', content_type="application/json").status_code == 201
    from shared.idempotency import KeyLost

    with pytest.raises(KeyLost), running_under_key(KeyedCommand(world.keys, kid, stalled.owner)):
        world.events.append("item-1", "item", 1, [event("item-1", 2)], NOW)
    assert world.events.version("item-1") == 1


def test_an_upload_over_the_json_limit_with_a_key_is_hashed_under_the_upload_limit(world):
    content = bytes(range(256)) * 400  # 100 KiB: over the 4 KiB JSON limit, under the upload limit

    def upload(data):
        return world.post("/api/v1/items/item-1/documents", "u",
                          data={"kind": "kak", "file": (io.BytesIO(data), "kak.pdf", "application/pdf")},
                          content_type="multipart/form-data; boundary=fixedboundary")

    first = upload(content)
    assert first.status_code == 201 and first.get_json()["size"] == len(content)  # the view read it all
    again = upload(content)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert upload(content[:-1] + b"x").status_code == 422  # another file, same key
    assert world.runs == 1
    too_big = world.post("/api/v1/items/item-2/documents", "v",
                         data={"file": (io.BytesIO(b"x" * 300_000), "big.pdf")}, content_type="multipart/form-data")
    assert too_big.status_code == 413
