"""Random event sequences for the coalescing property tests (unit: an in-memory store; integration:
FerretDB), and the reference they are compared with: every queued write sent alone, in order."""
from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st
from pymongo import UpdateOne

from shared.readmodel import UnitOfWork, _Change

DOCS = ("d1", "d2", "d3")
STREAMS = ("s1", "s2")

# One event's writes: fields set (``a`` and ``a.b`` overlap on purpose), unset, incremented, pushed.
def _valid(change: dict) -> dict:
    """One event's update as a projection writes it: no path twice, none inside another."""
    taken: list[str] = []
    out: dict = {}
    for op in ("set", "unset", "inc", "push"):
        items = change.get(op) or {}
        keep = []
        for k in items:
            if not any(k == t or k.startswith(t + ".") or t.startswith(k + ".") for t in taken):
                keep.append(k)
                taken.append(k)
        if keep:
            out[op] = keep if op == "unset" else {k: items[k] for k in keep}
    return out


changes = st.fixed_dictionaries({}, optional={
    "set": st.dictionaries(st.sampled_from(["a", "a.b", "c", "n"]),
                           st.one_of(st.integers(-5, 5), st.just({"x": 1}))).map(
        lambda d: {k: ({"x": v} if k == "a" and not isinstance(v, dict) else v if k == "a" else
                       (v if isinstance(v, int) else 7)) for k, v in d.items()}),
    "unset": st.lists(st.sampled_from(["c", "a.b", "n"]), max_size=2, unique=True),
    "inc": st.dictionaries(st.sampled_from(["n", "m"]), st.integers(-3, 3), max_size=2),
    "push": st.dictionaries(st.sampled_from(["l", "k"]),
                            st.one_of(st.integers(0, 9), st.lists(st.integers(0, 9), max_size=3).map(
                                lambda xs: {"$each": xs})), max_size=2),
}).map(_valid)


@st.composite
def deliveries(draw):
    """Batches of writes as a projector queues them: per stream, versions delivered in order with
    redeliveries (a stream delivered again from an earlier version, as after a crash before the
    offsets were committed) and duplicates, streams interleaved, plus plain writes to the same
    documents; cut into batches at random places."""
    events = {s: [(draw(st.sampled_from(DOCS)), draw(changes), draw(st.booleans()))
                  for _ in range(draw(st.integers(1, 6)))] for s in STREAMS}
    cursor = {s: 0 for s in STREAMS}
    sequence: list[tuple] = []
    for _ in range(draw(st.integers(1, 30))):
        kind = draw(st.sampled_from(["next", "next", "next", "redeliver", "plain"]))
        stream = draw(st.sampled_from(STREAMS))
        if kind == "plain":
            sequence.append(("plain", draw(st.sampled_from(DOCS)), draw(st.sampled_from(["p", "c"])),
                             draw(st.integers(0, 9))))
        elif kind == "redeliver" and cursor[stream]:
            cursor[stream] = draw(st.integers(0, cursor[stream] - 1))
        elif cursor[stream] < len(events[stream]):
            doc, change, create = events[stream][cursor[stream]]
            cursor[stream] += 1
            sequence.append(("event", stream, cursor[stream], doc, change, create))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(sequence)), max_size=6))))
    bounds = [0, *cuts, len(sequence)]
    return [sequence[a:b] for a, b in zip(bounds, bounds[1:]) if a < b]


def queue(uow: UnitOfWork, item: tuple, collection: str = "docs") -> None:
    """Queue one delivered item as a projection would."""
    if item[0] == "plain":
        uow.add(collection, UpdateOne({"_id": item[1]}, {"$set": {item[2]: item[3]}}))
        return
    _, stream, version, doc, change, create = item
    uow.versioned(collection, doc, stream, version, set_fields=change.get("set"), unset_fields=change.get("unset"),
                  inc=change.get("inc"), push=change.get("push"), create=create)


def one_by_one(uow: UnitOfWork) -> list[tuple[str, Any]]:
    """The queued writes as they were sent before coalescing: each on its own, in order."""
    ops = [(name, op.model() if isinstance(op, _Change) else op) for _seq, name, op in uow._ops]
    uow._ops.clear()
    return ops


def normalise(doc: dict | None) -> Any:
    return copy.deepcopy(doc)
