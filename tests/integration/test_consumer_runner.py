"""The consumer runner on the real broker and FerretDB: duplicates, gaps, poison events, crashes."""
import threading
from datetime import datetime, timezone

import pytest

from shared.consumer import DEAD_LETTERS, PARKED, POSITIONS, ConsumerRunner, Projection, StoreStreamSource
from shared.envelope import GENESIS_HASH, Actor, seal
from shared.kafka import KafkaPublisher, ensure_topics, make_consumer
from shared.metrics import Metrics
from shared.mongo_eventstore import MongoEventStore
from tests.support import wait_until

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)


def make_stream(stream_id: str, n: int, poison_at: int | None = None, hostile: dict | None = None) -> list[dict]:
    """``n`` sealed events; version ``poison_at`` refused by the handler; ``hostile``: {version: value
    the handler writes as is (so the database refuses it when the batch is flushed)}."""
    events, prev = [], GENESIS_HASH
    for version in range(1, n + 1):
        data = {"n": version, "poison": version == poison_at}
        if hostile and version in hostile:
            data["extra"] = hostile[version]
        event = seal(event_type="ledger.posted", data=data,
                     stream_id=stream_id, stream_type="ledger", version=version, prev_hash=prev,
                     occurred_at=T0, actor=Actor("t", "admin"), correlation_id="c")
        prev = event["hash"]
        events.append(event)
    return events


class LedgerProjection(Projection):
    """Appends each applied version to the stream's document; refuses poison unless cured."""

    name = "ledger"

    def __init__(self):
        self.cured = False

    def handles(self, event_type):
        return event_type == "ledger.posted"

    def apply(self, event, uow):
        if event["data"]["poison"] and not self.cured:
            raise ValueError("cannot digest this event")
        extra = {"extra": event["data"]["extra"]} if "extra" in event["data"] else {}
        uow.versioned("ledgers", event["stream_id"], event["stream_id"], event["version"], set_fields=extra,
                      push={"applied": event["version"]}, inc={"total": event["data"]["n"]})


def applied(db, sid):
    # A new document is created by one statement and filled by the next (``UnitOfWork.versioned``),
    # so a read in between sees it with nothing applied yet.
    doc = db["ledgers"].find_one({"_id": sid})
    return (doc or {}).get("applied", [])


@pytest.fixture
def harness(settings, mongo):
    read_db = mongo[settings.database("readside")]
    source_store = MongoEventStore(mongo[settings.database("ledger")])
    source_store.ensure_indexes()
    projection = LedgerProjection()
    metrics = Metrics()
    topic = settings.topic("ledger")
    ensure_topics(settings, [topic])
    publisher = KafkaPublisher(settings)
    runner = ConsumerRunner("ledger-projector", read_db, [projection], metrics=metrics,
                            source=StoreStreamSource({"ledger": source_store}), dlq=publisher,
                            dlq_topic=f"{settings.prefix}.ledger-projector.dlq")
    consumer = make_consumer(settings, f"{settings.prefix}.ledger-projector", [topic])
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(consumer, stop), kwargs={"maintain_every": 0.2})
    thread.start()

    class H:
        pass

    h = H()
    h.db, h.runner, h.projection, h.metrics, h.source = read_db, runner, projection, metrics, source_store
    h.runner_thread = thread

    def send(*events):
        publisher.publish([(topic, e["stream_id"], e) for e in events])
    h.send = send
    yield h
    stop.set()
    thread.join()
    consumer.close()
    publisher.reset()


def counter(metrics, name, **labels):
    return metrics.registry.get_sample_value(f"jalin_{name}", labels) or 0


def test_duplicates_change_nothing(harness):
    events = make_stream("ledger-a", 3)
    harness.send(events[0], events[1], events[1], events[0], events[2], events[2])
    wait_until(lambda: applied(harness.db, "ledger-a") == [1, 2, 3], what="three events applied")
    doc = harness.db["ledgers"].find_one({"_id": "ledger-a"})
    assert doc["total"] == 6
    assert counter(harness.metrics, "consumer_events_total", consumer="ledger-projector", outcome="duplicate") >= 3


def test_redelivery_after_a_crash_between_write_and_commit_changes_nothing(harness):
    events = make_stream("ledger-c", 4)
    harness.send(*events)
    wait_until(lambda: applied(harness.db, "ledger-c") == [1, 2, 3, 4], what="applied")
    # Simulate the crash window: the same batch handled again, as a restarted consumer would.
    harness.db[POSITIONS].delete_one({"_id": "ledger-c"})  # even the position write was lost
    harness.runner.handle(events)
    doc = harness.db["ledgers"].find_one({"_id": "ledger-c"})
    assert doc["applied"] == [1, 2, 3, 4] and doc["total"] == 10


