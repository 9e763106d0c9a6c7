"""Kafka adapters: producer/consumer factories, topic creation and the event publisher.

Topics are the replayable audit log, so they are created with infinite retention.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable, Iterable, Sequence

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError
from kafka.structs import TopicPartition

from shared.config import Settings
from shared.messaging import PublishError  # noqa: F401 — the Publisher port's error, raised here too

log = logging.getLogger("jalin.kafka")


def encode(envelope: dict) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(value: bytes) -> dict:
    return json.loads(value.decode("utf-8"))


def make_producer(settings: Settings, **overrides) -> KafkaProducer:
    """An idempotent, acks=all producer: retries cannot duplicate or reorder within a partition."""
    options = dict(
        bootstrap_servers=settings.kafka_bootstrap.split(","),
        acks="all",
        enable_idempotence=True,
        max_in_flight_requests_per_connection=5,
        linger_ms=5,
        max_block_ms=5000,
        request_timeout_ms=10000,
        delivery_timeout_ms=15000,
        retry_backoff_ms=200,
        client_id=f"{settings.prefix}-producer",
    )
    options.update(overrides)
    return KafkaProducer(**options)


def make_consumer(settings: Settings, group_id: str, topics: Sequence[str], **overrides) -> KafkaConsumer:
    """A consumer-group member with manual commits, starting from the beginning of the log."""
    options = dict(
        bootstrap_servers=settings.kafka_bootstrap.split(","),
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
        session_timeout_ms=10000,
        heartbeat_interval_ms=3000,
        # A member that joins before it has the topics' metadata is assigned nothing until the next
        # refresh; keep that window short.
        metadata_max_age_ms=10000,
        client_id=f"{group_id}-consumer",
    )
    options.update(overrides)
    consumer = KafkaConsumer(**options)
    consumer.topics()  # fetch cluster metadata before joining the group
    consumer.subscribe(list(topics))
    return consumer


def ensure_topics(settings: Settings, topics: Iterable[str], partitions: int | None = None) -> None:
    """Create missing topics with infinite retention (idempotent)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap.split(","),
                             client_id=f"{settings.prefix}-admin", request_timeout_ms=10000)
    try:
        existing = set(admin.list_topics())
        # Replication -1 = the broker's default.replication.factor (1 locally, 3 on a production cluster).
        wanted = [NewTopic(t, partitions or settings.topic_partitions, -1,
                           topic_configs={"retention.ms": "-1", "retention.bytes": "-1"})
                  for t in topics if t not in existing]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def wait_for_topics(settings: Settings, topics: Iterable[str], stop: threading.Event, *,
                    retry_seconds: float = 2.0, deadline: float | None = None,
                    on_wait: Callable[[Exception], None] | None = None) -> bool:
    """Create ``topics`` as soon as Kafka answers, retrying until it does, ``stop`` is set or
    ``deadline`` (a ``time.monotonic()`` value) passes; True once the topics exist.

    Workers start before Kafka is guaranteed up (the outbox lets commands succeed meanwhile), so
    each waits here instead of failing; ``on_wait`` is told about each failed attempt.
    """
    wanted = list(topics)
    while not stop.is_set():
        try:
            ensure_topics(settings, wanted)
            return True
        except Exception as exc:  # broker not reachable yet, or still electing its controller
            if deadline is not None and time.monotonic() >= deadline:
                raise
            if on_wait is not None:
                on_wait(exc)
            stop.wait(retry_seconds)
    return False


