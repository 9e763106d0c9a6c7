"""2. Relay: ``OutboxRelay.run_once`` in a loop with ``KafkaPublisher``, from a pre-filled outbox.

The outbox holds N events as N commits of one event (N/2 partners: registered, then verified),
written in the exact document format of ``MongoEventStore.append``. The relay is timed from the
first ``run_once`` until the outbox is empty; the time inside each port (lease, fetch of
unpublished commits, publish, mark published) is measured by thin subclasses that only add timers.
Raw limit: a plain kafka-python ``KafkaProducer`` (acks=all, idempotent, the same linger) sending
the same number of messages with the same keys and bytes, then flushing (once, and every 500
messages like the relay's batches).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from shared.config import Settings
from shared.kafka import KafkaPublisher, encode, ensure_topics
from shared.metrics import Metrics
from shared.mongo_eventstore import MongoEventStore
from shared.relay import MongoLease, OutboxRelay

from bench.core import BenchError, Context, latency, row
from bench.fixtures import commit_doc, partner_events

NAME = "relay"
TITLE = "2. Relay throughput (OutboxRelay.run_once + KafkaPublisher, outbox in FerretDB → Kafka)"


class Stopwatch:
    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, list[float]] = {}

    def add(self, name: str, seconds: float):
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.calls.setdefault(name, []).append(seconds)


def timed_subclass(base, watch: Stopwatch, methods: dict[str, str]):
    """A subclass of ``base`` whose ``methods`` (name → label) add their duration to ``watch``."""

    def wrap(name, label):
        original = getattr(base, name)

        def method(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                watch.add(label, time.perf_counter() - start)
        return method

    return type(f"Timed{base.__name__}", (base,), {n: wrap(n, label) for n, label in methods.items()})


def topic_size(bootstrap: str, topic: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(parts).values())
    finally:
        consumer.close()


def measure(ctx: Context, n_partners: int, label: str) -> tuple[list, list]:
    n = n_partners * 2
    settings = ctx.settings(label)
    client = ctx.mongo(settings)
    db = client[settings.database("partners")]
    topic = settings.topic("partners")
    raw_topic_once, raw_topic_batched = f"{settings.prefix}.raw-once", f"{settings.prefix}.raw-batched"
    ensure_topics(settings, [topic, raw_topic_once, raw_topic_batched])
    watch = Stopwatch()
    Store = timed_subclass(MongoEventStore, watch, {"unpublished": "fetch unpublished", "mark_published": "mark published"})
    Publisher = timed_subclass(KafkaPublisher, watch, {"publish": "publish (send+flush+acks)"})
    Lease = timed_subclass(MongoLease, watch, {"acquire": "lease"})
    store = Store(db)
    store.ensure_indexes()
    publisher = Publisher(settings)
    relay = OutboxRelay(store, publisher, topic, Lease(db, "relay:partners"), Metrics(), batch_size=settings.relay_batch)
    rows, notes = [], []

    # warm-up: one commit through the whole path (producer connection, topic metadata, lease document)
    warm = partner_events(1, tag="warm")[0]
    db["commits"].insert_one(commit_doc([warm[0]], datetime.now(timezone.utc)))
    if relay.run_once() != 1:
        raise BenchError("relay warm-up did not publish its commit")
    watch.seconds.clear()
    watch.calls.clear()

    # pre-fill: N/2 registrations then N/2 verifications, one commit each, in commit-time order
    pairs = partner_events(n_partners)
    t0 = datetime.now(timezone.utc)
    docs = [commit_doc([reg], t0 + timedelta(microseconds=i)) for i, (reg, _ver) in enumerate(pairs)]
    docs += [commit_doc([ver], t0 + timedelta(microseconds=n_partners + i)) for i, (_reg, ver) in enumerate(pairs)]
    for i in range(0, len(docs), 500):
        db["commits"].insert_many(docs[i:i + 500], ordered=True)
    stored = db["commits"].count_documents({})

    # timed: run_once until the outbox is empty
    sent_total, batches, batch_lat, by_step = 0, 0, [], {}
    deadline = time.monotonic() + 300
    start = end = time.perf_counter()
    while True:
        b0 = time.perf_counter()
        sent = relay.run_once()
        if sent == 0:
            break
        end = time.perf_counter()
        by_step = dict(watch.seconds)  # as of the last batch that published something
        batch_lat.append(end - b0)
        sent_total += sent
        batches += 1
        if time.monotonic() > deadline:
            raise BenchError(f"relay did not drain {n} events in 300 s (sent {sent_total})")
    seconds = end - start  # up to the end of the last batch that published something
    if sent_total != n:
        raise BenchError(f"relay sent {sent_total} events, expected {n}")
    in_topic = topic_size(settings.kafka_bootstrap, topic)
    if in_topic != n + 1:
        raise BenchError(f"topic holds {in_topic} messages, expected {n + 1}")
    breakdown = {k: round(v, 3) for k, v in by_step.items()}
    rows.append(row(f"OutboxRelay.run_once loop → KafkaPublisher, {n} events", "jalin", n, seconds, "events/s",
                    lat=latency(batch_lat), baseline=f"KafkaProducer send all + flush, {n} msgs",
                    note=f"latency is per batch of up to {settings.relay_batch} events",
                    batches=batches, seconds_by_step=breakdown))

    # the idle relay: what one poll costs once everything is published (the relay polls every
    # relay_idle_seconds, 0.2 s by default, for ever)
    idle = []
    for _ in range(5):
        s = time.perf_counter()
        relay.run_once()
        idle.append(time.perf_counter() - s)
    rows.append(row(f"idle run_once (nothing to publish), outbox of {stored} commits", "jalin", len(idle), sum(idle),
                    "polls/s", lat=latency(idle), note="cost of each idle poll, repeated every relay_idle_seconds"))
    publisher.close()

    # raw: the same messages with a plain producer
    messages = [(reg["stream_id"].encode(), encode(reg)) for reg, _ in pairs]
    messages += [(ver["stream_id"].encode(), encode(ver)) for _, ver in pairs]
    sizes = [len(v) for _, v in messages]

    def producer():
        p = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap.split(","), acks="all", enable_idempotence=True,
                          max_in_flight_requests_per_connection=5, linger_ms=5, client_id="bench-raw")
        return p

    p = producer()
    for t in (raw_topic_once, raw_topic_batched):  # warm-up: metadata and connection
        p.send(t, key=b"warm", value=b"{}").get(timeout=30)
    start = time.perf_counter()
    for key, value in messages:
        p.send(raw_topic_once, key=key, value=value)
    p.flush(timeout=120)
    seconds = time.perf_counter() - start
    rows.append(row(f"KafkaProducer send all + flush, {n} msgs", "raw", n, seconds, "msgs/s",
                    note="acks=all, idempotent, linger 5 ms"))

    batch_lat = []
    start = time.perf_counter()
    for i in range(0, n, settings.relay_batch):
        b0 = time.perf_counter()
        futures = [p.send(raw_topic_batched, key=k, value=v) for k, v in messages[i:i + settings.relay_batch]]
        p.flush(timeout=120)
        for f in futures:
            f.get(timeout=0)
        batch_lat.append(time.perf_counter() - b0)
    seconds = time.perf_counter() - start
    rows.append(row(f"KafkaProducer, flush + check acks every {settings.relay_batch}, {n} msgs", "raw", n, seconds,
                    "msgs/s",
                    lat=latency(batch_lat), note="the relay's batching without MongoDB"))
    p.close()
    client.close()
    notes.append(f"{n} events ({n_partners} partners × registered+verified), one commit each; message value "
                 f"{min(sizes)}–{max(sizes)} B JSON, key = stream id; topic with 3 partitions; relay batch "
                 f"{settings.relay_batch}.")
    notes.append(f"Time inside the relay by step at {n} events (s): "
                 + ", ".join(f"{k} {v}" for k, v in breakdown.items()))
    return rows, notes


def run(ctx: Context) -> dict:
    # The relay's cost per event grows with the size of the commits collection on FerretDB (see the
    # notes), so it is measured at two outbox sizes; sizes are kept small to bound the run time.
    sizes = ctx.size((100, 500), (200,))
    rows, notes = [], []
    for i, n_partners in enumerate(sizes):
        r, n = measure(ctx, n_partners, f"rl{i}")
        rows += r
        notes += n
    return {"name": NAME, "title": TITLE, "rows": rows, "notes": notes,
            "params": {"events": [2 * p for p in sizes], "relay_batch": Settings.from_env().relay_batch}}
