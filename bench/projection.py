"""3. Projection: ``ConsumerRunner`` + the real ``PartnersProjection`` draining a pre-filled topic.

The topic holds N sealed, hash-chained partner events: ``partner.registered`` for N/2 partners,
then ``partner.verified`` for each of them (the shape of a replay/rebuild after a registration
burst). The runner is the production class with a thin subclass that only counts and times
``handle``; it consumes through ``make_consumer`` exactly as the evaluation projector does.
Raw limits: a plain ``KafkaConsumer`` reading the same topic (no processing, and with JSON decode
only), and plain pymongo ``bulk_write`` of one equivalent upsert per event.

FerretDB v1.24.2 (SQLite) keeps the result set of every matched statement of one ``update``
command open until the command ends, from a pool of 100 connections per database; a command
whose statements match 100 or more documents therefore waits for ever (see README). The
production batch (``max_poll_records=500`` → up to ~2 000 update statements per flush) hits this,
so the runner is measured with ``max_poll_records=40`` (at most 80 matched statements per
command), and — in a full run — once more with the production setting to record what happens.
"""
from __future__ import annotations

import json
import threading
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from pymongo import UpdateOne

from shared.consumer import DEAD_LETTERS, PARKED, POSITIONS, ConsumerRunner
from shared.kafka import encode, ensure_topics, make_consumer
from shared.metrics import Metrics

from services.evaluation.projections.partners import COLLECTION, PartnersProjection

from bench.core import BenchError, CommandTimer, Context, ferretdb_stuck_queries, latency, row, timed_calls
from bench.fixtures import partner_events

NAME = "projection"
TITLE = "3. Projection throughput (ConsumerRunner + PartnersProjection, Kafka → FerretDB)"
SAFE_POLL = 40          # max_poll_records that keeps every flush under FerretDB's 100 open result sets
STALL_SECONDS = 60.0    # no finished batch for this long while events remain = stalled
DEADLOCK_SECONDS = 5.0  # …or this long once FerretDB shows a full pool of stuck result sets
GUARD_SOCKET_MS = 10000  # the benchmark's client times out a hung call so the run can stop


class CountingRunner(ConsumerRunner):
    """The production runner; ``handle`` is only counted and timed."""

    def __init__(self, *args, expected: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.handled = 0
        self.batches = 0
        self.batch_seconds: list[float] = []
        self.batch_sizes: list[int] = []
        self.first_at: float | None = None
        self.progress_at = time.perf_counter()
        self.in_batch_since: float | None = None
        self.in_batch_size = 0
        self.done_at: float | None = None
        self.done = threading.Event()

    def handle(self, envelopes):
        envelopes = list(envelopes)
        start = time.perf_counter()
        self.in_batch_since = start
        self.in_batch_size = len(envelopes)
        if self.first_at is None:
            self.first_at = start
        super().handle(envelopes)
        end = time.perf_counter()
        self.in_batch_since = None
        self.batch_seconds.append(end - start)
        self.batch_sizes.append(len(envelopes))
        self.batches += 1
        self.handled += len(envelopes)
        self.progress_at = end
        if self.handled >= self.expected and self.done_at is None:
            self.done_at = end
            self.done.set()


def run_projector(ctx: Context, settings, topic: str, label: str, expected: int, poll_records: int | None) -> dict:
    """Run the runner on ``topic`` until ``expected`` events are handled or it stalls."""
    timer = CommandTimer()
    client = ctx.mongo(settings, socketTimeoutMS=GUARD_SOCKET_MS, event_listeners=[timer.listener])
    db = client[settings.database("evaluation")]
    runner = CountingRunner(f"bench-projector-{label}", db, [PartnersProjection()], metrics=Metrics(),
                            expected=expected)
    overrides = {"max_poll_records": poll_records} if poll_records else {}
    consumer = make_consumer(settings, f"{settings.prefix}.evaluation-projector-{label}", [topic], **overrides)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(consumer, stop), daemon=True, name=f"runner-{label}")
    stuck_before = ferretdb_stuck_queries(ctx.profile)
    start = time.perf_counter()
    runner.progress_at = start
    thread.start()
    stalled, reason = False, ""
    while not runner.done.wait(1.0):
        now = time.perf_counter()
        if not thread.is_alive():
            raise BenchError(f"runner thread {label} died")
        quiet = now - runner.progress_at
        if quiet > STALL_SECONDS:
            stalled, reason = True, f"no batch finished for {quiet:.0f} s"
            break
        if quiet > DEADLOCK_SECONDS and stuck_before is not None:
            stuck = ferretdb_stuck_queries(ctx.profile) or 0
            if stuck - stuck_before >= 99:  # the database's pool of 100 connections is exhausted
                stalled = True
                reason = (f"no batch finished for {quiet:.0f} s and FerretDB holds {stuck - stuck_before} more "
                          "open result sets than before (a full pool)")
                break
    stall_at = time.perf_counter()
    stop.set()
    thread.join(GUARD_SOCKET_MS / 1000 + 10)
    stuck_after = ferretdb_stuck_queries(ctx.profile)
    try:
        consumer.close()
    except Exception:
        pass
    out = {"runner": runner, "start": start, "mongo_commands": timer.summary(), "reason": reason, "stalled": stalled, "stall_detected_at": stall_at,
           "stuck_before": stuck_before, "stuck_after": stuck_after, "thread_alive": thread.is_alive()}
    if not stalled:
        read = db[COLLECTION]
        out["check"] = {"partners": read.count_documents({}), "verified": read.count_documents({"status": "VERIFIED"}),
                        "positions": db[POSITIONS].count_documents({}), "parked": db[PARKED].count_documents({}),
                        "dead_letters": db[DEAD_LETTERS].count_documents({})}
    client.close()
    return out