def test_gap_is_filled_from_the_owning_stream(harness):
    events = make_stream("ledger-g", 5)
    harness.source.append("ledger-g", "ledger", 0, events, T0)  # the owning service has them all
    harness.send(events[0], events[3], events[4])               # Kafka delivers 1, 4, 5 only
    wait_until(lambda: applied(harness.db, "ledger-g") == [1, 2, 3, 4, 5], what="gap filled in order")
    assert counter(harness.metrics, "consumer_gaps_total", consumer="ledger-projector", outcome="filled") >= 1


def test_unfillable_gap_parks_then_drains_when_the_source_has_the_events(harness):
    events = make_stream("ledger-p", 4)
    harness.send(events[0], events[2], events[3])  # 2 missing, and the source does not have it yet
    wait_until(lambda: harness.db[PARKED].count_documents({"stream_id": "ledger-p"}) == 2, what="parked")
    assert applied(harness.db, "ledger-p") == [1]
    harness.source.append("ledger-p", "ledger", 0, events, T0)
    wait_until(lambda: applied(harness.db, "ledger-p") == [1, 2, 3, 4], what="parked events drained")
    wait_until(lambda: harness.db[PARKED].count_documents({}) == 0, what="parking empty")


def test_poison_event_is_dead_lettered_other_streams_continue_then_retry(harness):
    bad = make_stream("ledger-bad", 3, poison_at=2)
    good = make_stream("ledger-good", 3)
    harness.send(bad[0], good[0], bad[1], good[1], bad[2], good[2])
    wait_until(lambda: applied(harness.db, "ledger-good") == [1, 2, 3], what="other stream continues")
    wait_until(lambda: harness.db[DEAD_LETTERS].find_one({"_id": "ledger-bad:2"}), what="dead letter")
    letter = harness.db[DEAD_LETTERS].find_one({"_id": "ledger-bad:2"})
    assert letter["status"] == "open" and "cannot digest" in letter["error"]
    assert applied(harness.db, "ledger-bad") == [1]  # version 3 waits behind the dead letter
    wait_until(lambda: harness.db[PARKED].find_one({"_id": "ledger-bad:3"}), what="v3 parked behind it")

    harness.projection.cured = True  # the handler is fixed; an operator asks for a retry
    harness.db[DEAD_LETTERS].update_one({"_id": "ledger-bad:2"}, {"$set": {"status": "retry_requested"}})
    wait_until(lambda: applied(harness.db, "ledger-bad") == [1, 2, 3], what="retried in stream order")
    assert harness.db[DEAD_LETTERS].find_one({"_id": "ledger-bad:2"})["status"] == "resolved"


def test_discarded_dead_letter_lets_the_stream_go_on(harness):
    bad = make_stream("ledger-d", 3, poison_at=2)
    harness.send(*bad)
    wait_until(lambda: harness.db[DEAD_LETTERS].find_one({"_id": "ledger-d:2"}), what="dead letter")
    harness.db[DEAD_LETTERS].update_one({"_id": "ledger-d:2"}, {"$set": {"status": "discard_requested"}})
    wait_until(lambda: applied(harness.db, "ledger-d") == [1, 3], what="stream continues after discard")
    assert harness.db[DEAD_LETTERS].find_one({"_id": "ledger-d:2"})["status"] == "discarded"


def test_unknown_event_types_are_skipped_and_counted(harness):
    events = make_stream("ledger-u", 2)
    strange = seal(event_type="ledger.renamed_in_the_future", data={}, stream_id="ledger-u", stream_type="ledger",
                   version=3, prev_hash=events[1]["hash"], occurred_at=T0, actor=Actor("t", "admin"),
                   correlation_id="c")
    after = seal(event_type="ledger.posted", data={"n": 4, "poison": False}, stream_id="ledger-u",
                 stream_type="ledger", version=4, prev_hash=strange["hash"], occurred_at=T0,
                 actor=Actor("t", "admin"), correlation_id="c")
    harness.send(*events, strange, after)
    wait_until(lambda: applied(harness.db, "ledger-u") == [1, 2, 4], what="unknown skipped, stream goes on")
    assert counter(harness.metrics, "consumer_events_total", consumer="ledger-projector", outcome="unknown") == 1


