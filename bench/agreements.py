"""5. Agreements API under load: commands/s, HTTP latency, lag to the evaluation read model.

All processes run under the stack's ``Supervisor`` (gunicorn APIs, relays, scheduler, projector) in
a fresh namespace. Each of N client threads owns a verified partner (registered through the
partners API and waited for in the agreements service's replica, untimed) and repeats a realistic
chain of 13 commands on the agreements API:

    KB:  draft → edit → submit → start-review → review → sign
    PKS (under that KB): draft → submit → start-review → review → sign → add activity → file report (OPD)

Every 2xx answer carries the agreement's resulting ``version``. An observer thread polls the live
evaluation read model (``<prefix>_evaluation.read_model`` pointer → database, collection
``agreements``) every ~10 ms with one ``find({_id: {$in: pending}})`` and records when each
command's version became visible (``version`` ≥ the command's), so the lag is measured under the
same load. Raw limit: ``GET /healthz`` of the same agreements app at the same concurrency.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

import requests
from pymongo.errors import PyMongoError

from cli.client import Caller, JalinClient
from cli.workflow import AgreementWorkflow, draft, register_verified
from shared.config import Settings

from bench import requested, skipped
from bench.core import BenchError, Context, CpuMeter, infra_sessions, latency, row
from bench.e2e import burst, read_model_db

NAME = "agreements"
TITLE = "5. Agreements API: command mix under N client threads → visible in the evaluation read model"
POLL_S = 0.01
KB = {"category": "KSDD", "ksdd_type": "sukarela", "document_kind": "KB", "start_date": "2026-01-01",
      "end_date": "2030-12-31", "lead_opd": "SETDA", "urusan": ["pariwisata"], "burdens_public": False}
SIGN = {"signatory_name": "Bupati Muaro Jambi", "signatory_position": "kepala_daerah"}


class Observer(threading.Thread):
    """Polls the read model for pending (agreement, version) pairs; records when each became visible."""

    def __init__(self, col):
        super().__init__(daemon=True, name="observer")
        self.col = col
        self.lock = threading.Lock()
        self.pending: dict[str, list[tuple[int, float, str]]] = {}
        self.lags: list[tuple[str, float]] = []
        self.stop = threading.Event()
        self.errors = 0

    def expect(self, aid: str, version: int, t_response: float, command: str):
        with self.lock:
            self.pending.setdefault(aid, []).append((version, t_response, command))

    def outstanding(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.pending.values())

    def run(self):
        while not self.stop.is_set():
            with self.lock:
                ids = list(self.pending)
            if ids:
                try:
                    docs = {d["_id"]: d.get("version", 0)
                            for d in self.col.find({"_id": {"$in": ids}}, {"version": 1})}
                except PyMongoError:
                    self.errors += 1
                    docs = {}
                now = time.perf_counter()
                with self.lock:
                    for aid, version in docs.items():
                        waiting = self.pending.get(aid, [])
                        keep = []
                        for want, t_resp, command in waiting:
                            if version >= want:
                                self.lags.append((command, now - t_resp))
                            else:
                                keep.append((want, t_resp, command))
                        if keep:
                            self.pending[aid] = keep
                        else:
                            self.pending.pop(aid, None)
            time.sleep(POLL_S)


def run(ctx: Context) -> dict:
    if not requested(NAME):
        return skipped(NAME, TITLE)
    threads = 8
    chains = ctx.size(4, 1)  # per thread; 13 commands each
    settings = ctx.settings("ag")
    prefix = settings.prefix
    ports = ctx.profile.api_ports
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    # Timed commands are sent once each (``send``: no retry, which would hide a failure and
    # inflate the latency); the untimed setup uses the retrying client and the workflow driver.
    api = JalinClient(urls, Settings.from_env({"prefix": prefix}))
    callers = {role: Caller(role) for role in ("kerjasama", "tkksd", "pimpinan")}
    callers["opd"] = Caller("opd", opd="DISKOMINFO")
    client = ctx.mongo(settings, socketTimeoutMS=10000)
    rows, notes = [], []
    supervisor = ctx.stack.Supervisor(ctx.profile, prefix=prefix)
    t_boot = time.perf_counter()
    supervisor.start()
    try:
        supervisor.wait_ready(90)
        sessions = {name: proc.pid for name, proc in supervisor.procs.items()}
        sessions.update(infra_sessions(ctx.profile))

        # untimed setup: one verified partner per thread, in the agreements replica
        partners = [register_verified(api, {"name": f"Kabupaten Bench {ctx.run_id} {t}", "kind": "daerah_lain",
                                            "region_code": f"{15 + t}.{10 + t:02d}.{20 + t:02d}"})
                    for t in range(threads)]
        # warm-up: a draft and a submit per partner, retried until the replica has the partner and its verification
        for pid in partners:
            r = draft(api, {**KB, "title": "Pemanasan", "partner_ids": [pid]}, patience=90)
            if r.status_code != 201:
                raise BenchError(f"warm-up draft answered {r.status_code}: {r.text[:200]}")
            warm = AgreementWorkflow(api, r.json()["id"], snapshot=r.json(), patience=90)
            if not warm.walk_to("SUBMITTED"):
                raise BenchError(f"warm-up submit answered {warm.last.status_code}: {warm.last.text[:200]}")
        read_db = read_model_db(client, settings)
        col = read_db["agreements"]
        boot_seconds = time.perf_counter() - t_boot

        observer = Observer(col)
        observer.start()
        lock = threading.Lock()
        per_command: dict[str, list[float]] = {}
        statuses: Counter = Counter()
        failures: list[str] = []
        barrier = threading.Barrier(threads + 1)

        def worker(t: int):
            def cmd(name, path, body, role="kerjasama", expect=200):
                start = time.perf_counter()
                try:
                    r = api.send("POST", "agreements", "/api/v1/agreements" + path, callers[role], json=body,
                                 timeout=60)
                except requests.RequestException as exc:
                    with lock:
                        statuses[type(exc).__name__] += 1
                        failures.append(f"{name}: {exc!r}")
                    return None
                done = time.perf_counter()
                with lock:
                    statuses[r.status_code] += 1
                if r.status_code != expect:
                    with lock:
                        failures.append(f"{name}: {r.status_code} {r.text[:160]}")
                    return None
                doc = r.json()
                with lock:
                    per_command.setdefault(name, []).append(done - start)
                observer.expect(doc["id"], doc["version"], done, name)
                return doc

            barrier.wait()
            for c in range(chains):
                tag = f"{t}-{c}-{uuid.uuid4().hex[:4]}"
                kb = cmd("draft KB", "", {**KB, "title": f"Kesepakatan Bersama {tag}", "partner_ids": [partners[t]]},
                         expect=201)
                if not kb:
                    continue
                k = f"/{kb['id']}"
                if not (cmd("edit", k + "/edit", {"title": f"Kesepakatan Bersama {tag} (rev)"})
                        and cmd("submit", k + "/submit", {})
                        and cmd("start-review", k + "/start-review", {}, "tkksd")
                        and cmd("review", k + "/review", {"recommended": True, "notes": "layak"}, "tkksd")
                        and cmd("sign", k + "/sign", SIGN, "pimpinan")):
                    continue
                pks = cmd("draft PKS", "", {**KB, "document_kind": "PKS", "parent_kb_id": kb["id"],
                                            "title": f"PKS Layanan {tag}", "lead_opd": "DISKOMINFO",
                                            "start_date": "2026-01-15", "end_date": "2028-12-31",
                                            "partner_ids": [partners[t]]}, expect=201)
                if not pks:
                    continue
                p = f"/{pks['id']}"
                _ = (cmd("submit", p + "/submit", {})
                     and cmd("start-review", p + "/start-review", {}, "tkksd")
                     and cmd("review", p + "/review", {"recommended": True, "notes": "layak"}, "tkksd")
                     and cmd("sign", p + "/sign", {"signatory_name": "Sekda", "signatory_position": "sekretaris_daerah",
                                                   "power_of_attorney_ref": "SK-KUASA/12/2026"}, "pimpinan")
                     and cmd("add activity", p + "/activities", {
                         "activity_id": "jaringan", "responsible_opd": "DISKOMINFO", "target": 10,
                         "name": "Kegiatan jaringan", "indicator": "titik terpasang", "unit": "titik",
                         "schedule_start": "2026-01-15", "schedule_end": "2027-12-31", "budget": 50_000_000})
                     and cmd("file report", p + "/activities/jaringan/reports",
                             {"period": "2026-TW1", "realisation": 5, "obstacles": "cuaca",
                              "solutions": "jadwal ulang"}, "opd"))

        meter = CpuMeter(sessions).start()
        pool = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
        for th in pool:
            th.start()
        barrier.wait()
        start = time.perf_counter()
        for th in pool:
            th.join(600)
        wall = time.perf_counter() - start
        cpu = meter.stop()
        done_at = time.perf_counter()
        while observer.outstanding() and time.perf_counter() - done_at < 60:
            time.sleep(0.05)
        caught_up = time.perf_counter() - done_at
        observer.stop.set()
        observer.join(5)
        all_lat = [x for v in per_command.values() for x in v]
        n_cmds = len(all_lat)
        if not n_cmds:
            raise BenchError(f"no command succeeded: {failures[:3]}")

        # raw: /healthz on the same app at the same concurrency
        def healthz(session):
            r = session.get(urls["agreements"] + "/healthz", timeout=30)
            return r.status_code, (r.status_code if r.status_code == 200 else None)

        h_wall, h_lat, h_status, _ = burst(max(n_cmds, 400), threads, healthz)
        raw_name = f"GET /healthz (agreements API), {threads} client threads"
        rows.append(row(raw_name, "raw", len(h_lat), h_wall, "req/s", lat=latency(h_lat),
                        statuses={str(k): v for k, v in h_status.items()}))
        rows.append(row(f"agreement commands (13-command mix), {threads} client threads", "jalin", n_cmds, wall,
                        "cmd/s", lat=latency(all_lat), baseline=raw_name,
                        statuses={str(k): v for k, v in statuses.items()}, failures=failures[:10], cpu_seconds=cpu,
                        per_command={k: latency(v) for k, v in per_command.items()}))
        lags = [lag for _, lag in observer.lags]
        rows.append(row("lag command response → version visible in evaluation read model", "jalin", len(lags), None,
                        "per s", lat=latency(lags), rate=None,
                        not_visible_within_60s=observer.outstanding(), observer_errors=observer.errors,
                        read_side_caught_up_s_after_last_response=round(caught_up, 3),
                        per_command={k: latency([l for c, l in observer.lags if c == k]) for k in per_command},
                        note=f"polled every ~{POLL_S * 1000:.0f} ms ({read_db.name}.agreements, version ≥ command's)"))
        notes.append(f"{threads} client threads × {chains} chain(s) × 13 commands; {n_cmds} commands answered 2xx in "
                     f"{wall:.1f} s; {len(failures)} failed" + (f" (first: {failures[0]})" if failures else "") + ".")
        notes.append("p50/p95/p99 per command (ms): " + "; ".join(
            f"{k} {v['p50']:.0f}/{v['p95']:.0f}/{v['p99']:.0f}" for k, v in
            ((k, latency(v)) for k, v in per_command.items())))
        notes.append("CPU seconds by process during the load: " + ", ".join(f"{k} {v}" for k, v in cpu.items()))
        notes.append(f"Services ready and warm {boot_seconds:.1f} s after start (JALIN_WEB_WORKERS="
                     f"{__import__('os').environ.get('JALIN_WEB_WORKERS', '2')}); setup (partners, replica wait) untimed.")
        dead = supervisor.dead()
        if dead:
            notes.append(f"service process(es) exited during the run: {dead}")
    finally:
        supervisor.stop(timeout=15)
        client.close()
    return {"name": NAME, "title": TITLE, "rows": rows, "notes": notes,
            "params": {"threads": threads, "chains_per_thread": chains, "commands_per_chain": 13,
                       "poll_interval_ms": POLL_S * 1000}}
