"""Coalescing in the unit of work gives the read model that applying the writes one by one gives
(property-based, over random deliveries with duplicates and redeliveries; an in-memory store
that evaluates the few filters and update operators the unit of work sends)."""
from __future__ import annotations

import copy
from types import SimpleNamespace

from hypothesis import given, settings
from pymongo import InsertOne, UpdateOne

from shared.readmodel import UnitOfWork
from tests.coalescing import deliveries, one_by_one, queue


def _get(doc, path):
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None, False
        doc = doc[part]
    return doc, True


def _parent(doc, path):
    *head, last = path.split(".")
    for part in head:
        doc = doc.setdefault(part, {})
    return doc, last


def _matches(doc, spec) -> bool:
    for key, cond in spec.items():
        if key == "$or":
            if not any(_matches(doc, c) for c in cond):
                return False
            continue
        value, present = _get(doc, key)
        if isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            for op, arg in cond.items():
                ok = {"$lt": lambda: present and value < arg, "$gte": lambda: present and value >= arg,
                      "$exists": lambda: present == arg}[op]()
                if not ok:
                    return False
        elif not present or value != cond:
            return False
    return True


def _update(doc, update, inserting):
    paths = [p for fields in update.values() for p in fields]
    for a in paths:  # as MongoDB: one update may not name a path twice, nor one inside another
        assert not any(a == b or a.startswith(b + ".") for b in paths if b is not a), update
    for op, fields in update.items():
        for path, arg in fields.items():
            parent, last = _parent(doc, path)
            if op == "$set" or (op == "$setOnInsert" and inserting):
                parent[last] = copy.deepcopy(arg)
            elif op == "$unset":
                parent.pop(last, None)
            elif op == "$inc":
                parent[last] = parent.get(last, 0) + arg
            elif op == "$max":
                parent[last] = max(parent.get(last, arg), arg)
            elif op == "$push":
                items = arg["$each"] if isinstance(arg, dict) and "$each" in arg else [arg]
                parent[last] = parent.get(last, []) + list(items)


class Collection:
    def __init__(self):
        self.docs: dict = {}

    def bulk_write(self, ops, ordered=True):
        matched = 0
        for op in ops:
            if isinstance(op, InsertOne):
                self.docs.setdefault(op._doc["_id"], copy.deepcopy(op._doc))
                continue
            assert isinstance(op, UpdateOne)
            doc = self.docs.get(op._filter["_id"])
            if doc is not None and _matches(doc, op._filter):
                matched += 1
                _update(doc, op._doc, False)
            elif doc is None and op._upsert:
                doc = {"_id": op._filter["_id"]}
                _update(doc, op._doc, True)
                self.docs[doc["_id"]] = doc
        return SimpleNamespace(matched_count=matched)

    def find_one(self, query, projection=None):
        doc = self.docs.get(query["_id"])
        return copy.deepcopy(doc) if doc is not None and _matches(doc, query) else None


class Database(dict):
    def __missing__(self, name):
        self[name] = Collection()
        return self[name]


@settings(max_examples=400, deadline=None)
@given(deliveries())
def test_coalesced_batches_give_what_one_write_at_a_time_gives(batches):
    coalesced, reference = Database(), Database()
    for batch in batches:
        uow = UnitOfWork(coalesced)
        for item in batch:
            queue(uow, item)
        uow.flush()
        alone = UnitOfWork(reference)
        for item in batch:
            queue(alone, item)
        for name, op in one_by_one(alone):
            reference[name].bulk_write([op])
    assert coalesced["docs"].docs == reference["docs"].docs


def test_a_batch_of_one_stream_writes_its_document_once():
    db = Database()
    uow = UnitOfWork(db)
    sent = []
    original = Collection.bulk_write
    db["docs"].bulk_write = lambda ops, ordered=True: (sent.append(list(ops)), original(db["docs"], ops))[1]
    for version in range(1, 6):
        uow.versioned("docs", "d", "s", version, set_fields={"v": version}, push={"l": version}, inc={"n": 1},
                      create=version == 1)
    uow.flush()
    updates = [op for ops in sent for op in ops]
    # the creating upsert, one merged update, one no-op check that nothing was seen in part
    assert len(updates) == 3
    assert db["docs"].docs["d"] == {"_id": "d", "_seen": {"s": 5}, "v": 5, "l": [1, 2, 3, 4, 5], "n": 5}


def test_a_document_seen_in_part_gets_the_rest_of_the_batch():
    db = Database()
    first = UnitOfWork(db)
    for version in (1, 2):
        first.versioned("docs", "d", "s", version, push={"l": version}, inc={"n": 1}, create=version == 1)
    first.flush()
    again = UnitOfWork(db)  # redelivered with other batch boundaries: 1..4
    for version in (1, 2, 3, 4):
        again.versioned("docs", "d", "s", version, push={"l": version}, inc={"n": 1}, create=version == 1)
    again.flush()
    assert db["docs"].docs["d"] == {"_id": "d", "_seen": {"s": 4}, "l": [1, 2, 3, 4], "n": 4}


def test_a_later_write_to_a_document_seen_in_part_lands_after_the_rest_of_its_group():
    db = Database()
    first = UnitOfWork(db)
    first.versioned("docs", "d", "s", 1, set_fields={"c": 1})
    first.flush()
    again = UnitOfWork(db)  # redelivered 1..2, then another write of the same field
    again.versioned("docs", "d", "s", 1, set_fields={"c": 1})
    again.versioned("docs", "d", "s", 2, set_fields={"c": 2}, create=False)
    again.add("docs", UpdateOne({"_id": "d"}, {"$set": {"c": 9}}))
    again.flush()
    assert db["docs"].docs["d"]["c"] == 9 and db["docs"].docs["d"]["_seen"] == {"s": 2}


def test_the_runners_records_go_last_and_journaled():
    """Read models may be written without waiting for the journal (shared.mongo.READ_MODEL_WRITES):
    the positions, written journaled after them, make them durable before offsets are committed."""
    from shared.mongo import JOURNALED

    db, sent = Database(), []

    def get_collection(name, write_concern=None):
        collection = db[name]
        original = collection.bulk_write
        return SimpleNamespace(bulk_write=lambda ops, ordered=True: (sent.append((name, write_concern)),
                                                                     original(ops, ordered))[1])

    db.get_collection = get_collection
    uow = UnitOfWork(db, durable=("positions",))
    uow.versioned("positions", "s", "self", 1)
    uow.versioned("docs", "d", "s", 1, set_fields={"a": 1})
    uow.flush()
    assert sent == [("positions", JOURNALED)]  # docs went through db["docs"], before the positions
    assert db["docs"].docs["d"]["a"] == 1 and db["positions"].docs["s"]["_seen"] == {"self": 1}
