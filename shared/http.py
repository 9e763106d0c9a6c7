"""HTTP conventions shared by every service (DESIGN.md §4).

``create_service_app`` builds a Flask app with: problem+json errors (RFC 9457) with field
details, a body size limit (413), correlation ids, JSON access logs, Prometheus metrics,
``/healthz``, ``/readyz`` and an OpenAPI document at ``/api/v1/openapi.json`` generated from
the marshmallow schemas by flask-smorest. Helpers here implement ETag/If-Match and
Idempotency-Key for the command endpoints.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, TypeVar

from flask import Flask, Response, current_app, g, jsonify, request
from flask_smorest import Api
from marshmallow.experimental.context import Context as LoadContext
from werkzeug.exceptions import HTTPException

from shared.application import StreamNotFound, VersionMismatch
from shared.auth import AuthError, current_actor
from shared.config import Settings
from shared.domain import DomainError, Refusal
from shared.eventstore import ConcurrencyError
from shared.idempotency import (IdempotencyStore, KeyedCommand, KeyLost, StoredResponse, committed_streams, key_id,
                                running_under_key)
from shared.logs import configure_logging, correlation_id_var
from shared.metrics import Metrics
from shared.policy import Policy

log = logging.getLogger("jalin.http")
PROBLEM = "application/problem+json"


@dataclass
class ServiceExtension:
    """Per-app state reachable as ``current_app.extensions["jalin"]``."""

    name: str
    settings: Settings
    metrics: Metrics
    readiness: dict[str, Callable[[], Any]] = field(default_factory=dict)
    reported: dict[str, Callable[[], Any]] = field(default_factory=dict)  # health reported, not required
    idempotency: IdempotencyStore | None = None
    container: Any = None  # the service's composition root (its bootstrap's ``Container``)


def ext() -> ServiceExtension:
    """The current app's ``ServiceExtension``."""
    return current_app.extensions["jalin"]


C = TypeVar("C")


def current_container(kind: type[C]) -> C:
    """The current app's container, checked to be a ``kind`` (each service's typed accessor uses this)."""
    container = ext().container
    if not isinstance(container, kind):
        raise RuntimeError(f"this app holds {type(container).__name__}, not {kind.__name__}")
    return container


# ---------------------------------------------------------------- problem+json

class Problem(Exception):
    """Raise anywhere in a request to answer with a problem+json document."""

    def __init__(self, status: int, title: str, detail: str | None = None, *, rule: str | None = None,
                 errors: Mapping[str, list[str]] | None = None, headers: Mapping[str, str] | None = None,
                 **extensions):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.rule = status, title, detail, rule
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})
        self.extensions = extensions


