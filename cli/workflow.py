"""An agreement's workflow, driven over HTTP: the one place outside the agreements service that
knows the order of its lifecycle (used by the demo loader, the e2e flows and the browser seed).

    DRAFT → submit → SUBMITTED → start-review → UNDER_REVIEW → review → [AWAITING_DPRD → dprd-approval]
    → [AWAITING_CENTRAL → central-approval] → READY_TO_SIGN → sign → SIGNED → activate → ACTIVE → expire

The driver does not decide whether the DPRD or the central government must approve: the service
answers each command with the new status, and the driver sends what that status asks for next.
``walk_to`` sends only the steps an agreement still lacks, so it resumes where an earlier run stopped.

Two refusals mean "not yet" rather than "no", and are retried for a while: another service's data
has not reached this one through Kafka (``partner_not_found``, ``partner_not_verified``, an
agreement the evaluation service does not know yet), or someone else (the scheduler) appended to
the stream meanwhile (``concurrent_modification``). Each retry carries its own Idempotency-Key:
a refusal is remembered under the key that got it.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import requests

from cli.client import Caller, JalinClient, rule
from services.agreements.domain import Status  # the statuses the API answers with (a StrEnum)

# How far along the lifecycle a status is (REJECTED/CANCELLED end every path).
RANK = {Status.DRAFT: 0, Status.SUBMITTED: 1, Status.UNDER_REVIEW: 2, Status.AWAITING_DPRD: 3,
        Status.AWAITING_CENTRAL: 4, Status.READY_TO_SIGN: 5, Status.SIGNED: 6, Status.ACTIVE: 7,
        Status.EXPIRED: 8, Status.TERMINATED: 8, Status.REJECTED: 10, Status.CANCELLED: 10}
# From each status on the main path: the command that moves an agreement on, and who sends it.
FORWARD = {
    Status.DRAFT: ("submit", "kerjasama"),
    Status.SUBMITTED: ("start-review", "tkksd"),
    Status.UNDER_REVIEW: ("review", "tkksd"),
    Status.AWAITING_DPRD: ("dprd-approval", "pimpinan"),
    Status.AWAITING_CENTRAL: ("central-approval", "pimpinan"),
    Status.READY_TO_SIGN: ("sign", "pimpinan"),
    Status.SIGNED: ("activate", "kerjasama"),
    Status.ACTIVE: ("expire", "kerjasama"),
}
assert set(RANK) == set(Status), "a new status needs its place in the workflow"
# Bodies used when the caller gives none (the dates default to the service's today).
DEFAULT_BODIES = {
    "review": {"recommended": True, "notes": "layak"},
    "dprd-approval": {"approval_ref": "Keputusan DPRD Kabupaten Muaro Jambi"},
    "central-approval": {"approval_ref": "Surat Persetujuan Menteri Dalam Negeri"},
}
KB_SIGNATORY = {"signatory_name": "Bupati Muaro Jambi", "signatory_position": "kepala_daerah"}
PKS_SIGNATORY = {"signatory_name": "Sekretaris Daerah", "signatory_position": "sekretaris_daerah",
                 "power_of_attorney_ref": "SK-KUASA/07/2024"}
# Refusals that only mean another service has not seen something yet (it travels through Kafka).
NOT_REPLICATED_YET = frozenset({"partner_not_found", "partner_not_verified", "agreement_not_found",
                                "agreement_not_evaluable"})


def post_until_accepted(client: JalinClient, service: str, path: str, body: Any, caller: Caller | str | None = None,
                        *, key: str | None = None, patience: float = 30.0,
                        waiting_for: frozenset[str] = NOT_REPLICATED_YET,
                        sent: Callable[[requests.Response], None] | None = None, **kw) -> requests.Response:
    """POST, and again (with a new key each time) while the refusal's rule is in ``waiting_for``,
    for at most ``patience`` seconds; the last answer. ``key`` makes the keys deterministic
    (``key``, ``key:1``, ``key:2``…), for a loader that must find its own earlier requests;
    ``sent(response)`` is told about every attempt; ``kw`` goes to ``JalinClient.post``."""
    end = time.monotonic() + patience
    attempt = 0
    while True:
        attempt_key = (f"{key}:{attempt}" if attempt else key) if key else None
        response = client.post(service, path, body, caller, key=attempt_key, **kw)
        if sent:
            sent(response)
        if rule(response) not in waiting_for or time.monotonic() > end:
            return response
        attempt += 1
        time.sleep(min(0.1 * attempt, 1.0))


def register_verified(client: JalinClient, body: dict, caller: Caller | str | None = None) -> str:
    """Register a partner and verify it; its id."""
    registered = client.post("partners", "/api/v1/partners", body, caller)
    assert registered.status_code == 201, f"register partner: {registered.status_code} {registered.text}"
    partner_id = registered.json()["id"]
    verified = client.post("partners", f"/api/v1/partners/{partner_id}/verify", {}, caller)
    assert verified.status_code == 200, f"verify partner: {verified.status_code} {verified.text}"
    return partner_id


def draft(client: JalinClient, body: dict, caller: Caller | str | None = None, *, key: str | None = None,
          patience: float = 30.0, sent: Callable[[requests.Response], None] | None = None) -> requests.Response:
    """Draft an agreement once the agreements service's replica knows its partners; the answer."""
    return post_until_accepted(client, "agreements", "/api/v1/agreements", body, caller, key=key,
                               patience=patience, waiting_for=frozenset({"partner_not_found"}), sent=sent)


