"""1. Append: ``Repository.save`` → ``MongoEventStore.append`` on FerretDB, vs plain pymongo inserts.

Cases (each in its own fresh collection):
- save, 1 event per commit, new streams (expected version 0: one ``insert_one``);
- save, 10 events per commit, new streams;
- save, 1 event per commit on an EXISTING stream, with the store holding K commits (the store
  first reads the stream's last version, then inserts), plus ``Repository.load`` at the same K.
Raw limits: ``insert_one`` of a document of exactly the same shape and BSON size (with the event
store's three secondary indexes, and with ``_id`` only), ``insert_many`` (100 per call), and the
single queries the store issues, timed on their own.
"""
from __future__ import annotations

import copy
import time

import bson

from shared.application import CommandContext, Repository
from shared.mongo_eventstore import MongoEventStore

from bench.core import Context, latency, row, timed_calls
from bench.fixtures import ACTOR, PARTNER_DATA, Sample, new_sid

NAME = "append"
TITLE = "1. Append throughput and latency (Repository.save → MongoEventStore.append, FerretDB)"
WARMUP = 30


def _decile_drift(lat: list[float]) -> dict:
    """p50 of the first and last tenth of the calls (does latency grow as the collection grows?)."""
    if len(lat) < 50:
        return {}
    tenth = len(lat) // 10
    first, last = latency(lat[:tenth]), latency(lat[-tenth:])
    return {"first_tenth_p50_ms": first["p50"], "last_tenth_p50_ms": last["p50"]}


def _clone(template: dict) -> dict:
    """A copy of a stored commit document under a new stream id of the same length (same BSON size)."""
    doc = copy.deepcopy(template)
    sid = new_sid(template["stream_type"])
    doc["_id"] = f"{sid}:{doc['first_version']}"
    doc["stream_id"] = sid
    for event in doc["events"]:
        event["stream_id"] = sid
    return doc


