"""The Kabupaten Muaro Jambi demo, loaded through the public HTTP APIs only (never the database).

    python -m cli.demo [--partners-url URL] [--agreements-url URL] [--evaluation-url URL] [--json]
    (URLs default to JALIN_PARTNERS_URL / JALIN_AGREEMENTS_URL / JALIN_EVALUATION_URL)

``make run`` calls ``load_demo`` once every service answers; ``JALIN_DEMO=0 make run`` skips it.

The dataset (Kabupaten Muaro Jambi: partners of every kind, 26 agreements in every state of the
lifecycle, work plans, reports, evaluations) is plain data in ``cli/demo_data.py``; this module
loads it with ``JalinClient`` (cli/client.py) and walks each agreement through its workflow with
``AgreementWorkflow`` (cli/workflow.py). Dates are anchored on the services' own "today" (the
register's ``as_of``).

The past is recorded with the services' own commands and the dates of the acts they allow a
client to give: ``reviewed_on``, ``approved_on``, ``signed_on``, ``filed_on``, a termination's
``on`` — each between the previous step and today. Activation and expiry are judged on the
server's today (the domain records the day the agreement came into force or lapsed). The domain
refuses what could not have happened (a report for a quarter that has not started, a work plan on
an agreement under review or no longer in force, an act dated before the one it follows), so steps follow
the order of real life.

Idempotent: everything is found first (partners by name, agreements by title, evaluations by
agreement, period, year and assessor) and only the missing steps are sent; every POST carries a
deterministic ``Idempotency-Key`` (``demo:<subject>:<step>``), so a retry or a second run that
races the read models gets the first answer back instead of a duplicate. A step the state no longer
allows (e.g. after a concurrent run or an officer changed the agreement) is
skipped with a warning rather than failing the whole load.

Speed: independent agreements (and the PKSs under one KB) are loaded side by side, and an
agreement's evaluations start as soon as the register shows it signed. An extension waits, before
it is submitted, for the final (AKHIR) evaluation of the agreement it extends to be finalized (the
domain's ``final_evaluation_required``), then for that fact to reach the agreements service.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, Callable

import requests
from urllib3 import encode_multipart_formdata

from cli.client import SERVICES, Caller, JalinClient, Stopped, replayed, rule
from cli.demo_data import (PROFILES, signatory, ActivitySpec, AgreementSpec, EvaluationSpec,
                           PartnerSpec, agreement_specs, evaluation_specs, partner_specs, report_plan, signed_scan_pdf)
from cli.workflow import RANK, AgreementWorkflow, draft, post_until_accepted
from services.agreements.domain import Status
from shared.config import Settings

IN_FORCE = (Status.SIGNED, Status.ACTIVE)
PRE_SIGNING = (Status.DRAFT, Status.SUBMITTED, Status.UNDER_REVIEW, Status.AWAITING_DPRD, Status.AWAITING_CENTRAL,
               Status.READY_TO_SIGN)
WORK_PLAN_OPEN = (Status.DRAFT, *IN_FORCE)
REPORTABLE = (Status.SIGNED, Status.ACTIVE, Status.EXPIRED, Status.TERMINATED)
EVALUABLE = REPORTABLE
EVALUATION_RANK = {"SCHEDULED": 0, "IN_PROGRESS": 1, "SUBMITTED": 2, "FINALIZED": 3, "CANCELLED": 10}

__all__ = ["DemoError", "Stopped", "describe", "load_demo", "main"]


class DemoError(RuntimeError):
    """The demo could not be loaded (a service refused something it should not have)."""


# ---------------------------------------------------------------------------------------- actors

# Who the demo acts as (each with its own token, so the timelines name real roles).
STAFF = Caller("kerjasama", "demo.kerjasama.analis", "Analis Kerja Sama, Bagian Kerja Sama Setda")
KABAG = Caller("kerjasama", "demo.kerjasama.kabag", "Kepala Bagian Kerja Sama Setda")
TKKSD = Caller("tkksd", "demo.tkksd.sekretariat", "Sekretariat TKKSD Kabupaten Muaro Jambi")
BUPATI = Caller("pimpinan", "demo.pimpinan.bupati", "Bupati Muaro Jambi")


def officer(opd: str) -> Caller:
    return Caller("opd", f"demo.opd.{opd.lower()}", f"Operator {opd}", opd)


def components(specs: list[AgreementSpec], today: date) -> list[list[AgreementSpec]]:
    """Agreements that depend on each other (a PKS on its KB, an extension on what it extends), in
    order, heaviest group first: groups run side by side."""
    group_of = {s.key: s.key for s in specs}

    def root(key):
        while group_of[key] != key:
            key = group_of[key]
        return key
    for spec in specs:
        for other in (spec.parent, spec.extends):
            if other in group_of:
                group_of[root(spec.key)] = root(other)
    groups: dict[str, list[AgreementSpec]] = {}
    for spec in specs:  # specs list a KB before its PKS
        groups.setdefault(root(spec.key), []).append(spec)

    def weight(spec):  # about one command per step
        until = spec.terminated_on if spec.target == "TERMINATED" else None
        return 8 + sum(1 + len(report_plan(a, today, until)) for a in spec.activities)
    return sorted(groups.values(), key=lambda g: -sum(weight(s) for s in g))


def _depends_on(spec: AgreementSpec, key: str, specs: list[AgreementSpec]) -> bool:
    """Whether ``spec`` depends on ``key``, directly or through others of ``specs``."""
    by_key = {s.key: s for s in specs}
    seen, todo = set(), [spec]
    while todo:
        current = todo.pop()
        for other in (current.parent, current.extends):
            if other == key:
                return True
            if other in by_key and other not in seen:
                seen.add(other)
                todo.append(by_key[other])
    return False


def _expect(response: requests.Response, status: int | tuple, what: str) -> requests.Response:
    wanted = status if isinstance(status, tuple) else (status,)
    if response.status_code not in wanted:
        raise DemoError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response


# ------------------------------------------------------------------------------------ loader

class Loader:
    def __init__(self, client: JalinClient, deadline: float):
        self.c = client
        self.deadline = deadline
        self.lock = threading.Lock()
        self.today: date = date.today()
        self.partner_ids: dict[str, str] = {}
        self.agreement_ids: dict[str, str] = {}
        self.final_status: dict[str, str] = {}
        self.lead_opd: dict[str, str] = {}
        self.evaluation_ids: dict[str, str] = {}
        self.evaluation_status: dict[str, str] = {}
        self.counts = {k: 0 for k in ("partners_created", "partners_existing", "agreements_created",
                                      "agreements_existing", "activities_added", "reports_filed",
                                      "documents_attached", "evaluations_created", "evaluations_existing",
                                      "commands")}
        self.warnings: list[str] = []
        self.register_wait = 0.0
        self.final_evaluations: dict[str, list[str]] = {}  # agreement key -> its AKHIR evaluations' keys

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def warn(self, message: str) -> None:
        with self.lock:
            self.warnings.append(message)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def wait_for(self, check: Callable[[], Any], what: str, timeout: float | None = None) -> Any:
        end = time.monotonic() + min(timeout or self.remaining(), max(self.remaining(), 1))
        delay = 0.1
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > end:
                raise DemoError(f"timed out waiting for {what}")
            if self.c.stop():
                raise Stopped("stopped on request")
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    # ---------------------------------------------------------------- partners

    def partners(self, specs: list[PartnerSpec], workers: int) -> None:
        known, _ = self.c.get_all("evaluation", "/api/v1/partners")
        by_name = {p.get("name"): p["id"] for p in known}
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(self._partner, spec, by_name.get(spec.body["name"])) for spec in specs]:
                future.result()
        self.partner_ids = {spec.key: self.partner_ids[spec.key] for spec in specs}  # in the specs' order

    def _partner(self, spec: PartnerSpec, pid: str | None) -> None:
        if pid:
            self.count("partners_existing")
        else:
            pid = self._register(spec)
        with self.lock:
            self.partner_ids[spec.key] = pid
        partner = _expect(self.c.get("partners", f"/api/v1/partners/{pid}"), 200, f"partner {spec.key}").json()
        if spec.status in ("VERIFIED", "DEACTIVATED") and partner["status"] == "REGISTERED":
            r = self.c.post("partners", f"/api/v1/partners/{pid}/verify",
                            {"note": "Dokumen legalitas dan kewenangan diverifikasi Bagian Kerja Sama."}, STAFF,
                            key=f"demo:partner:{spec.key}:verify")
            self.count("commands")
            if r.status_code == 200:
                partner = r.json()
            elif rule(r) != "already_verified":
                self.warn(f"partner {spec.key}: verify refused ({r.status_code} {rule(r)})")
        if spec.status == "DEACTIVATED" and partner["status"] != "DEACTIVATED":
            r = self.c.post("partners", f"/api/v1/partners/{pid}/deactivate",
                            {"reason": spec.deactivation_reason}, STAFF, key=f"demo:partner:{spec.key}:deactivate")
            self.count("commands")
            if r.status_code != 200 and rule(r) != "already_deactivated":
                self.warn(f"partner {spec.key}: deactivate refused ({r.status_code} {rule(r)})")

    def _register(self, spec: PartnerSpec) -> str:
        r = self.c.post("partners", "/api/v1/partners", spec.body, STAFF, key=f"demo:partner:{spec.key}:register")
        self.count("commands")
        if r.status_code == 201:
            self.count("partners_created" if not replayed(r) else "partners_existing")
            return r.json()["id"]
        if r.status_code == 409 and rule(r) == "partner_already_registered":
            # Registered before (its region code / NIB is taken): the answer names the holder.
            self.count("partners_existing")
            holder = re.search(r"partner-[0-9a-f-]{36}", json.dumps(r.json().get("errors") or {}))
            if holder:
                return holder.group(0)
            name = spec.body["name"]

            def find():
                items = self.c.get("evaluation", "/api/v1/partners", q=name, per_page=50).json().get("items", [])
                return next((p["id"] for p in items if p.get("name") == name), None)
            return self.wait_for(find, f"partner {name!r} in the read model", 30)
        raise DemoError(f"register partner {spec.key}: HTTP {r.status_code} {r.text[:300]}")

    # ---------------------------------------------------------------- agreements

    def agreements(self, specs: list[AgreementSpec], workers: int,
                   done: Callable[[str], None] = lambda key: None) -> None:
        register, _ = self.c.get_all("evaluation", "/api/v1/agreements")
        by_title: dict[str, list[dict]] = {}
        for item in register:
            by_title.setdefault(item.get("title"), []).append(item)

        def run(group: list[AgreementSpec]) -> None:
            # The first of a group is what the others depend on; agreements depending on the same
            # one (the PKSs under one KB) go side by side once it is done.
            head, rest = group[0], group[1:]
            AgreementRun(self, head, by_title).drive()
            done(head.key)
            children = [s for s in rest if head.key in (s.parent, s.extends)]
            subgroups = [[child] + [s for s in rest if _depends_on(s, child.key, rest)] for child in children]
            if len(subgroups) == 1:
                run(subgroups[0])
            elif subgroups:
                with ThreadPoolExecutor(max_workers=len(subgroups)) as side:
                    for future in [side.submit(run, g) for g in subgroups]:
                        future.result()

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(run, group) for group in components(specs, self.today)]:
                future.result()

    # ---------------------------------------------------------------- evaluations

    def evaluations(self, specs: list[EvaluationSpec], workers: int) -> "EvaluationQueue":
        """A queue that starts each agreement's evaluations once the agreement is done."""
        rubric = _expect(self.c.get("evaluation", "/api/v1/rubric"), 200, "GET rubric").json()
        existing, _ = self.c.get_all("evaluation", "/api/v1/evaluations")
        index = {(e.get("agreement_id"), e.get("period"), e.get("year"), e.get("assessor_kind")): e["id"]
                 for e in existing}
        return EvaluationQueue(self, specs, rubric, index, workers)

    def evaluable(self, key: str) -> bool:
        """Wait until the register (which the evaluation service checks) shows the agreement signed;
        remember its lead OPD. False (with a warning) when it never does."""
        aid = self.agreement_ids.get(key)
        if aid is None or self.final_status.get(key) not in EVALUABLE:
            return False

        def shown():
            r = self.c.get("evaluation", f"/api/v1/agreements/{aid}")
            item = r.json() if r.status_code == 200 else {}
            if item.get("status") in EVALUABLE:
                self.lead_opd[key] = item.get("lead_opd")
                return True
            return False
        began = time.monotonic()
        try:
            self.wait_for(shown, f"{key} signed in the register", 60)
            return True
        except DemoError as exc:
            self.warn(str(exc))
            return False
        finally:
            with self.lock:
                self.register_wait = max(self.register_wait, round(time.monotonic() - began, 1))

    def final_evaluation_finalized(self, key: str) -> bool:
        """Wait until the loader has finalized the AKHIR evaluation(s) of agreement ``key`` (an
        extension of it is submitted only then); False (with a warning) when that never happens."""
        wanted = self.final_evaluations.get(key, [])
        try:
            self.wait_for(lambda: wanted and all(self.evaluation_status.get(k) == "FINALIZED" for k in wanted),
                          f"the final evaluation of {key}", 90)
            return True
        except DemoError as exc:
            self.warn(str(exc))
            return False

    # ---------------------------------------------------------------- consistency

    def settle(self, timeout: float = 30) -> bool:
        """Wait until the read models show at least what the loader left on the write side (the
        scheduler may have moved things further meanwhile), so a second run finds everything."""
        def caught_up():
            items, _ = self.c.get_all("evaluation", "/api/v1/agreements")
            statuses = {i["id"]: i.get("status") for i in items}
            for key, aid in self.agreement_ids.items():
                if aid not in statuses or RANK.get(statuses[aid], 0) < RANK.get(self.final_status.get(key), 0):
                    return False
            listed, _ = self.c.get_all("evaluation", "/api/v1/evaluations")
            evaluations = {e["id"]: e.get("status") for e in listed}
            return all(eid in evaluations and EVALUATION_RANK.get(evaluations[eid], 0)
                       >= EVALUATION_RANK.get(self.evaluation_status.get(key), 0)
                       for key, eid in self.evaluation_ids.items())
        try:
            self.wait_for(caught_up, "the read models", timeout)
            return True
        except DemoError:
            self.warn("the read models had not caught up when the loader finished")
            return False


