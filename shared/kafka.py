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
from kafka.errors import KafkaError, TopicAlreadyExistsError

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
    id and waits for every acknowledgement.

    The producer is kept across failures: its idempotence session (producer id + sequence
    numbers) is what lets the broker drop the producer's own retries, so replacing it after a
    timeout would turn an in-flight retry into a duplicate. ``publish`` waits until every record
    is acknowledged or has definitively failed (``delivery_timeout_ms``), never less.
    """

    def __init__(self, settings: Settings, delivery_timeout: float = 15.0):
        self.settings = settings
        self.delivery_timeout = delivery_timeout
        self._producer: KafkaProducer | None = None

    def publish(self, messages: Sequence[tuple[str, str, dict]]) -> None:
        """Send ``(topic, key, envelope)`` in order; raise ``PublishError`` naming failures."""
        if self._producer is None:
            try:
                delivery_ms = int(self.delivery_timeout * 1000)
                # Kafka requires delivery.timeout >= request.timeout + linger.
                self._producer = make_producer(self.settings, delivery_timeout_ms=delivery_ms,
                                               request_timeout_ms=min(10000, delivery_ms - 10))
            except KafkaError as exc:
                raise PublishError(set(range(len(messages))), exc) from exc
        futures = []
        failed: set[int] = set()
        cause: Exception | None = None
        for index, (topic, key, envelope) in enumerate(messages):
            try:
                futures.append((index, self._producer.send(topic, key=key.encode(), value=encode(envelope))))
            except KafkaError as exc:
                failed.add(index)
                cause = exc
        try:
            self._producer.flush(timeout=self.delivery_timeout + 10)
        except KafkaError as exc:
            cause = exc
        for index, future in futures:
            try:
                future.get(timeout=0)
            except Exception as exc:  # definitively not acknowledged
                failed.add(index)
                cause = exc
        if failed:
            raise PublishError(failed, cause)

    def reset(self) -> None:
        """Drop the producer (after failures) so the next publish reconnects from scratch."""
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
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
