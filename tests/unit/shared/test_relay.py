"""The relay's ordering and failure rules, with fakes (the Kafka version is in integration/)."""
from datetime import datetime, timezone

import pytest

from shared.application import CommandContext, Repository
from shared.domain import Aggregate
from shared.envelope import Actor
from shared.eventstore import InMemoryEventStore
from shared.kafka import PublishError
from shared.relay import InMemoryLease, OutboxRelay, publishable_prefix


class Thing(Aggregate):
    stream_type = "thing"

    def touch(self):
        return [self._emit("thing.touched", {})]


class FlakyPublisher:
    """Acknowledges everything except the message indexes it is told to fail (once)."""

    def __init__(self):
        self.sent: list[tuple[str, int]] = []
        self.fail_next: set[int] = set()

    def publish(self, messages):
        failed, self.fail_next = self.fail_next, set()
        for i, (_topic, key, envelope) in enumerate(messages):
            if i not in failed:
                self.sent.append((key, envelope["version"]))
        if failed:
            raise PublishError(failed)


def fill(store, streams=("thing-a", "thing-b"), per_stream=3):
    repo = Repository(store, Thing)
    ctx = CommandContext(Actor("u", "admin"))
    for _ in range(per_stream):
        for sid in streams:
            try:
                thing = repo.load(sid)
            except Exception:
                thing = Thing(sid)
            repo.save(thing, thing.touch(), ctx)


def test_publishes_everything_in_stream_order_then_nothing():
    store, publisher = InMemoryEventStore(), FlakyPublisher()
    fill(store)
    relay = OutboxRelay(store, publisher, "t", InMemoryLease())
    assert relay.run_once() == 6
    assert relay.run_once() == 0
    for sid in ("thing-a", "thing-b"):
        assert [v for k, v in publisher.sent if k == sid] == [1, 2, 3]


def test_failure_marks_only_what_is_safe_and_republishes_the_rest():
    store, publisher = InMemoryEventStore(), FlakyPublisher()
    fill(store)
    relay = OutboxRelay(store, publisher, "t", InMemoryLease())
    publisher.fail_next = {2}  # the third message: thing-a v2 in commit order a1 a2 a3 b1 b2 b3
    with pytest.raises(PublishError):
        relay.run_once()
    relay.run_once()
    a = [v for k, v in publisher.sent if k == "thing-a"]
    b = [v for k, v in publisher.sent if k == "thing-b"]
    assert b == [1, 2, 3]
    # a1 was acknowledged and marked; a2 failed so a2 and a3 are sent again, in order.
    assert a[0] == 1 and a[-2:] == [2, 3] and sorted(set(a)) == [1, 2, 3]
    assert store.unpublished() == []


def test_second_relay_without_the_lease_publishes_nothing():
    store, lease = InMemoryEventStore(), InMemoryLease()
    fill(store)
    first, second = FlakyPublisher(), FlakyPublisher()
    OutboxRelay(store, first, "t", lease, owner="one").lease.acquire("one", 60)
    assert OutboxRelay(store, second, "t", lease, owner="two").run_once() == 0
    assert second.sent == []


def test_publishable_prefix_blocks_later_commits_of_a_failed_stream():
    class C:
        def __init__(self, sid, n, cid):
            self.stream_id, self.events, self.id = sid, [None] * n, cid

    commits = [C("a", 2, "a1"), C("b", 1, "b1"), C("a", 1, "a3"), C("b", 1, "b2")]
    assert publishable_prefix(commits, {1}) == ["b1", "b2"]
    assert publishable_prefix(commits, set()) == ["a1", "b1", "a3", "b2"]