class AgreementRun:
    """Brings one agreement to its target state, sending only the steps it still lacks."""

    def __init__(self, loader: Loader, spec: AgreementSpec, by_title: dict[str, list[dict]]):
        self.L, self.c, self.spec, self.by_title = loader, loader.c, spec, by_title
        self.id: str | None = None
        self.wf: AgreementWorkflow | None = None

    # -- plumbing
    def _sent(self, label: str, r: requests.Response) -> None:
        self.L.count("commands")
        if r.status_code in (200, 201) and not replayed(r) and label.startswith(("activity:", "report:")):
            self.L.count("activities_added" if label.startswith("activity:") else "reports_filed")

    def _follow(self, agreement_id: str, snapshot: dict | None = None) -> None:
        self.id = agreement_id
        self.wf = AgreementWorkflow(self.c, agreement_id, snapshot=snapshot, keys=f"demo:agreement:{self.spec.key}",
                                    sent=self._sent, warn=lambda message: self.L.warn(f"{self.spec.key}: {message}"),
                                    patience=min(30.0, max(self.L.remaining(), 5.0)),
                                    # the finalized evaluation travels to the agreements service via Kafka
                                    not_yet=frozenset({"final_evaluation_required"}) if self.spec.extends
                                    else frozenset())
        if snapshot is None:
            self.wf.refresh()

    @property
    def snap(self) -> dict:
        return self.wf.snap if self.wf else {}

    @property
    def status(self) -> str:
        return self.wf.status

    @property
    def rank(self) -> int:
        return self.wf.rank

    @property
    def revisions(self) -> int:
        return self.wf.revisions

    def step(self, label: str, done: Callable[[], bool], command: str, actor: Caller, body: Any = None,
             can: Callable[[], bool] | None = None, **kw) -> bool:
        return self.wf.step(label, done, command, actor, body, can, **kw)

    # -- drafting
    def draft_body(self) -> dict:
        s, ids = self.spec, self.L.partner_ids
        body = {"category": s.category, "document_kind": s.document_kind, "title": s.title,
                "partner_ids": [ids[p] for p in s.partners], "start_date": s.start.isoformat(),
                "end_date": s.end.isoformat(), "lead_opd": s.lead_opd, "urusan": s.urusan,
                "burdens_public": s.burdens_public, "funding": s.funding, "value": s.value,
                "purpose": s.purpose, "scope": s.scope, "location": s.location}
        if s.funding_scheme:
            body["funding_scheme"] = s.funding_scheme
        if s.ksdd_type:
            body["ksdd_type"] = s.ksdd_type
        if s.parent:
            body["parent_kb_id"] = self.L.agreement_ids[s.parent]
        if s.extends:
            body["extends_agreement_id"] = self.L.agreement_ids[s.extends]
        return body

    def find_or_draft(self) -> None:
        s = self.spec
        partner_ids = {self.L.partner_ids[p] for p in s.partners}
        for item in self.by_title.get(s.title, []):
            if {p["id"] for p in item.get("partners", [])} == partner_ids:
                self.L.count("agreements_existing")
                self._follow(item["id"])
                return
        r = draft(self.c, self.draft_body(), STAFF, key=f"demo:agreement:{s.key}:draft",
                  patience=min(60, max(self.L.remaining(), 5)), sent=lambda r: self.L.count("commands"))
        if r.status_code == 201:
            self.L.count("agreements_created" if not replayed(r) else "agreements_existing")
            self._follow(r.json()["id"], r.json())
            return
        if r.status_code == 422 and rule(r) == "idempotency_key_reused":
            # Drafted by an earlier run with other dates (another day): wait for it in the register.
            def find():
                items = self.c.get("evaluation", "/api/v1/agreements", q=s.title[:100], per_page=50).json()
                return next((i["id"] for i in items.get("items", []) if i.get("title") == s.title), None)
            self.L.count("agreements_existing")
            self._follow(self.L.wait_for(find, f"{s.key} in the register", 30))
            return
        raise DemoError(f"draft {s.key}: HTTP {r.status_code} {r.text[:300]}")

    # -- the lifecycle
    def drive(self) -> None:
        s = self.spec
        self.find_or_draft()
        self.L.agreement_ids[s.key] = self.id
        try:
            self._lifecycle()
        finally:
            self.L.final_status[s.key] = self.status

    def _lifecycle(self) -> None:
        s, today, wf = self.spec, self.L.today, self.wf
        # The work plan is drafted with the agreement (the PKS's lampiran), before it is submitted:
        # a historical agreement may be expired by the scheduler the moment it is signed.
        for activity in s.activities:
            self.step(f"activity:{activity.activity_id}", lambda a=activity: self.activity(a.activity_id) is not None,
                      "activities", STAFF, self.activity_body(activity), can=lambda: self.status in WORK_PLAN_OPEN)
        if s.target == "DRAFT":
            return
        if s.target == "CANCELLED":
            self.step("cancel", lambda: self.status == "CANCELLED", "cancel", STAFF, {"reason": s.reason})
            return
        if s.extends and self.status == "DRAFT" and not self.L.final_evaluation_finalized(s.extends):
            return
        callers = {"submit": STAFF, "start-review": TKKSD, "review": TKKSD, "dprd-approval": BUPATI,
                   "central-approval": BUPATI, "sign": BUPATI}
        if s.revision:  # a first round up to the TKKSD's return, then the redraft
            reason, changes = s.revision
            if self.revisions == 0:
                if not wf.walk_to("UNDER_REVIEW", callers=callers):
                    return
                self.step("return", lambda: self.revisions >= 1, "return", TKKSD, {"reason": reason})
            self.step("edit", lambda: self.revisions >= 1 and (
                self.rank >= 1 or all(self.snap.get(k) == v for k, v in changes.items())), "edit", STAFF, changes)
        if s.target in ("SUBMITTED", "UNDER_REVIEW"):
            wf.walk_to(s.target, callers=callers)
            return
        reviewed_on = (s.reviewed_on or today).isoformat()
        if s.target == "REJECTED":
            # The TKKSD recommends against it (the draft goes back), then the Bupati decides to reject.
            def reviewed() -> bool:
                return self.status == "REJECTED" or any(
                    r.get("negative_review") for r in self.snap.get("revision_requests") or [])
            if not reviewed():
                if not wf.walk_to("UNDER_REVIEW", callers=callers):
                    return
                if not self.step("review", reviewed, "review", TKKSD,
                                 {"recommended": False, "notes": s.reason, "reviewed_on": reviewed_on}):
                    return
            self.step("reject", lambda: self.status == "REJECTED", "reject", BUPATI,
                      {"reason": "Bupati Muaro Jambi tidak menyetujui rancangan kerja sama sesuai rekomendasi TKKSD."},
                      can=lambda: self.status in PRE_SIGNING)
            return
        dprd_on, central_on = s.dprd_on or today, s.central_on or today
        bodies = {
            "review": {"recommended": True, "notes": s.review_notes, "reviewed_on": reviewed_on},
            "dprd-approval": {"approval_ref": f"Keputusan DPRD Kabupaten Muaro Jambi Nomor {dprd_on.month + 3} "
                                              f"Tahun {dprd_on.year}", "approved_on": dprd_on.isoformat()},
            "central-approval": {"approval_ref": f"Surat Menteri Dalam Negeri Nomor 100.4.3/{central_on.month * 137}"
                                                 f"/OTDA tanggal {central_on.isoformat()}",
                                 "approved_on": central_on.isoformat()},
            "sign": self.sign_body()}
        if s.target in ("AWAITING_DPRD", "AWAITING_CENTRAL", "READY_TO_SIGN"):
            wf.walk_to(s.target, bodies=bodies, callers=callers)
            return
        if not wf.walk_to("SIGNED", bodies=bodies, callers=callers):
            return
        if s.signed_scan:
            self.attach_signed_scan()
        if s.target == "SIGNED":
            return
        in_force = lambda: self.status in IN_FORCE  # noqa: E731
        # The scheduler activates and expires historical agreements on its own.
        self.step("activate", lambda: self.rank >= 7, "activate", STAFF, {},
                  can=lambda: self.status == "SIGNED" and s.start <= today)
        until = s.terminated_on if s.target == "TERMINATED" else None
        for activity in s.activities:
            if self.activity(activity.activity_id) is None:
                continue
            for report in report_plan(activity, today, until):
                period = report["period"]
                self.step(f"report:{activity.activity_id}:{period}",
                          lambda a=activity, p=period: p in self.reported(a.activity_id),
                          f"activities/{activity.activity_id}/reports", officer(activity.opd), report,
                          can=lambda: self.status in REPORTABLE)
        if s.amendment:
            self.addendum(s.amendment, in_force)
        if s.target == "TERMINATED":
            self.step("terminate", lambda: self.status == "TERMINATED", "terminate", BUPATI,
                      {"reason": s.reason, "reason_code": s.reason_code or "lainnya",
                       "on": s.terminated_on.isoformat()}, can=in_force)
        elif s.target == "EXPIRED":
            self.step("expire", lambda: self.rank >= 8, "expire", STAFF, {}, can=in_force)

    def addendum(self, spec: dict, in_force: Callable[[], bool]) -> None:
        """The addendum through its lifecycle: drafted by the Bagian Kerja Sama, reviewed by the TKKSD,
        approved again when the service says the amended terms need it, signed (only then it applies)."""
        def current() -> dict:
            return (self.snap.get("addenda") or [{}])[-1]

        def past(*statuses: str) -> Callable[[], bool]:  # the addendum has left these statuses
            return lambda: bool(current()) and current().get("status") not in statuses
        drafted = {"reason": spec["reason"], "changes": spec["changes"]}
        if not self.step("addendum:draft", lambda: bool(current()), "addenda", STAFF, drafted, can=in_force):
            return
        path = f"addenda/{current()['addendum_no']}"
        on = spec["reviewed_on"]
        steps = [("submit", ("DRAFT",), STAFF, {}),
                 ("review", ("DRAFT", "UNDER_REVIEW"), TKKSD,
                  {"recommended": True, "notes": spec["review_notes"], "reviewed_on": on}),
                 ("dprd-approval", ("DRAFT", "UNDER_REVIEW", "AWAITING_DPRD"), BUPATI,
                  {"approval_ref": "Keputusan DPRD Kabupaten Muaro Jambi (adendum)", "approved_on": on}),
                 ("central-approval", ("DRAFT", "UNDER_REVIEW", "AWAITING_DPRD", "AWAITING_CENTRAL"), BUPATI,
                  {"approval_ref": "Surat Menteri Dalam Negeri (adendum)", "approved_on": on})]
        for name, before, caller, body in steps:
            if name.endswith("approval") and current().get("status") != before[-1]:
                continue  # not required for this change (the service decided at the review)
            if not self.step(f"addendum:{name}", past(*before), f"{path}/{name}", caller, body, can=in_force):
                return
        self.step("addendum:sign", lambda: current().get("status") == "SIGNED", f"{path}/sign", BUPATI,
                  spec["signing"], can=in_force)

    def sign_body(self) -> dict:
        s = self.spec
        signed_on = s.signed_on or self.L.today
        body = signatory(s.document_kind, s.lead_opd, signed_on, self.L.today)
        body["signed_on"] = signed_on.isoformat()
        if s.our_number:
            body["our_number"] = s.our_number
        if s.partner_number:
            body["partner_number"] = s.partner_number
        if s.partner_signatory:
            body["partner_signatory_name"], body["partner_signatory_position"] = s.partner_signatory
        return body

    def activity(self, activity_id: str) -> dict | None:
        return next((a for a in self.snap.get("activities") or [] if a["activity_id"] == activity_id), None)

    def reported(self, activity_id: str) -> set[str]:
        return {r["period"] for r in (self.activity(activity_id) or {}).get("reports", [])}

    @staticmethod
    def activity_body(a: ActivitySpec) -> dict:
        return {"activity_id": a.activity_id, "name": a.name, "indicator": a.indicator, "target": a.target,
                "unit": a.unit, "schedule_start": a.start.isoformat(), "schedule_end": a.end.isoformat(),
                "responsible_opd": a.opd, "budget": a.budget}

    def attach_signed_scan(self) -> None:
        if any(d.get("kind") == "signed_scan" for d in self.snap.get("documents") or []):
            return
        if self.status in ("REJECTED", "CANCELLED"):
            return
        name = f"naskah-{self.spec.key}-ditandatangani.pdf"
        # A fixed boundary keeps the body (and so the Idempotency-Key fingerprint) the same on a retry.
        body, content_type = encode_multipart_formdata(
            [("kind", "signed_scan"), ("file", (name, signed_scan_pdf(self.spec), "application/pdf"))],
            boundary="jalin-demo-signed-scan")
        before = len(self.snap.get("documents") or [])
        self.step("document:signed_scan", lambda: len(self.snap.get("documents") or []) > before, "documents",
                  STAFF, data=body, headers={"Content-Type": content_type})
        if len(self.snap.get("documents") or []) > before:
            self.L.count("documents_attached")


