"""``JalinClient``: the one HTTP client of Jalin's APIs for our own tools (the demo loader, the e2e
and browser tests, the benchmarks).

It knows the three services' URLs and what the APIs expect of a careful client:

- a Bearer token per caller, minted locally with ``shared.auth.mint_token`` (the stack's shared
  secret; production callers get theirs from the identity provider, not from here);
- an ``Idempotency-Key`` on every POST (generated unless given), and retries on connection errors,
  timeouts, 5xx, 429 and ``request_in_progress`` with a bounded backoff. A retry re-sends the SAME
  key, so the server answers it with the first result instead of running the command twice;
- ``If-Match`` from the last ``ETag`` seen for a resource (``if_match=True``) or a given version.

``send`` is one attempt and nothing more: tests that observe exactly what the server answers use it.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import requests

from shared.auth import mint_token
from shared.config import Settings

SERVICES = ("partners", "agreements", "evaluation")
# Answers worth another attempt: the server (or a proxy) failed or asked us to slow down.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


# ``caller=ANONYMOUS``: a request without a token (``caller=None`` means the client's default caller).
ANONYMOUS = object()


class Stopped(RuntimeError):
    """Asked to stop (the ``stop`` callable said so) between two requests."""


@dataclass(frozen=True)
class Caller:
    """Who sends a request: the claims of the token minted for it."""

    role: str
    sub: str | None = None
    name: str | None = None
    opd: str | None = None


def rule(response: requests.Response) -> str | None:
    """The ``rule`` of a problem+json answer (None for any other body)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("rule") if isinstance(body, dict) else None


def replayed(response: requests.Response) -> bool:
    """Whether the answer is the stored one of an earlier request with the same Idempotency-Key."""
    return response.headers.get("Idempotent-Replayed") == "true"


def resource_of(path: str) -> str:
    """The aggregate a path is about: ``/api/v1/agreements/<id>/sign`` → ``/api/v1/agreements/<id>``.

    A command's answer carries the ETag of the aggregate it changed, so ETags are remembered per
    aggregate, not per URL."""
    return "/".join(path.split("?", 1)[0].split("/")[:5])