class KafkaPublisher:
    """The ``Publisher`` port (shared/messaging.py) on Kafka: publishes envelopes keyed by stream
    id, waits for every acknowledgement, reads a topic back.

    The producer is idempotent and kept across batches: the broker drops its own retries within
    its session. A record that failed client-side may still have been written (an in-flight batch
    that expired; the producer then resets its id, so a later re-send is not recognised as a
    retry) — ``publish`` therefore reports every failure, and the relay reads the topic back
    (``published_since``) before sending those messages again.

    ``publish`` is bounded: sending stops at the first refused send or after ``send_budget``
    seconds, and the flush waits until every record is acknowledged or expired
    (``delivery_timeout``). Should a record still be pending then, the producer is abandoned, so it
    cannot write it later when another relay may hold the lease.
    """

    def __init__(self, settings: Settings, delivery_timeout: float = 15.0, send_budget: float = 5.0,
                 read_timeout: float = 10.0):
        self.settings = settings
        self.delivery_timeout, self.send_budget, self.read_timeout = delivery_timeout, send_budget, read_timeout
        self.max_block = min(5.0, send_budget)
        self.flush_slack = 5.0
        self._producer: KafkaProducer | None = None

    @property
    def worst_case_seconds(self) -> float:
        """The longest ``publish`` (plus one ``published_since``) can take."""
        return self.send_budget + self.max_block + self.delivery_timeout + self.flush_slack + self.read_timeout

    def publish(self, messages: Sequence[tuple[str, str, dict]]) -> dict[int, int]:
        """Send ``(topic, key, envelope)`` in order; return per partition the offset after the last
        acknowledged record; raise ``PublishError`` naming the messages not acknowledged."""
        if self._producer is None:
            try:
                delivery_ms = int(self.delivery_timeout * 1000)
                # Kafka requires delivery.timeout >= request.timeout + linger.
                self._producer = make_producer(self.settings, delivery_timeout_ms=delivery_ms,
                                               request_timeout_ms=min(10000, delivery_ms - 10),
                                               max_block_ms=int(self.max_block * 1000))
            except KafkaError as exc:
                raise PublishError(set(range(len(messages))), exc) from exc
        futures = []
        failed: set[int] = set()
        cause: Exception | None = None
        deadline = time.monotonic() + self.send_budget
        for index, (topic, key, envelope) in enumerate(messages):
            if cause is not None or time.monotonic() > deadline:
                # Sending past a refused message would put its stream's later versions before it.
                failed.add(index)
                cause = cause or KafkaTimeoutError("send budget exhausted")
                continue
            try:
                futures.append((index, self._producer.send(topic, key=key.encode(), value=encode(envelope))))
            except KafkaError as exc:
                failed.add(index)
                cause = exc
        try:
            self._producer.flush(timeout=self.delivery_timeout + self.flush_slack)
        except KafkaError as exc:
            cause = exc
        offsets: dict[int, int] = {}
        pending = False
        for index, future in futures:
            if not future.is_done:
                pending = True
                failed.add(index)
            elif future.failed():
                failed.add(index)
                cause = future.exception
            else:
                meta = future.value
                offsets[meta.partition] = max(offsets.get(meta.partition, 0), meta.offset + 1)
        if pending:
            log.warning("records still pending after the flush deadline; abandoning the producer")
            self.reset(timeout=0)
        if failed:
            raise PublishError(failed, cause)
        return offsets

    def published_since(self, topic: str, since: dict[int, int]) -> tuple[set[tuple[str, int]], dict[int, int]]:
        """``(stream_id, version)`` of the envelopes in ``topic`` from ``since`` to the current end, and
        the end offsets. A partition absent from ``since`` counts from its end."""
        consumer = KafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap.split(","), group_id=None,
                                 enable_auto_commit=False, client_id=f"{self.settings.prefix}-relay-reader",
                                 request_timeout_ms=int(self.read_timeout * 1000) + 1000)
        try:
            consumer.topics()  # cluster metadata, so the topic's partitions are known
            partitions = sorted(consumer.partitions_for_topic(topic) or ())
            if not partitions:
                return set(), {}
            tps = [TopicPartition(topic, p) for p in partitions]
            consumer.assign(tps)
            end = consumer.end_offsets(tps)
            begin = consumer.beginning_offsets(tps)
            remaining = {}
            for tp in tps:
                start = max(since.get(tp.partition, end[tp]), begin[tp])
                if start < end[tp]:
                    consumer.seek(tp, start)
                    remaining[tp] = end[tp]
            consumer.pause(*[tp for tp in tps if tp not in remaining])
            found: set[tuple[str, int]] = set()
            deadline = time.monotonic() + self.read_timeout
            while remaining:
                if time.monotonic() > deadline:
                    raise KafkaTimeoutError(f"reading {topic} back took more than {self.read_timeout}s")
                for tp, records in consumer.poll(timeout_ms=200).items():
                    for record in records:
                        if record.offset < end[tp]:
                            try:
                                envelope = decode(record.value)
                                found.add((envelope["stream_id"], envelope["version"]))
                            except (ValueError, KeyError, TypeError):  # not an envelope: nothing to skip
                                pass
                for tp in list(remaining):
                    if consumer.position(tp) >= remaining[tp]:
                        del remaining[tp]
                        consumer.pause(tp)
            return found, {tp.partition: end[tp] for tp in tps}
        finally:
            consumer.close()

    def reset(self, timeout: float = 1.0) -> None:
        """Drop the producer (``timeout=0``: abandon what it still holds) so the next publish starts afresh."""
        if self._producer is not None:
            try:
                self._producer.close(timeout=timeout)
            except Exception:  # closing a broken producer may fail; it is discarded anyway
                pass
            self._producer = None

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(timeout=self.delivery_timeout + 10)
            self._producer.close()
            self._producer = None


def kafka_reachable(settings: Settings, timeout: float = 1.0) -> None:
    """Raise if no bootstrap server accepts a TCP connection (a cheap readiness probe)."""
    import socket

    errors = []
    for server in settings.kafka_bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
                return
        except OSError as exc:
            errors.append(f"{server}: {exc}")
    raise ConnectionError("; ".join(errors))
