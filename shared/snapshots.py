"""Aggregate snapshots: a load reads the latest snapshot and the few commits after it (DESIGN.md §2).

A snapshot is derived data, never a source of truth: the state of an aggregate folded up to a
version, stored beside the commits (collection ``snapshots``, ``_id`` = stream id). It is used
only when all of these hold, otherwise the stream is folded from its first event as always:

- it was taken by the same fold (``fold_id``: the aggregate's class, its ``snapshot_schema`` and a
  digest of the source of its domain package), so a changed fold rebuilds snapshots by itself;
- the commit it names still ends at its version with the hash it recorded (it sits on the
  stream's current hash chain: an edited or re-sealed history makes it unusable);
- its state still matches the digest taken with it (``sha256(hash + state)``).

The state is written as tagged JSON (``encode_state``) that restores the same Python values
(dates, enums, dataclasses of the aggregate's own package…); a state that does not survive the
round trip unchanged is simply not snapshotted.
"""
from __future__ import annotations

import abc
import dataclasses
import enum
import hashlib
import importlib
import inspect
import json
import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

SNAPSHOTS = "snapshots"


@dataclass(frozen=True)
class Snapshot:
    """The state of ``stream_id`` folded up to ``version``, whose event has ``hash`` and lies in the
    commit starting at ``first_version``; ``fold`` names the code that folded it."""

    stream_id: str
    version: int
    first_version: int
    hash: str
    fold: str
    state: str
    digest: str

    @staticmethod
    def digest_of(hash_: str, state: str) -> str:
        return hashlib.sha256((hash_ + state).encode("utf-8")).hexdigest()