class EvaluationQueue:
    """Evaluations run on their own threads as soon as their agreement is done (overlapping the
    agreements still being loaded); ``wait()`` collects them."""

    STEPS = {"SCHEDULED": 1, "CANCELLED": 2, "IN_PROGRESS": 2, "SUBMITTED": 3, "FINALIZED": 4}

    def __init__(self, loader: Loader, specs: list[EvaluationSpec], rubric: dict, index: dict, workers: int):
        self.L, self.rubric, self.index = loader, rubric, index
        self.by_agreement: dict[str, list[EvaluationSpec]] = {}
        for spec in sorted(specs, key=lambda s: -self.STEPS[s.target]):
            self.by_agreement.setdefault(spec.agreement, []).append(spec)
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.futures: list = []
        self.lock = threading.Lock()

    def agreement_done(self, key: str) -> None:
        specs = self.by_agreement.pop(key, [])
        if specs:
            with self.lock:
                self.futures.append(self.pool.submit(self._run, key, specs))

    def _run(self, key: str, specs: list[EvaluationSpec]) -> None:
        if not self.L.evaluable(key):
            for spec in specs:
                self.L.warn(f"evaluation {spec.key}: skipped (agreement {key} is {self.L.final_status.get(key)})")
            return
        with ThreadPoolExecutor(max_workers=len(specs)) as side:  # independent streams
            for future in [side.submit(EvaluationRun(self.L, spec, self.rubric, self.index).drive) for spec in specs]:
                future.result()

    def wait(self) -> None:
        try:
            for key in list(self.by_agreement):  # agreements that were never loaded
                for spec in self.by_agreement.pop(key):
                    self.L.warn(f"evaluation {spec.key}: skipped (agreement {key} not loaded)")
            for future in list(self.futures):
                future.result()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


