"""The two ports through which events travel between services, and their in-memory fakes.

``Publisher``: the relay sends committed envelopes to the broker, the consumer runner sends
dead letters to a DLQ topic (adapter: ``shared.kafka.KafkaPublisher``). ``StreamSource``: the
consumer runner re-reads missing versions of a stream from the service that owns it (adapter:
``shared.streams.HttpStreamSource``). Each fake passes the same contract suite as its adapter
(tests/integration/test_port_contracts.py), so unit tests built on a fake hold for the real thing.
This module imports no I/O library.
"""
from __future__ import annotations

import copy
import threading
from collections import defaultdict
from typing import Iterable, Protocol, Sequence


class PublishError(Exception):
    """Some messages of a batch were not acknowledged; ``failed`` holds their indexes."""

    def __init__(self, failed: set[int], cause: Exception | None = None):
        super().__init__(f"{len(failed)} message(s) not acknowledged: {cause}")
        self.failed = failed
        self.cause = cause


class Publisher(Protocol):
    """Port: send ``(topic, key, envelope)`` messages and read back what a topic holds.

    Messages with the same key (a stream id) reach their topic in the order given; a batch that
    returns without an error was acknowledged completely. A ``PublishError`` does not mean the
    failed messages are absent: a send that timed out may have been written (the relay reads the
    topic back with ``published_since`` before sending them again).
    """

    #: The longest a ``publish`` (plus one ``published_since``) can take; the relay's lease outlasts it.
    worst_case_seconds: float

    def publish(self, messages: Sequence[tuple[str, str, dict]]) -> dict[int, int]:
        """Send in order; return per partition the offset after the last acknowledged record."""

    def published_since(self, topic: str, since: dict[int, int]) -> tuple[set[tuple[str, int]], dict[int, int]]:
        """``(stream_id, version)`` of the envelopes in ``topic`` from the offsets ``since`` to the
        current end, and the end offsets. A partition absent from ``since`` counts from its end."""


class StreamSource(Protocol):
    """Port: the owning service's events of one stream, versions ``from_version..to_version``.

    Envelopes come back exactly as stored (their hashes verify), in version order; a stream the
    owner does not have is an error.
    """

    def events(self, stream_id: str, stream_type: str, from_version: int, to_version: int) -> list[dict]: ...


class InMemoryPublisher:
    """Fake ``Publisher``: keeps each topic's messages in the order published (one partition, 0).

    Set ``reachable = False`` to fail every batch as a broker that is down does; set
    ``written_but_failed = True`` to store the next batch yet report it failed (a send that timed
    out after the broker wrote it).
    """

    worst_case_seconds = 1.0

    def __init__(self):
        self.reachable = True
        self.written_but_failed = False
        self._topics: dict[str, list[tuple[str, dict]]] = defaultdict(list)
        self._lock = threading.Lock()

    def publish(self, messages: Sequence[tuple[str, str, dict]]) -> dict[int, int]:
        if not self.reachable:
            raise PublishError(set(range(len(messages))), ConnectionError("broker unreachable"))
        with self._lock:
            for topic, key, envelope in messages:
                self._topics[topic].append((key, copy.deepcopy(envelope)))
            ends = {0: len(self._topics[topic])} if messages else {}
        if self.written_but_failed:
            self.written_but_failed = False
            raise PublishError(set(range(len(messages))), TimeoutError("expired in flight"))
        return ends

    def published_since(self, topic: str, since: dict[int, int]) -> tuple[set[tuple[str, int]], dict[int, int]]:
        if not self.reachable:
            raise ConnectionError("broker unreachable")
        with self._lock:
            stored = self._topics[topic]
            start = since.get(0, len(stored))
            return {(e["stream_id"], e["version"]) for _key, e in stored[start:]}, {0: len(stored)}

    def messages(self, topic: str) -> list[tuple[str, dict]]:
        """``(key, envelope)`` of every message published to ``topic``, oldest first."""
        with self._lock:
            return copy.deepcopy(self._topics[topic])


class InMemoryStreamSource:
    """Fake ``StreamSource``: the streams it was given with ``add``."""

    def __init__(self, envelopes: Iterable[dict] = ()):
        self._streams: dict[str, list[dict]] = defaultdict(list)
        self.add(envelopes)

    def add(self, envelopes: Iterable[dict]) -> None:
        """Make ``envelopes`` (of any streams) available, as their owner would have stored them."""
        for envelope in envelopes:
            self._streams[envelope["stream_id"]].append(copy.deepcopy(envelope))

    def events(self, stream_id: str, stream_type: str, from_version: int, to_version: int) -> list[dict]:
        stored = self._streams.get(stream_id)
        if not stored or stored[0]["stream_type"] != stream_type:
            raise LookupError(f"no {stream_type} stream {stream_id}")
        return [copy.deepcopy(e) for e in sorted(stored, key=lambda e: e["version"])
                if from_version <= e["version"] <= to_version]
