"""Coalescing on the real FerretDB: a batch's writes merged per document give the read model that
sending every write alone gives, over random deliveries with duplicates and redeliveries."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings

from shared.readmodel import UnitOfWork
from tests.coalescing import deliveries, one_by_one, queue

_runs = itertools.count()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=deliveries())
def test_coalesced_batches_on_ferretdb_give_what_one_write_at_a_time_gives(mongo, settings, batches):
    db = mongo[settings.database("readside")]
    run = next(_runs)
    merged, alone = f"merged_{run}", f"alone_{run}"
    for batch in batches:
        uow = UnitOfWork(db)
        for item in batch:
            queue(uow, item, merged)
        uow.flush()
        reference = UnitOfWork(db)
        for item in batch:
            queue(reference, item, alone)
        for name, op in one_by_one(reference):
            db[name].bulk_write([op])
    assert {d["_id"]: d for d in db[merged].find()} == {d["_id"]: d for d in db[alone].find()}
    db[merged].drop()
    db[alone].drop()
