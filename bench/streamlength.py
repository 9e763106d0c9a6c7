"""9. Command cost against the length of its stream (Repository on MongoEventStore, FerretDB).

A command is what every handler does: ``Repository.load`` the partner, ``update_profile`` (the
pure domain), ``Repository.save`` the decided event as one commit. It is timed on a stream just
registered (the "new stream" baseline) and on streams grown to 10, 100 and 1,000 events (grown
through the same path, untimed), with snapshots (the default) and with the store's snapshots
switched off (every load folds the whole stream: what a command cost before snapshots). Cases
run interleaved round-robin so background load hits them alike. Raw limit: the fewest round trips
a command on an existing stream needs, timed alone: one ``find_one`` by ``_id`` and one
``insert_one`` of a commit of the same size.
"""
from __future__ import annotations

import time
import uuid

from services.partners.domain import Partner
from shared.application import CommandContext, Repository
from shared.mongo_eventstore import MongoEventStore

from bench.core import Context, latency, row
from bench.fixtures import ACTOR

NAME = "streamlength"
TITLE = "9. A command (load → update_profile → save) at stream lengths 1, 10, 100, 1,000 (snapshots on/off)"


def register(repo: Repository, cmd: CommandContext) -> str:
    sid = f"partner-{uuid.uuid4()}"
    partner, events = Partner.register(sid, {"name": f"Mitra {sid[-6:]}", "kind": "daerah_lain",
                                             "region_code": "15.05.01"})
    repo.save(partner, events, cmd)
    return sid


def command(repo: Repository, sid: str, cmd: CommandContext) -> None:
    partner = repo.load(sid)
    repo.save(partner, partner.update_profile({"description": f"catatan {uuid.uuid4().hex[:8]}"}), cmd)


def run(ctx: Context) -> dict:
    lengths = (10, 100, 1000)
    reps = ctx.size(60, 20)
    reps_unsnapshotted = {10: reps, 100: ctx.size(20, 8), 1000: ctx.size(6, 3)}
    settings = ctx.settings("sl")
    client = ctx.mongo(settings)
    db = client[settings.database("partners")]
    store = MongoEventStore(db)
    store.ensure_indexes()
    plain = MongoEventStore(db)
    plain.snapshots = None  # the same commits, folded from the first event on every load
    repo, repo_plain = Repository(store, Partner), Repository(plain, Partner)
    cmd = CommandContext(actor=ACTOR)
    rows, notes = [], []

    t0 = time.perf_counter()
    streams = {}
    for length in lengths:
        sid = register(repo, cmd)
        for _ in range(length - 1):
            command(repo, sid, cmd)
        streams[length] = sid
    # background streams, so the collection is not tiny
    for _ in range(200):
        register(repo, cmd)
    notes.append(f"streams grown through the same path in {time.perf_counter() - t0:.0f} s (untimed); "
                 f"snapshot every {store.snapshot_every() or Repository.SNAPSHOT_EVERY} event(s)")

    cases: dict[str, list[float]] = {"new": [], **{f"snap{n}": [] for n in lengths},
                                     **{f"plain{n}": [] for n in lengths}, "raw": []}
    template = db["commits"].find_one({"_id": f"{streams[10]}:2"})
    for i in range(reps):
        sid = register(repo, cmd)  # untimed: the command runs on a stream of one event
        s = time.perf_counter()
        command(repo, sid, cmd)
        cases["new"].append(time.perf_counter() - s)
        for n in lengths:
            s = time.perf_counter()
            command(repo, streams[n], cmd)
            cases[f"snap{n}"].append(time.perf_counter() - s)
            if i < reps_unsnapshotted[n]:
                s = time.perf_counter()
                command(repo_plain, streams[n], cmd)
                cases[f"plain{n}"].append(time.perf_counter() - s)
        s = time.perf_counter()
        db["commits"].find_one({"_id": template["_id"]})
        db["rawcommits"].insert_one({**template, "_id": f"raw-{i}"})
        cases["raw"].append(time.perf_counter() - s)

    def add(case, key, side="jalin", baseline=None, note=""):
        lat = cases[key]
        rows.append(row(case, side, len(lat), sum(lat), "cmd/s", lat=latency(lat), baseline=baseline, note=note))

    new_p50 = latency(cases["new"])["p50"]
    add("command on a new stream (1 event)", "new", baseline="raw: find_one by _id + insert_one")
    for n in lengths:
        p50 = latency(cases[f"snap{n}"])["p50"]
        add(f"command on a stream of ~{n} events, snapshots", f"snap{n}",
            baseline="command on a new stream (1 event)", note=f"p50 {p50 / new_p50:.2f}× the new stream's")
    for n in lengths:
        add(f"command on a stream of ~{n} events, no snapshots (whole fold)", f"plain{n}",
            baseline="command on a new stream (1 event)")
    add("raw: find_one by _id + insert_one", "raw", side="raw")
    notes.append("target: a command on a stream of 1,000 events within 1.5× of one on a new stream (p50); "
                 "the machine is shared, so figures are noisy: compare rows of the same run")
    client.close()
    return {"name": NAME, "title": TITLE, "rows": rows, "notes": notes}
