"""The outbox relay against the real broker, including a broker outage while commands go on."""
import threading
from dataclasses import replace

import pytest
from kafka import KafkaConsumer

from shared.application import CommandContext, Repository
from shared.domain import Aggregate
from shared.envelope import Actor, verify_chain
from shared.kafka import KafkaPublisher, decode, ensure_topics
from shared.mongo_eventstore import MongoEventStore
from shared.relay import MongoLease, OutboxRelay
from tests.support import load_stack, wait_until

CTX = CommandContext(Actor("tester", "admin"))


class Ledger(Aggregate):
    stream_type = "ledger"

    def post(self, n):
        return [self._emit("ledger.posted", {"n": n})]


def command(repo, stream_id, n):
    try:
        ledger = repo.load(stream_id)
    except Exception:
        ledger = Ledger(stream_id)
    repo.save(ledger, ledger.post(n), CTX)


def read_topic(bootstrap, topic, expected, timeout=30):
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=1000)
    got = []
    try:
        wait_until(lambda: got.extend(decode(m.value) for m in consumer) or len(got) >= expected, timeout,
                   what=f"{expected} messages on {topic}")
    finally:
        consumer.close()
    return got


@pytest.fixture
def relay_setup(settings, db):
    store = MongoEventStore(db)
    store.ensure_indexes()
    topic = settings.topic("ledger")
    ensure_topics(settings, [topic])
    return store, Repository(store, Ledger), topic


def start_relay(store, settings, topic, db, owner="r1"):
    stop = threading.Event()
    publisher = KafkaPublisher(settings, delivery_timeout=5)
    relay = OutboxRelay(store, publisher, topic, MongoLease(db, "relay:ledger"), owner=owner)
    thread = threading.Thread(target=relay.run, args=(stop,), kwargs={"idle_seconds": 0.05, "max_backoff": 1.0})
    thread.start()
    return stop, thread, publisher


def test_relay_publishes_per_stream_in_order_keyed_by_stream(relay_setup, settings, db):
    store, repo, topic = relay_setup
    for n in range(10):
        for sid in ("ledger-a", "ledger-b", "ledger-c"):
            command(repo, sid, n)
    stop, thread, publisher = start_relay(store, settings, topic, db)
    try:
        messages = read_topic(settings.kafka_bootstrap, topic, 30)
    finally:
        stop.set()
        thread.join()
        publisher.reset()
    assert len(messages) == 30
    for sid in ("ledger-a", "ledger-b", "ledger-c"):
        events = [m for m in messages if m["stream_id"] == sid]
        assert [e["version"] for e in events] == list(range(1, 11))
        assert verify_chain(events, sid) == []
    wait_until(lambda: store.unpublished_count() == 0, 10, what="all commits marked published")


def test_two_relays_publish_each_event_once(relay_setup, settings, db):
    store, repo, topic = relay_setup
    for n in range(20):
        command(repo, f"ledger-{n % 4}", n)
    one = start_relay(store, settings, topic, db, owner="one")
    two = start_relay(store, settings, topic, db, owner="two")
    try:
        wait_until(lambda: store.unpublished_count() == 0, 30, what="backlog published")
        messages = read_topic(settings.kafka_bootstrap, topic, 20)
    finally:
        for stop, thread, publisher in (one, two):
            stop.set()
            thread.join()
            publisher.reset()
    assert sorted((m["stream_id"], m["version"]) for m in messages) == \
        sorted({(m["stream_id"], m["version"]) for m in messages})
    assert len(messages) == 20


def test_broker_outage_loses_nothing_and_keeps_order(settings, db, tmp_path):
    """Commands keep succeeding while Kafka is down; the backlog arrives in order when it is back."""
    stack = load_stack()
    base = stack.PROFILES["test"]
    chaos = replace(base, name="test-chaos", kafka_port=base.kafka_port + 100,
                    controller_port=base.controller_port + 100)
    stack.stop(chaos)
    import shutil
    shutil.rmtree(chaos.dir, ignore_errors=True)
    stack.start_kafka(chaos)
    stack._wait("chaos Kafka", lambda: stack._kafka_ready(chaos), 120, chaos.dir / "kafka.log")
    own = replace(settings, kafka_bootstrap=chaos.kafka_bootstrap)
    store = MongoEventStore(db)
    store.ensure_indexes()
    repo = Repository(store, Ledger)
    topic = own.topic("ledger")
    ensure_topics(own, [topic])
    stop, thread, publisher = start_relay(store, own, topic, db)
    try:
        for n in range(5):
            command(repo, "ledger-x", n)
        wait_until(lambda: store.unpublished_count() == 0, 30, what="first events published")

        stack.stop(chaos)  # the broker goes away…
        for n in range(5, 15):  # …and every command still succeeds
            command(repo, "ledger-x", n)
            command(repo, "ledger-y", n)
        assert store.version("ledger-x") == 15 and store.unpublished_count() == 20

        stack.start_kafka(chaos)  # the broker returns with its data
        stack._wait("chaos Kafka", lambda: stack._kafka_ready(chaos), 120, chaos.dir / "kafka.log")
        wait_until(lambda: store.unpublished_count() == 0, 90, interval=0.5, what="backlog published after outage")
        messages = read_topic(chaos.kafka_bootstrap, topic, 25, timeout=60)
    finally:
        stop.set()
        thread.join()
        publisher.reset()
        stack.stop(chaos)
    for sid, count in (("ledger-x", 15), ("ledger-y", 10)):
        versions = [m["version"] for m in messages if m["stream_id"] == sid]
        assert versions == list(range(1, count + 1)), str(versions)  # once each, in order
