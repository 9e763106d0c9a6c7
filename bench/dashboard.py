"""6. Dashboard API latency with the demo data ×100 (evaluation service under gunicorn).

Data: the Muaro Jambi demo scale (12 partners / 30 agreements / 25 evaluations) × 100 (×10 with
--quick), generated as sealed, hash-chained events (bench/demo_events.py) and published straight
to the partners/agreements/evaluation topics with ``KafkaPublisher`` (no HTTP, no event store).

Read model: built by the real projector code (``services.evaluation.workers.build_runner`` +
``ConsumerRunner.run``, the live pointer's database and consumer group, the production consumer
settings) run in this process until every state document is there and the statistics are
refreshed (a whole 500-record batch in one command used to hang FerretDB v1.24.2; the unit of work
now sends at most 40 statements per command). The services are then started under the stack's
``Supervisor``; their projector joins the same group at lag 0.

Measured: 50 client threads, a bounded number of requests per endpoint, against
``GET /api/v1/stats/overview``, ``GET /api/v1/agreements?per_page=20``, a filtered register query,
the same register page asked conditionally (``If-None-Match`` of its ``ETag``: ``304``), and the raw
ceiling ``GET /healthz`` of the same app at the same concurrency. Then cold register pages: one
client, every request a page no process has answered yet (another page or sort), so each is a
query (the API caches answers per process, keyed by the read model's checkpoint).
"""
from __future__ import annotations

import threading
import time

from cli.client import JalinClient
from shared.config import Settings
from shared.kafka import make_consumer

from bench import requested, skipped
from bench.core import BenchError, Context, CpuMeter, infra_sessions, latency, row
from bench.demo_events import counts, generate, publish
from bench.e2e import burst

NAME = "dashboard"
TITLE = "6. Dashboard API latency, demo data ×100, 50 client threads (evaluation API)"
THREADS = 50


def build_read_model(settings, client, expected: dict, timeout: float) -> dict:
    """Run the projector code in-process over the live generation until the read model is complete."""
    from services.evaluation.bootstrap import build
    from services.evaluation.read_model_pointer import ReadModelPointer

    readside = ReadModelPointer(client, settings)
    pointer = readside.pointer(fresh=True)
    db = client[pointer["database"]]
    container = build(settings)
    runner = container.projector_runner(db)
    # The production refresh policy: derived statistics are recomputed at most every 5 s and
    # for at most a quarter of the time while the backlog is applied, and once it is drained.
    consumer = make_consumer(settings, pointer["group_id"], container.source_topics)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(consumer, stop), daemon=True, name="bench-projector")
    start = time.perf_counter()
    thread.start()
    done = None
    try:
        # Watched through the statistics document (one read by _id): counting the collections
        # would scan them on FerretDB and compete with the projector being measured.
        while time.perf_counter() - start < timeout:
            stats = db["statistics"].find_one({"_id": "overview"}) or {}
            if all((stats.get(c) or {}).get("total", 0) >= n for c, n in expected.items()):
                done = time.perf_counter() - start
                break
            if not thread.is_alive():
                raise BenchError("the in-process projector stopped")
            time.sleep(0.5)
    finally:
        stop.set()
        thread.join(60)
        consumer.close()
    if done is None:
        raise BenchError(f"read model not complete after {timeout:.0f} s: "
                         f"{ {c: db[c].count_documents({}) for c in expected} } of {expected}")
    return {"seconds": done, "database": db.name}


def _cold_pages(api, queries: list[dict]):
    """A call per query, in order (one client): each a page of the register not asked before."""
    pending = list(queries)
    lock = threading.Lock()

    def call(_session):
        with lock:
            params = pending.pop(0)
        r = api.send("GET", "evaluation", "/api/v1/agreements", params=params)
        return r.status_code, (1 if r.status_code == 200 and r.json().get("items") else None)
    return call


