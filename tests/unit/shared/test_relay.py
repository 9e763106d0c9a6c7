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
    """A one-partition topic (``sent``). Acknowledges everything except the message indexes it is
    told to fail (once); ``written_anyway`` makes those failures uncertain: written, yet reported failed."""

    worst_case_seconds = 1.0

    def __init__(self, topic: list | None = None):
        self.sent: list[tuple[str, int]] = [] if topic is None else topic
        self.fail_next: set[int] = set()
        self.written_anyway = False
        self.after_publish = lambda: None

    def publish(self, messages):
        failed, self.fail_next = self.fail_next, set()
        for i, (_topic, key, envelope) in enumerate(messages):
            if i not in failed or self.written_anyway:
                self.sent.append((key, envelope["version"]))
        self.after_publish()
        if failed:
            raise PublishError(failed)
        return {0: len(self.sent)}

    def published_since(self, topic, since):
        start = since.get(0, len(self.sent))
        return set(self.sent[start:]), {0: len(self.sent)}


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


def test_a_failed_send_that_was_written_anyway_is_not_sent_again():
    """The broker-outage duplicate: a batch expires client-side but the broker had written it."""
    store, publisher = InMemoryEventStore(), FlakyPublisher()
    fill(store)
    relay = OutboxRelay(store, publisher, "t", InMemoryLease())
    relay.run_once()  # a1..b3 published, the checkpoint is after them
    fill(store)       # a4..a6, b4..b6
    publisher.fail_next, publisher.written_anyway = {0, 1, 2, 3, 4, 5}, True
    with pytest.raises(PublishError):
        relay.run_once()
    relay.run_once()  # reads the topic back first
    for sid in ("thing-a", "thing-b"):
        assert [v for k, v in publisher.sent if k == sid] == [1, 2, 3, 4, 5, 6]
    assert store.unpublished() == []


def test_a_relay_that_lost_its_lease_mid_batch_does_not_mark_and_the_next_holder_does_not_resend():
    store, lease, topic = InMemoryEventStore(), InMemoryLease(), []
    fill(store)
    slow, fast = FlakyPublisher(topic), FlakyPublisher(topic)
    one = OutboxRelay(store, slow, "t", lease, owner="one", lease_ttl=60)
    two = OutboxRelay(store, fast, "t", lease, owner="two", lease_ttl=60)
    marked_by_two = []

    def lease_moves_on_before_one_marks():
        lease.expires = 0.0  # one's batch outlasted its lease (what the TTL rule prevents) …
        marked_by_two.append(two.run_once())  # … and two took over: it reads the topic back first

    slow.after_publish = lease_moves_on_before_one_marks
    assert one.run_once() == 0  # one wrote, but its generation is stale: it marks nothing
    assert marked_by_two == [0] and fast.sent is topic  # two sent nothing: the topic had it all
    assert store.unpublished() == []  # two marked what it found in the topic
    assert sorted(topic) == sorted((s, v) for s in ("thing-a", "thing-b") for v in (1, 2, 3))  # once each
    assert one.run_once() == 0 and two.run_once() == 0


def test_each_takeover_gets_a_new_generation_and_a_stale_one_cannot_confirm():
    lease = InMemoryLease()
    first = lease.acquire("one", 60)
    assert lease.acquire("one", 60) == first  # renewal keeps the generation
    lease.expires = 0.0
    second = lease.acquire("two", 60)
    assert second == first + 1
    assert not lease.confirm("one", first, 60, {0: 5})
    assert lease.confirm("two", second, 60, {0: 5}) and lease.checkpoint() == {0: 5}


def test_with_the_fake_publisher_a_batch_written_but_reported_failed_is_published_once():
    from shared.messaging import InMemoryPublisher

    store, publisher = InMemoryEventStore(), InMemoryPublisher()
    fill(store)
    relay = OutboxRelay(store, publisher, "t", InMemoryLease())
    publisher.written_but_failed = True
    with pytest.raises(PublishError):
        relay.run_once()
    assert relay.run_once() == 0 and store.unpublished() == []  # found in the topic, marked, not re-sent
    sent = [(key, envelope["version"]) for key, envelope in publisher.messages("t")]
    assert sorted(sent) == sorted((s, v) for s in ("thing-a", "thing-b") for v in (1, 2, 3))


@pytest.mark.parametrize("address", ["unix:{dir}/{{service}}-relay.wake", "udp:127.0.0.1:0"])
def test_a_commit_wakes_the_idle_relay_at_once(tmp_path, address):
    import threading
    import time

    from shared.relay import RelayWake
    from tests.support import wait_until

    wake = RelayWake(address.format(dir=tmp_path), "things")
    listener = wake.listen()
    if wake.family != wake.family.AF_UNIX:  # port 0: the one the system chose
        wake.target = listener._sock.getsockname()
    store, publisher = InMemoryEventStore(), FlakyPublisher()
    store.add_commit_listener(wake.notify)
    lease = InMemoryLease()
    relay, stop = OutboxRelay(store, publisher, "t", lease), threading.Event()
    # idle polls of 30 s: only the wake-up can publish within the deadline below
    thread = threading.Thread(target=relay.run, args=(stop,), kwargs={"idle_seconds": 30.0, "max_idle_seconds": 30.0,
                                                                       "wake": listener})
    thread.start()
    try:
        wait_until(lambda: lease.owner is not None, what="the relay's first (empty) pass")
        started = time.monotonic()
        fill(store, streams=("thing-w",), per_stream=1)
        while not publisher.sent and time.monotonic() - started < 5:
            time.sleep(0.01)
        assert publisher.sent == [("thing-w", 1)] and time.monotonic() - started < 2
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert not thread.is_alive()


def test_a_wake_up_nobody_listens_to_costs_the_command_nothing(tmp_path):
    from shared.relay import RelayWake

    store = InMemoryEventStore()
    store.add_commit_listener(RelayWake(f"unix:{tmp_path}/absent.wake", "things").notify)
    fill(store, streams=("thing-n",), per_stream=2)
    assert [c.stream_id for c in store.unpublished()] == ["thing-n", "thing-n"]
