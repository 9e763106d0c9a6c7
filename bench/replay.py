"""7. Read-model rebuild (``jalin replay``) throughput on a large generated log.

The log: N sealed, hash-chained events of the demo mix (partners / agreements with work plans and
reports / evaluations; bench/demo_events.py) published straight to the three service topics with
``KafkaPublisher`` (timed and reported separately). N = 1,000,000 by default (50,000 with
--quick; ``JALIN_BENCH_REPLAY_EVENTS`` overrides).

Jalin side: the real ``services.evaluation.rebuild.Rebuild.run`` with the real runner factory
(``Container.projector_runner``: all evaluation projections) and its own consumer settings
(the production ``max_poll_records=500``; the unit of work sends at most 40 statements per command, which keeps
FerretDB v1.24.2 from the hang a whole batch in one command caused, see bench/README.md). Its live
generation is the pointer's initial one, with no projector process: the live group's offsets are
committed at the end of the log, so the rebuild's catch-up target is the whole log and the pause
handshake finds no members. The replay phase (catch-up + final refresh) and the generation
comparison (per-collection digests) are timed separately.

Raw limits on the same events, same run: a plain ``KafkaConsumer`` reading the three topics from
offset 0 without processing, and plain pymongo ``bulk_write`` of one equivalent upsert per event
(40 per call, like the runner's batches) into FerretDB.
"""
from __future__ import annotations

import io
import os
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
from pymongo import UpdateOne

from bench import requested, skipped
from bench.core import BenchError, Context, latency, row, timed_calls
from bench.demo_events import counts, generate_events, publish

NAME = "replay"
TITLE = "7. Read-model rebuild (Rebuild.run) throughput on a generated log"
RAW_BATCH = 40  # statements per bulk command, as the unit of work sends them


def _partitions(consumer, topics):
    consumer.topics()
    return [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]