class SnapshotStore(abc.ABC):
    """Port: the latest snapshot per stream (a cache of folds; losing it costs only time)."""

    @abc.abstractmethod
    def get(self, stream_id: str) -> Snapshot | None:
        """The stream's snapshot, or None."""

    @abc.abstractmethod
    def put(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` unless one of a later version of the same fold is kept already."""


class InMemorySnapshotStore(SnapshotStore):
    """Snapshots in a dict (unit tests, the in-memory event store)."""

    def __init__(self):
        self._snapshots: dict[str, Snapshot] = {}
        self._lock = threading.Lock()

    def get(self, stream_id):
        return self._snapshots.get(stream_id)

    def put(self, snapshot):
        with self._lock:
            kept = self._snapshots.get(snapshot.stream_id)
            if kept is None or kept.fold != snapshot.fold or kept.version < snapshot.version:
                self._snapshots[snapshot.stream_id] = snapshot


class MongoSnapshotStore(SnapshotStore):
    """One document per stream, read and written by ``_id`` only (cheap on FerretDB too)."""

    def __init__(self, db: Database, collection: str = SNAPSHOTS):
        self._col = db[collection]

    def get(self, stream_id):
        doc = self._col.find_one({"_id": stream_id})
        if doc is None:
            return None
        try:
            return Snapshot(stream_id, doc["version"], doc["first_version"], doc["hash"], doc["fold"], doc["state"],
                            doc["digest"])
        except KeyError:
            return None  # not a snapshot this code wrote: fold the stream instead

    def put(self, snapshot):
        doc = {"version": snapshot.version, "first_version": snapshot.first_version, "hash": snapshot.hash,
               "fold": snapshot.fold, "state": snapshot.state, "digest": snapshot.digest}
        try:
            # Replace an older snapshot or one of another fold; never a later one of this fold.
            self._col.update_one({"_id": snapshot.stream_id,
                                  "$or": [{"version": {"$lt": snapshot.version}}, {"fold": {"$ne": snapshot.fold}}]},
                                 {"$set": doc}, upsert=True)
        except DuplicateKeyError:
            pass  # a concurrent command kept a later snapshot of this fold


# ------------------------------------------------------------------ which fold

_FOLDS: dict[type, str] = {}


def fold_id(aggregate_cls: type) -> str:
    """Names the code that folds ``aggregate_cls``: class, ``snapshot_schema``, and a digest of the
    Python source of the package the class lives in (its domain), so any change to that code
    makes existing snapshots unusable and they are rebuilt on the next commands."""
    known = _FOLDS.get(aggregate_cls)
    if known is None:
        digest = hashlib.sha256()
        source = Path(inspect.getsourcefile(aggregate_cls))
        for path in sorted(source.parent.glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        known = (f"{aggregate_cls.__module__}.{aggregate_cls.__qualname__}"
                 f":{getattr(aggregate_cls, 'snapshot_schema', 1)}:{digest.hexdigest()[:16]}")
        _FOLDS[aggregate_cls] = known
    return known


# ------------------------------------------------------------------ the state codec

class Unsnapshottable(ValueError):
    """The state holds a value the codec cannot restore exactly (the aggregate is then folded)."""


_PLAIN = (str, int, float, bool, type(None))


def _path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def encode_state(state: dict[str, Any]) -> str:
    """Tagged JSON of ``state``: every container or non-JSON value is ``[tag, …]``.

    Raises ``Unsnapshottable`` for values it does not know and for objects shared by two places
    of the state (restoring would split them in two).
    """
    seen: set[int] = set()

    def enc(value):
        kind = type(value)
        if kind in _PLAIN:
            return value
        if isinstance(value, (list, tuple, set, frozenset, dict)) or dataclasses.is_dataclass(value):
            if id(value) in seen:
                raise Unsnapshottable("an object is shared by two places of the state")
            seen.add(id(value))
        if kind is list:
            return ["L", [enc(v) for v in value]]
        if kind is tuple:
            return ["T", [enc(v) for v in value]]
        if kind in (set, frozenset):
            return ["S" if kind is set else "F", [enc(v) for v in value]]
        if kind is dict:
            return ["D", [[enc(k), enc(v)] for k, v in value.items()]]
        if kind is datetime:
            return ["t", value.isoformat()]
        if kind is date:
            return ["d", value.isoformat()]
        if kind is Decimal:
            return ["N", str(value)]
        if isinstance(value, enum.Enum):
            return ["E", _path(kind), enc(value.value)]
        if dataclasses.is_dataclass(value) and not isinstance(value, type) and hasattr(value, "__dict__"):
            return ["C", _path(kind), [[k, enc(v)] for k, v in vars(value).items()]]
        raise Unsnapshottable(f"cannot snapshot a {kind.__qualname__}")

    return json.dumps(enc(state), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def decode_state(text: str, packages: tuple[str, ...]) -> dict[str, Any]:
    """The state ``encode_state`` wrote; classes are looked up only in ``packages`` (top-level
    package names) and the modules under them, never anywhere a stored string points to."""

    def cls_at(path: str) -> type:
        module, _, qualname = path.partition(":")
        if not any(module == package or module.startswith(package + ".") for package in packages):
            raise Unsnapshottable(f"{path} is outside {packages}")
        target: Any = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
        return target

    def dec(value):
        if not isinstance(value, list):
            return value
        tag = value[0]
        if tag == "L":
            return [dec(v) for v in value[1]]
        if tag == "T":
            return tuple(dec(v) for v in value[1])
        if tag == "S":
            return {dec(v) for v in value[1]}
        if tag == "F":
            return frozenset(dec(v) for v in value[1])
        if tag == "D":
            return {dec(k): dec(v) for k, v in value[1]}
        if tag == "t":
            return datetime.fromisoformat(value[1])
        if tag == "d":
            return date.fromisoformat(value[1])
        if tag == "N":
            return Decimal(value[1])
        if tag == "E":
            cls = cls_at(value[1])
            if not (isinstance(cls, type) and issubclass(cls, enum.Enum)):
                raise Unsnapshottable(f"{value[1]} is not an enum")
            return cls(dec(value[2]))
        if tag == "C":
            cls = cls_at(value[1])
            if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
                raise Unsnapshottable(f"{value[1]} is not a dataclass")
            obj = cls.__new__(cls)
            for name, field_value in value[2]:
                object.__setattr__(obj, name, dec(field_value))  # also for frozen dataclasses
            return obj
        raise Unsnapshottable(f"unknown tag {tag!r}")

    return dec(json.loads(text))
