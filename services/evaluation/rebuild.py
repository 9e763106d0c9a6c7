"""Blue/green rebuild of the read models from offset 0 of the topics, with no downtime for reads.

1. A new generation (database + consumer group) is built beside the live one by replaying every
   topic from the beginning — but never ahead of the live projector's committed offsets, so the
   two can later be compared at the very same point of the log.
2. The live projector is asked to pause (it finishes and commits its batch and leaves its group);
   reads keep going to the live database. The rebuild then consumes exactly up to the live
   group's final offsets.
3. Both databases now reflect the same events: collections are compared (document counts and a
   digest of their content). Equal → the pointer is switched in one update and the projector
   resumes on the new generation, from the new group's offsets. Different → the pause is lifted,
   nothing is switched, and the differences are reported (``force`` switches anyway, e.g. after
   a projection's code deliberately changed).
"""
from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from kafka import KafkaAdminClient, TopicPartition
from tqdm import tqdm
from kafka.structs import OffsetAndMetadata
from pymongo.database import Database

from shared.checkpoint import CHECKPOINTS
from shared.config import Settings
from shared.consumer import DEAD_LETTERS, PARKED, POSITIONS, ConsumerRunner
from shared.kafka import decode, make_consumer
from shared.mongo import read_model_database

from services.evaluation.read_model_pointer import ReadModelPointer, generation_names

log = logging.getLogger("jalin.rebuild")
# Compared by count only, reported: operational state, and the projector's checkpoint (its counters
# count batches, which differ between a live projector and a replay of the same events).
OPERATIONAL = (PARKED, DEAD_LETTERS, CHECKPOINTS)
VOLATILE_FIELDS = ("computed_at",)          # recomputation times, not content


def collection_digest(db: Database, name: str) -> tuple[int, str]:
    """(count, sha256) over the collection's documents in ``_id`` order, volatile fields left out."""
    digest, count = hashlib.sha256(), 0
    for doc in db[name].find({}).sort("_id", 1):
        for key in VOLATILE_FIELDS:
            doc.pop(key, None)
        if name == POSITIONS:
            doc.pop("updated_at", None)
        digest.update(json.dumps(doc, sort_keys=True, default=str, ensure_ascii=False).encode())
        count += 1
    return count, digest.hexdigest()


def compare(old: Database, new: Database) -> dict:
    """Per collection: counts and digests of both databases, and whether they match."""
    names = sorted((set(old.list_collection_names()) | set(new.list_collection_names())) - {"system.indexes"})
    report = {}
    for name in names:
        (old_n, old_d), (new_n, new_d) = collection_digest(old, name), collection_digest(new, name)
        same = old_n == new_n if name in OPERATIONAL else (old_n, old_d) == (new_n, new_d)
        report[name] = {"old_count": old_n, "new_count": new_n, "old_digest": old_d[:16], "new_digest": new_d[:16],
                        "match": same}
    return report


class Progress:
    """Replay progress: a tqdm bar (events/s, ETA) on a terminal; plain log lines otherwise."""

    def __init__(self, stream=None, every: float = 2.0):
        self.stream, self.every = stream or sys.stderr, every
        self.started = time.monotonic()
        self._last = 0.0
        self._bar = (tqdm(file=self.stream, unit="ev", unit_scale=True, dynamic_ncols=True, mininterval=0.2)
                     if self.stream.isatty() else None)

    def update(self, done: int, total: int, phase: str, force: bool = False) -> None:
        if self._bar is not None:
            self._bar.set_description(phase, refresh=False)
            self._bar.total = total
            self._bar.update(done - self._bar.n)
            if force:
                self._bar.refresh()
            return
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return
        self._last = now
        rate = done / max(now - self.started, 1e-6)
        eta = max(total - done, 0) / rate if rate > 0 else float("inf")
        self.stream.write(f"{phase}: {done}/{total} events, {rate:,.0f} events/s, ETA {eta:.1f}s\n")
        self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@dataclass