def measure(ctx: Context, n_partners: int, label: str):
    """Raw limits and the runner (FerretDB-safe poll size) on a topic of 2 × ``n_partners`` events."""
    n = n_partners * 2
    settings = ctx.settings(label)
    topic = settings.topic("partners")
    ensure_topics(settings, [topic])
    rows, notes = [], []

    # pre-fill the topic: registrations, then verifications (keyed by stream: order per partner kept)
    pairs = partner_events(n_partners)
    events = [reg for reg, _ in pairs] + [ver for _, ver in pairs]
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap.split(","), acks="all",
                             enable_idempotence=True, linger_ms=5)
    for e in events:
        producer.send(topic, key=e["stream_id"].encode(), value=encode(e))
    producer.flush(timeout=120)
    producer.close()

    # raw: a plain consumer (assigned partitions, no group), no processing / JSON decode only
    def raw_consume(decode: bool) -> tuple[float, float]:
        consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), group_id=None,
                                 enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500)
        consumer.topics()
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        count, first = 0, None
        start = time.perf_counter()
        deadline = time.monotonic() + 120
        while count < n:
            records = consumer.poll(timeout_ms=500)
            for messages in records.values():
                if first is None:
                    first = time.perf_counter()
                if decode:
                    for m in messages:
                        json.loads(m.value)
                count += len(messages)
            if time.monotonic() > deadline:
                raise BenchError(f"raw consumer read only {count}/{n} messages")
        end = time.perf_counter()
        consumer.close()
        return end - start, first - start

    total, first = raw_consume(False)
    rows.append(row(f"KafkaConsumer poll, no processing, {n} events", "raw", n, total, "events/s",
                    note="assigned partitions (no group join), max_poll_records 500; includes the first fetch",
                    first_records_after_s=round(first, 4)))
    total, first = raw_consume(True)
    rows.append(row(f"KafkaConsumer poll + json.loads, {n} events", "raw", n, total, "events/s",
                    first_records_after_s=round(first, 4)))

    # raw: one equivalent upsert per event, bulk_write in chunks of SAFE_POLL
    client = ctx.mongo(settings, socketTimeoutMS=GUARD_SOCKET_MS)
    raw_db = client[settings.database("rawread")]
    projection = PartnersProjection()
    projection.setup(raw_db)  # the same indexes as the read model
    ops = []
    for e in events:
        fields = getattr(projection, "on_" + e["event_type"].split(".", 1)[1])(e["data"], e)
        ops.append(UpdateOne({"_id": e["stream_id"]},
                             {"$set": {**fields, "version": e["version"], "updated_at": e["occurred_at"]}}, upsert=True))
    chunks = [ops[i:i + SAFE_POLL] for i in range(0, n, SAFE_POLL)]
    secs, lat = timed_calls(lambda i: raw_db["partners"].bulk_write(chunks[i], ordered=True), len(chunks))
    rows.append(row(f"pymongo bulk_write, 1 upsert/event, {SAFE_POLL} per call, {n} events", "raw", n, secs, "events/s",
                    lat=latency(lat), note=f"latency per call of {SAFE_POLL} upserts"))
    client.close()

    # jalin: the runner, with a FerretDB-safe poll size
    result = run_projector(ctx, settings, topic, "safe", n, SAFE_POLL)
    runner = result["runner"]
    if result["stalled"]:
        raise BenchError(f"runner stalled even with max_poll_records={SAFE_POLL} after {runner.handled}/{n} events")
    check = result["check"]
    if check["verified"] != n_partners or check["positions"] != n_partners or check["parked"] or check["dead_letters"]:
        raise BenchError(f"read model incomplete after the run: {check}")
    total = runner.done_at - result["start"]
    steady = runner.done_at - runner.first_at
    share = sum(runner.batch_seconds) / steady
    rows.append(row(f"ConsumerRunner + PartnersProjection, max_poll_records={SAFE_POLL}, {n} events", "jalin", n,
                    total, "events/s", lat=latency(runner.batch_seconds),
                    baseline=f"pymongo bulk_write, 1 upsert/event, {SAFE_POLL} per call, {n} events",
                    note="latency per handled batch (apply + bulk flush); total includes group join",
                    from_first_batch_per_s=round(n / steady, 1), handle_share=round(share, 3),
                    batches=runner.batches, mean_batch=round(n / runner.batches, 1), read_model=check,
                    mongo_seconds_by_command=result["mongo_commands"]))
    return rows, settings, topic, n


