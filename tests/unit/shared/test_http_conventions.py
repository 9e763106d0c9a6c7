"""HTTP conventions on a tiny app: problem+json, 413, auth, ETag/If-Match, Idempotency-Key."""
import pytest
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from shared.application import StreamNotFound, VersionMismatch
from shared.auth import mint_token
from shared.config import Settings
from shared.domain import DomainError
from shared.http import create_service_app, expected_version, idempotent, versioned
from shared.idempotency import InMemoryIdempotencyStore
from shared.policy import Policy, allow


class ItemIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=2))
    tags = fields.List(fields.Nested(type("Tag", (Schema,), {"label": fields.String(required=True)})))


@pytest.fixture
def app():
    settings = Settings.from_env({"max_body_bytes": 2048})
    app, api = create_service_app("test", settings, title="t", idempotency=InMemoryIdempotencyStore(), policy=Policy({
        "POST /api/v1/items": allow("pimpinan", "kerjasama"),
        "GET /api/v1/items/<item_id>": allow("*"),
        "DELETE /api/v1/items/<item_id>": allow("kerjasama")}))
    blp = Blueprint("items", __name__, url_prefix="/api/v1/items")
    created = []

    @blp.route("")
    class Items(MethodView):
        @blp.arguments(ItemIn)
        @idempotent
        def post(self, data):
            if data["name"] == "forbidden":
                raise DomainError("name_not_allowed", "that name is reserved", fields={"name": ["reserved"]})
            created.append(data)
            return versioned({"n": len(created), **data}, 1, 201)

    @blp.route("/<item_id>")
    class Item(MethodView):
        def get(self, item_id):
            if item_id == "missing":
                raise StreamNotFound(item_id)
            expected = expected_version()
            if expected is not None and expected != 4:
                raise VersionMismatch(item_id, expected, 4)
            return versioned({"id": item_id}, 4)

        def delete(self, item_id):
            raise RuntimeError("boom")

    api.register_blueprint(blp)
    app.created = created
    return app


def auth(role="kerjasama", **extra):
    return {"Authorization": "Bearer " + mint_token(Settings.from_env(), role, opd="DINKES" if role == "opd" else None),
            **extra}


def test_field_errors_are_problem_json_with_every_field(app):
    r = app.test_client().post("/api/v1/items", json={"name": "x", "tags": [{}], "extra": 1}, headers=auth())
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    body = r.get_json()
    assert set(body["errors"]) == {"name", "tags.0.label", "extra"}
    assert body["rule"] == "validation_failed" and body["correlation_id"]
    assert app.created == []


def test_malformed_json_is_400(app):
    r = app.test_client().post("/api/v1/items", data="{not json", content_type="application/json", headers=auth())
    assert r.status_code == 400 and r.mimetype == "application/problem+json"


def test_body_over_the_limit_is_413(app):
    r = app.test_client().post("/api/v1/items", json={"name": "x" * 5000}, headers=auth())
    assert r.status_code == 413 and r.get_json()["rule"] == "body_too_large"


def test_domain_rule_names_the_rule(app):
    r = app.test_client().post("/api/v1/items", json={"name": "forbidden"}, headers=auth())
    assert r.status_code == 422 and r.get_json()["rule"] == "name_not_allowed"
    assert r.get_json()["errors"] == {"name": ["reserved"]}


def test_auth_401_403(app):
    client = app.test_client()
    assert client.post("/api/v1/items", json={"name": "ok"}).status_code == 401
    assert client.post("/api/v1/items", json={"name": "ok"},
                       headers={"Authorization": "Bearer nonsense"}).status_code == 401
    r = client.post("/api/v1/items", json={"name": "ok"}, headers=auth("publik"))
    assert r.status_code == 403 and r.mimetype == "application/problem+json"
    assert client.post("/api/v1/items", json={"name": "ok"}, headers=auth("pimpinan")).status_code == 201


def test_etag_and_if_match(app):
    client = app.test_client()
    r = client.get("/api/v1/items/a", headers=auth())
    assert r.headers["ETag"] == '"4"'
    assert client.get("/api/v1/items/a", headers=auth(**{"If-Match": '"4"'})).status_code == 200
    r = client.get("/api/v1/items/a", headers=auth(**{"If-Match": '"3"'}))
    assert r.status_code == 412 and r.get_json()["current_version"] == 4 and r.headers["ETag"] == '"4"'
    assert client.get("/api/v1/items/a", headers=auth(**{"If-Match": "abc"})).status_code == 400
    assert client.get("/api/v1/items/missing", headers=auth()).status_code == 404


def test_idempotency_key_replays_the_first_result(app):
    client = app.test_client()
    first = client.post("/api/v1/items", json={"name": "abc"}, headers=auth(**{"Idempotency-Key": "k1"}))
    again = client.post("/api/v1/items", json={"name": "abc"}, headers=auth(**{"Idempotency-Key": "k1"}))
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert len(app.created) == 1
    other = client.post("/api/v1/items", json={"name": "xyz"}, headers=auth(**{"Idempotency-Key": "k1"}))
    assert other.status_code == 422 and other.get_json()["rule"] == "idempotency_key_reused"


def test_unexpected_error_is_a_500_problem_without_stack_trace(app):
    r = app.test_client().delete("/api/v1/items/a", headers=auth())
    assert r.status_code == 500 and "Traceback" not in r.get_data(as_text=True)
    assert r.get_json()["correlation_id"]


def test_operational_endpoints_and_openapi(app):
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert b"jalin_http_requests_total" in client.get("/metrics").data
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/items" in spec["paths"] and spec["components"]["securitySchemes"]["bearerAuth"]


def test_correlation_id_is_echoed(app):
    r = app.test_client().get("/healthz", headers={"X-Correlation-ID": "abc-123"})
    assert r.headers["X-Correlation-ID"] == "abc-123"


def test_a_reported_dependency_down_is_in_healthz_and_the_gauge_but_readiness_stays_200():
    kafka = {"up": False}

    def kafka_check():
        if not kafka["up"]:
            raise ConnectionError("no broker")

    def db_check():
        if db["down"]:
            raise ConnectionError("no db")

    db = {"down": False}
    app, _ = create_service_app("t", Settings.from_env(), title="t", readiness={"mongodb": db_check},
                                reported={"kafka": kafka_check})
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {"mongodb": "ok"}
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["checks"] == {"kafka": "unavailable: ConnectionError"}
    assert b'jalin_dependency_up{dependency="kafka"} 0.0' in client.get("/metrics").data
    kafka["up"] = True
    assert client.get("/healthz").get_json()["checks"] == {"kafka": "ok"}
    assert b'jalin_dependency_up{dependency="kafka"} 1.0' in client.get("/metrics").data
    db["down"] = True  # the service's own database: that is what readiness is about
    assert client.get("/readyz").status_code == 503
