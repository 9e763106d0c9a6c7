"""Read-model answers cheap to repeat: an ``ETag`` per answer and a small per-process cache of them.

An answer of the query API is a function of (the route and its normalised query, the caller's
scope — ``queries.scope_of`` —, the live read-model generation, the projector's checkpoint counters
of the collections the route reads — ``shared.checkpoint`` —, and today's date for the flags that
depend on it). That tuple is the cache key, and its digest is the ``ETag``: it changes exactly when
one of them does, so a client holding the answer gets ``304 Not Modified`` without a query, and 50
officers opening the same register page cost one query per process (concurrent identical requests
wait for the first one's answer instead of querying alongside it).

The checkpoint is read before the data (see ``shared.checkpoint``), so a cached answer is never
older than the position it is filed under; it is read at most every quarter second per process
(``Positions``), so a burst of requests costs one lookup of it.
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Hashable, Mapping

from pymongo.database import Database

from shared import checkpoint


def normalised(args: Mapping[str, Any]) -> tuple:
    """Parsed query arguments as a hashable key: sorted by name, lists as sorted tuples (every list
    filter of the API is a set: ``status=A&status=B`` asks what ``status=B&status=A`` asks)."""
    return tuple(sorted((name, tuple(sorted(map(str, value))) if isinstance(value, (list, tuple, set)) else value)
                        for name, value in args.items()))


def etag_of(key: Hashable) -> str:
    """The entity tag of the answer filed under ``key`` (opaque, without quotes)."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:32]


class Positions:
    """The projector's checkpoint position, read at most every ``ttl`` seconds per database.

    ``ttl`` is 0 by default: every request reads the checkpoint (one lookup by ``_id``), so the
    gunicorn workers, each with its own cache, agree on the position — with a throttle, a worker
    whose last read was older could serve an answer older than the one another worker just gave
    the same client (a count going 3, then 2). A positive ``ttl`` trades that for fewer lookups.
    """

    def __init__(self, consumer: str, ttl: float = 0.0):
        self.consumer, self.ttl = consumer, ttl
        self._read: dict[str, tuple[float, tuple]] = {}
        self._lock = threading.Lock()

    def of(self, db: Database, collections: tuple[str, ...]) -> tuple:
        """``checkpoint.position`` of ``collections``, from a read at most ``ttl`` old."""
        with self._lock:
            read_at, state = self._read.get(db.name, (0.0, None))
        if state is None or time.monotonic() - read_at >= self.ttl:
            state = checkpoint.read(db, self.consumer)
            with self._lock:
                self._read[db.name] = (time.monotonic(), state)
        return checkpoint.position(state, collections)


class AnswerCache:
    """A bounded LRU of encoded answers with single flight per key. Thread-safe."""

    def __init__(self, max_entries: int = 512, max_bytes: int = 32 * 1024 * 1024):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._inflight: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], bytes]) -> bytes:
        """The answer filed under ``key``, computing it (once, whoever else asks meanwhile) if absent."""
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return self._entries[key]
                waiting = self._inflight.get(key)
                if waiting is None:
                    self._inflight[key] = threading.Event()
                    self.misses += 1
                    break
            # Another request is computing this very answer: wait for it, then look again (if it
            # failed, the next loop computes it here).
            waiting.wait(60)
        try:
            body = compute()
            with self._lock:
                self._store(key, body)
            return body
        finally:
            with self._lock:
                self._inflight.pop(key).set()

    def _store(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes // 8:
            return  # a huge answer (per_page=200 of long rows) would evict everything else
        self._entries[key] = body
        self._bytes += len(body)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._entries)
