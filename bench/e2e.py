"""4. End to end: HTTP 201 on the partners API → visible in the evaluation read model.

All services run as ``make run`` starts them: the stack's ``Supervisor`` (partners and evaluation
APIs under gunicorn, the partners outbox relay, the evaluation projector) in a fresh namespace.
Lag is measured by polling the read-model collection with pymongo every ~5 ms (``find_one`` by
``_id``) right after the 201 arrives, so it spans relay poll + Kafka + projector + MongoDB write,
with a resolution of about one poll period. Raw limits, measured in the same run:
- ``GET /healthz`` on the same gunicorn (HTTP floor: no auth, no validation, no database), sequential
  and at the same concurrency;
- a raw pipeline with the same hops and the same observation method: ``KafkaProducer.send``
  (acks=all) → ``KafkaConsumer`` thread → ``insert_one`` → the same 5 ms ``find_one`` poll.
"""
from __future__ import annotations

import threading
import time
from collections import Counter

import requests
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pymongo.errors import PyMongoError

from cli.client import JalinClient
from shared.config import Settings
from shared.kafka import encode, ensure_topics

from bench.core import BenchError, Context, CpuMeter, ferretdb_stuck_queries, infra_sessions, latency, row
from bench.fixtures import partner_events

NAME = "e2e"
TITLE = "4. End to end: POST /api/v1/partners (201) → visible in the evaluation read model"
POLL_S = 0.005
VISIBLE_TIMEOUT = 30.0
CATCH_UP_TIMEOUT = 60.0
GUARD_SOCKET_MS = 5000  # the benchmark's reads give up on a hung database instead of waiting for ever


class Registrations:
    """Builds unique, valid registration bodies (a yayasan with an NPWP, one contact)."""

    def __init__(self, tag: str):
        self.tag = tag
        self.count = 0
        self.lock = threading.Lock()

    def next(self) -> dict:
        with self.lock:
            self.count += 1
            i = self.count
        return {
            "name": f"Yayasan Bench {self.tag} {i:06d}",
            "kind": "pihak_ketiga",
            "subtype": "yayasan",
            "identifiers": {"npwp": f"{9_000_000_000_000_000 + i:016d}"},
            "address": {"street": "Jl. Lintas Timur No. 12", "city": "Sengeti", "province": "Jambi",
                        "postal_code": "36381"},
            "website": "https://yayasan-bench.or.id",
            "description": "Yayasan pendidikan; calon mitra program beasiswa daerah.",
            "contacts": [{"name": "Budi Santoso", "position": "Ketua Yayasan", "phone": "+62 811 7400 123",
                          "email": "budi@yayasan-bench.or.id"}],
        }


def read_model_db(client, settings: Settings):
    """The live read-model database: the evaluation service's pointer (blue/green) if it has one."""
    try:
        from services.evaluation.read_model_pointer import ReadModelPointer
    except ImportError:  # before the read side had a pointer
        return client[settings.database("evaluation")]
    return client[ReadModelPointer(client, settings).pointer(fresh=True)["database"]]


def wait_visible(col, pid: str, timeout: float = VISIBLE_TIMEOUT) -> tuple[float | None, int]:
    """Poll the read model for ``pid`` every POLL_S; return (time it appeared, polls) or (None, polls)."""
    deadline = time.perf_counter() + timeout
    polls = 0
    while True:
        polls += 1
        try:
            if col.find_one({"_id": pid}, {"_id": 1}) is not None:
                return time.perf_counter(), polls
        except PyMongoError:  # the guard timed out: the database does not answer
            return None, polls
        if time.perf_counter() > deadline:
            return None, polls
        time.sleep(POLL_S)


