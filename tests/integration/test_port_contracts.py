"""One contract per port, run against the in-memory fake AND the real adapter (FerretDB, Kafka, HTTP)."""
import dataclasses
import hashlib
import io
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable

import pytest
from bson import Binary
from kafka import KafkaConsumer
from werkzeug.serving import make_server

from shared.application import CommandContext, FixedClock, Repository, new_stream_id
from shared.domain import DomainError, Refusal
from shared.envelope import Actor, compute_hash
from shared.eventstore import ConcurrencyError, InMemoryEventStore
from shared.http import create_service_app
from shared.idempotency import (InMemoryIdempotencyStore, KeyedCommand, KeyLost, MongoIdempotencyStore,
                                StoredResponse, running_under_key)
from shared.kafka import KafkaPublisher, decode, ensure_topics
from shared.messaging import InMemoryPublisher, InMemoryStreamSource, PublishError
from shared.mongo_eventstore import MongoEventStore
from shared.snapshots import InMemorySnapshotStore, MongoSnapshotStore, Snapshot
from shared.readmodel import UnitOfWork
from shared.relay import InMemoryLease, MongoLease
from shared.streams import HttpStreamSource, streams_blueprint
from shared.uniqueness import InMemoryUniqueKeys, MongoUniqueKeys
from tests.support import wait_until

from services.agreements.files import GridFSAttachmentStore
from services.agreements.evaluation_replica import EvaluationReplicaProjection, ReplicaEvaluationDirectory
from services.agreements.extension_index import MongoExtensionIndex
from services.agreements.partner_replica import PartnerReplicaProjection, ReplicaPartnerDirectory
from services.agreements.ports import (
    InMemoryAttachmentStore, InMemoryEvaluationDirectory, InMemoryExtensionIndex, InMemoryPartnerDirectory, TooLarge,
)
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


@pytest.fixture(params=["memory", "mongo", "mongo-indexed", "mongo-postgresql"])
def store(request, settings):
    if request.param == "memory":
        return InMemoryEventStore()
    if request.param == "mongo-postgresql":  # FerretDB's other backend keeps the same contract
        db = request.getfixturevalue("postgresql_ferretdb")[settings.database("test")]
    else:
        db = request.getfixturevalue("db")
    # "mongo": the access path chosen for this server (primary-key walks on FerretDB);
    # "mongo-indexed": the one-query path MongoDB takes, forced (FerretDB answers it, scanning).
    store = MongoEventStore(db, indexed_reads=True if request.param == "mongo-indexed" else None)
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

    def test_commits_from_a_commit_boundary_to_the_end(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1), ev("x-1", 2)], NOW)
        store.append("x-1", "x", 2, [ev("x-1", 3)], NOW)
        store.append("x-1", "x", 3, [ev("x-1", 4), ev("x-1", 5), ev("x-1", 6)], NOW)
        store.append("x-2", "x", 0, [ev("x-2", 1)], NOW)
        assert [(c.first_version, c.last_version) for c in store.commits_from("x-1")] == [(1, 2), (3, 3), (4, 6)]
        assert [c.id for c in store.commits_from("x-1", 3)] == ["x-1:3", "x-1:4"]
        assert [e["version"] for c in store.commits_from("x-1", 4) for e in c.events] == [4, 5, 6]
        assert store.commits_from("x-1", 2) == [] and store.commits_from("x-1", 7) == []
        assert store.commits_from("x-none") == []

    def test_the_last_commit_hint_never_lets_a_stale_append_through(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1), ev("x-1", 2)], NOW)
        store.append("x-1", "x", 2, [ev("x-1", 3)], NOW, last_commit="x-1:1")
        with pytest.raises(ConcurrencyError):  # the hinted commit is no longer the last one
            store.append("x-1", "x", 2, [ev("x-1", 3, other=True)], NOW, last_commit="x-1:1")
        with pytest.raises(ConcurrencyError):  # a wrong hint: the expected version is inside a commit
            store.append("x-1", "x", 1, [ev("x-1", 2)], NOW, last_commit="x-1:1")
        with pytest.raises(ConcurrencyError):  # a hint of another stream is checked too
            store.append("x-1", "x", 1, [ev("x-1", 2)], NOW, last_commit="x-2:1")
        store.append("x-1", "x", 3, [ev("x-1", 4)], NOW, last_commit="x-1:nonsense")
        assert [e["version"] for e in store.load("x-1")] == [1, 2, 3, 4]
        assert store.load("x-1")[2]["data"] == {}

    def test_scan_reads_every_commit_once_with_its_outbox_flag(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1)], NOW)
        store.append("x-2", "x", 0, [ev("x-2", 1), ev("x-2", 2)], NOW)
        store.append("x-1", "x", 1, [ev("x-1", 2)], NOW)
        store.mark_published(["x-2:1"])
        seen = {c.id: (c.published, [e["version"] for e in c.events]) for c in store.scan()}
        assert seen == {"x-1:1": (False, [1]), "x-2:1": (True, [1, 2]), "x-1:2": (False, [2])}

    def test_stream_ids(self, store):
        store.append("x-1", "x", 0, [ev("x-1", 1)], NOW)
        store.append("x-2", "x", 0, [ev("x-2", 1)], NOW)
        store.append("x-1", "x", 1, [ev("x-1", 2)], NOW)
        assert sorted(store.stream_ids()) == ["x-1", "x-2"]