def problem_response(status: int, title: str, detail: str | None = None, *, rule: str | None = None,
                     errors: Mapping[str, list[str]] | None = None, headers: Mapping[str, str] | None = None,
                     **extensions) -> Response:
    """Build an ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": f"urn:jalin:problem:{rule}" if rule else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if rule:
        body["rule"] = rule
    if errors:
        body["errors"] = errors
    body.update(extensions)
    body["instance"] = request.path
    body["correlation_id"] = correlation_id_var.get()
    response = current_app.response_class(json.dumps(body, ensure_ascii=False, default=str), status=status,
                                          mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages into ``{"contacts.0.email": ["Not a valid email."]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_messages(value, name))
    elif isinstance(messages, (list, tuple)) and all(isinstance(m, str) for m in messages):
        out[prefix or "_body"] = list(messages)
    elif isinstance(messages, (list, tuple)):
        for index, value in enumerate(messages):
            out.update(flatten_messages(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "_body"] = [str(messages)]
    return out


def _webargs_errors(exc: HTTPException) -> dict[str, list[str]]:
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or {}
    errors: dict[str, list[str]] = {}
    for location, fields in messages.items():
        flat = flatten_messages(fields)
        if location == "json":
            errors.update(flat)
        else:
            errors.update({f"{location}.{k}": v for k, v in flat.items()})
    return errors


# The one place where the domain's kinds of refusal become HTTP statuses.
REFUSAL_STATUS = {
    Refusal.INVALID: (422, "Rule violated"),
    Refusal.CONFLICT: (409, "Conflict"),
    Refusal.FORBIDDEN: (403, "Forbidden"),
    Refusal.NOT_FOUND: (404, "Not Found"),
}


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(Problem)
    def on_problem(exc: Problem):
        return problem_response(exc.status, exc.title, exc.detail, rule=exc.rule, errors=exc.errors,
                                headers=exc.headers, **exc.extensions)

    @app.errorhandler(DomainError)
    def on_domain_error(exc: DomainError):
        status, title = REFUSAL_STATUS[exc.kind]
        return problem_response(status, title, exc.detail, rule=exc.rule,
                                errors={k: v if isinstance(v, list) else [str(v)] for k, v in exc.fields.items()})

    @app.errorhandler(AuthError)
    def on_auth_error(exc: AuthError):
        headers = {"WWW-Authenticate": 'Bearer realm="jalin"'} if exc.status == 401 else {}
        return problem_response(exc.status, "Unauthorized" if exc.status == 401 else "Forbidden", exc.detail,
                                headers=headers)

    @app.errorhandler(StreamNotFound)
    def on_not_found(exc: StreamNotFound):
        return problem_response(404, "Not Found", f"{exc.stream_id} does not exist", rule="not_found")

    @app.errorhandler(VersionMismatch)
    def on_version_mismatch(exc: VersionMismatch):
        return problem_response(412, "Precondition Failed",
                                f"If-Match version {exc.expected} is not the current version {exc.current}",
                                rule="version_mismatch", headers={"ETag": etag(exc.current)},
                                current_version=exc.current)

    @app.errorhandler(ConcurrencyError)
    def on_concurrency(exc: ConcurrencyError):
        return problem_response(409, "Conflict", "the resource was changed by another request; reload and retry",
                                rule="concurrent_modification", current_version=exc.current_version)

    @app.errorhandler(HTTPException)
    def on_http(exc: HTTPException):
        if exc.code in (400, 422) and getattr(exc, "data", None):
            errors = _webargs_errors(exc)
            detail = "the request body is not valid JSON" if exc.code == 400 else "some fields are invalid"
            return problem_response(exc.code, "Bad Request" if exc.code == 400 else "Unprocessable Content",
                                    detail, rule="invalid_json" if exc.code == 400 else "validation_failed",
                                    errors=errors)
        if exc.code == 413:
            return problem_response(413, "Content Too Large",
                                    f"the body exceeds the limit of {current_app.config['MAX_CONTENT_LENGTH']} bytes",
                                    rule="body_too_large")
        return problem_response(exc.code or 500, exc.name, exc.description)

    @app.errorhandler(Exception)
    def on_unexpected(exc: Exception):
        log.exception("unhandled error", extra={"path": request.path})
        return problem_response(500, "Internal Server Error", "an unexpected error occurred; quote the correlation_id")


# ---------------------------------------------------------------- JSON bodies

# No request schema nests anywhere near this deep (``shared.schema`` bounds each field further).
MAX_JSON_DEPTH = 32


def json_depth(value: Any, limit: int) -> int:
    """The nesting depth of a parsed JSON value, counted up to ``limit + 1`` (iterative: a deep
    value cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def guard_json_depth() -> None:
    """Refuse (422) a JSON body nested deeper than ``MAX_JSON_DEPTH`` before any schema reads it.

    Python's parser gives up with a RecursionError (a 500) around a thousand levels; a body that
    deep is refused here, as is anything deeper than the limit. Bodies that are not JSON, or not
    valid JSON, are left to the schema's parser (400).
    """
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE") or not request.is_json:
        return
    body = request.get_data(cache=True)
    if not body:
        return
    try:
        parsed = json.loads(body)
        deep = json_depth(parsed, MAX_JSON_DEPTH) > MAX_JSON_DEPTH
    except RecursionError:
        deep = True
    except ValueError:
        return
    if deep:
        raise Problem(422, "Unprocessable Content", f"the body is nested deeper than {MAX_JSON_DEPTH} levels",
                      rule="nesting_too_deep", errors={"_body": [f"nested deeper than {MAX_JSON_DEPTH} levels"]})


# ---------------------------------------------------------------- ETag / If-Match

def etag(version: int) -> str:
    """The strong ETag of a stream version: ``"<version>"``."""
    return f'"{version}"'


def expected_version() -> int | None:
    """The version in ``If-Match`` (``"3"``, ``3`` or ``W/"3"``), or None when absent or ``*``."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise Problem(400, "Bad Request", "If-Match must be an entity tag holding a version number",
                      rule="invalid_if_match", errors={"headers.If-Match": ["expected a version such as \"3\""]})
    return int(value)


def versioned(body: Any, version: int, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response carrying ``ETag: "<version>"``."""
    response = jsonify(body)
    response.status_code = status
    response.headers["ETag"] = etag(version)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# ---------------------------------------------------------------- Idempotency-Key

def upload_body_limit(settings: Settings) -> int:
    """The body limit of a multipart upload: the file limit plus room for the form's envelope."""
    return settings.max_upload_bytes + 64 * 1024


def _fingerprint() -> str:
    """SHA-256 of the request body, read under the route's limit.

    A multipart upload is parsed under the upload limit (not the JSON one, so a large file with an
    Idempotency-Key is not refused with 413) and hashed part by part in chunks from werkzeug's
    spooled files, never as one bytes object; the file streams are rewound for the view.
    """
    if request.mimetype != "multipart/form-data":
        return hashlib.sha256(request.get_data()).hexdigest()
    request.max_content_length = upload_body_limit(ext().settings)
    digest = hashlib.sha256(b"multipart\0")
    for name, value in sorted(request.form.items(multi=True)):
        digest.update(f"field\0{name}\0{value}\0".encode())
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: (item[0], item[1].filename or "")):
        digest.update(f"file\0{name}\0{upload.filename}\0{upload.mimetype}\0".encode())
        for chunk in iter(lambda: upload.stream.read(65536), b""):
            digest.update(chunk)
        upload.stream.seek(0)
    return digest.hexdigest()


