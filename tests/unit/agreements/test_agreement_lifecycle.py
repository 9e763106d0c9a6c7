"""The agreement's workflow from draft to its end: transitions, events, addenda, documents, extensions."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from services.agreements.domain import EVENT_TYPES, Agreement, EventType
from shared.domain import InvalidTransition, Refusal
from tests.unit.agreements.test_agreement_builders import (
    END, LEAD_OPD, SIGNED_ON, START, TODAY, Stream, advance, amend, at, draft_kwargs, drafted, envelopes, file_meta,
    funded, partner, partner_for, refused, step,
)

PRE_SIGNING = ["DRAFT", "SUBMITTED", "UNDER_REVIEW", "AWAITING_DPRD", "AWAITING_CENTRAL", "READY_TO_SIGN"]


def states_visited(category="KSDD", **overrides):
    stream = drafted(category, **overrides)
    seen = [stream.status]
    while stream.status != "EXPIRED":
        step(stream)
        seen.append(stream.status)
    return seen, stream


def test_domestic_agreement_without_dprd_goes_straight_to_ready_to_sign():
    seen, stream = states_visited()
    assert seen == ["DRAFT", "SUBMITTED", "UNDER_REVIEW", "READY_TO_SIGN", "SIGNED", "ACTIVE", "EXPIRED"]
    assert [e.type for e in stream.events] == [
        "agreement.drafted", "agreement.submitted", "agreement.review_started", "agreement.review_recorded",
        "agreement.signed", "agreement.activated", "agreement.expired"]


@pytest.mark.parametrize("overrides", [{"burdens_public": True}, {"funding": funded(budgeted=False)}])
def test_burden_on_the_public_or_no_apbd_budget_needs_dprd(overrides):
    seen, _ = states_visited(**overrides)
    assert seen[:5] == ["DRAFT", "SUBMITTED", "UNDER_REVIEW", "AWAITING_DPRD", "READY_TO_SIGN"]


@pytest.mark.parametrize("category", ["KSDPL", "KSDLL"])
def test_foreign_cooperation_needs_dprd_then_central_approval(category):
    seen, stream = states_visited(category)
    assert seen[:6] == ["DRAFT", "SUBMITTED", "UNDER_REVIEW", "AWAITING_DPRD", "AWAITING_CENTRAL", "READY_TO_SIGN"]
    snap = stream.agreement.snapshot()
    assert snap["is_foreign"] and snap["dprd_required"] and snap["central_required"]
    assert snap["dprd_approval"] == {"approval_ref": "KEP-DPRD/12/2024", "approved_on": "2024-12-05"}
    assert snap["central_approval"]["approval_ref"] == "KEMENDAGRI/100/2024"


def test_submitted_event_states_which_approvals_are_required():
    stream = at("SUBMITTED", "KSDPL")
    assert stream.events[-1].data == {"dprd_required": True, "central_required": True}


def test_signing_is_refused_naming_the_awaited_approval():
    stream = at("AWAITING_DPRD", "KSDLL")
    sign = dict(role="pimpinan", signatory_name="Bupati", signatory_position="kepala_daerah", signed_on=SIGNED_ON,
                today=TODAY)
    with refused("dprd_approval_required", Refusal.CONFLICT):
        stream.do("sign", **sign)
    with refused("dprd_approval_required", Refusal.CONFLICT):
        stream.do("approve_central", role="pimpinan", approval_ref="X", approved_on=SIGNED_ON)
    step(stream)
    assert stream.status == "AWAITING_CENTRAL"
    with refused("central_approval_required", Refusal.CONFLICT):
        stream.do("sign", **sign)
    with refused("invalid_transition", Refusal.CONFLICT):
        stream.do("approve_dprd", role="pimpinan", approval_ref="X", approved_on=SIGNED_ON)


def test_dprd_approval_is_refused_when_not_awaited():
    stream = at("READY_TO_SIGN")
    with pytest.raises(InvalidTransition) as err:
        stream.do("approve_dprd", role="pimpinan", approval_ref="X", approved_on=SIGNED_ON)
    assert err.value.kind == Refusal.CONFLICT and err.value.state == "READY_TO_SIGN"


def test_a_stream_ready_to_sign_without_recorded_approvals_cannot_be_signed():
    # e.g. a stream imported from an older register: READY_TO_SIGN written directly by the review
    stream = at("UNDER_REVIEW", "KSDPL")
    forged = envelopes(stream.events) + [{"event_type": EventType.REVIEW_RECORDED, "data": {
        "recommended": True, "notes": "", "reviewed_on": "2024-12-01", "next_status": "READY_TO_SIGN"}}]
    agreement = Agreement.rebuild(stream.agreement.stream_id, forged)
    sign = dict(role="pimpinan", signatory_name="Bupati", signatory_position="kepala_daerah", signed_on=SIGNED_ON,
                today=TODAY)
    with refused("dprd_approval_required", Refusal.CONFLICT):
        agreement.sign(**sign)
    agreement.apply(EventType.DPRD_APPROVED, {"approval_ref": "X", "approved_on": "2024-12-05",
                                              "next_status": "READY_TO_SIGN"})
    with refused("central_approval_required", Refusal.CONFLICT):
        agreement.sign(**sign)


def test_an_unfavourable_review_returns_the_draft_for_revision_and_needs_notes():
    stream = at("UNDER_REVIEW")
    with refused("reason_required", Refusal.INVALID):
        stream.do("record_review", role="tkksd", recommended=False, notes="  ", reviewed_on=date(2024, 12, 1))
    events = stream.do("record_review", role="tkksd", recommended=False, notes="Tidak bermanfaat",
                       reviewed_on=date(2024, 12, 1))
    assert [(e.type, e.data["recommended"], e.data["next_status"]) for e in events] == [
        ("agreement.review_recorded", False, "DRAFT")]
    snap = stream.agreement.snapshot()
    assert snap["status"] == "DRAFT" and snap["rejection_reason"] is None
    assert snap["review"] == {"recommended": False, "notes": "Tidak bermanfaat", "reviewed_on": "2024-12-01"}
    assert snap["revision_requests"] == [{"reason": "Tidak bermanfaat", "negative_review": True}]
    # revised and reviewed again (not before the first review), then favourably
    stream.do("edit_draft", role="kerjasama", changes={"purpose": "Mengurangi sampah ke TPA"})
    advance(stream, "UNDER_REVIEW")
    with refused("date_before_previous_step"):
        stream.do("record_review", role="tkksd", recommended=True, notes="", reviewed_on=date(2024, 11, 30))
    advance(stream, "SIGNED")


def test_after_a_negative_review_the_head_of_region_may_reject_explicitly():
    stream = at("UNDER_REVIEW")
    stream.do("record_review", role="tkksd", recommended=False, notes="Tidak sesuai RPJMD",
              reviewed_on=date(2024, 12, 1))
    with refused("role_not_allowed", Refusal.FORBIDDEN):  # the TKKSD recommends; it does not decide
        stream.do("reject", role="tkksd", reason="Ditolak")
    stream.do("reject", role="pimpinan", reason="Mengikuti rekomendasi TKKSD")
    assert stream.status == "REJECTED" and stream.agreement.rejection_reason == "Mengikuti rekomendasi TKKSD"


def test_a_review_recorded_as_rejection_before_reviews_returned_drafts_still_folds():
    stream = at("UNDER_REVIEW")
    old = envelopes(stream.events) + [{"event_type": EventType.REVIEW_RECORDED, "data": {
        "recommended": False, "notes": "Tidak layak", "reviewed_on": "2024-12-01", "next_status": "REJECTED"}}]
    agreement = Agreement.rebuild(stream.agreement.stream_id, old)
    assert agreement.status == "REJECTED" and agreement.rejection_reason == "Tidak layak"
    assert agreement.revision_requests == []


@pytest.mark.parametrize("source", ["SUBMITTED", "UNDER_REVIEW"])
def test_return_for_revision_goes_back_to_draft_and_can_be_resubmitted(source):
    stream = at(source)
    with refused("reason_required"):
        stream.do("return_for_revision", role="tkksd", reason="")
    stream.do("return_for_revision", role="tkksd", reason="Lengkapi KAK")
    assert stream.status == "DRAFT"
    stream.do("edit_draft", role="kerjasama", changes={"scope": "Pengangkutan dan pengolahan"})
    advance(stream, "SIGNED")
    snap = stream.agreement.snapshot()
    assert snap["revision_requests"] == [{"reason": "Lengkapi KAK", "negative_review": False}]
    assert snap["scope"] == "Pengangkutan dan pengolahan"


def test_signing_records_signatories_and_numbers_and_stays_signed_after_start():
    stream = at("READY_TO_SIGN", our_number=None)
    events = stream.do("sign", role="pimpinan", signatory_name="Drs. H. Bupati", signatory_position="kepala_daerah",
                       signed_on=START + timedelta(days=30), partner_signatory_name="Wali Kota",
                       partner_signatory_position="Wali Kota Jambi", our_number="180/KS/2025")
    assert events[0].data == {
        "signed_on": "2025-01-31",
        "signatory": {"name": "Drs. H. Bupati", "position": "kepala_daerah", "power_of_attorney_ref": None},
        "partner_signatory": {"name": "Wali Kota", "position": "Wali Kota Jambi"},
        "our_number": "180/KS/2025", "partner_number": None}
    assert stream.status == "SIGNED"  # the start date has passed, yet activation is its own step
    stream.do("activate", role="service", on=START + timedelta(days=31))
    assert stream.agreement.snapshot()["activated_on"] == "2025-01-31"  # in force from its signing


def test_a_late_scheduler_records_the_dates_the_agreement_itself_gives():
    stream = at("SIGNED")  # signed before its start date
    stream.do("activate", role="service", on=START + timedelta(days=10))
    assert stream.events[-1].data == {"activated_on": START.isoformat()}
    stream.do("expire", role="service", on=END + timedelta(days=40))
    assert stream.events[-1].data == {"expired_on": "2028-01-01", "end_date": "2027-12-31"}


def test_activation_waits_for_the_start_date():
    stream = at("SIGNED")
    with refused("not_yet_started", Refusal.CONFLICT):
        stream.do("activate", role="service", on=START - timedelta(days=1))
    stream.do("activate", role="service", on=START)
    assert stream.status == "ACTIVE"


@pytest.mark.parametrize("source", ["SIGNED", "ACTIVE"])
def test_expiry_only_after_the_end_date(source):
    stream = at(source)
    with refused("not_yet_ended", Refusal.CONFLICT):
        stream.do("expire", role="service", on=END)
    stream.do("expire", role="service", on=END + timedelta(days=1))
    assert stream.status == "EXPIRED"
    assert stream.events[-1].data == {"expired_on": "2028-01-01", "end_date": "2027-12-31"}


@pytest.mark.parametrize("source", ["SIGNED", "ACTIVE"])
def test_termination_needs_a_reason(source):
    stream = at(source)
    with refused("reason_required"):
        stream.do("terminate", role="pimpinan", reason=" ", on=date(2026, 1, 1))
    stream.do("terminate", role="pimpinan", reason="Mitra wanprestasi", on=date(2026, 1, 1))
    assert stream.agreement.snapshot()["termination"] == {"reason": "Mitra wanprestasi", "reason_code": "lainnya",
                                                          "terminated_on": "2026-01-01"}
    assert stream.status == "TERMINATED"


@pytest.mark.parametrize("source", PRE_SIGNING)
@pytest.mark.parametrize("command, role, final", [("reject", "pimpinan", "REJECTED"),
                                                  ("cancel", "kerjasama", "CANCELLED")])
def test_reject_and_cancel_from_every_state_before_signing(source, command, role, final):
    stream = at(source, "KSDPL")
    stream.do(command, role=role, reason="Tidak dilanjutkan")
    assert stream.status == final


@pytest.mark.parametrize("source", ["SIGNED", "ACTIVE", "EXPIRED"])
@pytest.mark.parametrize("command, role", [("reject", "pimpinan"), ("cancel", "kerjasama")])
def test_reject_and_cancel_are_refused_once_signed(source, command, role):
    stream = at(source)
    with refused("invalid_transition", Refusal.CONFLICT):
        stream.do(command, role=role, reason="Terlambat")


def test_expiry_reminder_is_raised_once_from_h_minus_90():
    stream = at("ACTIVE")
    h90 = END - timedelta(days=90)
    assert stream.do("raise_expiry_reminder", role="service", on=h90 - timedelta(days=1)) == []
    events = stream.do("raise_expiry_reminder", role="service", on=h90)
    assert [e.type for e in events] == ["agreement.expiry_reminder_raised"]
    assert events[0].data == {"raised_on": h90.isoformat(), "end_date": "2027-12-31", "days_left": 90}
    assert stream.do("raise_expiry_reminder", role="service", on=h90) == []
    assert stream.do("raise_expiry_reminder", role="service", on=END) == []


@pytest.mark.parametrize("on, raised", [(END, True), (END + timedelta(days=1), False)])
def test_expiry_reminder_window_closes_at_the_end_date(on, raised):
    stream = at("SIGNED")
    assert len(stream.do("raise_expiry_reminder", role="service", on=on)) == int(raised)


def test_an_addendum_moving_the_end_date_allows_a_reminder_for_the_new_date():
    stream = at("ACTIVE")
    stream.do("raise_expiry_reminder", role="service", on=END - timedelta(days=10))
    new_end = date(2028, 6, 30)
    amend(stream, {"end_date": new_end}, on=date(2027, 12, 1), reason="Perpanjangan jadwal")
    assert stream.do("raise_expiry_reminder", role="service", on=END) == []  # 182 days left: not due
    assert len(stream.do("raise_expiry_reminder", role="service", on=new_end - timedelta(days=90))) == 1
    assert stream.do("raise_expiry_reminder", role="service", on=new_end) == []


@pytest.mark.parametrize("source", ["DRAFT", "READY_TO_SIGN", "EXPIRED", "CANCELLED"])
def test_expiry_reminder_outside_signed_or_active_is_refused(source):
    stream = at(source) if source != "CANCELLED" else at("DRAFT")
    if source == "CANCELLED":
        stream.do("cancel", role="kerjasama", reason="x")
    with refused("invalid_transition", Refusal.CONFLICT):
        stream.do("raise_expiry_reminder", role="service", on=END)


def test_amendments_are_numbered_and_change_the_terms():
    stream = at("ACTIVE")
    amend(stream, {"value": 200_000_000, "funding": funded(amount=200_000_000), "scope": "Pengangkutan dan daur ulang"}, number="ADD-1/2025",
          on=date(2025, 6, 1), reason="Nilai bertambah", partner_number="P-ADD-1")
    events = amend(stream, {"location": "Jambi Luar Kota"}, number="ADD-2/2025", on=date(2025, 9, 1), reason="Lokasi",
                   signatory_name="Plt. Bupati", signatory_position="plt_kepala_daerah")
    assert [e.type for e in events] == ["agreement.amended"]
    assert events[0].data["addendum_no"] == 2
    snap = stream.agreement.snapshot()
    assert (snap["value"], snap["scope"], snap["location"]) == (200_000_000, "Pengangkutan dan daur ulang",
                                                               "Jambi Luar Kota")
    first = snap["amendments"][0]
    assert first["addendum_no"] == 1 and first["number"] == "ADD-1/2025" and first["partner_number"] == "P-ADD-1"
    assert first["previous"] == {"value": 150_000_000, "funding": funded(), "scope": "Pengangkutan"}
    assert [(a["addendum_no"], a["status"], a["number"]) for a in snap["addenda"]] == [
        (1, "SIGNED", "ADD-1/2025"), (2, "SIGNED", "ADD-2/2025")]
    assert snap["status"] == "ACTIVE"


def test_amendment_rules():
    stream = at("SIGNED")
    base = dict(role="kerjasama", reason="Ubah")
    with refused("field_not_editable", Refusal.INVALID) as err:
        stream.do("draft_addendum", **base, changes={"category": "KSDPK", "start_date": START})
    assert set(err.value.fields) == {"category", "start_date"}
    with refused("term_exceeds_five_years"):
        stream.do("draft_addendum", **base, changes={"end_date": date(2030, 1, 2)})
    with refused("end_before_start"):
        stream.do("draft_addendum", **base, changes={"end_date": START})
    with refused("invalid_amount"):
        stream.do("draft_addendum", **base, changes={"value": -1})
    with refused("reason_required"):
        stream.do("draft_addendum", **{**base, "reason": ""}, changes={"title": "Judul"})
    with refused("addendum_changes_required"):
        stream.do("draft_addendum", **base, changes={})
    with refused("signatory_not_authorised"):
        amend(stream, {"title": "Judul yang diperbaiki"}, signatory_position="sekretaris_daerah",
              power_of_attorney_ref="SK-1")
    stream.do("withdraw_addendum", role="kerjasama", addendum_no=1, reason="Salah penandatangan")
    amend(stream, {"end_date": date(2030, 1, 1)})  # exactly five years: allowed
    assert stream.agreement.end_date == date(2030, 1, 1)
    assert stream.agreement.snapshot()["amendments"][0]["previous"] == {"end_date": "2027-12-31"}


@pytest.mark.parametrize("source", ["DRAFT", "READY_TO_SIGN", "EXPIRED", "TERMINATED"])
def test_amendment_outside_signed_or_active_is_refused(source):
    stream = at("ACTIVE" if source == "TERMINATED" else source)
    if source == "TERMINATED":
        stream.do("terminate", role="pimpinan", reason="x", on=date(2026, 1, 1))
    with refused("invalid_transition", Refusal.CONFLICT):
        stream.do("draft_addendum", role="kerjasama", reason="x", changes={"title": "Judul baru"})


@pytest.mark.parametrize("source", ["DRAFT", "UNDER_REVIEW", "SIGNED", "EXPIRED", "TERMINATED"])
def test_documents_can_be_attached_until_rejected_or_cancelled(source):
    stream = at("ACTIVE" if source == "TERMINATED" else source)
    if source == "TERMINATED":
        stream.do("terminate", role="pimpinan", reason="x", on=date(2026, 1, 1))
    events = stream.do("attach_document", role="kerjasama", kind="signed_scan", file=file_meta(7))
    assert events[0].data == {"kind": "signed_scan", "file": file_meta(7)}
    assert stream.agreement.snapshot()["documents"] == [{"kind": "signed_scan", "file": file_meta(7)}]


@pytest.mark.parametrize("command, role", [("reject", "pimpinan"), ("cancel", "kerjasama")])
def test_documents_cannot_be_attached_once_rejected_or_cancelled(command, role):
    stream = at("SUBMITTED")
    stream.do(command, role=role, reason="x")
    with refused("invalid_transition", Refusal.CONFLICT):
        stream.do("attach_document", role="kerjasama", kind="kak", file=file_meta())


def test_attachment_kind_and_metadata_are_checked():
    stream = at("DRAFT")
    with refused("invalid_value") as err:
        stream.do("attach_document", role="kerjasama", kind="photo", file=file_meta())
    assert "kind" in err.value.fields
    bad = {**file_meta(), "sha256": "XYZ", "size": -1}
    del bad["filename"]
    with refused("invalid_attachment") as err:
        stream.do("attach_document", role="kerjasama", kind="kak", file=bad)
    assert set(err.value.fields) == {"file.filename", "file.size", "file.sha256"}
    extra = {**file_meta(), "path": "/etc/passwd"}
    stream.do("attach_document", role="kerjasama", kind="other", file=extra)
    assert stream.agreement.documents[-1]["file"] == file_meta()  # only the known metadata is kept


def test_drafting_again_on_an_existing_stream_is_refused():
    stream = at("DRAFT")
    with refused("invalid_transition", Refusal.CONFLICT):
        stream.do("draft", **draft_kwargs())


def test_commands_other_than_draft_are_refused_on_an_empty_stream():
    with pytest.raises(InvalidTransition) as err:
        Agreement("agreement-x").submit(role="kerjasama", partners=[])
    assert err.value.state == "NEW"


def test_edit_draft_changes_only_what_differs_and_replaces_partners():
    stream = at("DRAFT")
    assert stream.do("edit_draft", role="kerjasama", changes={"title": stream.agreement.title}) == []
    other = partner("daerah_lain", pid="partner-kota-jambi")
    events = stream.do("edit_draft", role="kerjasama", changes={"title": "Baru", "end_date": date(2026, 12, 31),
                                                                 "urusan": ["perhubungan", "lingkungan_hidup"]}, partners=[other])
    assert events[0].data == {"changes": {"title": "Baru", "end_date": "2026-12-31", "urusan": ["perhubungan", "lingkungan_hidup"],
                                          "partner_ids": ["partner-kota-jambi"]}, "author": "user-kerjasama"}
    snap = stream.agreement.snapshot()
    assert (snap["title"], snap["end_date"], snap["partner_ids"]) == ("Baru", "2026-12-31", ["partner-kota-jambi"])


def test_edit_draft_checks_the_merged_terms():
    stream = at("DRAFT")
    with refused("field_not_editable"):
        stream.do("edit_draft", role="kerjasama", changes={"document_kind": "PKS"})
    with refused("end_before_start"):
        stream.do("edit_draft", role="kerjasama", changes={"start_date": END})
    with refused("term_exceeds_five_years"):
        stream.do("edit_draft", role="kerjasama", changes={"end_date": date(2030, 1, 2)})
    with refused("ksdd_type_invalid"):
        stream.do("edit_draft", role="kerjasama", changes={"ksdd_type": None})
    with refused("category_partner_mismatch"):
        stream.do("edit_draft", role="kerjasama", changes={}, partners=[partner("pihak_ketiga")])
    with refused("partners_required"):
        stream.do("edit_draft", role="kerjasama", changes={}, partners=[])
    assert stream.agreement.version == 1


@pytest.mark.parametrize("source", ["SUBMITTED", "SIGNED"])
def test_edit_draft_outside_draft_is_refused(source):
    with refused("invalid_transition", Refusal.CONFLICT):
        at(source).do("edit_draft", role="kerjasama", changes={"title": "x"})


@pytest.mark.parametrize("old_status", ["SIGNED", "ACTIVE", "EXPIRED"])
def test_extension_is_a_new_agreement_linked_to_the_old(old_status):
    old = at(old_status).agreement
    stream = Stream()
    stream.do("draft", **draft_kwargs(start_date=date(2028, 1, 1), end_date=date(2032, 12, 31)), extends=old)
    assert stream.agreement.snapshot()["extends_agreement_id"] == old.stream_id
    assert stream.status == "DRAFT"


@pytest.mark.parametrize("old_status", ["DRAFT", "READY_TO_SIGN", "TERMINATED", "CANCELLED"])
def test_only_signed_active_or_expired_agreements_can_be_extended(old_status):
    if old_status in ("TERMINATED", "CANCELLED"):
        old = at("ACTIVE" if old_status == "TERMINATED" else "DRAFT")
        old.do("terminate" if old_status == "TERMINATED" else "cancel", role="kerjasama", reason="x", **(
            {"on": date(2026, 1, 1)} if old_status == "TERMINATED" else {}))
    else:
        old = at(old_status)
    with refused("extension_requires_signed_agreement", Refusal.INVALID):
        Stream().do("draft", **draft_kwargs(), extends=old.agreement)


def test_extension_keeps_category_and_document_kind():
    old = at("EXPIRED").agreement
    with refused("extension_kind_mismatch"):
        Stream().do("draft", **draft_kwargs("KSDPK"), extends=old)


def test_every_event_type_is_a_past_tense_agreement_event_and_unique():
    assert len(set(EVENT_TYPES)) == len(EVENT_TYPES) == 32
    assert all(t.startswith("agreement.") for t in EVENT_TYPES)
    assert all(hasattr(Agreement, "when_" + t.replace(".", "_")) for t in EVENT_TYPES)


def test_unknown_event_types_are_skipped_on_rebuild():
    stream = at("SIGNED")
    agreement = Agreement.rebuild(stream.agreement.stream_id,
                                  envelopes(stream.events) + [{"event_type": "agreement.retired_thing", "data": {}}])
    assert agreement.status == "SIGNED" and agreement.version == len(stream.events) + 1


def test_snapshot_is_json_and_does_not_alias_state():
    stream = at("ACTIVE")
    stream.do("attach_document", role="kerjasama", kind="kak", file=file_meta())
    snap = stream.agreement.snapshot()
    assert json.loads(json.dumps(snap)) == snap
    snap["documents"][0]["file"]["filename"] = "changed"
    snap["urusan"].append("x")
    assert stream.agreement.snapshot()["documents"][0]["file"]["filename"] == "bukti-1.pdf"
    assert stream.agreement.urusan == ["lingkungan_hidup"]
    assert snap["lead_opd"] == LEAD_OPD and snap["partner_ids"] == [partner_for("KSDD").id]
    assert stream.agreement.as_dict() == stream.agreement.snapshot()
