"""One contract per port, run against the in-memory fake AND the real adapter (FerretDB, Kafka, HTTP)."""
import dataclasses
import threading
from datetime import datetime, timezone

import pytest
from kafka import KafkaConsumer
from werkzeug.serving import make_server

from shared.application import CommandContext, FixedClock, Repository, new_stream_id
from shared.envelope import Actor, compute_hash
from shared.eventstore import ConcurrencyError, InMemoryEventStore
from shared.http import create_service_app
from shared.idempotency import InMemoryIdempotencyStore, MongoIdempotencyStore, StoredResponse
from shared.kafka import KafkaPublisher, decode, ensure_topics
from shared.messaging import InMemoryPublisher, InMemoryStreamSource, PublishError
from shared.mongo_eventstore import MongoEventStore
from shared.readmodel import UnitOfWork
from shared.relay import InMemoryLease, MongoLease
from shared.streams import HttpStreamSource, streams_blueprint
from shared.uniqueness import InMemoryUniqueKeys, MongoUniqueKeys
from tests.support import wait_until

from services.evaluation.agreement_register import (
    AgreementFacts, InMemoryAgreementRegister, MongoAgreementRegister,
)
from services.evaluation.projections.agreements import COLLECTION as AGREEMENTS, AgreementsProjection
from services.evaluation.read_model_pointer import ReadModelPointer, generation_names
from services.evaluation.vocabulary import EVALUABLE, AgreementStatus
from services.partners.domain import Partner

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


# ---------------------------------------------------------------- Publisher (InMemoryPublisher, KafkaPublisher)

class MemoryPublishing:
    """The fake publisher and how a test reads back what it published."""

    def __init__(self):
        self.publisher = InMemoryPublisher()

    def topic(self, name: str) -> str:
        return name

    def read(self, topic: str, count: int) -> list[tuple[str, dict]]:
        return self.publisher.messages(topic)

    def unreachable(self) -> InMemoryPublisher:
        down = InMemoryPublisher()
        down.reachable = False
        return down


class KafkaPublishing:
    """KafkaPublisher on the test broker, read back with a plain consumer."""

    def __init__(self, settings):
        self.settings = settings
        self.publisher = KafkaPublisher(settings, delivery_timeout=5)

    def topic(self, name: str) -> str:
        topic = self.settings.topic(name)
        ensure_topics(self.settings, [topic])
        return topic

    def read(self, topic: str, count: int) -> list[tuple[str, dict]]:
        consumer = KafkaConsumer(topic, bootstrap_servers=self.settings.kafka_bootstrap,
                                 auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=500)
        got: list[tuple[str, dict]] = []
        try:
            wait_until(lambda: got.extend((m.key.decode(), decode(m.value)) for m in consumer) or len(got) >= count,
                       30, what=f"{count} messages on {topic}")
        finally:
            consumer.close()
        return got

    def unreachable(self) -> KafkaPublisher:
        # Nothing listens on port 1: the producer never finds a broker.
        return KafkaPublisher(dataclasses.replace(self.settings, kafka_bootstrap="127.0.0.1:1"), delivery_timeout=2)

    def close(self) -> None:
        self.publisher.close()


@pytest.fixture(params=["memory", "kafka"])
def publishing(request):
    if request.param == "memory":
        yield MemoryPublishing()
        return
    harness = KafkaPublishing(request.getfixturevalue("settings"))
    yield harness
    harness.close()


def envelope(stream_id: str, version: int) -> dict:
    return {"event_id": f"{stream_id}-{version}", "stream_id": stream_id, "version": version,
            "data": {"kota": "Sungai Penuh", "n": version}}