class EvaluationRun:
    """Brings one evaluation to its target state."""

    def __init__(self, loader: Loader, spec: EvaluationSpec, rubric: dict, index: dict):
        self.L, self.c, self.spec, self.rubric, self.index = loader, loader.c, spec, rubric, index
        self.id: str | None = None
        self.snap: dict = {}

    @property
    def rank(self) -> int:
        return EVALUATION_RANK.get(self.snap.get("status"), 0)

    def drive(self) -> None:
        s = self.spec
        agreement_id = self.L.agreement_ids.get(s.agreement)
        if agreement_id is None or self.L.final_status.get(s.agreement) not in EVALUABLE:
            self.L.warn(f"evaluation {s.key}: skipped (agreement {s.agreement} is "
                        f"{self.L.final_status.get(s.agreement)})")
            return
        self.id = self.index.get((agreement_id, s.period, s.year, s.assessor))
        if self.id:
            self.L.count("evaluations_existing")
            self.snap = _expect(self.c.get("evaluation", f"/api/v1/evaluations/{self.id}"), 200,
                                f"GET evaluation {s.key}").json()
        else:
            self.schedule(agreement_id)
        self.L.evaluation_ids[s.key] = self.id
        try:
            self._lifecycle()
        finally:
            self.L.evaluation_status[s.key] = self.snap.get("status")

    def _lifecycle(self) -> None:
        s = self.spec
        assessor = {"opd": officer(self.L.lead_opd.get(s.agreement) or "SETDA"), "kerjasama": STAFF,
                    "tkksd": TKKSD}[s.assessor]
        if s.target == "SCHEDULED":
            return
        if s.target == "CANCELLED":
            self.command("cancel", KABAG, {"reason": s.reason}, lambda: self.snap.get("status") == "CANCELLED")
            return
        answers = self.answers(partial=s.target == "IN_PROGRESS")
        if not self.command("answers", assessor, {"answers": answers}, lambda: self.rank >= 1):
            return
        if s.target == "IN_PROGRESS":
            return
        if not self.command("submit", assessor, {}, lambda: self.rank >= 2):
            return
        if s.target == "FINALIZED":
            self.command("finalize", KABAG, {}, lambda: self.rank >= 3)

    def schedule(self, agreement_id: str) -> None:
        s = self.spec
        body = {"agreement_id": agreement_id, "period": s.period, "year": s.year, "due_date": s.due.isoformat(),
                "assessor_kind": s.assessor}
        # The evaluation service learns of the agreement (its signing, its termination — which ends the
        # term an AKHIR evaluation covers) through Kafka.
        r = post_until_accepted(self.c, "evaluation", "/api/v1/evaluations", body, STAFF,
                                key=f"demo:evaluation:{s.key}:schedule", patience=min(15.0, max(self.L.remaining(), 1)),
                                waiting_for=frozenset({"agreement_not_found", "agreement_not_evaluable",
                                                       "period_outside_term"}),
                                sent=lambda r: self.L.count("commands"))
        if r.status_code == 201:
            self.snap, self.id = r.json(), r.json()["stream_id"]
            self.L.count("evaluations_created" if not replayed(r) else "evaluations_existing")
            return
        raise DemoError(f"schedule evaluation {s.key}: HTTP {r.status_code} {r.text[:300]}")

    def command(self, name: str, actor: Caller, body: dict, done: Callable[[], bool]) -> bool:
        if done():
            return True
        r = self.c.post("evaluation", f"/api/v1/evaluations/{self.id}/{name}", body, actor,
                        key=f"demo:evaluation:{self.spec.key}:{name}")
        self.L.count("commands")
        if r.status_code == 200:
            self.snap = r.json()
            return True
        self.L.warn(f"evaluation {self.spec.key}: {name} refused (HTTP {r.status_code} {rule(r)})")
        return False

    def answers(self, partial: bool = False) -> dict:
        s = self.spec
        pattern = PROFILES[s.profile]
        out, scored = {}, 0
        indicators = self.rubric["indicators"]
        if partial:  # only the first group filled in so far
            first_group = indicators[0]["group"]
            indicators = [i for i in indicators if i["group"] == first_group]
        for indicator in indicators:
            options = indicator.get("options") or []
            if indicator.get("scored") and options:
                index = int(pattern[scored % len(pattern)])
                out[indicator["id"]] = options[min(index, len(options) - 1)]["key"]
                scored += 1
            elif options:
                keys = [o["key"] for o in options]
                out[indicator["id"]] = s.recommendation if s.recommendation in keys else keys[0]
            elif indicator.get("kind") == "text":
                text = s.suggestion if indicator["id"] == "saran" else (
                    "Dokumen pendukung sebagian masih dalam proses penandatanganan." if "cukup" in s.profile
                    or s.profile in ("kurang", "buruk") else "")
                if text:
                    out[indicator["id"]] = text
            elif indicator.get("kind") == "refs":
                out[indicator["id"]] = [f"Laporan pelaksanaan {s.period} {s.year}",
                                        f"Berita acara monev {s.key.upper()}/{s.year}"]
        return out