def _committed_answer(commits) -> StoredResponse:
    """The answer to a command whose commit is stored but whose own answer was lost.

    The view's representation cannot be rebuilt here, so the answer names what was committed:
    the stream and its version (also as ``ETag``); 201 when the command created the stream.
    """
    streams = [{"stream_id": s, "first_version": first, "version": last} for s, first, last in committed_streams(commits)]
    body = {"status": "committed", "streams": streams, "id": streams[-1]["stream_id"],
            "version": streams[-1]["version"],
            "detail": "the command was stored; its original answer was lost. GET the resource for its state."}
    status = 201 if any(s["first_version"] == 1 for s in streams) else 200
    return StoredResponse(status, json.dumps(body).encode(), {"Content-Type": "application/json",
                                                              "ETag": etag(streams[-1]["version"])})


def _replay(stored: StoredResponse, replayed: bool = True) -> Response:
    response = current_app.response_class(stored.body, status=stored.status, headers=stored.headers)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable) -> Callable:
    """Make a POST view safe to retry with an ``Idempotency-Key`` header (``shared.idempotency``).

    The key is scoped to the caller and the path. Successful and client-error answers are stored.
    A failure before any commit releases the key so a retry runs again; a failure after a commit
    answers the committed result and keeps the key, so the command never runs twice.
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        store = ext().idempotency
        if not key or store is None:
            return view(*args, **kwargs)
        if len(key) > 255:
            raise Problem(400, "Bad Request", "Idempotency-Key is longer than 255 characters",
                          rule="invalid_idempotency_key")
        actor = current_actor()
        kid = key_id(f"{actor.sub}\n{request.method}\n{request.path}", key)
        reservation = store.reserve(kid, _fingerprint())
        if not reservation.fresh:
            if not reservation.fingerprint_matches:
                raise Problem(422, "Unprocessable Content", "this Idempotency-Key was used with a different body",
                              rule="idempotency_key_reused")
            if reservation.committed:  # the first request committed, then its process died
                stored = _committed_answer(reservation.committed)
                store.complete(kid, reservation.owner, stored)
                return _replay(stored)
            if reservation.response is None:
                raise Problem(409, "Conflict", "a request with this Idempotency-Key is still being processed",
                              rule="request_in_progress", headers={"Retry-After": "1"})
            return _replay(reservation.response)
        command = KeyedCommand(store, kid, reservation.owner)
        try:
            with running_under_key(command):
                response = current_app.make_response(view(*args, **kwargs))
        except Exception as exc:
            if not command.commits:
                if isinstance(exc, KeyLost):  # stalled past stale_after: a retry owns the key now
                    raise Problem(409, "Conflict", "a retry with this Idempotency-Key took the request over",
                                  rule="request_in_progress") from None
                store.release(kid, reservation.owner)
                raise
            log.exception("failed after its commit; answering the committed result", extra={"path": request.path})
            response = None
        if response is not None and response.status_code >= 500 and not command.commits:
            store.release(kid, reservation.owner)
            return response
        if response is None or response.status_code >= 500:
            stored = _committed_answer(command.commits)
        else:
            keep = {h: response.headers[h] for h in ("Content-Type", "ETag", "Location") if h in response.headers}
            stored = StoredResponse(response.status_code, response.get_data(), keep)
        try:
            store.complete(kid, reservation.owner, stored)
        except Exception:  # the command is stored: answer it; a retry finds the commit under the key
            log.exception("could not store the answer of an Idempotency-Key", extra={"path": request.path})
        return response if response is not None and response.status_code < 500 else _replay(stored, replayed=False)

    return wrapper


# ---------------------------------------------------------------- the app

def create_service_app(name: str, settings: Settings, *, title: str, description: str = "",
                       readiness: Mapping[str, Callable[[], Any]] | None = None,
                       reported: Mapping[str, Callable[[], Any]] | None = None,
                       idempotency: IdempotencyStore | None = None,
                       policy: Policy | None = None) -> tuple[Flask, Api]:
    """A Flask app with every convention wired; register blueprints on the returned ``Api``.

    ``readiness`` checks (callables that raise when unavailable) gate ``/readyz``; ``reported``
    ones only appear in ``/healthz`` and as the gauge ``jalin_dependency_up{dependency=…}``.
    With a ``policy``, every ``/api/v1`` operation but the OpenAPI document is decided by it
    before its view runs (an operation without a rule is refused)."""
    configure_logging(settings.log_level, service=name)
    app = Flask(name)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        API_TITLE=title,
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"info": {"description": description},
                          "security": [{"bearerAuth": []}]},
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False
    metrics = Metrics()
    extension = ServiceExtension(name, settings, metrics, dict(readiness or {}), dict(reported or {}), idempotency)
    app.extensions["jalin"] = extension
    api = Api(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    _register_error_handlers(app)
    _register_request_hooks(app, metrics)
    app.before_request(guard_json_depth)
    if policy is not None:
        _register_access_policy(app, policy)
    _register_operational_routes(app, extension)
    return app, api


def _register_request_hooks(app: Flask, metrics: Metrics) -> None:
    requests_total = metrics.counter("http_requests_total", "HTTP requests", ("method", "endpoint", "status"))
    latency = metrics.histogram("http_request_seconds", "HTTP request latency", ("method", "endpoint"))

    @app.before_request
    def start():
        cid = request.headers.get("X-Correlation-ID") or request.headers.get("X-Request-ID") or str(uuid.uuid4())
        g.correlation_id = cid[:128]
        g.cid_token = correlation_id_var.set(g.correlation_id)
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response):
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        requests_total.labels(request.method, endpoint, str(response.status_code)).inc()
        latency.labels(request.method, endpoint).observe(elapsed)
        response.headers["X-Correlation-ID"] = g.get("correlation_id", "")
        if endpoint not in ("/healthz", "/readyz", "/metrics"):
            log.info("request", extra={"method": request.method, "path": request.path,
                                       "status": response.status_code, "ms": round(elapsed * 1000, 2)})
        return response

    @app.teardown_request
    def reset(_exc):
        token = g.pop("cid_token", None)
        if token is not None:
            correlation_id_var.reset(token)


def _register_access_policy(app: Flask, policy: Policy) -> None:
    open_paths = {"/api/v1/openapi.json"}

    @app.before_request
    def check_access():
        rule = request.url_rule
        if rule is None or not rule.rule.startswith("/api/v1/") or rule.rule in open_paths:
            return None  # not an API operation (404/405, health, dashboard assets)
        method = "GET" if request.method == "HEAD" else request.method
        decision = policy.decide(current_actor(), method, rule.rule, request.view_args or {}, request.args)
        if not decision.allowed:
            raise Problem(403, "Forbidden", decision.reason, rule="access_denied")
        return None


def _run_checks(checks: Mapping[str, Callable[[], Any]]) -> dict[str, str]:
    """``{"name": "ok" | "unavailable: <error type>"}``; a check never raises out of here."""
    results = {}
    for check_name, check in checks.items():
        try:
            check()
            results[check_name] = "ok"
        except Exception as exc:  # probes report, never raise
            results[check_name] = f"unavailable: {type(exc).__name__}"
    return results


def _probe(check: Callable[[], Any]) -> Callable[[], float]:
    def up() -> float:
        return 1.0 if _run_checks({"x": check})["x"] == "ok" else 0.0
    return up


def _register_operational_routes(app: Flask, extension: ServiceExtension) -> None:
    # Checked when Prometheus scrapes, so the gauge is as fresh as the scrape.
    up = extension.metrics.gauge("dependency_up", "1 if a dependency this service reports on answers",
                                 ("dependency",))
    for dep_name, check in extension.reported.items():
        up.labels(dep_name).set_function(_probe(check))

    @app.get("/healthz")
    def healthz():
        """Liveness: the process answers (200). ``checks`` reports dependencies without gating on them."""
        body = {"status": "ok", "service": extension.name}
        if extension.reported:
            body["checks"] = _run_checks(extension.reported)
        return jsonify(body)

    @app.get("/readyz")
    def readyz():
        """Readiness: 200 when every required dependency (the service's own database) answers."""
        checks = _run_checks(extension.readiness)
        ready = all(result == "ok" for result in checks.values())
        response = jsonify(status="ready" if ready else "not ready", checks=checks)
        response.status_code = 200 if ready else 503
        return response

    @app.get("/metrics")
    def metrics_route():
        body, ctype = extension.metrics.render()
        return Response(body, mimetype=ctype.split(";")[0], headers={"Content-Type": ctype})


# ---------------------------------------------------------------- command endpoints

COMMAND_HEADERS = [
    {"in": "header", "name": "If-Match", "schema": {"type": "string"},
     "description": "expected version (the ETag) for optimistic concurrency; a stale one gets 412"},
    {"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"},
     "description": "a retried POST with the same key returns the first answer"},
]