def run(ctx: Context) -> dict:
    if not requested(NAME):
        return skipped(NAME, TITLE)
    units = ctx.size(100, 10)
    per_endpoint = ctx.size(2000, 500)
    # The register queries scan and decode every agreement on FerretDB v1 (no filter or sort is
    # pushed down; about 0.3 ms per document at this size), so they get fewer requests: at 50
    # threads the same count would take an hour and say nothing more.
    per_register = ctx.size(150, 100)
    settings = ctx.settings("db")
    prefix = settings.prefix
    url = f"http://127.0.0.1:{ctx.profile.api_ports['evaluation']}"
    # Each timed request is sent once (``send``: no retry), on the client's session per thread.
    api = JalinClient({"evaluation": url}, Settings.from_env({"prefix": prefix}), timeout=180)
    client = ctx.mongo(settings, socketTimeoutMS=30000)
    rows, notes = [], []

    t = time.perf_counter()
    events = generate(units)
    gen_s = time.perf_counter() - t
    per_type = counts(events)
    streams: dict = {}
    for _svc, key, env in events:
        streams.setdefault(env["stream_type"], set()).add(key)
    expected = {"partners": len(streams["partner"]), "agreements": len(streams["agreement"]),
                "evaluations": len(streams["evaluation"])}
    pub_s = publish(settings, events)
    rows.append(row(f"publish {len(events)} sealed events (KafkaPublisher)", "jalin", len(events), pub_s, "events/s",
                    note=f"generation + sealing took {gen_s:.1f} s (not included)", events_by_stream_type=per_type))
    built = build_read_model(settings, client, expected, timeout=ctx.size(1800, 600))
    rows.append(row("read model built by the projector code (production consumer settings)", "jalin", len(events),
                    built["seconds"], "events/s", note="in-process ConsumerRunner, all evaluation projections, production refresh policy"))
    db = client[built["database"]]
    from services.evaluation.projections.statistics import StatisticsProjection
    t = time.perf_counter()
    StatisticsProjection().refresh(db)
    refresh_s = time.perf_counter() - t
    notes.append(f"Data: ×{units} demo = {expected['partners']} partners, {expected['agreements']} agreements, "
                 f"{expected['evaluations']} evaluations; {len(events)} events; one statistics refresh "
                 f"(StatisticsProjection.refresh, run after batches at most every 5 s and ≤ 1/4 of the time) takes {refresh_s:.2f} s "
                 f"at this size.")

    supervisor = ctx.stack.Supervisor(ctx.profile, prefix=prefix)
    supervisor.start()
    try:
        supervisor.wait_ready(90)
        sessions = {name: proc.pid for name, proc in supervisor.procs.items()}
        sessions.update(infra_sessions(ctx.profile))

        def getter(path, params=None, check=None, headers=None, expect=200):
            def call(_session):
                r = api.send("GET", "evaluation", path, params=params, headers=headers)
                ok = r.status_code == expect and (check is None or check(r.json()))
                return r.status_code, (1 if ok else None)
            return call

        # warm each endpoint (and check the answers)
        ov = api.get("evaluation", "/api/v1/stats/overview").json()
        if ov.get("agreements", {}).get("total") != expected["agreements"]:
            raise BenchError(f"overview shows {ov.get('agreements', {}).get('total')} agreements, "
                             f"expected {expected['agreements']}")
        first = api.get("evaluation", "/api/v1/agreements", per_page=20)
        page, etag = first.json(), first.headers.get("ETag")
        filtered = {"status": "ACTIVE", "category": "KSDD", "opd": "DISKOMINFO", "per_page": 20}
        fpage = api.get("evaluation", "/api/v1/agreements", **filtered).json()
        notes.append(f"Answers: register total {page.get('total')}, filtered total {fpage.get('total')} "
                     f"(status=ACTIVE&category=KSDD&opd=DISKOMINFO), overview agreements total "
                     f"{ov['agreements']['total']}, evaluations total {ov['evaluations']['total']}.")

        cases = [("GET /healthz (evaluation API)", "/healthz", None, None, per_endpoint),
                 ("GET /api/v1/stats/overview", "/api/v1/stats/overview", None, None, per_endpoint),
                 ("GET /api/v1/agreements?per_page=20", "/api/v1/agreements", {"per_page": 20},
                  lambda j: len(j.get("items", [])) == 20, per_register),
                 ("GET /api/v1/agreements?status=ACTIVE&category=KSDD&opd=DISKOMINFO&per_page=20",
                  "/api/v1/agreements", filtered, None, per_register)]
        if etag:  # the API answers conditional requests (ETag / 304)
            cases.append(("GET /api/v1/agreements?per_page=20 with If-None-Match (304)", "/api/v1/agreements",
                          {"per_page": 20}, None, per_endpoint))
        raw_name = f"GET /healthz (evaluation API), {THREADS} client threads"
        for label, path, params, check, count in cases:
            meter = CpuMeter(sessions).start()
            conditional = "If-None-Match" in label
            if conditional:  # the current tag (the projector's start, after ours, moves the position once)
                etag = api.get("evaluation", path, **params).headers.get("ETag")
            call = getter(path, params, None if conditional else check,
                          headers={"If-None-Match": etag} if conditional else None, expect=304 if conditional else 200)
            wall, lat, statuses, _ = burst(count, THREADS, call)
            cpu = meter.stop()
            if label.startswith("GET /healthz"):
                rows.append(row(raw_name, "raw", len(lat), wall, "req/s", lat=latency(lat),
                                statuses={str(k): v for k, v in statuses.items()}, cpu_seconds=cpu))
            else:
                rows.append(row(f"{label}, {THREADS} client threads", "jalin", len(lat), wall, "req/s",
                                lat=latency(lat), baseline=raw_name, statuses={str(k): v for k, v in statuses.items()},
                                bad_answers=count - len(lat), cpu_seconds=cpu))
        # Cold pages: one client, each request one no process answered before (other pages and sorts).
        sorts = ("-start_date", "start_date", "title", "-title", "end_date", "-end_date", "progress", "updated_at")
        pages = max(1, min(5, expected["agreements"] // 20))
        cold = [{"per_page": 20, "page": p, "sort": s} for s in sorts for p in range(1, pages + 1)][:ctx.size(30, 20)]
        meter = CpuMeter(sessions).start()
        wall, lat, statuses, _ = burst(len(cold), 1, _cold_pages(api, cold))
        rows.append(row("GET /api/v1/agreements, cold pages (distinct page/sort, not cached), 1 client", "jalin",
                        len(lat), wall, "req/s", lat=latency(lat), statuses={str(k): v for k, v in statuses.items()},
                        cpu_seconds=meter.stop()))
        notes.append(f"{per_endpoint} requests to /healthz and the overview, {per_register} to each register query, "
                     f"from {THREADS} threads (requests.Session each, keep-alive); "
                     f"gunicorn gthread, JALIN_WEB_WORKERS={__import__('os').environ.get('JALIN_WEB_WORKERS', '2')}, "
                     "8 threads per worker.")
        dead = supervisor.dead()
        if dead:
            notes.append(f"service process(es) exited during the run: {dead}")
    finally:
        supervisor.stop(timeout=15)
        client.close()
    return {"name": NAME, "title": TITLE, "rows": rows, "notes": notes,
            "params": {"units": units, "requests_per_endpoint": per_endpoint, "requests_per_register_query": per_register,
                       "threads": THREADS,
                       "expected": expected, "events": len(events)}}