# ---------------------------------------------------------------------------------- entry

def load_demo(urls: dict, settings: Settings, *, today: date | None = None, timeout: float = 110.0,
              workers: int = 6, stop: Callable[[], bool] | None = None, log: Callable[[str], None] | None = None
              ) -> dict:
    """Load (or complete) the demo through the APIs at ``urls`` (keys partners, agreements,
    evaluation); returns a summary. ``today`` defaults to the services' own date (the register's
    ``as_of``); ``stop()`` returning True aborts between requests (``Stopped``)."""
    started = time.monotonic()
    say = log or (lambda message: None)
    missing = [name for name in SERVICES if not urls.get(name)]
    if missing:
        raise ValueError(f"missing URL(s) for {', '.join(missing)}")
    client = JalinClient(urls, settings, caller=STAFF, stop=stop)
    loader = Loader(client, started + timeout)
    first = _expect(client.get("evaluation", "/api/v1/agreements", per_page=1), 200, "GET register").json()
    loader.today = today or date.fromisoformat(first["as_of"])
    phases: dict[str, float] = {}

    def phase(name: str, run: Callable[[], Any]) -> Any:
        began = time.monotonic()
        try:
            return run()
        finally:
            phases[name] = round(time.monotonic() - began, 1)

    say(f"demo: partners ({loader.today.isoformat()})")
    phase("partners", lambda: loader.partners(partner_specs(), workers))
    say("demo: agreements, work plans, reports and evaluations")
    evaluations = evaluation_specs(loader.today)
    for spec in evaluations:
        if spec.period == "AKHIR" and spec.target == "FINALIZED":
            loader.final_evaluations.setdefault(spec.agreement, []).append(spec.key)
    queue = loader.evaluations(evaluations, workers)
    try:
        phase("agreements", lambda: loader.agreements(agreement_specs(loader.today), workers, queue.agreement_done))
    finally:
        phase("evaluations (after the agreements)", queue.wait)
    settled = phase("read models", lambda: loader.settle(min(30.0, max(loader.remaining(), 5.0))))
    statuses: dict[str, int] = {}
    for status in loader.final_status.values():
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "today": loader.today.isoformat(),
        "seconds": round(time.monotonic() - started, 1),
        "phase_seconds": phases,
        "partners": {"total": len(loader.partner_ids), "created": loader.counts["partners_created"]},
        "agreements": {"total": len(loader.agreement_ids), "created": loader.counts["agreements_created"],
                       "by_status": dict(sorted(statuses.items()))},
        "activities_added": loader.counts["activities_added"],
        "reports_filed": loader.counts["reports_filed"],
        "documents_attached": loader.counts["documents_attached"],
        "evaluations": {"total": len(loader.evaluation_ids), "created": loader.counts["evaluations_created"]},
        "commands_sent": loader.counts["commands"],
        "http_calls": client.calls,
        "http_seconds": {k: round(v, 1) for k, v in sorted(client.seconds.items())},
        "read_models_caught_up": settled,
        "register_wait_seconds": loader.register_wait,
        "warnings": loader.warnings,
        "partner_ids": dict(loader.partner_ids),
        "agreement_ids": dict(loader.agreement_ids),
        "evaluation_ids": dict(loader.evaluation_ids),
    }


