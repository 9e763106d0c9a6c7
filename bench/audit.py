"""8. Audit at scale: ``jalin audit verify`` and ``jalin audit export`` over whole stores.

A partners store of S streams × 10 events (one event per commit, the most commits per event),
sealed and hash-chained like the service seals them, is written straight into the service's
``commits`` collection (marked published) and published to its topic. The partners, agreements
and evaluation APIs run under gunicorn (the stack's ``Supervisor``, no workers), and the CLI's own
functions run against them over HTTP: ``verify_all`` (one streamed pass per store, chain check,
Kafka as of a cut) and ``export_bundle``. Two sizes show whether the cost is linear in events.
Raw limits, same run: plain pymongo ``find({})`` over the same collection (every document
decoded, one pass) and a plain ``KafkaConsumer`` reading the topic, the two reads an audit needs.
"""
from __future__ import annotations

import os
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from cli.audit import auditor_client, export_bundle, verify_all
from shared.envelope import GENESIS_HASH, Actor, seal
from shared.kafka import KafkaPublisher, ensure_topics

from bench import requested, skipped
from bench.core import BenchError, Context, CpuMeter, infra_sessions, row

NAME = "audit"
TITLE = "8. Audit: verify and export of whole stores (S streams × 10 events), linear in events"
EVENTS_PER_STREAM = 10


def partner_streams(streams: int) -> list[dict]:
    """Commit documents of ``streams`` partner streams, 10 single-event commits each."""
    actor = Actor(sub="bench", role="kerjasama")
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    commits = []
    for s in range(streams):
        sid = f"partner-{uuid.uuid4()}"
        prev = GENESIS_HASH
        for version in range(1, EVENTS_PER_STREAM + 1):
            if version == 1:
                kind, data = "partner.registered", {"name": f"Mitra Audit {s}", "kind": "daerah_lain",
                                                    "region_code": "15.05.01", "country": "ID", "contacts": []}
            else:
                kind, data = "partner.profile_updated", {"changes": {"description": f"catatan {version}"}}
            moment = start + timedelta(seconds=s * EVENTS_PER_STREAM + version)
            envelope = seal(event_type=kind, data=data, stream_id=sid, stream_type="partner", version=version,
                            prev_hash=prev, occurred_at=moment, actor=actor, correlation_id=str(uuid.uuid4()))
            prev = envelope["hash"]
            commits.append({"_id": f"{sid}:{version}", "stream_id": sid, "stream_type": "partner",
                            "first_version": version, "last_version": version, "events": [envelope],
                            "committed_at": moment, "published": True})
    return commits


def raw_scan(db) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = sum(len(doc["events"]) for doc in db["commits"].find({}))
    return n, time.perf_counter() - t0


def raw_kafka(settings, topic: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), group_id=None,
                             enable_auto_commit=False, max_partition_fetch_bytes=8 << 20)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        n = 0
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            for messages in consumer.poll(timeout_ms=1000, max_records=5000).values():
                n += len(messages)
    finally:
        consumer.close()
    return n, time.perf_counter() - t0


def run(ctx: Context) -> dict:
    if not requested(NAME):
        return skipped(NAME, TITLE)
    sizes = ctx.size((1_000, 10_000), (100, 1_000))  # streams; ×10 events each
    if os.environ.get("JALIN_BENCH_AUDIT_STREAMS"):  # e.g. "10000": one size only
        sizes = tuple(int(n) for n in os.environ["JALIN_BENCH_AUDIT_STREAMS"].split(","))
    rows, notes = [], []
    for streams in sizes:
        events = streams * EVENTS_PER_STREAM
        settings = ctx.settings(f"au{streams}", **{f"{name}_url": f"http://127.0.0.1:{port}"
                                                   for name, port in ctx.profile.api_ports.items()})
        client = ctx.mongo(settings)
        db = client[settings.database("partners")]
        t0 = time.perf_counter()
        commits = partner_streams(streams)
        for i in range(0, len(commits), 1000):
            db["commits"].insert_many(commits[i:i + 1000], ordered=False)
        topics = [settings.topic(s) for s in ("partners", "agreements", "evaluation")]
        ensure_topics(settings, topics)
        publisher = KafkaPublisher(settings, delivery_timeout=120, send_budget=120)  # a shared, busy machine
        for i in range(0, len(commits), 2000):
            publisher.publish([(settings.topic("partners"), c["stream_id"], c["events"][0])
                               for c in commits[i:i + 2000]])
        publisher.close()
        del commits
        notes.append(f"{streams} streams / {events} events: store written and published in "
                     f"{time.perf_counter() - t0:.0f} s (untimed)")

        supervisor = ctx.stack.Supervisor(ctx.profile, prefix=settings.prefix)
        supervisor.start(only=["partners-api", "agreements-api", "evaluation-api"])
        try:
            supervisor.wait_ready(90)
            sessions = {name: proc.pid for name, proc in supervisor.procs.items()}
            sessions.update(infra_sessions(ctx.profile))
            audit = auditor_client(settings)
            meter = CpuMeter(sessions).start()
            t = time.perf_counter()
            report = verify_all(settings, audit)
            verify_s = time.perf_counter() - t
            cpu = meter.stop()
            if report["findings"] or report["totals"]["partners"]["events"] != events \
                    or report["totals"]["partners"]["in_kafka"] != events:
                raise BenchError(f"verify of the generated store is not clean: {report['totals']}, "
                                 f"{report['findings'][:3]}")
            rows.append(row(f"jalin audit verify, {streams} streams / {events} events", "jalin", events, verify_s,
                            "events/s", baseline=f"raw store pass, {events} events", cpu_seconds=cpu,
                            note=f"{verify_s:.1f} s in all"))
            with tempfile.TemporaryDirectory() as out:
                t = time.perf_counter()
                manifest = export_bundle(audit, Path(out))
                export_s = time.perf_counter() - t
            if manifest["files"]["partners.jsonl"]["events"] != events:
                raise BenchError(f"export wrote {manifest['files']['partners.jsonl']} events, expected {events}")
            rows.append(row(f"jalin audit export, {streams} streams / {events} events", "jalin", events, export_s,
                            "events/s", baseline=f"raw store pass, {events} events", note=f"{export_s:.1f} s in all"))
        finally:
            supervisor.stop()
        n, secs = raw_scan(db)
        rows.append(row(f"raw store pass, {events} events", "raw", n, secs, "events/s",
                        note="pymongo find({}) over the commits collection, every document decoded"))
        n, secs = raw_kafka(settings, settings.topic("partners"))
        rows.append(row(f"raw Kafka read, {events} events", "raw", n, secs, "events/s",
                        note="KafkaConsumer from offset 0 to the end, no decoding"))
        client.close()
    notes.append("target: 10,000 streams / 100,000 events verified and exported in ≤ 2 min each, "
                 "rate flat between the two sizes (linear cost); the machine is shared, so figures are noisy")
    return {"name": NAME, "title": TITLE, "rows": rows, "notes": notes}
