"""A PKS stays coherent with its KB (issue 11 point 2): the named rules, the parent_changed record
and its review flag, and the KB cascade (kb_cascade.py) over the handlers with in-memory fakes."""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, timedelta

import pytest

from shared.application import CommandContext
from shared.domain import Refusal

from services.agreements import kb_cascade
from services.agreements.commands import (
    AcknowledgeParentChange, ActivateAgreement, DraftAddendum, RecordAddendumReview, RecordParentChange, RecordReview,
    SignAddendum, SignAgreement, SubmitAddendum,
    StartReview, SubmitAgreement, TerminateAgreement,
)
from services.agreements.scheduler import tick
from tests.unit.agreements.test_agreement_builders import (
    END, START, TODAY, Stream, advance, amend, at, drafted, kb_amended, refused, signed_pks,
)
from tests.unit.agreements.test_agreement_handlers import (  # noqa: F401 - jalin: the fixture
    END as H_END, LEADER, NOW, START as H_START, STAFF, TKKSD, TODAY as H_TODAY, Jalin, draft_cmd, jalin, signed,
)

ONE_DAY = timedelta(days=1)


def terminate_kb(pks: Stream):
    before = copy.deepcopy(pks.parent)
    [event] = pks.parent.terminate(role="pimpinan", reason="Mitra mundur", on=date(2025, 6, 1), today=TODAY)
    return before, pks.parent, event


def record(pks: Stream, before, after, cause="evt-1", event_type="agreement.amended"):
    return pks.do("record_parent_change", role="service", kb_before=before, kb_after=after, cause_event_id=cause,
                  cause_event_type=event_type)


# --- activation: parent_kb_not_in_force ------------------------------------------------------------

def test_a_signed_pks_is_activated_while_its_kb_is_in_force():
    pks = signed_pks()
    pks.do("activate", role="service", on=START, parent_kb=pks.parent)
    assert pks.status == "ACTIVE"


@pytest.mark.parametrize("end", ["terminated", "expired"])
def test_a_pks_is_not_activated_once_its_kb_has_ended(end):
    pks = signed_pks()
    if end == "terminated":
        terminate_kb(pks)
    else:
        pks.parent.expire(role="service", on=END + ONE_DAY)
    with refused("parent_kb_not_in_force", Refusal.CONFLICT) as err:
        pks.do("activate", role="service", on=START, parent_kb=pks.parent)
    assert err.value.fields == {"parent_kb_id": "must be SIGNED or ACTIVE"}
    assert pks.status == "SIGNED"


def test_a_pks_is_not_activated_without_its_kb():
    pks = signed_pks()
    with refused("parent_kb_not_in_force", Refusal.CONFLICT):
        pks.do("activate", role="service", on=START)


def test_a_pks_sticking_out_of_its_shortened_kb_is_not_activated_until_amended_to_fit():
    pks = signed_pks()
    kb_amended(pks, end_date=END - timedelta(days=100))
    with refused("pks_outside_kb_period"):
        pks.do("activate", role="service", on=START, parent_kb=pks.parent)
    amend(pks, {"end_date": END - timedelta(days=100)}, on=date(2025, 6, 2), number="ADD-PKS-1",
          reason="Ikuti adendum KB", signatory_name="Kepala Dinas", signatory_position="kepala_perangkat_daerah",
          power_of_attorney_ref="SK-KUASA/3/2025", parent_kb=pks.parent)
    pks.do("activate", role="service", on=START, parent_kb=pks.parent)
    assert pks.status == "ACTIVE"


def test_sinergi_without_a_kb_is_activated_as_before():
    stream = at("SIGNED", "SINERGI", "PKS")
    stream.do("activate", role="service", on=START)
    assert stream.status == "ACTIVE"


def test_a_pks_addendum_outside_a_shortened_kb_is_refused():
    pks = signed_pks()
    kb_amended(pks, end_date=END - timedelta(days=100))
    with refused("pks_outside_kb_period"):
        pks.do("draft_addendum", role="kerjasama", reason="Geser", changes={"end_date": END - timedelta(days=99)},
               parent_kb=pks.parent)


def test_no_pks_is_drafted_under_a_kb_that_has_ended():
    kb = at("SIGNED")
    kb.do("terminate", role="pimpinan", reason="Diakhiri", on=date(2025, 6, 1))
    with refused("parent_kb_not_in_force") as err:
        drafted(document_kind="PKS", parent=kb.agreement)
    assert "parent_kb_id" in err.value.fields
    cancelled = at("DRAFT")
    cancelled.do("cancel", role="kerjasama", reason="Batal")
    with refused("parent_kb_not_in_force"):
        drafted(document_kind="PKS", parent=cancelled.agreement)


# --- record_parent_change ---------------------------------------------------------------------------