class JalinClient:
    """Tokens, retries with one Idempotency-Key per POST, If-Match from the last seen ETag.

    ``urls`` maps service names (partners, agreements, evaluation) to base URLs; only the services
    a caller uses need one. ``retries`` is the number of attempts after the first; ``pooled=False``
    opens a new connection per request (no kept-alive connection the server may close meanwhile).
    Thread-safe: each thread has its own ``requests.Session``.
    """

    def __init__(self, urls: Mapping[str, str], settings: Settings, *, caller: Caller | str = "kerjasama",
                 retries: int = 5, backoff: float = 0.2, max_backoff: float = 3.0, timeout: float = 30.0,
                 pooled: bool = True, stop: Callable[[], bool] | None = None):
        self.urls = {name: url.rstrip("/") for name, url in urls.items() if url}
        self.settings = settings
        self.default_caller = self.caller(caller)
        self.retries, self.backoff, self.max_backoff = retries, backoff, max_backoff
        self.timeout = timeout
        self.pooled = pooled
        self.stop = stop or (lambda: False)
        self.calls = 0
        self.seconds: dict[str, float] = {}  # time spent waiting for answers, per "METHOD service"
        self._tokens: dict[Caller, str] = {}
        self._etags: dict[tuple[str, str], str] = {}
        self._local = threading.local()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ callers and tokens

    @staticmethod
    def caller(who: Caller | str) -> Caller:
        return who if isinstance(who, Caller) else Caller(who)

    def token(self, who: Caller | str | None = None) -> str:
        """The caller's token (the default caller's when None), minted once and kept."""
        who = self.caller(who) if who is not None else self.default_caller
        with self._lock:
            if who not in self._tokens:
                self._tokens[who] = mint_token(self.settings, who.role, sub=who.sub, name=who.name, opd=who.opd)
            return self._tokens[who]

    def etag(self, service: str, path: str) -> str | None:
        """The last ETag seen for the aggregate ``path`` is about."""
        with self._lock:
            return self._etags.get((service, resource_of(path)))

    # ------------------------------------------------------------------ requests

    def send(self, method: str, service: str, path: str, caller: Caller | str | object | None = None, *,
             key: str | None = None, if_match: bool | int | str | None = None, **kw) -> requests.Response:
        """One attempt, exactly as asked: no generated key, no retry."""
        headers = dict(kw.pop("headers", None) or {})
        if caller is not ANONYMOUS:
            headers.setdefault("Authorization", f"Bearer {self.token(caller)}")
        if key:
            headers["Idempotency-Key"] = key
        if if_match is not None and if_match is not False:
            tag = self.etag(service, path) if if_match is True else f'"{if_match}"'
            if tag:
                headers["If-Match"] = tag
        if self.stop():
            raise Stopped("stopped on request")
        began = time.monotonic()
        session = self._session()
        try:
            response = session.request(method, self.urls[service] + path, headers=headers,
                                       timeout=kw.pop("timeout", self.timeout), **kw)
        except requests.RequestException:
            self._local.session = None  # a broken connection: the next attempt starts afresh
            raise
        finally:
            if not self.pooled:
                session.close()
            with self._lock:
                self.calls += 1
                label = f"{method} {service}"
                self.seconds[label] = self.seconds.get(label, 0.0) + time.monotonic() - began
        if response.headers.get("ETag"):
            where = response.headers.get("Location") or path
            with self._lock:
                self._etags[(service, resource_of(where))] = response.headers["ETag"]
        return response

    def request(self, method: str, service: str, path: str, caller: Caller | str | object | None = None, *,
                key: str | None = None, **kw) -> requests.Response:
        """``send`` with retries. A POST always carries an Idempotency-Key (``key`` or a new one),
        the same on every attempt, so retrying can never create two things."""
        if method.upper() == "POST" and not key:
            key = str(uuid.uuid4())
        attempt = 0
        while True:
            response = None
            try:
                response = self.send(method, service, path, caller, key=key, **kw)
            except (requests.ConnectionError, requests.Timeout):
                if attempt >= self.retries:
                    raise
            else:
                if not self._retryable(response) or attempt >= self.retries:
                    return response
            self._pause(attempt, response)
            attempt += 1

    def get(self, service: str, path: str, caller: Caller | str | object | None = None, **params) -> requests.Response:
        return self.request("GET", service, path, caller, params=params or None)

    def post(self, service: str, path: str, body: Any = None, caller: Caller | str | object | None = None, *,
             key: str | None = None, **kw) -> requests.Response:
        """A command: JSON ``body`` (``{}`` when None), or ``data=``/``files=`` for a multipart form."""
        if "data" not in kw and "files" not in kw:
            kw["json"] = body if body is not None else {}
        return self.request("POST", service, path, caller, key=key, **kw)

    def get_all(self, service: str, path: str, caller: Caller | str | object | None = None,
                **params) -> tuple[list[dict], dict]:
        """Every item of a paged list, and its first page (for fields such as ``as_of``)."""
        items, page, first = [], 1, None
        while True:
            response = self.get(service, path, caller, per_page=200, page=page, **params)
            if response.status_code != 200:
                raise requests.HTTPError(f"GET {path}: HTTP {response.status_code} {response.text[:300]}",
                                         response=response)
            body = response.json()
            first = first or body
            items += body["items"]
            if page * body["per_page"] >= body["total"] or not body["items"]:
                return items, first
            page += 1

    # ------------------------------------------------------------------ plumbing

    @staticmethod
    def _retryable(response: requests.Response) -> bool:
        return response.status_code in RETRY_STATUSES or (
            response.status_code == 409 and rule(response) == "request_in_progress")

    def _pause(self, attempt: int, response: requests.Response | None) -> None:
        """Exponential backoff capped at ``max_backoff``; a Retry-After within that cap is honoured."""
        delay = min(self.max_backoff, self.backoff * 2 ** attempt)
        retry_after = response.headers.get("Retry-After") if response is not None else None
        if retry_after and retry_after.isdigit():
            delay = min(self.max_backoff, max(delay, float(retry_after)))
        time.sleep(delay)

    def _session(self) -> requests.Session:
        if not self.pooled:
            return requests.Session()
        if getattr(self._local, "session", None) is None:
            self._local.session = requests.Session()
        return self._local.session