def describe(summary: dict) -> str:
    """A short human summary of ``load_demo``'s result."""
    a, e, p = summary["agreements"], summary["evaluations"], summary["partners"]
    lines = [f"demo Kabupaten Muaro Jambi loaded in {summary['seconds']} s (as of {summary['today']}): "
             f"{p['total']} partners ({p['created']} new), {a['total']} agreements ({a['created']} new), "
             f"{e['total']} evaluations ({e['created']} new); {summary['commands_sent']} commands sent",
             "  agreements by status: " + ", ".join(f"{k} {v}" for k, v in a["by_status"].items())]
    for warning in summary["warnings"]:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli.demo", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--partners-url")
    parser.add_argument("--agreements-url")
    parser.add_argument("--evaluation-url")
    parser.add_argument("--today", type=date.fromisoformat, help="anchor date (default: the services' today)")
    parser.add_argument("--timeout", type=float, default=110.0)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    settings = Settings.from_env()  # the JWT settings the services use (JALIN_JWT_*)
    urls = {"partners": args.partners_url or settings.partners_url,
            "agreements": args.agreements_url or settings.agreements_url,
            "evaluation": args.evaluation_url or settings.evaluation_url}
    try:
        summary = load_demo(urls, settings, today=args.today, timeout=args.timeout,
                            log=lambda m: print(m, file=sys.stderr, flush=True))
    except (DemoError, requests.RequestException) as exc:
        print(f"demo: failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2, ensure_ascii=False) if args.json else describe(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