class TestPublisherContract:
    def test_messages_of_one_key_arrive_in_order_and_unchanged(self, publishing):
        topic = publishing.topic("contract")
        batch = [(topic, f"s-{i % 3}", envelope(f"s-{i % 3}", i // 3 + 1)) for i in range(12)]
        publishing.publisher.publish(batch[:5])
        publishing.publisher.publish(batch[5:])
        got = publishing.read(topic, len(batch))
        assert len(got) == len(batch)
        for key in ("s-0", "s-1", "s-2"):
            assert [e for k, e in got if k == key] == [e for _, k, e in batch if k == key]

    def test_a_batch_that_cannot_reach_the_broker_fails_as_a_whole(self, publishing):
        down = publishing.unreachable()
        topic = publishing.topic("contract-down")
        with pytest.raises(PublishError) as failed:
            down.publish([(topic, "s-0", envelope("s-0", 1)), (topic, "s-1", envelope("s-1", 1))])
        assert failed.value.failed == {0, 1}


# ---------------------------------------------------------------- StreamSource (InMemoryStreamSource, HttpStreamSource)

def partner_stream() -> list[dict]:
    """A real partner stream (registered, verified, deactivated), sealed as the partners service seals it."""
    store = InMemoryEventStore()
    repository = Repository(store, Partner, FixedClock(NOW))
    ctx = CommandContext(Actor("sari", "kerjasama"))
    profile = {"kind": "daerah_lain", "name": "Kota Jambi", "region_code": "15.71"}
    partner, new_events = Partner.register(new_stream_id(Partner.stream_type), profile=profile)
    repository.save(partner, new_events, ctx)
    repository.save(partner, partner.verify(note="ok"), ctx)
    repository.save(partner, partner.deactivate(reason="berakhir"), ctx)
    return store.load(partner.stream_id)


class MemoryStreams:
    def __init__(self):
        self.source = InMemoryStreamSource()

    def given(self, envelopes: list[dict]) -> None:
        self.source.add(envelopes)


class HttpStreams:
    """HttpStreamSource against the stream API of a Flask app served over HTTP, on MongoEventStore."""

    def __init__(self, settings, db):
        self.store = MongoEventStore(db)
        self.store.ensure_indexes()
        app, api = create_service_app("partners", settings, title="streams under test")
        api.register_blueprint(streams_blueprint(lambda: self.store))
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        url = f"http://127.0.0.1:{self.server.server_port}"
        self.source = HttpStreamSource(dataclasses.replace(settings, partners_url=url))

    def given(self, envelopes: list[dict]) -> None:
        self.store.append(envelopes[0]["stream_id"], envelopes[0]["stream_type"], 0, envelopes, NOW)

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join()


@pytest.fixture(params=["memory", "http"])
def streams(request):
    if request.param == "memory":
        yield MemoryStreams()
        return
    harness = HttpStreams(request.getfixturevalue("settings"), request.getfixturevalue("db"))
    yield harness
    harness.close()


class TestStreamSourceContract:
    def test_a_range_of_versions_comes_back_as_stored(self, streams):
        stored = partner_stream()
        streams.given(stored)
        sid = stored[0]["stream_id"]
        assert streams.source.events(sid, "partner", 1, 3) == stored
        middle = streams.source.events(sid, "partner", 2, 2)
        assert middle == [stored[1]] and compute_hash(middle[0]) == middle[0]["hash"]

    def test_a_range_past_the_end_gives_what_exists(self, streams):
        stored = partner_stream()
        streams.given(stored)
        assert [e["version"] for e in streams.source.events(stored[0]["stream_id"], "partner", 2, 9)] == [2, 3]

    def test_a_stream_the_owner_does_not_have_is_an_error(self, streams):
        streams.given(partner_stream())
        with pytest.raises(Exception):  # the consumer runner parks the event and retries later
            streams.source.events(new_stream_id("partner"), "partner", 1, 2)


# ---------------------------------------------------------------- AgreementRegister (in memory, on the read model)

class MemoryRegister:
    def __init__(self):
        self.register = InMemoryAgreementRegister()

    def drafted(self, agreement_id: str, lead_opd: str) -> None:
        self.register.record(agreement_id, AgreementStatus.DRAFT, lead_opd)

    def signed(self, agreement_id: str) -> None:
        facts = self.register.lookup(agreement_id)
        self.register.record(agreement_id, AgreementStatus.SIGNED, facts.lead_opd)


class MongoRegister:
    """MongoAgreementRegister over the live read model, filled by the agreements projection itself."""

    def __init__(self, mongo, settings):
        self.readside = ReadModelPointer(mongo, settings)
        self.register = MongoAgreementRegister(self.readside.db)
        self.projection = AgreementsProjection()
        self.projection.setup(self.readside.db())

    def _apply(self, agreement_id: str, version: int, event_type: str, data: dict) -> None:
        uow = UnitOfWork(self.readside.db())
        self.projection.apply({"event_type": event_type, "stream_id": agreement_id, "stream_type": "agreement",
                               "version": version, "occurred_at": "2025-03-01T08:00:00.000000Z", "data": data}, uow)
        uow.flush()

    def drafted(self, agreement_id: str, lead_opd: str) -> None:
        self._apply(agreement_id, 1, "agreement.drafted", {
            "category": "KSDD", "document_kind": "PKS", "partner_ids": [], "title": "PKS Pengelolaan Sampah",
            "lead_opd": lead_opd, "start_date": "2025-01-01", "end_date": "2027-12-31"})

    def signed(self, agreement_id: str) -> None:
        self._apply(agreement_id, 2, "agreement.signed", {"signed_on": "2025-02-01"})

    def close(self) -> None:
        self.readside.client.drop_database(self.readside.db().name)


@pytest.fixture(params=["memory", "mongo"])
def agreements(request):
    if request.param == "memory":
        yield MemoryRegister()
        return
    harness = MongoRegister(request.getfixturevalue("mongo"), request.getfixturevalue("settings"))
    yield harness
    harness.close()


class TestAgreementRegisterContract:
    def test_an_unknown_agreement_is_none(self, agreements):
        agreements.drafted("agreement-known", "DINAS-PUPR")
        assert agreements.register.lookup("agreement-unknown") is None

    def test_the_status_and_lead_opd_follow_the_agreement(self, agreements):
        agreements.drafted("agreement-1", "DINAS-PUPR")
        assert agreements.register.lookup("agreement-1") == AgreementFacts(
            agreement_id="agreement-1", status=AgreementStatus.DRAFT, lead_opd="DINAS-PUPR")
        agreements.signed("agreement-1")
        facts = agreements.register.lookup("agreement-1")
        assert facts.status == AgreementStatus.SIGNED and facts.status in EVALUABLE
        assert facts.lead_opd == "DINAS-PUPR"


def test_the_mongo_register_follows_a_rebuild_switch(mongo, settings):
    """A rebuild switches the live read model; the register reads the new one without a restart."""
    readside = ReadModelPointer(mongo, settings)
    register = MongoAgreementRegister(readside.db)
    readside.db()[AGREEMENTS].insert_one({"_id": "agreement-1", "status": "SIGNED", "lead_opd": "DINAS-PUPR"})
    database, group = generation_names(settings, 1)
    mongo[database][AGREEMENTS].insert_one({"_id": "agreement-1", "status": "TERMINATED", "lead_opd": "DINAS-PUPR"})
    try:
        assert register.lookup("agreement-1").status == "SIGNED"
        readside.switch(1, database, group)
        assert register.lookup("agreement-1").status == "TERMINATED"
    finally:
        mongo.drop_database(database)
        mongo.drop_database(generation_names(settings, 0)[0])


# ---------------------------------------------------------------- UniqueKeys, further

def test_unique_keys_release_only_by_the_owner(keys):
    live = {"s1", "s2"}.__contains__
    assert keys.claim("nib:1234567890123", "s1", live) is None
    keys.release("nib:1234567890123", "s2")                             # not s2's to release
    assert keys.claim("nib:1234567890123", "s2", live) == "s1"


def test_unique_keys_concurrent_claims_have_one_winner(keys):
    live = {f"s{i}" for i in range(8)}.__contains__
    results: dict[str, str | None] = {}
    barrier = threading.Barrier(8)

    def claim(owner):
        barrier.wait()
        results[owner] = keys.claim("region:15.05", owner, live)

    threads = [threading.Thread(target=claim, args=(f"s{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [owner for owner, holder in results.items() if holder is None]
    assert len(winners) == 1
    assert all(holder == winners[0] for owner, holder in results.items() if owner != winners[0])
