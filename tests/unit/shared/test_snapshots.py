"""Snapshots: the state codec, and a Repository that loads from a snapshot only when it may."""
import dataclasses
from datetime import date, datetime, timezone
from enum import Enum, StrEnum

import pytest

from shared.application import CommandContext, FixedClock, Repository
from shared.domain import Aggregate
from shared.envelope import Actor
from shared.eventstore import InMemoryEventStore
from shared.snapshots import Unsnapshottable, decode_state, encode_state
from shared.upcasting import Upcasters

PACKAGES = (__name__.split(".")[0],)
CTX = CommandContext(Actor("u", "admin"), correlation_id="corr-1")


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Size(Enum):
    SMALL = 1


@dataclasses.dataclass
class Item:
    name: str
    due: date
    tags: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Frozen:
    at: datetime


class Ledger(Aggregate):
    stream_type = "ledger"

    def __init__(self, stream_id):
        super().__init__(stream_id)
        self.total = 0
        self.colour = Colour.RED
        self.items: dict[str, Item] = {}
        self.seen: set[int] = set()
        self.last: Frozen | None = None

    def add(self, n):
        return [self._emit("ledger.added", {"n": n})]

    def when_ledger_added(self, data):
        n = data["n"]
        self.total += n
        self.colour = Colour.BLUE if n % 2 else Colour.RED
        self.items[f"i{n}"] = Item(f"item {n}", date(2026, 1, 1 + n % 28), [n, (n, "x")])
        self.seen.add(n % 5)
        self.last = Frozen(datetime(2026, 1, 1, n % 24, tzinfo=timezone.utc))


def state_of(aggregate):
    return {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}


def test_codec_restores_the_same_values():
    state = {"d": date(2026, 3, 1), "t": datetime(2026, 3, 1, 8, tzinfo=timezone.utc), "e": Colour.BLUE,
             "s": Size.SMALL, "set": {1, 2}, "fs": frozenset({"a"}), "tuple": (1, "b"), "keys": {1: "one", (2, 3): None},
             "item": Item("x", date(2026, 1, 2), ["L", ["D", []]]), "frozen": Frozen(datetime(2026, 1, 1)),
             "plain": ["a", 1, 2.5, True, None, {"nested": ["L"]}]}
    back = decode_state(encode_state(state), PACKAGES)
    assert back == state
    assert type(back["e"]) is Colour and type(back["item"]) is Item and type(back["tuple"]) is tuple


def test_codec_refuses_what_it_cannot_restore_exactly():
    shared = [1]
    with pytest.raises(Unsnapshottable):
        encode_state({"a": shared, "b": shared})  # restoring would split one list in two
    with pytest.raises(Unsnapshottable):
        encode_state({"f": lambda: 1})
    with pytest.raises(Unsnapshottable):
        encode_state({"o": object()})
    # a stored snapshot cannot make the loader import classes outside the aggregate's packages
    with pytest.raises(Unsnapshottable):
        decode_state('["C","subprocess:Popen",[]]', PACKAGES)


class CountingStore(InMemoryEventStore):
    def __init__(self):
        super().__init__()
        self.reads: list[int] = []

    def commits_from(self, stream_id, first_version=1):
        self.reads.append(first_version)
        return super().commits_from(stream_id, first_version)


def ledger_with(repo, count):
    ledger = Ledger("ledger-1")
    repo.save(ledger, ledger.add(1), CTX)
    for n in range(2, count + 1):
        ledger = repo.load("ledger-1")
        repo.save(ledger, ledger.add(n), CTX)
    return ledger


@pytest.fixture
def store():
    return CountingStore()


def folded(store, **kw):
    """The same stream folded from its first event (the store without snapshots)."""
    plain = Repository(store, Ledger, **kw)
    snapshots, store.snapshots = store.snapshots, None
    try:
        return plain.load("ledger-1")
    finally:
        store.snapshots = snapshots


def test_load_starts_at_the_snapshot_and_equals_the_full_fold(store):
    repo = Repository(store, Ledger, FixedClock(datetime(2025, 5, 1, tzinfo=timezone.utc)), snapshot_every=4)
    ledger_with(repo, 11)
    snapshot = store.snapshots.get("ledger-1")
    assert snapshot.version == 8
    store.reads.clear()
    loaded = repo.load("ledger-1")
    assert store.reads == [8]  # only the snapshot's commit and the ones after it were read
    assert loaded.version == 11 and state_of(loaded) == state_of(folded(store))
    # the next command chains on as usual
    repo.save(loaded, loaded.add(12), CTX)
    assert repo.load("ledger-1").total == sum(range(1, 13)) == folded(store).total


def test_a_version_before_the_snapshot_is_folded_from_the_start(store):
    repo = Repository(store, Ledger, snapshot_every=4)
    ledger_with(repo, 9)
    store.reads.clear()
    assert repo.load("ledger-1", to_version=3).total == 6 and store.reads == [1]
    assert repo.load("ledger-1", to_version=9).total == 45 and store.reads[-1] == 8


def test_a_snapshot_off_the_hash_chain_or_edited_is_not_used(store):
    repo = Repository(store, Ledger, snapshot_every=4)
    ledger_with(repo, 9)
    good = store.snapshots.get("ledger-1")
    off_chain = dataclasses.replace(good, hash="f" * 64)
    store.snapshots._snapshots["ledger-1"] = off_chain
    store.reads.clear()
    assert repo.load("ledger-1").total == 45 and store.reads[-1] == 1
    assert '["total",36]' in good.state
    edited = dataclasses.replace(good, state=good.state.replace('["total",36]', '["total",1036]'))
    store.snapshots._snapshots["ledger-1"] = edited
    assert repo.load("ledger-1").total == 45 and store.reads[-1] == 1


def test_a_changed_fold_rebuilds_the_snapshot(store):
    repo = Repository(store, Ledger, snapshot_every=4)
    ledger_with(repo, 9)
    upcasters = Upcasters()
    upcasters.register("ledger.added", 1)(lambda data: {"n": data["n"]})
    changed = Repository(store, Ledger, upcasters=upcasters, snapshot_every=4)
    assert changed.fold() != repo.fold()
    store.reads.clear()
    ledger = changed.load("ledger-1")
    assert store.reads == [1]  # the other fold's snapshot is not used
    changed.save(ledger, ledger.add(10), CTX)
    assert store.snapshots.get("ledger-1").fold == changed.fold()
    assert store.snapshots.get("ledger-1").version == 10