def burst(count: int, threads: int, call) -> tuple[float, list[float], Counter, list]:
    """``count`` calls of ``call(session)`` spread over ``threads`` threads; (wall s, latencies, statuses, values)."""
    lat, statuses, values = [], Counter(), []
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1)
    shares = [count // threads + (1 if t < count % threads else 0) for t in range(threads)]

    def worker(share):
        session = requests.Session()
        barrier.wait()
        for _ in range(share):
            start = time.perf_counter()
            try:
                status, value = call(session)
            except requests.RequestException as exc:
                status, value = type(exc).__name__, None
            elapsed = time.perf_counter() - start
            with lock:
                statuses[status] += 1
                if value is not None:
                    lat.append(elapsed)
                    values.append(value)
        session.close()

    pool = [threading.Thread(target=worker, args=(s,), daemon=True) for s in shares]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in pool:
        t.join(300)
    return time.perf_counter() - start, lat, statuses, values


def raw_pipeline_lags(ctx: Context, settings: Settings, client, count: int) -> list[float]:
    """send (acks=all) → consumer thread → insert_one → found by the 5 ms poll, ``count`` times in sequence."""
    topic = f"{settings.prefix}.raw-pipeline"
    ensure_topics(settings, [topic])
    col = client[settings.database("rawpipe")]["seen"]
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    consumer.topics()
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
    consumer.assign(parts)
    consumer.seek_to_end(*parts)
    for tp in parts:
        consumer.position(tp)
    stop = threading.Event()

    def consume():
        while not stop.is_set():
            for messages in consumer.poll(timeout_ms=500).values():
                for m in messages:
                    col.insert_one({"_id": m.key.decode()})

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap.split(","), acks="all",
                             enable_idempotence=True, linger_ms=5)
    envelopes = [reg for reg, _ in partner_events(count + 5, tag="raw")]
    lags = []
    for i, envelope in enumerate(envelopes):
        key = envelope["stream_id"]
        start = time.perf_counter()
        producer.send(topic, key=key.encode(), value=encode(envelope))
        producer.flush()
        seen, _ = wait_visible(col, key)
        if seen is None:
            raise BenchError("raw pipeline: a message did not arrive in time")
        if i >= 5:  # the first few warm the path
            lags.append(seen - start)
    stop.set()
    thread.join(5)
    producer.close()
    consumer.close()
    return lags


