"""The projector's checkpoint: a cheap, monotonic "what changed" position per read-model collection.

One document per consumer (``{_id: <consumer name>, epoch, collections: {<name>: n}}``) in the
read-model database. The consumer runner increments ``collections.<name>`` for every collection a
batch (or a refresh of derived documents) wrote, *after* those writes are flushed, and ``epoch``
each time a runner starts. A reader takes the counters of the collections an answer is built from
(one lookup by ``_id``) and knows that the answer cannot have changed while they stay the same:
the query API derives its ``ETag`` and the key of its page cache from them.

Order matters and is what makes this safe: the checkpoint is bumped after the data is written, and
read before the data is read. A reader may thus see newer data under an older position (it then
recomputes at the next bump), never older data under a newer one. A crash between the writes and
the bump is covered by ``epoch``: the runner that resumes bumps it before applying anything.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Mapping

from pymongo.database import Database

CHECKPOINTS = "checkpoints"


def bump(db: Database, consumer: str, collections: Iterable[str], epoch: bool = False) -> None:
    """Record that ``collections`` changed (and, with ``epoch``, that a runner (re)started)."""
    inc = {f"collections.{name}": 1 for name in sorted(set(collections))}
    if epoch:
        inc["epoch"] = 1
    if inc:
        db[CHECKPOINTS].update_one({"_id": consumer}, {"$inc": inc,
                                                       "$set": {"updated_at": datetime.now(timezone.utc)}},
                                   upsert=True)


def read(db: Database, consumer: str) -> tuple[int, dict[str, int]]:
    """``(epoch, {collection: counter})`` of ``consumer`` (one lookup by ``_id``)."""
    doc = db[CHECKPOINTS].find_one({"_id": consumer}) or {}
    return doc.get("epoch", 0), dict(doc.get("collections") or {})


def position(state: tuple[int, Mapping[str, int]], collections: Iterable[str]) -> tuple:
    """``(epoch, n₁, n₂, …)`` of ``collections`` (in the order given) in ``state`` (from ``read``):
    equal positions, same data."""
    epoch, counters = state
    return (epoch, *(counters.get(name, 0) for name in collections))