def run(ctx: Context) -> dict:
    n1 = ctx.size(1500, 300)
    n10 = ctx.size(200, 40)
    n_many = ctx.size(3000, 1000)
    scales = ctx.size(((100, 20), (1000, 10), (3000, 5)), ((100, 8), (1000, 5)))
    settings = ctx.settings("ap")
    client = ctx.mongo(settings)
    db = client[settings.database("partners")]
    raw = client[settings.database("raw")]
    cmd = CommandContext(actor=ACTOR)
    rows, notes = [], []

    def save_new(store: MongoEventStore, k: int):
        repo = Repository(store, Sample)

        def one(_i):
            sample, events = Sample.create(new_sid("sample"), PARTNER_DATA)
            if k > 1:
                events += sample.record(k - 1, PARTNER_DATA)
            start = time.perf_counter()
            repo.save(sample, events, cmd)
            return time.perf_counter() - start
        return one

    def raw_insert(col_name: str, template: dict, count: int, indexed: bool):
        col = raw[col_name]
        if indexed:
            MongoEventStore(raw, col_name).ensure_indexes()  # exactly the store's indexes
        docs = [_clone(template) for _ in range(count + WARMUP)]
        assert len(bson.encode(docs[0])) == len(bson.encode(template)), "clone must keep the BSON size"

        def one(i):
            start = time.perf_counter()
            col.insert_one(docs[i])
            return time.perf_counter() - start
        return one

    def interleaved(cases: dict, count: int) -> dict:
        """Run the cases round-robin (rotating the order), so background load hits all of them alike."""
        names = list(cases)
        for i in range(WARMUP):
            for name in names:
                cases[name](i)
        out = {name: [] for name in names}
        for i in range(count):
            shift = i % len(names)
            for name in names[shift:] + names[:shift]:
                out[name].append(cases[name](WARMUP + i))
        return out

    def template_of(store: MongoEventStore, collection: str, k: int) -> dict:
        save_new(store, k)(0)
        return db[collection].find_one({})

    # templates: one stored commit of each size, cloned for the raw inserts (same shape and BSON size)
    store1 = MongoEventStore(db, "commits")
    store1.ensure_indexes()
    store10 = MongoEventStore(db, "commits10")
    store10.ensure_indexes()
    template1, template10 = template_of(store1, "commits", 1), template_of(store10, "commits10", 10)
    size1, size10 = len(bson.encode(template1)), len(bson.encode(template10))

    # 1 event per commit: jalin and the raw inserts interleaved
    case_a, raw_idx, raw_plain = ("save: 1 event/commit, new stream", "insert_one (+3 store indexes)",
                                  "insert_one (_id index only)")
    lat = interleaved({case_a: save_new(store1, 1), raw_idx: raw_insert("idx", template1, n1, True),
                       raw_plain: raw_insert("plain", template1, n1, False)}, n1)
    rows.append(row(case_a, "jalin", n1, sum(lat[case_a]), "events/s", lat=latency(lat[case_a]), baseline=raw_idx,
                    doc_bytes=size1, **_decile_drift(lat[case_a])))
    rows.append(row(raw_idx, "raw", n1, sum(lat[raw_idx]), "docs/s", lat=latency(lat[raw_idx]), doc_bytes=size1,
                    **_decile_drift(lat[raw_idx])))
    rows.append(row(raw_plain, "raw", n1, sum(lat[raw_plain]), "docs/s", lat=latency(lat[raw_plain]),
                    doc_bytes=size1))

    # 10 events per commit
    case_b, raw_b = "save: 10 events/commit, new stream", "insert_one 10-event doc (+3 store indexes)"
    lat = interleaved({case_b: save_new(store10, 10), raw_b: raw_insert("idx10", template10, n10, True)}, n10)
    rows.append(row(case_b, "jalin", n10 * 10, sum(lat[case_b]), "events/s", lat=latency(lat[case_b]),
                    baseline=raw_b, doc_bytes=size10, commits=n10, commits_per_s=round(n10 / sum(lat[case_b]), 2)))
    rows.append(row(raw_b, "raw", n10 * 10, sum(lat[raw_b]), "events/s", lat=latency(lat[raw_b]), doc_bytes=size10,
                    commits_per_s=round(n10 / sum(lat[raw_b]), 2)))

    # insert_many: the write ceiling of this FerretDB
    docs = [_clone(template1) for _ in range(n_many)]
    chunks = [docs[i:i + 100] for i in range(0, n_many, 100)]
    secs, lat = timed_calls(lambda i: raw["many"].insert_many(chunks[i], ordered=True), len(chunks))
    rows.append(row("insert_many, 100 docs/call (_id only)", "raw", n_many, secs, "docs/s", lat=latency(lat),
                    doc_bytes=size1, note="latency is per call of 100 docs"))

    # -- existing streams: the store reads the last version before inserting; scaling with store size
    scale_rows = []
    for k, m in scales:
        name = f"commits_k{k}"
        store = MongoEventStore(db, name)
        store.ensure_indexes()
        repo = Repository(store, Sample)
        targets = []
        for _ in range(m):
            sample, events = Sample.create(new_sid("sample"), PARTNER_DATA)
            repo.save(sample, events, cmd)
            targets.append(sample)
        filler = [_clone(template1) for _ in range(max(0, k - m))]
        for i in range(0, len(filler), 500):
            db[name].insert_many(filler[i:i + 500], ordered=False)
        stored = db[name].count_documents({})

        def append_existing(i):
            sample = targets[i]
            events = sample.record(1, {"note": "profil diperbarui", "seq_hint": i})
            start = time.perf_counter()
            repo.save(sample, events, cmd)
            return time.perf_counter() - start
        t0 = time.perf_counter()
        lat = [append_existing(i) for i in range(m)]
        secs = time.perf_counter() - t0
        scale_rows.append(row(f"save: 1 event/commit, existing stream, store of {stored} commits", "jalin", m, secs,
                              "events/s", lat=latency(lat), baseline="insert_one (+3 store indexes)",
                              store_commits=stored))
        secs, lat = timed_calls(lambda i: repo.load(targets[i].stream_id), m)
        scale_rows.append(row(f"Repository.load (2-event stream), store of {stored} commits", "jalin", m, secs,
                              "loads/s", lat=latency(lat), baseline=f"find_one by _id, {stored} commits",
                              store_commits=stored))
        col = db[name]
        secs, lat = timed_calls(lambda i: col.find_one({"stream_id": targets[i].stream_id}, {"last_version": 1},
                                                       sort=[("first_version", -1)]), m)
        scale_rows.append(row(f"find_one by stream_id sorted (store's version check), {stored} commits", "raw", m,
                              secs, "queries/s", lat=latency(lat), store_commits=stored,
                              note="the query MongoEventStore runs before appending to an existing stream"))
        secs, lat = timed_calls(lambda i: col.find_one({"_id": f"{targets[i].stream_id}:1"}), m)
        scale_rows.append(row(f"find_one by _id, {stored} commits", "raw", m, secs, "queries/s", lat=latency(lat),
                              store_commits=stored))
        if k == scales[-1][0]:
            plan = db.command("explain", {"find": name, "filter": {"stream_id": targets[0].stream_id},
                                          "sort": {"first_version": -1}, "limit": 1})
            notes.append("FerretDB plan of the store's version check / stream load "
                         f"(filter stream_id, sort first_version): {plan.get('queryPlanner')}, "
                         f"filterPushdown={plan.get('filterPushdown')}, sortPushdown={plan.get('sortPushdown')} — "
                         "the (stream_id, first_version) index is not used, every stream read scans the collection.")
    rows.extend(scale_rows)
    client.close()
    notes.append(f"Payload: a partner-registration-sized event ({size1} B commit document with 1 event, "
                 f"{size10} B with 10 events). Raw documents are clones of stored commits (same shape and BSON size). "
                 f"Jalin and raw cases run interleaved round-robin after {WARMUP} untimed warm-up operations each; "
                 "rates are operations / sum of their latencies (one client, sequential).")
    return {"name": NAME, "title": TITLE, "rows": rows, "notes": notes,
            "params": {"n_single": n1, "n_commits_of_10": n10, "n_insert_many": n_many, "scales": scales}}