def run(ctx: Context) -> dict:
    n_seq = ctx.size(200, 30)
    levels = ctx.size((1, 4, 8), (4,))
    n_burst = ctx.size(80, 40)
    n_reads = ctx.size(50, 20)
    settings = ctx.settings("ee")
    prefix = settings.prefix
    ports = ctx.profile.api_ports
    partners_url = f"http://127.0.0.1:{ports['partners']}"
    evaluation_url = f"http://127.0.0.1:{ports['evaluation']}"
    # Timed requests are sent once each (``send``: no retry, which would hide a failure and
    # inflate the latency), on one kept-alive session per thread as a real client's.
    api = JalinClient({"partners": partners_url, "evaluation": evaluation_url}, Settings.from_env({"prefix": prefix}))
    bodies = Registrations(ctx.run_id)
    client = ctx.mongo(settings, socketTimeoutMS=GUARD_SOCKET_MS)
    rows, notes = [], []
    stuck_at_start = ferretdb_stuck_queries(ctx.profile) or 0

    def read_side_hung() -> bool:
        """FerretDB shows a whole pool (100) more of stuck result sets than at the start."""
        return (ferretdb_stuck_queries(ctx.profile) or 0) - stuck_at_start >= 99

    def guarded(query):
        try:
            return query()
        except PyMongoError:
            return None

    supervisor = ctx.stack.Supervisor(ctx.profile, prefix=prefix)
    t_boot = time.perf_counter()
    supervisor.start()
    try:
        supervisor.wait_ready(90)
        read_db = read_model_db(client, settings)
        read = read_db["partners"]
        sessions = {name: proc.pid for name, proc in supervisor.procs.items()}  # each is a session leader
        sessions.update(infra_sessions(ctx.profile))
        http = requests.Session()

        def register(_session=None) -> tuple[int, str | None]:  # the client keeps a session per thread
            r = api.send("POST", "partners", "/api/v1/partners", json=bodies.next())
            return r.status_code, (r.json()["id"] if r.status_code == 201 else None)

        def healthz(base):
            def call(session):
                r = session.get(base + "/healthz", timeout=30)
                return r.status_code, (r.status_code if r.status_code == 200 else None)
            return call

        def alive():
            dead = supervisor.dead()
            if dead:
                raise BenchError(f"service process(es) exited: {dead}; see {ctx.profile.dir}/<name>.log")

        # warm-up: the first registrations also wait for topic creation and the projector's group join
        for i in range(5):
            status, pid = register()
            if status != 201:
                raise BenchError(f"warm-up registration answered {status}")
            if wait_visible(read, pid, timeout=90 if i == 0 else VISIBLE_TIMEOUT)[0] is None:
                raise BenchError("warm-up registration never reached the read model "
                                 f"(FerretDB stuck queries: {ferretdb_stuck_queries(ctx.profile)})")
        boot_seconds = time.perf_counter() - t_boot
        alive()

        # raw HTTP floor, sequential
        call = healthz(partners_url)
        lat = []
        for _ in range(n_seq):
            s = time.perf_counter()
            status, _ = call(http)
            lat.append(time.perf_counter() - s)
        rows.append(row("GET /healthz (partners API), sequential", "raw", n_seq, sum(lat), "req/s", lat=latency(lat)))

        # sequential registrations: HTTP latency and lag to the read model
        http_lat, lags, lags_from_send, polls = [], [], [], []
        missing = 0
        meter = CpuMeter(sessions).start()
        t0 = time.perf_counter()
        conn_errors = Counter()
        for _ in range(n_seq):
            s = time.perf_counter()
            try:
                status, pid = register()
            except requests.RequestException as exc:  # e.g. a keep-alive connection closed by gunicorn
                conn_errors[type(exc).__name__] += 1
                if sum(conn_errors.values()) > 5:
                    raise
                continue
            got = time.perf_counter()
            if status != 201:
                raise BenchError(f"registration answered {status}")
            seen, n_polls = wait_visible(read, pid)
            if seen is None:
                missing += 1
                if missing >= 3:
                    raise BenchError("3 registrations never reached the read model (projector stalled? FerretDB "
                                     f"stuck queries: {ferretdb_stuck_queries(ctx.profile)})")
                continue
            http_lat.append(got - s)
            lags.append(seen - got)
            lags_from_send.append(seen - s)
            polls.append(n_polls)
        seq_seconds = time.perf_counter() - t0
        cpu_seq = meter.stop()
        alive()
        rows.append(row("POST /api/v1/partners → 201, sequential", "jalin", len(http_lat), sum(http_lat), "cmd/s",
                        lat=latency(http_lat), baseline="GET /healthz (partners API), sequential",
                        note="rate = 1 / mean latency (one client)", connection_errors=dict(conn_errors)))
        lag_row = row("lag 201 → visible in read model (pymongo poll)", "jalin", len(lags), seq_seconds, "per s",
                      lat=latency(lags), baseline="raw pipeline lag: send → consume → insert → visible",
                      rate=None, lag_from_request_start_ms=latency(lags_from_send), not_visible_in_time=missing,
                      mean_polls=round(sum(polls) / max(1, len(polls)), 1), cpu_seconds=cpu_seq,
                      note=f"~{POLL_S * 1000:.0f} ms poll; includes the relay's idle poll (relay_idle_seconds="
                           f"{settings.relay_idle_seconds})")
        rows.append(lag_row)

        # the raw pipeline with the same observation method
        raw_lags = raw_pipeline_lags(ctx, settings, client, n_seq)
        rows.append(row("raw pipeline lag: send → consume → insert → visible", "raw", len(raw_lags), None, "per s",
                        lat=latency(raw_lags), rate=None,
                        note="KafkaProducer acks=all + flush → KafkaConsumer thread → insert_one → 5 ms find_one poll"))

        # the evaluation query API: a text search that finds exactly one partner
        names = [d["name"] for d in read.find({}, {"name": 1}).limit(n_reads)]
        lat, bad = [], 0
        for name in names:
            s = time.perf_counter()
            r = api.send("GET", "evaluation", "/api/v1/partners", params={"q": name})
            lat.append(time.perf_counter() - s)
            if r.status_code != 200 or r.json().get("total") != 1:
                bad += 1
        total_docs = read.count_documents({})
        rows.append(row(f"GET /api/v1/partners?q=<name> (evaluation API), read model of {total_docs}", "jalin",
                        len(lat), sum(lat), "req/s", lat=latency(lat), baseline="GET /healthz (evaluation API)",
                        wrong_answers=bad))
        lat = []
        ecall = healthz(evaluation_url)
        for _ in range(len(names)):
            s = time.perf_counter()
            ecall(http)
            lat.append(time.perf_counter() - s)
        rows.append(row("GET /healthz (evaluation API)", "raw", len(lat), sum(lat), "req/s", lat=latency(lat)))
        # concurrency: commands/s and latency with several client threads, then how long the read side
        # needs to catch up. A backlog can make the projector hang FerretDB (see README): then the
        # read-model database stops answering; that is detected and reported, and the remaining
        # levels measure the write side only.
        read_dead, hung_noted = False, False
        for c in levels:
            wall, lat, statuses, _ = burst(n_burst, c, healthz(partners_url))
            rows.append(row(f"GET /healthz (partners API), {c} client threads", "raw", len(lat), wall, "req/s",
                            lat=latency(lat), statuses=dict(statuses)))
            before = None if read_dead else guarded(lambda: read.count_documents({}))
            meter = CpuMeter(sessions).start()
            wall, lat, statuses, ids = burst(n_burst, c, register)
            done_at = time.perf_counter()
            caught_up, visible = None, None
            if before is not None:
                expected = before + len(ids)
                while time.perf_counter() - done_at < CATCH_UP_TIMEOUT:
                    visible = guarded(lambda: read.count_documents({}))
                    if visible is not None and visible >= expected:
                        caught_up = time.perf_counter() - done_at
                        break
                    if read_side_hung():
                        read_dead = True
                        break
                    time.sleep(0.02)
            else:
                read_dead = True
            cpu = meter.stop()
            alive()
            if caught_up is not None:
                outcome = f"read side caught up {caught_up:.2f} s after the last 201"
            elif read_dead:
                outcome = ("read side HUNG: the projector's flush exhausted FerretDB's connection pool of the "
                           "read-model database (no further catch-up possible)")
            else:
                outcome = f"read side NOT caught up within {CATCH_UP_TIMEOUT:.0f} s"
            rows.append(row(f"POST /api/v1/partners, {c} client threads", "jalin", len(lat), wall, "cmd/s",
                            lat=latency(lat), baseline=f"GET /healthz (partners API), {c} client threads",
                            statuses={str(k): v for k, v in statuses.items()},
                            read_model_caught_up_s_after_last_201=round(caught_up, 3) if caught_up is not None else None,
                            read_model_visible_after=visible, read_model_expected=(before + len(ids)) if before is not None else None,
                            cpu_seconds=cpu, note=outcome))
            if read_dead and not hung_noted:
                hung_noted = True
                ctx.poison(read_db.name)
                notes.append(f"During/after the burst with {c} client threads the evaluation projector hung: FerretDB "
                             f"goroutines waiting on open result sets rose from {stuck_at_start} to "
                             f"{ferretdb_stuck_queries(ctx.profile)} (its pool holds 100 per database), so "
                             f"{read_db.name} answers no query any more; later levels measure commands only.")

        if bad:
            notes.append(f"{bad} of {len(names)} evaluation queries did not return exactly the one partner searched.")
        http.close()
        notes.append(f"Read model polled: {read_db.name}.partners. "
                     f"Services: {', '.join(supervisor.procs)} (gunicorn gthread, JALIN_WEB_WORKERS="
                     f"{__import__('os').environ.get('JALIN_WEB_WORKERS', '2')} per API, 8 threads); ready and warm "
                     f"{boot_seconds:.1f} s after start. Lag is observed with pymongo polling every ~5 ms "
                     "(find_one by _id on the read-model collection), not through the evaluation API.")
        notes.append("CPU seconds by process during the sequential phase: "
                     + ", ".join(f"{k} {v}" for k, v in cpu_seq.items()))
    finally:
        supervisor.stop(timeout=15)  # a projector hung in FerretDB never stops by itself: SIGKILL after 15 s
        client.close()
    return {"name": NAME, "title": TITLE, "rows": rows, "notes": notes,
            "params": {"sequential": n_seq, "burst_per_level": n_burst, "levels": list(levels),
                       "poll_interval_ms": POLL_S * 1000, "relay_idle_seconds": settings.relay_idle_seconds}}
