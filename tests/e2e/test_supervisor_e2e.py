"""The local supervisor (make run): a worker killed while commands flow is restarted, nothing is lost.

Each worker is killed with SIGKILL in turn (no chance to finish its batch) while a client keeps
registering partners and drafting agreements. The supervisor starts it again after its backoff;
every accepted command then reaches the agreements service's partner replica and the evaluation
read model. Runs on API ports of its own (the test profile's + 600) under a fresh prefix.
"""
import dataclasses
import os
import signal
import threading
import uuid

from tests.e2e.conftest import Stack
from tests.support import load_stack, require_infrastructure, unique_prefix, wait_until

WORKERS = ("partners-relay", "agreements-relay", "agreements-partner-replica", "agreements-scheduler",
           "agreements-kb-cascade", "evaluation-relay", "evaluation-projector")


class Client(threading.Thread):
    """Registers and verifies a partner, then drafts an agreement with it, until told to stop."""

    def __init__(self, stack: Stack):
        super().__init__(daemon=True)
        self.stack, self.done = stack, threading.Event()
        self.partners: list[str] = []
        self.agreements: list[str] = []
        self.errors: list[str] = []

    def run(self):
        while not self.done.is_set():
            try:
                self.one_round()
            except Exception as exc:  # noqa: BLE001 - recorded, asserted on at the end
                self.errors.append(repr(exc))
            self.done.wait(0.3)  # pace: a steady flow, not a flood

    def one_round(self):
        s = self.stack
        n = uuid.uuid4().int
        r = s.call("POST", "partners", "/api/v1/partners", json={
            "name": f"Mitra {uuid.uuid4().hex[:8]}", "kind": "daerah_lain",
            "region_code": f"{n % 80 + 11}.{n // 80 % 90 + 10}.{n // 7200 % 90 + 10}"})
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        assert s.call("POST", "partners", f"/api/v1/partners/{pid}/verify", json={}).status_code == 200
        self.partners.append(pid)
        body = {"category": "KSDD", "ksdd_type": "sukarela", "document_kind": "KB", "title": f"Kesepakatan {pid[-6:]}",
                "partner_ids": [pid], "start_date": "2026-01-01", "end_date": "2028-12-31", "lead_opd": "SETDA",
                "urusan": ["pariwisata"], "burdens_public": False}

        def drafted():  # the partner reaches the agreements service's replica through Kafka
            r = s.call("POST", "agreements", "/api/v1/agreements", json=body)
            if r.status_code == 422 and r.json().get("rule") == "partner_not_found":
                return None
            assert r.status_code == 201, r.text
            return r.json()["id"]
        self.agreements.append(wait_until(drafted, 120, interval=0.5, what="partner in the replica"))


def ids(stack, service, path):
    r = stack.call("GET", service, path, params={"per_page": 200})
    return {item["id"]: item for item in r.json()["items"]} if r.status_code == 200 else {}


def test_each_worker_killed_is_restarted_and_no_command_is_lost():
    module = load_stack()
    base = module.PROFILES["test"]
    require_infrastructure(base)
    profile = dataclasses.replace(base, name="test-supervisor",
                                  api_ports={name: port + 600 for name, port in base.api_ports.items()})
    prefix = unique_prefix("k")
    supervisor = module.Supervisor(profile, prefix=prefix, extra_env={
        "JALIN_WEB_WORKERS": "1", "JALIN_SCHEDULER_INTERVAL_SECONDS": "1"})
    supervisor.start()
    watching = threading.Event()
    watcher = threading.Thread(target=supervisor.watch, args=(lambda: watching.is_set(),),
                               kwargs={"interval": 0.2}, daemon=True)
    watcher.start()
    client = None
    try:
        supervisor.wait_ready(90)
        stack = Stack(profile, prefix)
        client = Client(stack)
        client.start()
        wait_until(lambda: len(client.agreements) >= 2 or client.errors, 120, what="commands flowing end to end")
        assert not client.errors, client.errors[:3]
        for name in WORKERS:
            victim = supervisor.procs[name]
            before = len(client.partners)
            os.killpg(victim.pid, signal.SIGKILL)
            wait_until(lambda: supervisor.procs[name] is not victim and supervisor.procs[name].poll() is None,
                       60, what=f"{name} restarted")
            wait_until(lambda: len(client.partners) >= before + 2, 60, what=f"commands go on after killing {name}")
        assert all(supervisor.restarts.get(name) == 1 for name in WORKERS), supervisor.restarts
        wait_until(lambda: len(client.agreements) >= len(WORKERS), 120, what="agreements drafted meanwhile")
        client.done.set()
        client.join(180)
        assert not client.errors, client.errors[:3]

        # Nothing lost: every partner verified in the read model, every agreement in the register.
        wait_until(lambda: all(ids(stack, "evaluation", "/api/v1/partners").get(p, {}).get("status") == "VERIFIED"
                               for p in client.partners), 180, interval=1, what="every partner in the read model")
        wait_until(lambda: set(client.agreements) <= set(ids(stack, "evaluation", "/api/v1/agreements")), 180,
                   interval=1, what="every agreement in the register")
        assert all(p.poll() is None for p in supervisor.procs.values()), supervisor.dead()
    finally:
        if client is not None:
            client.done.set()
        watching.set()
        watcher.join(5)
        supervisor.stop()
