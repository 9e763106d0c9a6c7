"""Addenda through the procedure (issue 11 point 3): drafted, reviewed by the TKKSD, approved again
when the change needs it, then signed; only the signing changes the agreement (``agreement.amended``)."""
from __future__ import annotations

from datetime import date

import pytest

from services.agreements.domain import AMENDABLE_FIELDS, APPROVED_TERMS, EDITORIAL_FIELDS, Agreement, rules
from shared.domain import Refusal
from tests.unit.agreements.test_agreement_builders import funded, END, amend, at, envelopes, refused, signed_pks

ON = date(2025, 6, 1)
SIGN = dict(signatory_name="Bupati", signatory_position="kepala_daerah")


def drafted_addendum(stream, changes, reason="Perubahan"):
    stream.do("draft_addendum", role="kerjasama", reason=reason, changes=changes,
              parent_kb=getattr(stream, "parent", None))
    return stream.agreement.open_addendum


# --- the rules that decide the path -------------------------------------------------------------

@pytest.mark.parametrize("changes, substantive", [
    ({"title"}, False),
    ({"value"}, True), ({"end_date"}, True), ({"funding_scheme"}, True), ({"scope"}, True), ({"purpose"}, True),
    ({"urusan"}, True), ({"location"}, True), ({"lead_opd"}, True), ({"title", "value"}, True),
    ({"some_future_field"}, True),  # not listed as editorial: substantive by default
])
def test_addendum_is_substantive_unless_only_editorial_fields_change(changes, substantive):
    assert rules.addendum_is_substantive(changes) is substantive


@pytest.mark.parametrize("changes, touches", [
    ({"end_date"}, True), ({"value"}, True), ({"funding_scheme"}, True), ({"value", "scope"}, True),
    ({"scope"}, False), ({"purpose", "urusan", "location", "lead_opd"}, False), ({"title"}, False),
])
def test_addendum_touches_approved_terms_when_term_value_or_funding_change(changes, touches):
    assert rules.addendum_touches_approved_terms(changes) is touches


def test_every_amendable_field_is_classified():
    assert EDITORIAL_FIELDS <= set(AMENDABLE_FIELDS)
    assert {"end_date", "value", "funding_scheme"} <= APPROVED_TERMS


# --- the lifecycle ------------------------------------------------------------------------------

def test_a_substantive_addendum_is_reviewed_before_it_is_signed_and_applies_only_then():
    stream = at("ACTIVE")
    addendum = drafted_addendum(stream, {"funding": funded(amount=200_000_000)})
    assert (addendum["addendum_no"], addendum["status"], addendum["substantive"]) == (1, "DRAFT", True)
    with refused("addendum_review_required", Refusal.CONFLICT):
        stream.do("sign_addendum", role="pimpinan", addendum_no=1, number="ADD-1", signed_on=ON, **SIGN)
    stream.do("submit_addendum", role="kerjasama", addendum_no=1)
    with refused("addendum_review_required", Refusal.CONFLICT):
        stream.do("sign_addendum", role="pimpinan", addendum_no=1, number="ADD-1", signed_on=ON, **SIGN)
    stream.do("record_addendum_review", role="tkksd", addendum_no=1, recommended=True, notes="", reviewed_on=ON)
    assert stream.agreement.value == 150_000_000 and stream.status == "ACTIVE"  # still in force, unchanged
    events = stream.do("sign_addendum", role="pimpinan", addendum_no=1, number="ADD-1", signed_on=ON, **SIGN)
    assert [e.type for e in events] == ["agreement.amended"]
    assert events[0].data["changes"] == {"funding": funded(amount=200_000_000), "value": 200_000_000}
    assert events[0].data["reason"] == "Perubahan"
    assert stream.agreement.value == 200_000_000 and stream.agreement.open_addendum is None


def test_an_editorial_addendum_may_be_signed_from_its_draft():
    stream = at("SIGNED")
    addendum = drafted_addendum(stream, {"title": "Kerja sama pengelolaan persampahan"}, reason="Salah ketik judul")
    assert addendum["substantive"] is False and addendum["dprd_required"] is False
    stream.do("sign_addendum", role="pimpinan", addendum_no=1, number="ADD-1", signed_on=ON, **SIGN)
    assert stream.agreement.title == "Kerja sama pengelolaan persampahan"


def test_an_editorial_addendum_edited_into_a_substantive_one_needs_the_review():
    stream = at("SIGNED")
    drafted_addendum(stream, {"title": "Judul diperbaiki"})
    stream.do("edit_addendum", role="kerjasama", addendum_no=1, changes={"title": "Judul", "scope": "Lebih luas"})
    assert stream.agreement.open_addendum["substantive"] is True
    assert stream.do("edit_addendum", role="kerjasama", addendum_no=1,
                     changes={"title": "Judul", "scope": "Lebih luas"}) == []  # nothing changes: no event
    with refused("addendum_review_required"):
        stream.do("sign_addendum", role="pimpinan", addendum_no=1, number="ADD-1", signed_on=ON, **SIGN)