def run(ctx: Context) -> dict:
    if not requested(NAME):
        return skipped(NAME, TITLE)
    n_target = int(os.environ.get("JALIN_BENCH_REPLAY_EVENTS") or ctx.size(1_000_000, 50_000))
    settings = ctx.settings("rp")
    rows, notes = [], []
    from services.evaluation import rebuild as rebuild_module
    from services.evaluation.bootstrap import build
    from services.evaluation.read_model_pointer import ReadModelPointer

    t = time.perf_counter()
    events = generate_events(n_target)
    gen_s = time.perf_counter() - t
    n = len(events)
    pub_s = publish(settings, events, chunk=5000)
    rows.append(row(f"publish {n} sealed events (KafkaPublisher, 5 000 per call)", "jalin", n, pub_s, "events/s",
                    note=f"generating and sealing them took {gen_s:.1f} s (not included)",
                    events_by_stream_type=counts(events)))
    container = build(settings)
    topic_names = container.source_topics

    # raw: a plain consumer over the same topics from offset 0, no processing
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=500)
    parts = _partitions(consumer, topic_names)
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    total_in_log = sum(ends.values())
    got, start = 0, time.perf_counter()
    deadline = time.monotonic() + 1800
    while got < total_in_log and time.monotonic() < deadline:
        for messages in consumer.poll(timeout_ms=500).values():
            got += len(messages)
    raw_consume_s = time.perf_counter() - start
    consumer.close()
    raw_consume = f"KafkaConsumer from offset 0, no processing, {got} events"
    rows.append(row(raw_consume, "raw", got, raw_consume_s, "events/s",
                    note="assigned partitions of the 3 topics, max_poll_records 500"))

    # Jalin: the real rebuild machinery
    client = ctx.mongo(settings, socketTimeoutMS=120000)
    readside = ReadModelPointer(client, settings)
    live = readside.pointer(fresh=True)
    committer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","), group_id=live["group_id"],
                              enable_auto_commit=False)
    cparts = _partitions(committer, topic_names)
    committer.assign(cparts)
    committer.commit({tp: OffsetAndMetadata(off, "", -1) for tp, off in committer.end_offsets(cparts).items()})
    committer.close()

    original_make_consumer, original_compare = rebuild_module.make_consumer, rebuild_module.compare
    timing: dict = {}

    def timed_make_consumer(settings_, group_id, topics_, **overrides):
        timing["replay_started"] = time.perf_counter()
        consumer = original_make_consumer(settings_, group_id, topics_, **overrides)
        timing["max_poll_records"] = consumer.config.get("max_poll_records")
        return consumer

    def timed_compare(old, new):
        timing["replay_done"] = time.perf_counter()
        result = original_compare(old, new)
        timing["compare_done"] = time.perf_counter()
        return result

    rebuild_module.make_consumer, rebuild_module.compare = timed_make_consumer, timed_compare
    try:
        start = time.perf_counter()
        result = rebuild_module.Rebuild(settings, readside, lambda db: container.projector_runner(db), topic_names,
                                        progress=rebuild_module.Progress(stream=io.StringIO(), every=5.0)).run()
        total_s = time.perf_counter() - start
    finally:
        rebuild_module.make_consumer, rebuild_module.compare = original_make_consumer, original_compare
    if result.events != total_in_log:
        raise BenchError(f"the rebuild applied {result.events} of {total_in_log} events")
    replay_s = timing["replay_done"] - timing["replay_started"]
    compare_s = timing["compare_done"] - timing["replay_done"]
    rows.append(row(f"Rebuild.run replay (catch-up + final refresh), {result.events} events", "jalin",
                    result.events, replay_s, "events/s", baseline=raw_consume,
                    note=f"all evaluation projections into {result.database}; "
                         f"max_poll_records {timing.get('max_poll_records')}",
                    whole_rebuild_s=round(total_s, 2), compare_s=round(compare_s, 2),
                    switched=result.switched))
    new_db = client[result.database]
    sizes = {c: new_db[c].estimated_document_count() for c in sorted(new_db.list_collection_names())}
    rows.append(row("Rebuild.run compare (per-collection digests of both generations)", "jalin",
                    sum(sizes.values()), compare_s, "docs/s", note="documents digested in the new generation"))
    notes.append(f"Log: {total_in_log} events ({counts(events)}); new generation {result.database}: {sizes}. "
                 f"Whole Rebuild.run {total_s:.1f} s (replay {replay_s:.1f} s, compare {compare_s:.1f} s); "
                 f"switched={result.switched} (the live generation is empty here, so the digests differ and "
                 "the rebuild rightly does not switch).")
    if n_target < 1_000_000:
        rate = result.events / replay_s
        notes.append(f"Size run: {total_in_log} events. At the measured {rate:.0f} events/s a 1,000,000-event replay "
                     f"would take ≈ {1_000_000 / rate / 60:.0f} min (linear extrapolation; FerretDB costs that grow "
                     f"with collection size would make it longer); publishing 1,000,000 at the measured "
                     f"{n / pub_s:.0f} events/s ≈ {1_000_000 / (n / pub_s) / 60:.1f} min.")

    # raw: one equivalent upsert per event, bulk_write in chunks of RAW_BATCH
    raw_db = client[settings.database("rawread")]
    ops = []
    for _svc, key, env in events:
        ops.append((env["stream_type"], UpdateOne({"_id": key}, {"$set": {
            "version": env["version"], "updated_at": env["occurred_at"], "last_event": env["event_type"],
            "data": env["data"]}}, upsert=True)))
    chunks: list = []
    for i in range(0, len(ops), RAW_BATCH):
        chunk = ops[i:i + RAW_BATCH]
        by: dict = {}
        for coll, op in chunk:
            by.setdefault(coll + "s", []).append(op)
        chunks.append(by)

    def write(i):
        for coll, batch in chunks[i].items():
            raw_db[coll].bulk_write(batch, ordered=True)

    secs, lat = timed_calls(write, len(chunks))
    rows.append(row(f"pymongo bulk_write, 1 upsert/event, {RAW_BATCH} per batch, {n} events", "raw", n, secs,
                    "events/s", lat=latency(lat), note=f"latency per batch of {RAW_BATCH} events (one call per "
                                                        "collection in the batch)"))
    client.close()
    return {"name": NAME, "title": TITLE, "rows": rows, "notes": notes,
            "params": {"events": total_in_log, "target": n_target, "raw_batch": RAW_BATCH}}
