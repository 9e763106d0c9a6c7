"""Repository: envelopes, chain, expected versions, upcasting (with the in-memory store)."""
from datetime import datetime, timezone

import pytest

from shared.application import CommandContext, FixedClock, Repository, StreamNotFound, VersionMismatch
from shared.domain import Aggregate
from shared.envelope import Actor, verify_chain
from shared.eventstore import ConcurrencyError, InMemoryEventStore
from shared.upcasting import Upcasters


class Counter(Aggregate):
    stream_type = "counter"

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.total = 0

    def add(self, n):
        return [self._emit("counter.added", {"n": n})]

    def when_counter_added(self, data):
        self.total += data["n"]


CTX = CommandContext(Actor("u", "admin"), correlation_id="corr-1")


@pytest.fixture
def repo():
    return Repository(InMemoryEventStore(), Counter, FixedClock(datetime(2025, 5, 1, tzinfo=timezone.utc)))


def test_save_then_load_folds_the_same_state_and_chains_hashes(repo):
    counter = Counter("counter-1")
    repo.save(counter, counter.add(2) + counter.add(3), CTX)
    loaded = repo.load("counter-1")
    loaded_events = repo.store.load("counter-1")
    repo.save(loaded, loaded.add(5), CTX)
    assert repo.load("counter-1").total == 10
    events = repo.store.load("counter-1")
    assert [e["version"] for e in events] == [1, 2, 3]
    assert verify_chain(events, "counter-1") == []
    assert events[2]["prev_hash"] == loaded_events[-1]["hash"]
    assert all(e["correlation_id"] == "corr-1" for e in events)


def test_one_command_is_one_commit(repo):
    counter = Counter("counter-1")
    repo.save(counter, counter.add(1) + counter.add(1), CTX)
    assert len(repo.store.unpublished()) == 1


def test_if_match_mismatch_raises(repo):
    counter = Counter("counter-1")
    repo.save(counter, counter.add(1), CTX)
    with pytest.raises(VersionMismatch) as info:
        repo.load("counter-1", expected_version=3)
    assert info.value.current == 1


def test_concurrent_writers_one_wins(repo):
    counter = Counter("counter-1")
    repo.save(counter, counter.add(1), CTX)
    a, b = repo.load("counter-1"), repo.load("counter-1")
    repo.save(a, a.add(1), CTX)
    with pytest.raises(ConcurrencyError):
        repo.save(b, b.add(1), CTX)
    assert repo.load("counter-1").total == 2


def test_missing_stream(repo):
    with pytest.raises(StreamNotFound):
        repo.load("counter-nope")


def test_as_of_version(repo):
    counter = Counter("counter-1")
    repo.save(counter, counter.add(1) + counter.add(10), CTX)
    assert repo.load("counter-1", to_version=1).total == 1


def test_upcaster_lifts_old_events_on_read_without_touching_the_store():
    upcasters = Upcasters()

    @upcasters.register("counter.added", 1)
    def v1_to_v2(data):
        return {"n": data["amount"]}

    store = InMemoryEventStore()
    old = Repository(store, Counter)
    counter = Counter("counter-1")
    event = counter._emit("counter.added", {"n": 0})
    event.data.clear()  # store it under the old (schema version 1) shape
    event.data["amount"] = 7
    old.save(counter, [event], CTX)
    assert Repository(store, Counter, upcasters=upcasters).load("counter-1").total == 7
    assert store.load("counter-1")[0]["data"] == {"amount": 7}
    assert store.load("counter-1")[0]["schema_version"] == 1