def test_a_kb_addendum_shortening_the_kb_flags_the_pks_that_now_sticks_out():
    pks = signed_pks()
    before, after = kb_amended(pks, end_date=END - timedelta(days=100))
    [event] = record(pks, before, after)
    assert event.type == "agreement.parent_changed"
    assert event.data == {
        "parent_kb_id": after.stream_id,
        "cause": {"event_id": "evt-1", "event_type": "agreement.amended", "version": after.version},
        "changes": {"end_date": {"before": END.isoformat(), "after": (END - timedelta(days=100)).isoformat()}},
        "outside_kb": True, "problems": ["pks_outside_kb_period"],
    }
    assert pks.agreement.parent_change_pending
    assert pks.rebuilt().snapshot() == pks.agreement.snapshot()
    assert pks.agreement.snapshot()["parent_change_pending"] is True


def test_a_kb_change_the_pks_still_fits_in_is_recorded_without_a_flag():
    pks = signed_pks(end_date=END - timedelta(days=200))
    before, after = kb_amended(pks, end_date=END - timedelta(days=100))
    [event] = record(pks, before, after)
    assert event.data["outside_kb"] is False and event.data["problems"] == []
    assert not pks.agreement.parent_change_pending
    with refused("no_parent_change_pending", Refusal.CONFLICT):
        pks.do("acknowledge_parent_change", role="kerjasama", note="Tidak perlu")


def test_a_kb_termination_flags_every_live_pks():
    pks = signed_pks()
    before, after, event = terminate_kb(pks)
    [recorded] = record(pks, before, after, cause="evt-term", event_type=event.type)
    assert recorded.data["changes"] == {"status": {"before": "SIGNED", "after": "TERMINATED"}}
    assert recorded.data["problems"] == ["parent_kb_not_in_force"]
    assert pks.agreement.parent_change_pending


def test_the_same_cause_is_recorded_once():
    pks = signed_pks()
    before, after = kb_amended(pks, end_date=END - timedelta(days=100))
    assert len(record(pks, before, after)) == 1
    assert record(pks, before, after) == []


def test_nothing_is_recorded_for_a_kb_change_a_pks_does_not_depend_on():
    pks = signed_pks()
    before, after = kb_amended(pks, title="Judul KB baru")
    assert record(pks, before, after) == []


def test_nothing_is_recorded_on_an_ended_pks_or_on_a_pks_of_another_kb():
    pks = advance(signed_pks(), "ACTIVE")
    pks.do("terminate", role="pimpinan", reason="Selesai", on=date(2025, 6, 1))
    before, after = kb_amended(pks, end_date=END - timedelta(days=100))
    assert record(pks, before, after) == []
    other = signed_pks()
    assert record(other, before, after) == []


def test_only_the_cascade_records_and_only_kerjasama_acknowledges():
    pks = signed_pks()
    before, after = kb_amended(pks, end_date=END - timedelta(days=100))
    with refused("role_not_allowed", Refusal.FORBIDDEN):
        pks.do("record_parent_change", role="kerjasama", kb_before=before, kb_after=after, cause_event_id="e",
               cause_event_type="agreement.amended")
    record(pks, before, after)
    for role in ("pimpinan", "tkksd", "opd", "service"):
        with refused("role_not_allowed", Refusal.FORBIDDEN):
            pks.do("acknowledge_parent_change", role=role, note="Ditinjau")


def test_acknowledging_needs_a_note_and_clears_the_flag_until_the_next_change():
    pks = signed_pks()
    before, after = kb_amended(pks, end_date=END - timedelta(days=100))
    record(pks, before, after)
    with refused("reason_required"):
        pks.do("acknowledge_parent_change", role="kerjasama", note="  ")
    [ack] = pks.do("acknowledge_parent_change", role="kerjasama", note="Adendum PKS disiapkan")
    assert ack.data == {"note": "Adendum PKS disiapkan", "causes": ["evt-1"]}
    assert not pks.agreement.parent_change_pending
    assert pks.agreement.parent_changes[0]["acknowledged"] == {"note": "Adendum PKS disiapkan"}
    before, after, event = terminate_kb(pks)
    record(pks, before, after, cause="evt-2", event_type=event.type)
    assert pks.agreement.parent_change_pending
    assert pks.rebuilt().snapshot() == pks.agreement.snapshot()


# --- the cascade and the scheduler over the handlers ----------------------------------------------

CASCADE_PKS = dict(document_kind="PKS", title="PKS layanan bus")


def signed_pks_of(jalin: Jalin, kb: str, **overrides) -> str:
    h = jalin.handlers
    pks = h.draft(replace(draft_cmd(**CASCADE_PKS, parent_kb_id=kb), **overrides), STAFF).stream_id
    h.submit(SubmitAgreement(pks), STAFF)
    h.start_review(StartReview(pks), TKKSD)
    h.record_review(RecordReview(pks, recommended=True), TKKSD)
    h.sign(SignAgreement(pks, signatory_name="Ir. Sutrisno", signatory_position="kepala_perangkat_daerah",
                         power_of_attorney_ref="SK-KUASA/7/2025"), LEADER)
    return pks


def last_event(jalin: Jalin, stream_id: str) -> dict:
    return jalin.store.load(stream_id)[-1]