class RebuildResult:
    generation: int
    database: str
    events: int
    seconds: float
    report: dict = field(default_factory=dict)
    switched: bool = False

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class Rebuild:
    """One rebuild of the evaluation read models (see the module docstring)."""

    def __init__(self, settings: Settings, readside: ReadModelPointer,
                 runner_factory: Callable[[Database], ConsumerRunner], topics: list[str], progress: Progress | None = None, pause_timeout: float = 60.0,
                 keep_collections: tuple[str, ...] = ()):
        """``keep_collections``: copied from the live generation instead of rebuilt (single projection)."""
        self.settings, self.readside, self.runner_factory = settings, readside, runner_factory
        self.keep_collections = keep_collections
        self.topics = topics
        self.progress = progress or Progress()
        self.pause_timeout = pause_timeout
        self.admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap.split(","),
                                      client_id=f"{settings.prefix}-rebuild")

    def _committed(self, group_id: str) -> dict[TopicPartition, int]:
        offsets = self.admin.list_group_offsets(group_id).get(group_id, {})
        return {tp: meta.offset for tp, meta in offsets.items() if tp.topic in self.topics and meta.offset >= 0}

    def _members(self, group_id: str) -> int:
        described = self.admin.describe_groups([group_id]).get(group_id) or {}
        return len(described.get("members") or [])

    def run(self, force: bool = False) -> RebuildResult:
        live = self.readside.pointer(fresh=True)
        generation = max(live["generation"], (live.get("previous") or {}).get("generation", 0)) + 1
        database, group_id = generation_names(self.settings, generation)
        client = self.readside.client
        client.drop_database(database)
        new_db = read_model_database(client, database)
        runner = self.runner_factory(new_db)
        runner.setup()
        consumer = make_consumer(self.settings, group_id, self.topics)
        started, applied = time.monotonic(), 0
        try:
            # 1. catch up behind the live projector
            applied += self._follow(consumer, runner, lambda: self._committed(live["group_id"]), settle=True)
            # 2. pause the live projector and take its final offsets
            self.readside.request_pause(by=f"rebuild-g{generation}")
            deadline = time.monotonic() + self.pause_timeout
            while self._members(live["group_id"]) and time.monotonic() < deadline:
                time.sleep(0.2)
            if self._members(live["group_id"]):
                raise RuntimeError("the live projector did not pause in time")
            final = self._committed(live["group_id"])
            applied += self._follow(consumer, runner, lambda: final, settle=False)
            copy_collections(client[live["database"]], new_db, self.keep_collections)
            runner.refresh(force=True)
            self.progress.close()
            # 3. compare at the same point of the log, then switch (or not)
            report = compare(client[live["database"]], new_db)
            result = RebuildResult(generation, database, applied, time.monotonic() - started, report)
            if all(r["match"] for r in report.values()) or force:
                self.readside.switch(generation, database, group_id)
                result.switched = True
            return result
        finally:
            consumer.close()
            if self.readside.pointer(fresh=True).get("pause"):
                self.readside.clear_pause()  # not switched: the live projector resumes where it was
            self.admin.close()

    def _follow(self, consumer, runner: ConsumerRunner, targets: Callable[[], dict], settle: bool) -> int:
        """Consume until every partition reached its target offset (never beyond it)."""
        applied = 0
        target = targets()
        last_refresh = time.monotonic()
        while True:
            assignment = consumer.assignment()
            if assignment and all(consumer.position(tp) >= target.get(tp, 0) for tp in assignment) and \
                    set(target) <= set(assignment):
                if not settle:
                    return applied
                newer = targets()  # the live projector moved on meanwhile: follow until it holds still
                if newer == target:
                    return applied
                target = newer
            records = consumer.poll(timeout_ms=500)
            batch = []
            for tp, messages in sorted(records.items(), key=lambda kv: (kv[0].topic, kv[0].partition)):
                limit = target.get(tp, 0)
                wanted = [m for m in messages if m.offset < limit]
                batch.extend(decode(m.value) for m in wanted)
                if len(wanted) < len(messages):
                    consumer.seek(tp, limit)  # not beyond the live projector's point
            if batch:
                runner.handle(batch)
                applied += len(batch)
            if records:
                consumer.commit({tp: _offset(consumer.position(tp)) for tp in consumer.assignment()})
            if time.monotonic() - last_refresh > 5:
                target = targets() if settle else target
                last_refresh = time.monotonic()
            total = sum(target.values())
            done = sum(min(consumer.position(tp), target.get(tp, 0)) for tp in consumer.assignment())
            self.progress.update(done, total, "replay" if settle else "final")


def _offset(position: int) -> OffsetAndMetadata:
    return OffsetAndMetadata(position, "", -1)


def closure(projections, only: set[str]) -> list:
    """The chosen projections plus every other one writing a collection they write."""
    chosen = {p.name for p in projections if p.name in only}
    while True:
        written = {c for p in projections if p.name in chosen for c in p.collections}
        more = {p.name for p in projections if set(p.collections) & written} - chosen
        if not more:
            return [p for p in projections if p.name in chosen]
        chosen |= more


def copy_collections(old: Database, new: Database, names) -> None:
    """Copy whole collections (used for what a single-projection rebuild does not rebuild)."""
    for name in names:
        new.drop_collection(name)
        batch = []
        for doc in old[name].find({}):
            batch.append(doc)
            if len(batch) == 1000:
                new[name].insert_many(batch)
                batch = []
        if batch:
            new[name].insert_many(batch)
