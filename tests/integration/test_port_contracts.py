"""One contract per port, run against the in-memory fake AND the real adapter on FerretDB."""
from datetime import datetime, timezone

import pytest

from shared.eventstore import ConcurrencyError, InMemoryEventStore
from shared.idempotency import InMemoryIdempotencyStore, MongoIdempotencyStore, StoredResponse
from shared.mongo_eventstore import MongoEventStore
from shared.relay import InMemoryLease, MongoLease
from shared.uniqueness import InMemoryUniqueKeys, MongoUniqueKeys

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


def ev(stream_id, version, **data):
    return {"event_id": f"{stream_id}-{version}", "event_type": "x.happened", "stream_id": stream_id,
            "stream_type": "x", "version": version, "data": data, "hash": f"h{version}", "prev_hash": "p"}


@pytest.fixture(params=["memory", "mongo"])
def store(request):
    if request.param == "memory":
        return InMemoryEventStore()
    db = request.getfixturevalue("db")
    store = MongoEventStore(db)
    store.ensure_indexes()
    return store


class TestEventStoreContract:
    def test_append_and_load_in_order(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1), ev("x-1", 2)], NOW)
        store.append("x-1", "x", 2, [ev("x-1", 3, k="é")], NOW)
        assert [e["version"] for e in store.load("x-1")] == [1, 2, 3]
        assert store.load("x-1")[2]["data"] == {"k": "é"}
        assert [e["version"] for e in store.load("x-1", 2, 2)] == [2]
        assert store.version("x-1") == 3 and store.version("x-none") == 0
        assert store.load("x-none") == []

    def test_same_expected_version_twice_conflicts_and_stores_nothing(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1)], NOW)
        with pytest.raises(ConcurrencyError):
            store.append("x-1", "x", 0, [ev("x-1", 1, other=True)], NOW)
        assert store.load("x-1")[0]["data"] == {}

    def test_stale_expected_version_conflicts(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1), ev("x-1", 2)], NOW)
        with pytest.raises(ConcurrencyError):
            store.append("x-1", "x", 1, [ev("x-1", 2)], NOW)

    def test_malformed_append_is_refused(self, store):
        with pytest.raises(ValueError):
            store.append("x-1", "x", 0, [ev("x-1", 2)], NOW)
        with pytest.raises(ValueError):
            store.append("x-1", "x", 0, [], NOW)

    def test_outbox_lists_unpublished_commits_oldest_first(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1)], NOW)
        store.append("x-2", "x", 0, [ev("x-2", 1)], NOW.replace(minute=1))
        store.append("x-1", "x", 1, [ev("x-1", 2), ev("x-1", 3)], NOW.replace(minute=2))
        pending = store.unpublished()
        assert [(c.stream_id, c.first_version, c.last_version) for c in pending] == \
            [("x-1", 1, 1), ("x-2", 1, 1), ("x-1", 2, 3)]
        store.mark_published([pending[0].id, pending[2].id])
        assert [c.id for c in store.unpublished()] == [pending[1].id]
        assert store.unpublished_count() == 1

    def test_stream_ids(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1)], NOW)
        store.append("x-2", "x", 0, [ev("x-2", 1)], NOW)
        store.append("x-1", "x", 1, [ev("x-1", 2)], NOW)
        assert sorted(store.stream_ids()) == ["x-1", "x-2"]


@pytest.fixture(params=["memory", "mongo"])
def idem(request):
    return InMemoryIdempotencyStore() if request.param == "memory" else MongoIdempotencyStore(
        request.getfixturevalue("db"))


class TestIdempotencyContract:
    def test_first_reserves_then_replays(self, idem):
        assert idem.reserve("k", "f1").fresh
        in_progress = idem.reserve("k", "f1")
        assert not in_progress.fresh and in_progress.response is None
        idem.complete("k", StoredResponse(201, b'{"a":1}', {"ETag": '"1"'}))
        done = idem.reserve("k", "f1")
        assert not done.fresh and done.response.status == 201 and done.response.body == b'{"a":1}'
        assert not idem.reserve("k", "other").fingerprint_matches

    def test_release_allows_a_retry(self, idem):
        idem.reserve("k", "f")
        idem.release("k")
        assert idem.reserve("k", "f").fresh

    def test_stale_reservation_is_taken_over(self, idem):
        idem.stale_after = 0.0
        idem.reserve("k", "f")
        assert idem.reserve("k", "f").fresh


@pytest.fixture(params=["memory", "mongo"])
def lease_factory(request):
    if request.param == "memory":
        lease = InMemoryLease()
        return lambda: lease
    db = request.getfixturevalue("db")
    return lambda: MongoLease(db, "relay:test")


class TestLeaseContract:
    def test_one_holder_at_a_time_until_released_or_expired(self, lease_factory):
        a, b = lease_factory(), lease_factory()
        assert a.acquire("one", 30)
        assert a.acquire("one", 30)  # renewal
        assert not b.acquire("two", 30)
        a.release("one")
        assert b.acquire("two", 0.001)
        import time
        time.sleep(0.01)
        assert a.acquire("one", 30)  # two's lease expired


@pytest.fixture(params=["memory", "mongo"])
def keys(request):
    return InMemoryUniqueKeys() if request.param == "memory" else MongoUniqueKeys(request.getfixturevalue("db"))


class TestUniqueKeysContract:
    def test_claims(self, keys):
        live = {"s1"}
        exists = live.__contains__
        assert keys.claim("region:15.71", "s1", exists) is None
        assert keys.claim("region:15.71", "s1", exists) is None       # the owner again
        assert keys.claim("region:15.71", "s2", exists) == "s1"       # a live holder wins
        live.clear()                                                   # s1's append never happened
        assert keys.claim("region:15.71", "s2", exists) is None       # so the key is taken over
        keys.release("region:15.71", "s2")
        assert keys.claim("region:15.71", "s3", exists) is None
