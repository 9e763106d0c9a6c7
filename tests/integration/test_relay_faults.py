"""Faults on the real broker: uncertain sends, two relays, Kafka SIGKILLed while commands are sent.

The topic is the audit log: each (stream, version) must be in it exactly once, whatever happens
to Kafka or to the relays. The APIs must stay ready and answer commands while Kafka is down.
"""
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import replace

import requests
from kafka import KafkaConsumer
from kafka.errors import KafkaTimeoutError
from kafka.structs import TopicPartition
from werkzeug.serving import make_server

from shared.auth import mint_token
from shared.kafka import KafkaPublisher, PublishError, decode, ensure_topics
from shared.mongo_eventstore import MongoEventStore
from shared.relay import MongoLease, OutboxRelay
from tests.support import load_stack, wait_until


def topic_records(bootstrap: str, topic: str) -> list[dict]:
    """Every record of the topic, read up to its current end offsets (so a late duplicate counts)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        got: list[dict] = []
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < end[tp] for tp in parts):
            assert time.monotonic() < deadline, "reading the topic took more than 60 s"
            for records in consumer.poll(timeout_ms=500).values():
                got.extend(decode(r.value) for r in records)
        return got
    finally:
        consumer.close()


def assert_each_version_once_in_order(records: list[dict], expected: dict[str, int]) -> None:
    by_stream: dict[str, list[int]] = {}
    for record in records:
        by_stream.setdefault(record["stream_id"], []).append(record["version"])
    assert {s: v for s, v in by_stream.items() if v != list(range(1, expected.get(s, 0) + 1))} == {}
    assert set(by_stream) == set(expected)


@contextmanager
def chaos_broker(offset: int):
    """A Kafka broker of its own (the `test` profile's ports + ``offset``) that tests may kill."""
    stack = load_stack()
    base = stack.PROFILES["test"]
    chaos = replace(base, name=f"test-chaos{offset}", kafka_port=base.kafka_port + offset,
                    controller_port=base.controller_port + offset)
    stack.stop(chaos)
    import shutil
    shutil.rmtree(chaos.dir, ignore_errors=True)

    def start():
        stack.start_kafka(chaos)
        stack._wait("chaos Kafka", lambda: stack._kafka_ready(chaos), 120, chaos.dir / "kafka.log")

    def kill():
        pid = stack._running(chaos, "kafka")
        assert pid, "the chaos broker is not running"
        os.killpg(pid, signal.SIGKILL)
        wait_until(lambda: not stack._alive(pid), 30, what="Kafka gone after SIGKILL")

    start()
    try:
        yield chaos, start, kill
    finally:
        stack.stop(chaos)


class WrittenButReportedFailed(KafkaPublisher):
    """The broker-outage case made deterministic: the first batch IS written, then reported failed
    (as when an in-flight batch expires client-side after the broker wrote it)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lie = True

    def publish(self, messages):
        offsets = super().publish(messages)
        if self.lie:
            self.lie = False
            raise PublishError(set(range(len(messages))), KafkaTimeoutError("expired in flight"))
        return offsets


def test_a_batch_written_but_reported_failed_is_not_published_again(settings, db):
    store = MongoEventStore(db)
    store.ensure_indexes()
    topic = settings.topic("ledger")
    ensure_topics(settings, [topic])
    from tests.integration.test_relay_kafka import Ledger, command
    from shared.application import Repository

    repo = Repository(store, Ledger)
    for n in range(6):
        command(repo, f"ledger-{n % 2}", n)
    publisher = WrittenButReportedFailed(settings, delivery_timeout=5)
    relay = OutboxRelay(store, publisher, topic, MongoLease(db, "relay:ledger"))
    try:
        try:
            relay.run_once()
            raise AssertionError("the first batch should have been reported failed")
        except PublishError:
            pass
        assert store.unpublished_count() == 6  # nothing marked: the outcome was uncertain
        relay.run_once()  # reads the topic back, finds everything, sends nothing again
        assert store.unpublished_count() == 0
    finally:
        publisher.reset()
    assert_each_version_once_in_order(topic_records(settings.kafka_bootstrap, topic), {"ledger-0": 3, "ledger-1": 3})


def test_kafka_sigkilled_while_commands_flow_with_two_relays(settings, mongo):
    """Commands answer 2xx and /readyz stays 200 while Kafka is dead; two relays publish each version once."""
    from services.partners.app import create_app

    with chaos_broker(200) as (chaos, start_kafka, kill_kafka):
        own = replace(settings, kafka_bootstrap=chaos.kafka_bootstrap)
        topic = own.topic("partners")
        ensure_topics(own, [topic])
        app = create_app({"prefix": own.prefix, "mongo_uri": own.mongo_uri, "kafka_bootstrap": own.kafka_bootstrap})
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        headers = {"Authorization": f"Bearer {mint_token(own, 'kerjasama')}"}
        db = mongo[own.database("partners")]
        store = MongoEventStore(db)
        relays = []
        for owner in ("relay-one", "relay-two"):
            stop, publisher = threading.Event(), KafkaPublisher(own, delivery_timeout=5)
            relay = OutboxRelay(store, publisher, topic, MongoLease(db, "relay:partners"), owner=owner)
            thread = threading.Thread(target=relay.run, args=(stop,), kwargs={"idle_seconds": 0.05, "max_backoff": 1.0})
            thread.start()
            relays.append((stop, thread, publisher))
        answers, not_ready, kafka_reported_down = [], [], []
        expected: dict[str, int] = {}
        try:
            for i in range(30):
                if i == 8:
                    kill_kafka()
                if i == 22:
                    start_kafka()
                r = requests.post(f"{base}/api/v1/partners", headers=headers, timeout=30, json={
                    "name": f"Mitra Uji {i}", "kind": "daerah_lain", "region_code": f"17.{10 + i}"})
                answers.append(r.status_code)
                if r.status_code == 201:
                    pid = r.json()["id"]
                    verified = requests.post(f"{base}/api/v1/partners/{pid}/verify", headers=headers, json={},
                                             timeout=30)
                    answers.append(verified.status_code)
                    expected[pid] = 2 if verified.status_code == 200 else 1
                ready = requests.get(f"{base}/readyz", timeout=10)
                if ready.status_code != 200:
                    not_ready.append((i, ready.text))
                if 8 <= i < 22:
                    checks = requests.get(f"{base}/healthz", timeout=10).json()["checks"]
                    kafka_reported_down.append(checks["kafka"] != "ok")
            assert set(answers) <= {200, 201}, answers
            assert not_ready == []
            assert any(kafka_reported_down)  # the outage is reported, not hidden
            wait_until(lambda: store.unpublished_count() == 0, 180, interval=0.5, what="backlog published")
        finally:
            for stop, thread, publisher in relays:
                stop.set()
            for stop, thread, publisher in relays:
                thread.join()
                publisher.reset()
            server.shutdown()
        assert len(expected) == 30 and set(expected.values()) == {2}
        assert_each_version_once_in_order(topic_records(chaos.kafka_bootstrap, topic), expected)
