"""The envelope's hash chain: the exact public rule, and tamper detection."""
import hashlib
import json
from datetime import datetime, timezone

from hypothesis import given, strategies as st

from shared.envelope import GENESIS_HASH, Actor, canonical, compute_hash, seal, verify_chain

ACTOR = Actor("u1", "kerjasama", "Siti")
T0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def chain(n: int, stream_id: str = "partner-1") -> list[dict]:
    events, prev = [], GENESIS_HASH
    for version in range(1, n + 1):
        event = seal(event_type="partner.thing", data={"n": version, "nama": "Muaro Jambi é"}, stream_id=stream_id,
                     stream_type="partner", version=version, prev_hash=prev, occurred_at=T0, actor=ACTOR,
                     correlation_id="c1")
        prev = event["hash"]
        events.append(event)
    return events


def test_hash_follows_the_published_rule_with_only_the_standard_library():
    event = chain(1)[0]
    body = {k: v for k, v in event.items() if k != "hash"}
    expected = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode("utf-8")).hexdigest()
    assert event["hash"] == expected == compute_hash(event)
    assert event["prev_hash"] == "0" * 64


def test_envelope_has_every_required_field():
    event = chain(1)[0]
    assert set(event) == {"event_id", "event_type", "schema_version", "stream_id", "stream_type", "version",
                          "occurred_at", "actor", "correlation_id", "causation_id", "data", "prev_hash", "hash"}
    assert event["occurred_at"] == "2025-01-02T03:04:05.678901Z"
    assert event["actor"] == {"sub": "u1", "role": "kerjasama", "name": "Siti"}


def test_canonical_is_key_order_independent_and_keeps_unicode():
    assert canonical({"b": 1, "a": "é"}) == canonical({"a": "é", "b": 1}) == '{"a":"é","b":1}'.encode()


def test_intact_chain_verifies():
    assert verify_chain(chain(5), "partner-1") == []


@given(st.integers(min_value=2, max_value=8), st.data())
def test_any_edit_is_detected(n, data):
    events = chain(n)
    victim = data.draw(st.integers(min_value=0, max_value=n - 1))
    events[victim]["data"]["n"] = -1
    problems = verify_chain(events, "partner-1")
    assert any(p.problem == "hash_mismatch" and p.version == victim + 1 for p in problems)


@given(st.integers(min_value=2, max_value=8), st.data())
def test_any_deletion_before_the_head_is_detected(n, data):
    # Cutting off the newest events leaves a valid shorter chain: that is found by comparing
    # with an independent copy of the head (Kafka, an audit manifest), not by the chain alone.
    events = chain(n)
    del events[data.draw(st.integers(min_value=0, max_value=n - 2))]
    assert verify_chain(events, "partner-1")


@given(st.integers(min_value=2, max_value=8), st.data())
def test_any_swap_is_detected(n, data):
    events = chain(n)
    i = data.draw(st.integers(min_value=0, max_value=n - 2))
    events[i], events[i + 1] = events[i + 1], events[i]
    problems = {p.problem for p in verify_chain(events, "partner-1")}
    assert {"version_gap", "broken_link"} <= problems


def test_rehashed_edit_still_breaks_the_link_to_the_next_event():
    events = chain(3)
    events[0]["data"]["n"] = 99
    events[0]["hash"] = compute_hash(events[0])  # a forger recomputes the edited event's own hash
    problems = verify_chain(events, "partner-1")
    assert [(p.version, p.problem) for p in problems] == [(2, "broken_link")]


def test_event_of_another_stream_is_named():
    events = chain(2) + chain(3, "partner-2")[2:]
    assert any(p.problem == "foreign_event" for p in verify_chain(events, "partner-1"))