@pytest.mark.parametrize("category, burdens_public, changes, path", [
    # domestic, budgeted: the TKKSD alone, whatever changes
    ("KSDD", False, {"funding": funded(amount=1)}, ["READY_TO_SIGN"]),
    # the DPRD approved this one (it burdens the public): a change of value goes back to it, of scope not
    ("KSDD", True, {"funding": funded(amount=1)}, ["AWAITING_DPRD", "READY_TO_SIGN"]),
    ("KSDD", True, {"scope": "Lebih luas"}, ["READY_TO_SIGN"]),
    # foreign: the DPRD and the central government again for the term, not for the lead OPD
    ("KSDPL", False, {"end_date": date(2027, 6, 30)}, ["AWAITING_DPRD", "AWAITING_CENTRAL", "READY_TO_SIGN"]),
    ("KSDPL", False, {"lead_opd": "DISPAR"}, ["READY_TO_SIGN"]),
])
def test_approvals_are_recomputed_from_the_amended_terms(category, burdens_public, changes, path):
    stream = at("SIGNED", category, burdens_public=burdens_public)
    drafted_addendum(stream, changes)
    stream.do("submit_addendum", role="kerjasama", addendum_no=1)
    stream.do("record_addendum_review", role="tkksd", addendum_no=1, recommended=True, notes="", reviewed_on=ON)
    seen = [stream.agreement.open_addendum["status"]]
    if seen[-1] == "AWAITING_DPRD":
        with refused("dprd_approval_required", Refusal.CONFLICT):
            stream.do("sign_addendum", role="pimpinan", addendum_no=1, number="ADD-1", signed_on=ON, **SIGN)
        stream.do("approve_addendum_dprd", role="pimpinan", addendum_no=1, approval_ref="DPRD-2", approved_on=ON)
        seen.append(stream.agreement.open_addendum["status"])
    if seen[-1] == "AWAITING_CENTRAL":
        with refused("central_approval_required", Refusal.CONFLICT):
            stream.do("sign_addendum", role="pimpinan", addendum_no=1, number="ADD-1", signed_on=ON, **SIGN)
        stream.do("approve_addendum_central", role="pimpinan", addendum_no=1, approval_ref="PUSAT-2", approved_on=ON)
        seen.append(stream.agreement.open_addendum["status"])
    assert seen == path
    stream.do("sign_addendum", role="pimpinan", addendum_no=1, number="ADD-1", signed_on=ON, **SIGN)
    assert stream.agreement.addenda[0]["status"] == "SIGNED"


def test_the_requirement_follows_the_agreements_own_rule_on_the_amended_terms(monkeypatch):
    # the addendum asks the rule the agreement uses (here: made to depend on the value) about the
    # amended terms, so a rule that changes (e.g. funding sources) is followed without a copy
    stream = at("SIGNED")
    monkeypatch.setattr(type(stream.agreement), "dprd_required", property(lambda a: a.value > 1_000_000_000))
    assert drafted_addendum(stream, {"funding": funded(amount=2_000_000_000)})["dprd_required"] is True
    stream.do("edit_addendum", role="kerjasama", addendum_no=1, changes={"funding": funded(amount=900_000_000)})
    assert stream.agreement.open_addendum["dprd_required"] is False


def test_one_addendum_at_a_time_and_the_agreement_stays_in_force():
    stream = at("ACTIVE")
    drafted_addendum(stream, {"funding": funded(amount=1)})
    with refused("addendum_in_progress", Refusal.CONFLICT):
        drafted_addendum(stream, {"title": "Lain"})
    stream.do("raise_expiry_reminder", role="service", on=END)  # the agreement's own life goes on
    stream.do("withdraw_addendum", role="kerjasama", addendum_no=1, reason="Dirundingkan ulang")
    assert drafted_addendum(stream, {"title": "Lain"})["addendum_no"] == 2


def test_a_negative_review_returns_the_addendum_for_revision():
    stream = at("SIGNED")
    drafted_addendum(stream, {"funding": funded(amount=900_000_000)})
    stream.do("submit_addendum", role="kerjasama", addendum_no=1)
    with refused("reason_required"):
        stream.do("record_addendum_review", role="tkksd", addendum_no=1, recommended=False, notes=" ", reviewed_on=ON)
    events = stream.do("record_addendum_review", role="tkksd", addendum_no=1, recommended=False,
                       notes="Nilai tidak didukung RAB", reviewed_on=ON)
    assert events[0].data["recommended"] is False and events[0].data["next_status"] == "DRAFT"
    addendum = stream.agreement.open_addendum
    assert addendum["status"] == "DRAFT"
    assert addendum["revision_requests"] == [{"reason": "Nilai tidak didukung RAB", "negative_review": True}]
    stream.do("edit_addendum", role="kerjasama", addendum_no=1, changes={"funding": funded(amount=400_000_000)})
    stream.do("submit_addendum", role="kerjasama", addendum_no=1)
    with refused("date_before_previous_step"):
        stream.do("record_addendum_review", role="tkksd", addendum_no=1, recommended=True, notes="",
                  reviewed_on=date(2025, 5, 31))