def test_the_cascade_records_a_kb_addendum_on_each_pks_once_whatever_the_redeliveries(jalin):
    kb = signed(jalin)
    long_pks = signed_pks_of(jalin, kb)
    short_pks = signed_pks_of(jalin, kb, end_date=H_END - timedelta(days=300))
    other_kb = signed(jalin)
    unrelated = signed_pks_of(jalin, other_kb)
    h = jalin.handlers
    h.draft_addendum(DraftAddendum(kb, reason="Dipersingkat", changes={"end_date": H_END - timedelta(days=200)}),
                     STAFF)
    h.submit_addendum(SubmitAddendum(kb, 1), STAFF)
    h.record_addendum_review(RecordAddendumReview(kb, 1, recommended=True), TKKSD)
    h.sign_addendum(SignAddendum(kb, 1, number="ADD-KB-1", signatory_name="Bupati",
                                 signatory_position="kepala_daerah"), LEADER)
    event = last_event(jalin, kb)
    assert sorted(kb_cascade.cascade(jalin.handlers, event)) == sorted([long_pks, short_pks])
    assert kb_cascade.cascade(jalin.handlers, event) == []  # redelivered: nothing more
    long_change, short_change = last_event(jalin, long_pks), last_event(jalin, short_pks)
    assert long_change["event_type"] == short_change["event_type"] == "agreement.parent_changed"
    assert long_change["data"]["outside_kb"] is True and short_change["data"]["outside_kb"] is False
    assert long_change["causation_id"] == event["event_id"] and long_change["actor"]["role"] == "service"
    assert jalin.types(unrelated)[-1] == "agreement.signed"
    assert jalin.handlers.get(long_pks).parent_change_pending
    assert not jalin.handlers.get(short_pks).parent_change_pending


def test_a_cascade_cut_short_is_completed_by_the_redelivery(jalin):
    kb = signed(jalin)
    first, second = signed_pks_of(jalin, kb), signed_pks_of(jalin, kb)
    jalin.handlers.terminate(TerminateAgreement(kb, reason="Mitra mundur"), LEADER)
    event = last_event(jalin, kb)
    # As if the worker died after the first PKS: that one is recorded, the event is redelivered.
    done_first = jalin.handlers.record_parent_change(
        RecordParentChange(first, kb, event["event_id"], event["event_type"], event["version"]),
        CommandContext(kb_cascade.CASCADE))
    assert done_first.parent_change_pending
    assert kb_cascade.cascade(jalin.handlers, event) == [second]
    assert [t for t in jalin.types(first) if t == "agreement.parent_changed"] == ["agreement.parent_changed"]


def test_the_cascade_ignores_events_of_a_pks_and_other_event_types(jalin):
    kb = signed(jalin)
    pks = signed_pks_of(jalin, kb)
    jalin.handlers.terminate(TerminateAgreement(pks, reason="Selesai lebih awal"), LEADER)
    assert kb_cascade.cascade(jalin.handlers, last_event(jalin, pks)) == []
    assert kb_cascade.cascade(jalin.handlers, jalin.store.load(kb)[0]) == []
    assert not kb_cascade.KbCascade(jalin.handlers).handles("agreement.signed")
    assert kb_cascade.KbCascade(jalin.handlers).handles("agreement.amended")


def test_the_scheduler_skips_a_pks_under_a_terminated_kb_logs_once_and_still_expires_it(jalin, caplog):
    kb = signed(jalin)
    pks = signed_pks_of(jalin, kb)
    jalin.handlers.terminate(TerminateAgreement(kb, reason="Mitra mundur"), LEADER)
    logged: set = set()

    def tick_on(day):
        jalin.clock.moment = NOW + (day - H_TODAY)
        return tick(jalin.handlers, day, refused=logged)

    with caplog.at_level("WARNING", logger="jalin.scheduler"):
        first, second = tick_on(H_START), tick_on(H_START + ONE_DAY)
    assert first["activate"] == second["activate"] == 0 and first["refused"] == second["refused"] == 1
    assert jalin.status(pks) == "SIGNED"
    assert [r.rule for r in caplog.records if getattr(r, "stream_id", None) == pks] == ["parent_kb_not_in_force"]
    assert tick_on(H_END + ONE_DAY)["expire"] == 1
    assert jalin.status(pks) == "EXPIRED"


def test_activation_by_hand_names_the_rule_and_acknowledging_clears_the_flag(jalin):
    kb = signed(jalin)
    pks = signed_pks_of(jalin, kb)
    jalin.handlers.terminate(TerminateAgreement(kb, reason="Mitra mundur"), LEADER)
    kb_cascade.cascade(jalin.handlers, last_event(jalin, kb))
    jalin.clock.moment = NOW + (H_START - H_TODAY)  # after the PKS's start
    with refused("parent_kb_not_in_force", Refusal.CONFLICT):
        jalin.handlers.activate(ActivateAgreement(pks), STAFF)
    agreement = jalin.handlers.acknowledge_parent_change(AcknowledgeParentChange(pks, "PKS akan diakhiri"), STAFF)
    assert not agreement.parent_change_pending
    assert jalin.last(pks) == {"note": "PKS akan diakhiri", "causes": [last_event(jalin, kb)["event_id"]]}