class AgreementWorkflow:
    """Drives one agreement: sends commands, keeps the latest snapshot, resumes where it stands.

    ``keys`` makes Idempotency-Keys deterministic (``<keys>:<label>``) so a second run, or a retry
    racing the read models, gets the first answer back; None: a new key per command. ``sent(label,
    response)`` is told about every command sent; ``warn(message)`` about every step given up.
    ``not_yet``: further refusals that mean "not yet" for this agreement (an extension's
    ``final_evaluation_required`` while the finalized evaluation travels to the agreements service).
    """

    def __init__(self, client: JalinClient, agreement_id: str, *, snapshot: dict | None = None,
                 keys: str | None = None, sent: Callable[[str, requests.Response], None] | None = None,
                 warn: Callable[[str], None] | None = None, patience: float = 30.0,
                 not_yet: frozenset[str] = frozenset()):
        self.client, self.id = client, agreement_id
        self.not_yet = not_yet
        self.snap = snapshot or {}
        self.keys = keys
        self.sent = sent or (lambda label, response: None)
        self.warn = warn or (lambda message: None)
        self.patience = patience
        self.last: requests.Response | None = None  # the last command's answer

    @property
    def status(self) -> str:
        return self.snap.get("status") or "DRAFT"

    @property
    def rank(self) -> int:
        return RANK.get(self.status, 0)

    @property
    def revisions(self) -> int:
        """How many times the draft was returned for revision."""
        return len(self.snap.get("revision_requests") or [])

    def refresh(self) -> dict:
        response = self.client.get("agreements", f"/api/v1/agreements/{self.id}")
        if response.status_code != 200:
            raise requests.HTTPError(f"GET agreement {self.id}: HTTP {response.status_code} {response.text[:300]}",
                                     response=response)
        self.snap = response.json()
        return self.snap

    def send(self, command: str, caller: Caller | str | None = None, body: Any = None, *,
             label: str | None = None, **kw) -> requests.Response:
        """POST ``/agreements/<id>/<command>``, retried while the refusal means "not yet"; the answer
        (the snapshot follows a 2xx)."""
        label = label or command
        response = post_until_accepted(
            self.client, "agreements", f"/api/v1/agreements/{self.id}/{command}", body, caller,
            key=f"{self.keys}:{label}" if self.keys else None, patience=self.patience,
            waiting_for=NOT_REPLICATED_YET | {"concurrent_modification"} | self.not_yet,
            sent=lambda r: self.sent(label, r), **kw)
        self.last = response
        if response.status_code in (200, 201):
            self.snap = response.json()
        return response

    def step(self, label: str, done: Callable[[], bool], command: str, caller: Caller | str | None = None,
             body: Any = None, can: Callable[[], bool] | None = None, **kw) -> bool:
        """Send ``command`` unless ``done()``; skip (with a warning) when ``can()`` says the state no
        longer allows it. True when the step's effect is there afterwards."""
        if done():
            return True
        if can is not None and not can():
            self.warn(f"{label} skipped (status {self.status})")
            return False
        response = self.send(command, caller, body, label=label, **kw)
        if response.status_code in (200, 201):
            return True
        self.refresh()  # e.g. the scheduler moved it meanwhile
        if done():
            return True
        self.warn(f"{label} refused (HTTP {response.status_code} {rule(response)}; status {self.status})")
        return False

    def walk_to(self, target: str, *, bodies: Mapping[str, Any] | None = None,
                callers: Mapping[str, Caller | str] | None = None) -> bool:
        """Send the main path's commands the agreement still lacks until it is at ``target`` or beyond;
        True when it got there. ``bodies``/``callers`` per command override the defaults."""
        bodies, callers = bodies or {}, callers or {}
        if not self.snap:
            self.refresh()
        while self.rank < RANK[target]:
            if self.status not in FORWARD:
                return False
            command, role = FORWARD[self.status]
            rank = self.rank
            # A command sent again after a revision round is a new step (with a key of its own).
            label = command + (f":r{self.revisions}" if self.revisions else "")
            body = bodies.get(command, self.default_body(command))
            if not self.step(label, lambda: self.rank > rank, command, callers.get(command, role), body):
                return False
        return self.status in FORWARD or self.status in (Status.EXPIRED, Status.TERMINATED)

    def default_body(self, command: str) -> dict:
        if command == "sign":
            return dict(PKS_SIGNATORY if self.snap.get("document_kind") == "PKS" else KB_SIGNATORY)
        return dict(DEFAULT_BODIES.get(command, {}))