@pytest.mark.parametrize("command, role, status", [("withdraw_addendum", "kerjasama", "WITHDRAWN"),
                                                   ("reject_addendum", "pimpinan", "REJECTED")])
def test_an_addendum_can_be_withdrawn_or_rejected_and_changes_nothing(command, role, status):
    stream = at("ACTIVE")
    drafted_addendum(stream, {"end_date": date(2027, 6, 30)})
    stream.do("submit_addendum", role="kerjasama", addendum_no=1)
    with refused("role_not_allowed", Refusal.FORBIDDEN):
        stream.do(command, role="tkksd", addendum_no=1, reason="x")
    stream.do(command, role=role, addendum_no=1, reason="Tidak dilanjutkan")
    assert stream.agreement.addenda[0]["status"] == status
    assert stream.agreement.addenda[0]["closing_reason"] == "Tidak dilanjutkan"
    assert stream.agreement.end_date == END
    with refused("invalid_transition", Refusal.CONFLICT):
        stream.do("submit_addendum", role="kerjasama", addendum_no=1)


def test_an_open_addendum_can_still_be_closed_after_the_agreement_ended():
    stream = at("ACTIVE")
    drafted_addendum(stream, {"funding": funded(amount=1)})
    stream.do("terminate", role="pimpinan", reason="Mitra pailit", on=date(2026, 1, 1))
    with refused("invalid_transition"):
        stream.do("submit_addendum", role="kerjasama", addendum_no=1)
    stream.do("withdraw_addendum", role="kerjasama", addendum_no=1, reason="Kerja sama diakhiri")


def test_an_unknown_addendum_is_not_found():
    stream = at("SIGNED")
    with refused("addendum_not_found", Refusal.NOT_FOUND):
        stream.do("submit_addendum", role="kerjasama", addendum_no=1)


def test_a_pks_addendum_is_signed_by_a_holder_of_a_power_of_attorney():
    stream = signed_pks()
    amend(stream, {"funding": funded(amount=1)}, signatory_name="Kepala Dinas", signatory_position="kepala_perangkat_daerah",
          power_of_attorney_ref="SK-KUASA/3/2025")
    assert stream.agreement.amendments[0]["signatory"]["power_of_attorney_ref"] == "SK-KUASA/3/2025"


def test_a_one_step_amendment_of_an_older_stream_still_folds():
    stream = at("ACTIVE")
    old = envelopes(stream.events) + [{"event_type": "agreement.amended", "data": {
        "addendum_no": 1, "number": "ADD-1", "partner_number": None, "signed_on": "2025-06-01", "reason": "Lama",
        "signatory": {"name": "Bupati", "position": "kepala_daerah", "power_of_attorney_ref": None},
        "changes": {"value": 5}, "previous": {"value": 150_000_000}}}]
    agreement = Agreement.rebuild(stream.agreement.stream_id, old)
    assert agreement.value == 5 and [(a["addendum_no"], a["status"]) for a in agreement.addenda] == [(1, "SIGNED")]
    assert agreement.open_addendum is None
    agreement.draft_addendum(role="kerjasama", reason="Baru", changes={"title": "Judul"})
    assert agreement.open_addendum["addendum_no"] == 2


def test_whoever_drafted_or_last_edited_an_addendum_does_not_review_it():
    stream = at("ACTIVE")
    stream.do("draft_addendum", role="kerjasama", actor="sub-3f9a", reason="Perubahan", changes={"scope": "Lebih luas"})
    stream.do("edit_addendum", role="kerjasama", actor="sub-b7c1", addendum_no=1, changes={"scope": "Lebih luas lagi"})
    stream.do("submit_addendum", role="kerjasama", addendum_no=1)
    for author in ("sub-3f9a", "sub-b7c1"):  # e.g. a drafter who also holds the tkksd role
        with refused("reviewer_is_author", Refusal.FORBIDDEN):
            stream.do("record_addendum_review", role="tkksd", actor=author, addendum_no=1, recommended=True,
                      notes="", reviewed_on=ON)
    stream.do("record_addendum_review", role="tkksd", actor="tono", addendum_no=1, recommended=True, notes="",
              reviewed_on=ON)
    assert stream.agreement.open_addendum["status"] == "READY_TO_SIGN"
    assert "sub-3f9a" not in str(stream.agreement.snapshot())  # authors are token subjects: not shown