def run(ctx: Context) -> dict:
    sizes = ctx.size((60, 300), (60,))
    rows, notes = [], []
    for i, n_partners in enumerate(sizes):
        r, settings, topic, n = measure(ctx, n_partners, f"pj{i}")
        rows += r
    notes.append("Each topic holds N events (N/2 partners: registered, then verified; 3 partitions). Jalin rows "
                 "are timed from starting the runner (incl. consumer-group join and index setup) to the end of the "
                 "batch that completes the N events; `from_first_batch_per_s` excludes the join; `handle_share` is "
                 "the fraction of that time inside ConsumerRunner.handle (apply + MongoDB flush); "
                 "`mongo_seconds_by_command` is server time per command and collection (pymongo command monitoring).")
    notes.append(f"`vs raw` compares the runner with the raw bulk_write row (same {SAFE_POLL}-event chunks, one "
                 "upsert per event, where the runner issues a versioned pair of updates per event, a pair per "
                 "stream for positions, and position/parking/dead-letter lookups per batch); the raw Kafka rows "
                 "show the consumer is not the limit.")

    # jalin: the production poll size (full runs only: a stall costs ~30 s)
    if ctx.quick:
        notes.append("Production setting (max_poll_records=500) not run in --quick mode (it stalls; see a full run).")
    else:
        prod = ctx.settings("pp")
        result = run_projector(ctx, prod, topic, "prod", n, None)
        runner = result["runner"]
        if result["stalled"]:
            ctx.poison(prod.database("evaluation"))
            since = runner.in_batch_since
            rows.append(row(f"ConsumerRunner + PartnersProjection, max_poll_records=500 (production), {n} events", "jalin",
                            runner.handled, None, "events/s", rate=None, baseline=f"KafkaConsumer poll, no processing, {n} events",
                            status="STALLED",
                            note=f"{runner.handled}/{n} events handled; a flush hung: {result['reason']}",
                            hung_batch_started_s_after_start=round(since - result["start"], 2) if since else None,
                            hung_batch_events=runner.in_batch_size,
                            ferretdb_goroutines_waiting_on_open_rows={"before": result["stuck_before"],
                                                                      "after": result["stuck_after"]},
                            runner_thread_still_alive=result["thread_alive"],
                            mongo_seconds_by_command=result["mongo_commands"]))
            notes.append("With the production max_poll_records=500 the first flush of "
                         f"{runner.in_batch_size}-event batch never returned: FerretDB "
                         f"goroutines waiting on open SQLite result sets went from {result['stuck_before']} to "
                         f"{result['stuck_after']} (pool limit 100 per database); the read-model database of that "
                         "run stays unwritable until FerretDB restarts. The benchmark's own client gives up after "
                         f"{GUARD_SOCKET_MS // 1000} s (the production client has no socket timeout and would wait "
                         "for ever).")
        else:
            total = runner.done_at - result["start"]
            rows.append(row(f"ConsumerRunner + PartnersProjection, max_poll_records=500 (production), {n} events", "jalin", n,
                            total, "events/s", lat=latency(runner.batch_seconds),
                            baseline=f"KafkaConsumer poll, no processing, {n} events",
                            from_first_batch_per_s=round(n / (runner.done_at - runner.first_at), 1),
                            batches=runner.batches, read_model=result.get("check")))
    return {"name": NAME, "title": TITLE, "rows": rows, "notes": notes,
            "params": {"events": [2 * p for p in sizes], "safe_max_poll_records": SAFE_POLL}}