# Values a handler can write as they come that the database (or the driver) refuses when the batch
# is flushed, outside the handler: the runner must find the event and dead-letter it.
HOSTILE = {
    "nul_in_key": {"a\u0000b": 1},
    "int_beyond_64_bits": 10**30,
    "dot_in_key": {"a.b": 1},
    "dollar_key": {"$where": 1},
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_event_refused_at_flush_is_dead_lettered_and_holds_back_only_its_stream(harness, kind):
    bad = make_stream(f"ledger-{kind}", 3, hostile={2: HOSTILE[kind]})
    good = make_stream(f"ledger-ok-{kind}", 3)
    harness.send(bad[0], good[0], bad[1], good[1], bad[2], good[2])
    wait_until(lambda: applied(harness.db, f"ledger-ok-{kind}") == [1, 2, 3], what="other stream continues")
    wait_until(lambda: harness.db[DEAD_LETTERS].find_one({"_id": f"ledger-{kind}:2"}), what="dead letter")
    letter = harness.db[DEAD_LETTERS].find_one({"_id": f"ledger-{kind}:2"})
    assert letter["status"] == "open" and letter["version"] == 2
    wait_until(lambda: harness.db[PARKED].find_one({"_id": f"ledger-{kind}:3"}), what="v3 parked behind it")
    assert applied(harness.db, f"ledger-{kind}") == [1]
    assert harness.runner_thread.is_alive()

    # The operator discards it: the stream goes on, the runner never stopped.
    harness.db[DEAD_LETTERS].update_one({"_id": f"ledger-{kind}:2"}, {"$set": {"status": "discard_requested"}})
    wait_until(lambda: applied(harness.db, f"ledger-{kind}") == [1, 3], what="stream continues after discard")
    later = make_stream(f"ledger-late-{kind}", 1)
    harness.send(*later)
    wait_until(lambda: applied(harness.db, f"ledger-late-{kind}") == [1], what="still consuming")


def test_a_refresh_that_fails_does_not_stop_the_runner(harness):
    class Broken(Projection):
        name = "broken-statistics"

        def handles(self, event_type):
            return False

        def apply(self, event, uow):  # pragma: no cover - handles nothing
            raise NotImplementedError

        def refresh(self, db):
            db["statistics"].replace_one({"_id": "x"}, {"by_key": {"a\u0000b": 1}}, upsert=True)

    harness.runner.projections.append(Broken())
    harness.send(*make_stream("ledger-r", 2))
    wait_until(lambda: applied(harness.db, "ledger-r") == [1, 2], what="applied")
    wait_until(lambda: counter(harness.metrics, "consumer_refresh_failures_total", consumer="ledger-projector",
                               projection="broken-statistics") >= 1, what="the failure counted")
    harness.send(*make_stream("ledger-r2", 2))
    wait_until(lambda: applied(harness.db, "ledger-r2") == [1, 2], what="still applying after the failure")
    assert harness.runner_thread.is_alive()


class CommitFailsOnce:
    """The real consumer, except that its first commit fails as after a rebalance."""

    def __init__(self, consumer):
        self.consumer, self.failed = consumer, False

    def commit(self, *args, **kwargs):
        if not self.failed:
            from kafka.errors import CommitFailedError
            self.failed = True
            raise CommitFailedError("UnknownMemberIdError: the group rebalanced")
        return self.consumer.commit(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.consumer, name)


def test_a_failed_commit_is_retried_not_fatal(settings, mongo):
    read_db = mongo[settings.database("readside")]
    topic = settings.topic("ledger")
    ensure_topics(settings, [topic])
    metrics = Metrics()
    runner = ConsumerRunner("ledger-projector", read_db, [LedgerProjection()], metrics=metrics)
    consumer = CommitFailsOnce(make_consumer(settings, f"{settings.prefix}.ledger-commit", [topic]))
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(consumer, stop), kwargs={"maintain_every": 0.2})
    thread.start()
    publisher = KafkaPublisher(settings)
    try:
        publisher.publish([(topic, e["stream_id"], e) for e in make_stream("ledger-k", 2)])
        wait_until(lambda: consumer.failed, what="the commit failed once")
        publisher.publish([(topic, e["stream_id"], e) for e in make_stream("ledger-k2", 2)])
        wait_until(lambda: applied(read_db, "ledger-k2") == [1, 2], what="consuming after the failed commit")
        assert applied(read_db, "ledger-k") == [1, 2] and thread.is_alive()
        assert counter(metrics, "consumer_kafka_errors_total", consumer="ledger-projector",
                       error="CommitFailedError") == 1
    finally:
        stop.set()
        thread.join()
        consumer.consumer.close()
        publisher.reset()


def test_the_runner_keeps_consuming_across_a_broker_restart(harness, profile):
    """The test profile's broker is stopped and started again under a running consumer (as after a
    crash or an upgrade): the consumer rejoins its group and goes on; nothing is lost or doubled."""
    from tests.support import load_stack

    stack = load_stack()
    harness.send(*make_stream("ledger-before", 3))
    wait_until(lambda: applied(harness.db, "ledger-before") == [1, 2, 3], what="applied before the restart")

    stack._stop_pid(stack._running(profile, "kafka"), "kafka")
    stack.start_kafka(profile)
    stack._wait("Kafka", lambda: stack._kafka_ready(profile), 120, profile.dir / "kafka.log")

    after = make_stream("ledger-after", 3)

    def published():
        try:
            harness.send(*after)
            return True
        except Exception:  # noqa: BLE001 - the partition leaders are still being elected: retry
            return False
    wait_until(published, 60, interval=1, what="publishing after the restart")
    wait_until(lambda: applied(harness.db, "ledger-after") == [1, 2, 3], 120, what="consumed after the restart")
    assert applied(harness.db, "ledger-before") == [1, 2, 3]
    assert harness.runner_thread.is_alive()
