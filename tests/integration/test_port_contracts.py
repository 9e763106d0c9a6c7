"""One contract per port, run against the in-memory fake AND the real adapter on FerretDB."""
from datetime import datetime, timezone

import pytest

from shared.eventstore import ConcurrencyError, InMemoryEventStore
from shared.idempotency import (InMemoryIdempotencyStore, KeyedCommand, KeyLost, MongoIdempotencyStore,
                                StoredResponse, running_under_key)
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

    def test_commits_remember_the_idempotency_key_they_were_made_under(self, store):
        keys = InMemoryIdempotencyStore(store)
        reservation = keys.reserve("kid-1", "f")
        store.append("x-1", "x", 0, [ev("x-1", 1)], NOW)
        with running_under_key(KeyedCommand(keys, "kid-1", reservation.owner)):
            store.append("x-1", "x", 1, [ev("x-1", 2)], NOW)
        assert [c.first_version for c in store.commits_under_key("x-1", "kid-1")] == [2]
        assert store.commits_under_key("x-1", "kid-2") == [] and store.commits_under_key("x-2", "kid-1") == []

    def test_stream_ids(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1)], NOW)
        store.append("x-2", "x", 0, [ev("x-2", 1)], NOW)
        store.append("x-1", "x", 1, [ev("x-1", 2)], NOW)
        assert sorted(store.stream_ids()) == ["x-1", "x-2"]


@pytest.fixture(params=["memory", "mongo"])
def idem(request):
    if request.param == "memory":
        return InMemoryIdempotencyStore(InMemoryEventStore())
    db = request.getfixturevalue("db")
    store = MongoIdempotencyStore(db)
    store.events.ensure_indexes()
    return store


class TestIdempotencyContract:
    def test_first_reserves_then_replays(self, idem):
        first = idem.reserve("k", "f1")
        assert first.fresh and first.owner
        in_progress = idem.reserve("k", "f1")
        assert not in_progress.fresh and in_progress.response is None
        idem.complete("k", first.owner, StoredResponse(201, b'{"a":1}', {"ETag": '"1"'}))
        done = idem.reserve("k", "f1")
        assert not done.fresh and done.response.status == 201 and done.response.body == b'{"a":1}'
        assert not idem.reserve("k", "other").fingerprint_matches

    def test_release_allows_a_retry(self, idem):
        first = idem.reserve("k", "f")
        idem.release("k", "not-the-owner")
        assert not idem.reserve("k", "f").fresh
        idem.release("k", first.owner)
        assert idem.reserve("k", "f").fresh

    def test_stale_reservation_is_taken_over_only_with_the_same_body(self, idem):
        first = idem.reserve("k", "f")
        idem.stale_after = 0.0
        other = idem.reserve("k", "another body")
        assert not other.fresh and not other.fingerprint_matches
        taken = idem.reserve("k", "f")
        assert taken.fresh and taken.owner != first.owner
        with pytest.raises(KeyLost):  # the old owner can no longer commit under the key
            idem.record_stream("k", first.owner, "x-1")
        idem.complete("k", first.owner, StoredResponse(500, b"", {}))  # ignored: not the owner
        idem.complete("k", taken.owner, StoredResponse(200, b"ok", {}))
        assert idem.reserve("k", "f").response.body == b"ok"

    def test_stale_takeover_finds_the_commit_made_under_the_key(self, idem):
        first = idem.reserve("k", "f")
        with running_under_key(KeyedCommand(idem, "k", first.owner)) as command:
            idem.events.append("x-1", "x", 0, [ev("x-1", 1), ev("x-1", 2)], NOW)
        assert [c.last_version for c in command.commits] == [2]
        idem.stale_after = 0.0
        retry = idem.reserve("k", "f")
        assert not retry.fresh and retry.owner
        assert [(c.stream_id, c.first_version, c.last_version) for c in retry.committed] == [("x-1", 1, 2)]


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

    def test_generations_fence_a_former_holder(self, lease_factory):
        a, b = lease_factory(), lease_factory()
        first = a.acquire("one", 30)
        assert a.acquire("one", 30) == first
        assert a.confirm("one", first, 30, {0: 3, 2: 7}) and b.checkpoint() == {0: 3, 2: 7}
        a.release("one")
        second = b.acquire("two", 30)
        assert second == first + 1
        assert not a.confirm("one", first, 30, {0: 99})  # the former holder cannot renew or move the checkpoint
        assert not a.confirm("two", first, 30)            # nor can a stale generation of the new owner
        assert b.checkpoint() == {0: 3, 2: 7}
        assert b.confirm("two", second, 30, {0: 4}) and a.checkpoint() == {0: 4}


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