def with_path_params(view: Callable) -> Callable:
    """Load the request's schema inside a marshmallow load ``Context`` holding the path parameters.

    Put it above ``blp.arguments``: a command schema's ``post_load`` can then build a command that
    carries its target (``Context.get()["agreement_id"]``) although the body does not hold it.
    """
    @functools.wraps(view)
    def wrapper(*args, **path_args):
        with LoadContext(dict(path_args)):
            return view(*args, **path_args)

    return wrapper


def command_endpoint(blp, rule: str, schema, response_schema, summary: str, run: Callable,
                     respond: Callable, endpoint: str | None = None):
    """Register ``POST rule`` as a command: parse ``schema``, honour Idempotency-Key, then
    ``respond(run(expected_version, data, **path_args))``. Who may call it is the policy's to say.

    ``data`` is what ``schema`` loads: a dict, or the command its ``post_load`` builds (the path
    parameters are in the load ``Context``, see ``with_path_params``).
    """
    @blp.route(rule, methods=["POST"], endpoint=endpoint or rule.strip("/").replace("/", "_").replace("<", "")
               .replace(">", ""))
    @with_path_params
    @blp.arguments(schema)
    @blp.response(200, response_schema)
    @blp.doc(summary=summary, parameters=COMMAND_HEADERS)
    @idempotent
    def view(data, **path_args):
        return respond(run(expected_version(), data, **path_args))

    return view
