"""JalinClient against a tiny scripted HTTP server on 127.0.0.1: retries, Idempotency-Keys, If-Match, tokens.

The server keeps its own idempotency store (a key → the first answer) the way the services do, so
"a retry never creates two things" is observed as a count of things created, not assumed.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from cli.client import ANONYMOUS, Caller, JalinClient, Stopped, resource_of
from shared.auth import decode_token
from shared.config import Settings


class Server:
    """Answers from a script: ``plan[path]`` is a list of actions taken one per request (the last repeats).

    An action is ``(status, body, headers)`` or ``"drop"`` (close the connection without answering).
    A POST that reaches a 2xx or ``"commit-then-502"`` action creates a thing, unless its key was seen.
    """

    def __init__(self):
        self.plan: dict[str, list] = {}
        self.seen: list[dict] = []
        self.created = 0
        self.answers: dict[str, tuple] = {}  # Idempotency-Key → stored answer
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                    "body": body})
                key = self.headers.get("Idempotency-Key")
                if key and key in server.answers:
                    status, payload, headers = server.answers[key]
                    return self._answer(status, payload, {**headers, "Idempotent-Replayed": "true"})
                steps = server.plan.get(self.path.split("?")[0], [(200, {}, {})])
                action = steps.pop(0) if len(steps) > 1 else steps[0]
                if action == "drop":
                    self.close_connection = True
                    return
                if action == "commit-then-502":  # the command ran, the answer was lost on the way
                    server.created += 1
                    server.answers[key] = (201, {"id": f"thing-{server.created}"}, {})
                    return self._answer(502, {"title": "Bad Gateway"}, {})
                status, payload, headers = action
                if self.command == "POST" and 200 <= status < 300:
                    server.created += 1
                    if key:
                        server.answers[key] = (status, payload, headers)
                self._answer(status, payload, headers)

            def _answer(self, status, payload, headers):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def keys(self):
        return [r["headers"].get("Idempotency-Key") for r in self.seen]


@pytest.fixture
def server():
    s = Server()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


SETTINGS = Settings.from_env({"prefix": "unit"})


def client_for(server, **kw):
    return JalinClient({"agreements": server.url}, SETTINGS, backoff=0.0, **kw)


def test_a_post_retried_after_a_lost_answer_creates_one_thing_with_one_key(server):
    server.plan["/api/v1/agreements"] = ["commit-then-502", (201, {"id": "never"}, {})]
    r = client_for(server).post("agreements", "/api/v1/agreements", {"title": "KB"})
    assert r.status_code == 201 and r.json() == {"id": "thing-1"}
    assert r.headers["Idempotent-Replayed"] == "true"
    assert server.created == 1
    keys = server.keys()
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    assert [json.loads(s["body"]) for s in server.seen] == [{"title": "KB"}] * 2


@pytest.mark.parametrize("failure", ["drop", (503, {}, {}), (500, {}, {}), (429, {}, {"Retry-After": "0"}),
                                     (409, {"rule": "request_in_progress"}, {"Retry-After": "0"})])
def test_connection_errors_5xx_429_and_in_progress_are_retried_with_the_same_key(server, failure):
    server.plan["/api/v1/agreements"] = [failure, failure, (201, {"id": "a-1"}, {})]
    r = client_for(server).post("agreements", "/api/v1/agreements", {"title": "KB"}, key="demo:kb-1:draft")
    assert r.status_code == 201
    assert server.keys() == ["demo:kb-1:draft"] * 3
    assert server.created == 1


def test_retries_are_bounded_and_the_last_answer_is_returned(server):
    server.plan["/api/v1/agreements"] = [(503, {"title": "down"}, {})]
    r = client_for(server, retries=2).post("agreements", "/api/v1/agreements", {})
    assert r.status_code == 503
    assert len(server.seen) == 3 and len(set(server.keys())) == 1


def test_refusals_are_not_retried_and_each_post_has_its_own_key(server):
    server.plan["/api/v1/agreements"] = [(422, {"rule": "validation_failed"}, {})]
    client = client_for(server)
    assert client.post("agreements", "/api/v1/agreements", {}).status_code == 422
    assert client.post("agreements", "/api/v1/agreements", {}).status_code == 422
    first, second = server.keys()
    assert first and second and first != second


def test_a_get_carries_no_key_and_is_retried(server):
    server.plan["/api/v1/agreements/a-1"] = ["drop", (200, {"id": "a-1"}, {"ETag": '"3"'})]
    r = client_for(server).get("agreements", "/api/v1/agreements/a-1")
    assert r.status_code == 200 and len(server.seen) == 2
    assert server.keys() == [None, None]


def test_connection_refused_is_raised_after_the_retries():
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as closed:
        url = f"http://127.0.0.1:{closed.server_address[1]}"
    client = JalinClient({"agreements": url}, SETTINGS, backoff=0.0, retries=2)
    with pytest.raises(requests.ConnectionError):
        client.get("agreements", "/healthz")
    assert client.calls == 3


def test_send_is_one_attempt_exactly_as_given(server):
    server.plan["/api/v1/agreements"] = [(503, {}, {}), (201, {}, {})]
    r = client_for(server).send("POST", "agreements", "/api/v1/agreements", json={})
    assert r.status_code == 503
    assert server.keys() == [None]


def test_if_match_comes_from_the_last_etag_seen_for_the_aggregate(server):
    server.plan["/api/v1/agreements/a-1"] = [(200, {"id": "a-1"}, {"ETag": '"3"'})]
    server.plan["/api/v1/agreements/a-1/submit"] = [(200, {"status": "SUBMITTED"}, {"ETag": '"4"'})]
    server.plan["/api/v1/agreements/a-1/start-review"] = [(200, {"status": "UNDER_REVIEW"}, {"ETag": '"5"'})]
    client = client_for(server)
    client.get("agreements", "/api/v1/agreements/a-1")
    client.post("agreements", "/api/v1/agreements/a-1/submit", if_match=True)
    client.post("agreements", "/api/v1/agreements/a-1/start-review", if_match=True)
    client.post("agreements", "/api/v1/agreements/a-1/start-review", if_match=7)
    client.post("agreements", "/api/v1/agreements/a-1/start-review")
    assert [s["headers"].get("If-Match") for s in server.seen] == [None, '"3"', '"4"', '"7"', None]
    assert client.etag("agreements", "/api/v1/agreements/a-1/anything") == '"5"'
    assert resource_of("/api/v1/agreements/a-1/activities/x/reports?x=1") == "/api/v1/agreements/a-1"


def test_tokens_are_minted_locally_per_caller(server):
    client = client_for(server, caller=Caller("tkksd", sub="demo.tkksd"))
    client.get("agreements", "/a")
    client.get("agreements", "/b", Caller("opd", sub="op", name="Operator DLH", opd="DLH"))
    client.send("GET", "agreements", "/c", ANONYMOUS)
    tokens = [s["headers"].get("Authorization") for s in server.seen]
    assert tokens[2] is None
    first, second = (decode_token(SETTINGS, t.removeprefix("Bearer ")) for t in tokens[:2])
    assert (first.role, first.sub) == ("tkksd", "demo.tkksd")
    assert (second.role, second.opd) == ("opd", "DLH")


def test_stop_is_checked_before_every_attempt(server):
    server.plan["/x"] = [(503, {}, {}), (200, {}, {})]
    asked = iter([False, True])
    with pytest.raises(Stopped):
        client_for(server, stop=lambda: next(asked)).get("agreements", "/x")
    assert len(server.seen) == 1