@pytest.fixture(params=["memory", "mongo"])
def snapshots(request):
    return InMemorySnapshotStore() if request.param == "memory" else MongoSnapshotStore(request.getfixturevalue("db"))


class TestSnapshotStoreContract:
    @staticmethod
    def snap(version, fold="f1"):
        return Snapshot("x-1", version, version, f"h{version}", fold, f"[{version}]", f"d{version}")

    def test_keeps_the_latest_of_a_fold_and_any_of_a_new_fold(self, snapshots):
        assert snapshots.get("x-1") is None
        snapshots.put(self.snap(8))
        assert snapshots.get("x-1") == self.snap(8)
        snapshots.put(self.snap(4))  # a slower command's older snapshot does not replace it
        assert snapshots.get("x-1") == self.snap(8)
        snapshots.put(self.snap(12))
        assert snapshots.get("x-1") == self.snap(12)
        snapshots.put(self.snap(3, fold="f2"))  # the fold changed: the new code's snapshot wins
        assert snapshots.get("x-1") == self.snap(3, fold="f2")


@pytest.fixture(params=["memory", "mongo"])
def idem(request):
    if request.param == "memory":
        return InMemoryIdempotencyStore(InMemoryEventStore())
    db = request.getfixturevalue("db")
    events = MongoEventStore(db)
    events.ensure_indexes()
    return MongoIdempotencyStore(db, events)


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

    def test_concurrent_takeovers_of_a_stale_claim_let_exactly_one_in(self, keys):
        # a claim whose append never happened, long ago; then six registrations race to take it over
        assert keys.claim("nib:0220001", "crashed", lambda _: None, now=lambda: 100.0) is None
        results, start = [], threading.Barrier(6)

        def take(owner):
            start.wait()
            results.append((owner, keys.claim("nib:0220001", owner, lambda _: None, pending_for=30,
                                              now=lambda: 200.0)))
        threads = [threading.Thread(target=take, args=(f"s{i}",)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [owner for owner, holder in results if holder is None]
        assert len(winners) == 1, results
        assert {holder for _, holder in results if holder is not None} == set(winners)
        keys.release("nib:0220001", winners[0])
        assert keys.claim("nib:0220001", "after-release", lambda _: True) is None

    def test_a_fresh_claim_counts_while_its_append_may_be_in_flight(self, keys):
        clock = iter([100.0, 100.5, 131.0]).__next__
        nothing_appended = lambda _: None  # noqa: E731  (None: no such stream, perhaps not yet)
        assert keys.claim("evaluation:a:2026:TW1:opd", "e1", nothing_appended, pending_for=30, now=clock) is None
        # half a second later e1 may still be appending: a second claimant is refused, not let in
        assert keys.claim("evaluation:a:2026:TW1:opd", "e2", nothing_appended, pending_for=30, now=clock) == "e1"
        # thirty seconds on, e1's append evidently failed: its claim is taken over
        assert keys.claim("evaluation:a:2026:TW1:opd", "e2", nothing_appended, pending_for=30, now=clock) is None
        # a holder that exists but gave the key up (False) is taken over at once, pending or not
        assert keys.claim("evaluation:a:2026:TW1:opd", "e3", lambda _: False, pending_for=30, now=lambda: 131.5) \
            is None


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

    def test_what_was_published_is_read_back_from_offsets(self, publishing):
        topic = publishing.topic("contract-back")
        present, start = publishing.publisher.published_since(topic, {})
        assert present == set()  # no offsets given: counted from the end
        acked = publishing.publisher.publish([(topic, "s-0", envelope("s-0", 1)), (topic, "s-1", envelope("s-1", 1))])
        present, end = publishing.publisher.published_since(topic, start)
        assert present == {("s-0", 1), ("s-1", 1)}
        assert acked and all(end[p] >= offset for p, offset in acked.items())
        assert publishing.publisher.published_since(topic, end)[0] == set()


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
        self.register.record(agreement_id, AgreementStatus.DRAFT, lead_opd, date(2025, 1, 1), date(2027, 12, 31))

    def signed(self, agreement_id: str) -> None:
        facts = self.register.lookup(agreement_id)
        self.register.record(agreement_id, AgreementStatus.SIGNED, facts.lead_opd, facts.start_date, facts.end_date)

    def terminated(self, agreement_id: str, on: str) -> None:
        facts = self.register.lookup(agreement_id)
        self.register.record(agreement_id, AgreementStatus.TERMINATED, facts.lead_opd, facts.start_date,
                             facts.end_date, date.fromisoformat(on))


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

    def terminated(self, agreement_id: str, on: str) -> None:
        self._apply(agreement_id, 3, "agreement.terminated", {"reason": "Diakhiri", "terminated_on": on})

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
            agreement_id="agreement-1", status=AgreementStatus.DRAFT, lead_opd="DINAS-PUPR",
            start_date=date(2025, 1, 1), end_date=date(2027, 12, 31))
        agreements.signed("agreement-1")
        facts = agreements.register.lookup("agreement-1")
        assert facts.status == AgreementStatus.SIGNED and facts.status in EVALUABLE
        assert facts.lead_opd == "DINAS-PUPR" and facts.last_day == date(2027, 12, 31)

    def test_the_term_ends_at_a_termination(self, agreements):
        agreements.drafted("agreement-1", "DINAS-PUPR")
        agreements.signed("agreement-1")
        agreements.terminated("agreement-1", "2026-05-20")
        facts = agreements.register.lookup("agreement-1")
        assert (facts.status, facts.terminated_on, facts.last_day) == (
            AgreementStatus.TERMINATED, date(2026, 5, 20), date(2026, 5, 20))
        assert facts.start_date == date(2025, 1, 1) and facts.end_date == date(2027, 12, 31)


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


# --- the agreements service's ports --------------------------------------------------------------

class ReplicaFed:
    """Gives the real ``ReplicaPartnerDirectory`` its partners the way production does: partner
    events applied by the replica's projection (so the contract also holds the projection's shape)."""

    def __init__(self, db):
        self.db, self.versions, self.state = db, {}, {}

    def __call__(self, id, name, kind, status="verified", country="ID", region_code=None):
        if id not in self.versions:
            self._apply(id, "partner.registered", {"name": name, "kind": kind, "country": country,
                                                   "region_code": region_code, "contacts": []})
            self.state[id] = {"name": name, "country": country, "status": "registered"}
        old = self.state[id]
        if (name, country) != (old["name"], old["country"]):
            self._apply(id, "partner.profile_updated", {"changes": {"name": name, "country": country}})
        if status != old["status"]:
            event_type = {"verified": "partner.verified", "deactivated": "partner.deactivated",
                          "registered": "partner.verification_revoked"}[status]
            self._apply(id, event_type, {"reason": "uji"} if status != "verified" else {})
        self.state[id] = {"name": name, "country": country, "status": status}

    def _apply(self, stream_id, event_type, data):
        self.versions[stream_id] = self.versions.get(stream_id, 0) + 1
        uow = UnitOfWork(self.db)
        PartnerReplicaProjection().apply({"event_type": event_type, "stream_id": stream_id,
                                          "version": self.versions[stream_id], "data": data}, uow)
        uow.flush()


@pytest.fixture(params=["memory", "mongo"])
def directory(request):
    """``(directory, given)``: ``given(id, name, kind, status, country)`` makes a partner known as such."""
    if request.param == "memory":
        fake = InMemoryPartnerDirectory()
        return fake, fake.add
    db = request.getfixturevalue("db")
    return ReplicaPartnerDirectory(db), ReplicaFed(db)


class TestPartnerDirectoryContract:
    def test_views_in_the_order_asked_each_once_and_the_missing(self, directory):
        partners, given = directory
        given("partner-a", "Kota Jambi", "daerah_lain")
        given("partner-b", "PT Angkasa", "pihak_ketiga", status="registered")
        views, missing = partners.views(["partner-b", "partner-x", "partner-a", "partner-b", "partner-y"])
        assert [v["id"] for v in views] == ["partner-b", "partner-a"] and missing == ["partner-x", "partner-y"]
        assert partners.views([]) == ([], [])

    def test_a_view_holds_what_the_rules_need(self, directory):
        partners, given = directory
        given("partner-my", "Kerajaan Negeri Johor", "pemda_luar_negeri", country="MY")
        given("partner-off", "CV Lama", "pihak_ketiga", status="deactivated")
        given("partner-kota", "Kota Jambi", "daerah_lain", region_code="15.71")  # the KSDD wajib border rule
        views, _ = partners.views(["partner-my", "partner-off", "partner-kota"])
        assert views == [
            {"id": "partner-my", "name": "Kerajaan Negeri Johor", "kind": "pemda_luar_negeri", "status": "verified",
             "country": "MY", "region_code": None},
            {"id": "partner-off", "name": "CV Lama", "kind": "pihak_ketiga", "status": "deactivated",
             "country": "ID", "region_code": None},
            {"id": "partner-kota", "name": "Kota Jambi", "kind": "daerah_lain", "status": "verified",
             "country": "ID", "region_code": "15.71"},
        ]

    def test_the_latest_state_is_seen(self, directory):
        partners, given = directory
        given("partner-a", "Kota Jambi", "daerah_lain", status="registered")
        given("partner-a", "Pemerintah Kota Jambi", "daerah_lain", status="verified")
        assert partners.views(["partner-a"])[0][0]["name"] == "Pemerintah Kota Jambi"
        given("partner-a", "Pemerintah Kota Jambi", "daerah_lain", status="registered")
        assert partners.views(["partner-a"])[0][0]["status"] == "registered"


class EvaluationReplicaFed:
    """Gives the real ``ReplicaEvaluationDirectory`` its evaluations the way production does: the
    evaluation service's events applied by the replica's projection."""

    def __init__(self, db):
        self.db, self.versions = db, {}

    def __call__(self, id, agreement_id, period, year, status="FINALIZED", overall=80.0, rating=4,
                 finalized_at="2025-01-01T00:00:00.000000Z"):
        if id not in self.versions:
            self._apply(id, "evaluation.scheduled", {"agreement_id": agreement_id, "agreement_lead_opd": "DISHUB",
                                                     "period": period, "year": year, "due_date": "2027-12-31",
                                                     "assessor_kind": "kerjasama", "rubric_id": "monev",
                                                     "rubric_version": 1})
        if status == "FINALIZED":
            self._apply(id, "evaluation.answers_saved", {"answers": {}})
            self._apply(id, "evaluation.submitted", {"submission_number": 1})
            self._apply(id, "evaluation.finalized", {"overall": overall, "rating": rating, "rubric_id": "monev"},
                        occurred_at=finalized_at)
        elif status == "CANCELLED":
            self._apply(id, "evaluation.cancelled", {"reason": "uji", "from_status": "SCHEDULED"})

    def _apply(self, stream_id, event_type, data, occurred_at="2024-12-01T00:00:00.000000Z"):
        self.versions[stream_id] = self.versions.get(stream_id, 0) + 1
        if not EvaluationReplicaProjection().handles(event_type):
            return  # the runner passes the projection only what it handles
        uow = UnitOfWork(self.db)
        EvaluationReplicaProjection().apply({"event_type": event_type, "stream_id": stream_id, "data": data,
                                             "version": self.versions[stream_id], "occurred_at": occurred_at}, uow)
        uow.flush()


@pytest.fixture(params=["memory", "mongo"])
def evaluations(request):
    """``(directory, given)``: ``given(id, agreement_id, period, year, status, …)`` makes an evaluation known."""
    if request.param == "memory":
        fake = InMemoryEvaluationDirectory()
        return fake, fake.add
    db = request.getfixturevalue("db")
    EvaluationReplicaProjection().setup(db)
    return ReplicaEvaluationDirectory(db), EvaluationReplicaFed(db)


class TestEvaluationDirectoryContract:
    def test_only_the_finalized_evaluations_of_the_agreement_and_period(self, evaluations):
        directory, given = evaluations
        given("evaluation-1", "agreement-a", "AKHIR", 2027, finalized_at="2027-12-02T00:00:00.000000Z")
        given("evaluation-2", "agreement-a", "TAHUNAN", 2026)
        given("evaluation-3", "agreement-b", "AKHIR", 2027)
        given("evaluation-4", "agreement-a", "AKHIR", 2027, status="SCHEDULED")
        given("evaluation-5", "agreement-a", "AKHIR", 2027, status="CANCELLED")
        given("evaluation-6", "agreement-a", "AKHIR", 2028, overall=61.98, rating=3,
              finalized_at="2027-12-01T00:00:00.000000Z")
        assert [e["id"] for e in directory.finalized("agreement-a", "AKHIR")] == ["evaluation-6", "evaluation-1"]
        assert directory.finalized("agreement-a", "AKHIR")[0] == {
            "id": "evaluation-6", "agreement_id": "agreement-a", "period": "AKHIR", "year": 2028, "overall": 61.98,
            "rating": 3, "finalized_at": "2027-12-01T00:00:00.000000Z"}
        assert directory.finalized("agreement-x", "AKHIR") == []


@pytest.fixture(params=["memory", "mongo"])
def extension_index(request):
    if request.param == "memory":
        return InMemoryExtensionIndex()
    return MongoExtensionIndex(request.getfixturevalue("db"))


class TestExtensionIndexContract:
    def test_each_generation_is_claimed_once_and_the_latest_is_the_claim(self, extension_index):
        index, at = extension_index, NOW
        assert index.get("agreement-old") is None
        assert index.insert("agreement-old", 1, "agreement-ext-1", at)
        assert not index.insert("agreement-old", 1, "agreement-ext-2", at + timedelta(seconds=1))
        assert index.get("agreement-old") == {"extension_id": "agreement-ext-1", "claimed_at": at, "generation": 1}
        assert index.insert("agreement-old", 2, "agreement-ext-2", at + timedelta(minutes=5))
        assert index.get("agreement-old") == {"extension_id": "agreement-ext-2", "claimed_at": at + timedelta(minutes=5),
                                              "generation": 2}
        assert index.get("agreement-other") is None
        index.release("agreement-old", "agreement-ext-2")  # its draft was not stored: the claim goes back
        assert index.get("agreement-old")["extension_id"] == "agreement-ext-1"
        index.release("agreement-old", "agreement-ext-9")  # never claimed: nothing changes
        index.release("agreement-old", "agreement-ext-1")
        assert index.get("agreement-old") is None

    def test_of_concurrent_claims_of_one_generation_one_wins(self, extension_index):
        index = extension_index
        index.insert("agreement-old", 1, "agreement-ghost", NOW)
        barrier, won = threading.Barrier(6), []

        def race(n):
            barrier.wait()
            if index.insert("agreement-old", 2, f"agreement-{n}", NOW):
                won.append(f"agreement-{n}")
        threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1 and index.get("agreement-old")["extension_id"] == won[0]


@dataclass
class Attachments:
    store: object
    tamper: Callable[[str, bytes], None]   # rewrite a file's bytes behind the store's back
    count: Callable[[], int]               # files held


@pytest.fixture(params=["memory", "mongo"])
def attachments(request):
    if request.param == "memory":
        fake = InMemoryAttachmentStore(max_bytes=1024 * 1024)
        return Attachments(fake, fake.tamper, lambda: len(fake.files))
    db = request.getfixturevalue("db")

    def tamper(file_id, content):
        db["attachments.chunks"].update_one({"files_id": file_id, "n": 0}, {"$set": {"data": Binary(content)}})

    return Attachments(GridFSAttachmentStore(db, 1024 * 1024), tamper,
                       lambda: db["attachments.files"].count_documents({}))


class TestAttachmentStoreContract:
    def test_pending_uploads_belong_to_their_uploader_until_linked_and_expire_unless_linked(self, attachments):
        store = attachments.store
        before = datetime.now(timezone.utc) - timedelta(seconds=5)
        loose = store.put(io.BytesIO(b"foto"), "foto.jpg", "image/jpeg", "officer-1", pending=True)
        cited = store.put(io.BytesIO(b"rute"), "rute.jpg", "image/jpeg", "officer-1", pending=True)
        document = store.put(io.BytesIO(b"%PDF"), "kak.pdf", "application/pdf", "siti")
        provenance = store.provenance(loose["file_id"])
        assert provenance["uploaded_by"] == "officer-1" and provenance["pending"] is True
        assert provenance["agreement_id"] is None and provenance["uploaded_at"] >= before
        assert store.pending_count("officer-1") == 2 and store.pending_count("siti") == 0
        store.link(cited["file_id"], "agreement-1")
        assert store.provenance(cited["file_id"])["agreement_id"] == "agreement-1"
        assert store.pending_count("officer-1") == 1
        assert store.expire_pending(before) == 0  # none older than that
        assert store.expire_pending(datetime.now(timezone.utc) + timedelta(seconds=5)) == 1
        assert store.meta(loose["file_id"]) is None and store.provenance(loose["file_id"]) is None
        assert store.meta(cited["file_id"]) is not None and store.meta(document["file_id"]) is not None

    def test_put_then_meta_and_verified_bytes(self, attachments):
        store = attachments.store
        content = bytes(range(256)) * 2400  # beyond one GridFS chunk
        meta = store.put(io.BytesIO(content), "Naskah KB – Muaro Jambi.pdf", "application/pdf", "siti")
        assert meta == {"file_id": meta["file_id"], "filename": "Naskah KB – Muaro Jambi.pdf", "size": len(content),
                        "media_type": "application/pdf", "sha256": hashlib.sha256(content).hexdigest()}
        assert store.meta(meta["file_id"]) == meta
        stored = store.get_verified(meta["file_id"], meta["sha256"])
        assert stored.content == content and stored.meta == meta
        assert store.get_verified(meta["file_id"]).content == content

    def test_an_empty_file_is_a_file(self, attachments):
        meta = attachments.store.put(io.BytesIO(b""), "kosong.txt", "text/plain", "siti")
        assert meta["size"] == 0 and meta["sha256"] == hashlib.sha256(b"").hexdigest()
        assert attachments.store.get_verified(meta["file_id"]).content == b""

    def test_beyond_the_limit_is_refused_and_nothing_is_kept(self, attachments):
        with pytest.raises(TooLarge):
            attachments.store.put(io.BytesIO(b"x" * (1024 * 1024 + 1)), "besar.pdf", "application/pdf", "s")
        assert attachments.count() == 0

    def test_unknown_files(self, attachments):
        assert attachments.store.meta("file-none") is None
        with pytest.raises(DomainError) as info:
            attachments.store.get_verified("file-none")
        assert (info.value.rule, info.value.kind) == ("file_not_found", Refusal.NOT_FOUND)

    def test_bytes_that_no_longer_match_their_hash_are_refused(self, attachments):
        store = attachments.store
        meta = store.put(io.BytesIO(b"%PDF-1.7 asli!"), "kb.pdf", "application/pdf", "siti")
        with pytest.raises(DomainError) as info:
            store.get_verified(meta["file_id"], "0" * 64)  # not the hash the event recorded
        assert (info.value.rule, info.value.kind) == ("attachment_tampered", Refusal.CONFLICT)
        attachments.tamper(meta["file_id"], b"%PDF-1.7 palsu")
        with pytest.raises(DomainError) as info:
            store.get_verified(meta["file_id"], meta["sha256"])
        assert info.value.rule == "attachment_tampered"

    def test_delete_removes_and_is_idempotent(self, attachments):
        store = attachments.store
        keep = store.put(io.BytesIO(b"tetap"), "a.txt", "text/plain", "siti")
        gone = store.put(io.BytesIO(b"hapus"), "b.txt", "text/plain", "siti")
        store.delete(gone["file_id"])
        store.delete(gone["file_id"])
        store.delete("file-none")
        assert store.meta(gone["file_id"]) is None and store.meta(keep["file_id"]) == keep
        assert attachments.count() == 1
