"""Extensions (perpanjangan) that are extensions: one test group per named rule, in the domain and
through the handlers (with the in-memory evaluation directory and extension index)."""
from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from shared.domain import DomainError, Refusal
from services.agreements.commands import (
    CancelAgreement, DraftAgreement, EditDraft, RecordReview, RejectAgreement, SignAgreement,
    StartReview, SubmitAgreement, TerminateAgreement, WaiveFinalEvaluation,
)
from services.agreements.domain import MAX_EXTENSION_GAP_DAYS, Agreement, rules
from services.agreements.handlers import CLAIM_GRACE
from tests.unit.agreements.test_agreement_builders import (
    END, Stream, TODAY, at, draft_kwargs, partner, partner_for, refused,
)
from tests.unit.agreements.test_agreement_handlers import (  # noqa: F401 - the jalin fixture
    END as H_END, LEADER, STAFF, TKKSD, draft_cmd, jalin, signed,
)

NEXT = END + timedelta(days=1)
SUCCESSOR = "partner-kota-baru"
SUCCESSION = {"predecessor_id": "partner-daerah_lain", "successor_id": SUCCESSOR,
              "basis": "UU 12/2026 tentang Pembentukan Kabupaten Baru (pemekaran)"}


def extension_kwargs(**overrides) -> dict:
    """A valid extension draft of the builders' KSDD KB (term right after the old END)."""
    return draft_kwargs(**{"start_date": NEXT, "end_date": date(2031, 12, 31), **overrides})


def extension_of(old: Agreement, **overrides) -> Stream:
    stream = Stream()
    stream.do("draft", **extension_kwargs(**overrides), extends=old)
    return stream


def submit(stream: Stream, old: Agreement, final_evaluations=()):
    views = [partner("daerah_lain", pid=pid) for pid in stream.agreement.partner_ids]
    return stream.do("submit", role="kerjasama", partners=views, extends=old, final_evaluations=final_evaluations)


AKHIR = [{"id": "evaluation-akhir", "agreement_id": "x", "period": "AKHIR", "year": 2027, "overall": 86.5,
          "rating": 5, "finalized_at": "2027-11-02T03:00:00.000000Z"}]


# --- extension_partner_mismatch / partner_succession_invalid ---------------------------------------

def test_an_extension_binds_the_same_partners():
    old = at("ACTIVE").agreement
    with refused("extension_partner_mismatch", Refusal.INVALID) as info:
        extension_of(old, partners=[partner("daerah_lain", pid="partner-other")])
    assert "partner-other" in info.value.detail and "partner-daerah_lain" in info.value.detail
    with refused("extension_partner_mismatch"):
        extension_of(old, partners=[partner_for("KSDD"), partner("daerah_lain", pid="partner-third")])
    assert extension_of(old).agreement.partner_ids == old.partner_ids


def test_a_declared_legal_successor_takes_its_predecessors_place():
    old = at("EXPIRED").agreement
    stream = extension_of(old, partners=[partner("daerah_lain", pid=SUCCESSOR)], partner_successions=[SUCCESSION])
    assert stream.events[-1].data["partner_successions"] == [SUCCESSION]
    assert stream.rebuilt().snapshot()["partner_successions"] == [SUCCESSION]


@pytest.mark.parametrize("succession, field", [
    ({**SUCCESSION, "basis": "  "}, "partner_successions.0.basis"),
    ({**SUCCESSION, "predecessor_id": "partner-never-party"}, "partner_successions.0.predecessor_id"),
    ({**SUCCESSION, "successor_id": "partner-daerah_lain"}, "partner_successions.0.successor_id"),
])
def test_a_succession_needs_its_basis_a_former_party_and_a_new_one(succession, field):
    old = at("ACTIVE").agreement
    with refused("partner_succession_invalid", Refusal.INVALID) as info:
        extension_of(old, partners=[partner("daerah_lain", pid=SUCCESSOR)], partner_successions=[succession])
    assert field in info.value.fields


def test_a_succession_is_declared_only_on_an_extension():
    with refused("partner_succession_invalid"):
        Stream().do("draft", **draft_kwargs(partner_successions=[SUCCESSION]))


def test_a_party_succeeds_only_once():
    with refused("partner_succession_invalid") as info:
        rules.check_extension_partners(["partner-a", "partner-b"], ["partner-c"], [
            rules.PartnerSuccession("partner-a", "partner-c", "penggabungan usaha"),
            rules.PartnerSuccession("partner-b", "partner-c", "penggabungan usaha")])
    assert "partner_successions" in info.value.fields


# --- extension_overlaps_old_term / extension_gap_too_long ------------------------------------------

@pytest.mark.parametrize("days_after_end, rule", [
    (-400, "extension_overlaps_old_term"), (0, "extension_overlaps_old_term"),
    (1, None), (1 + MAX_EXTENSION_GAP_DAYS, None), (2 + MAX_EXTENSION_GAP_DAYS, "extension_gap_too_long"),
    (700, "extension_gap_too_long"),
])
def test_the_extension_starts_after_the_old_end_within_the_gap(days_after_end, rule):
    old = at("ACTIVE").agreement
    start = END + timedelta(days=days_after_end)
    kwargs = {"start_date": start, "end_date": start + timedelta(days=1000)}
    if rule is None:
        assert extension_of(old, **kwargs).status == "DRAFT"
    else:
        with refused(rule, Refusal.INVALID) as info:
            extension_of(old, **kwargs)
        assert "start_date" in info.value.fields


def test_the_gap_is_ninety_days_like_the_expiry_reminder():
    assert MAX_EXTENSION_GAP_DAYS == 90
    assert rules.latest_extension_start(date(2027, 12, 31)) == date(2028, 3, 31)


def test_editing_an_extension_draft_keeps_it_an_extension():
    old = at("ACTIVE").agreement
    stream = extension_of(old)
    with refused("extension_overlaps_old_term"):
        stream.do("edit_draft", role="kerjasama", changes={"start_date": END}, extends=old)
    with refused("extension_partner_mismatch"):
        stream.do("edit_draft", role="kerjasama", changes={}, partners=[partner("daerah_lain", pid="partner-x")],
                  extends=old)
    with pytest.raises(ValueError):  # the handler always gives the extended agreement
        stream.do("edit_draft", role="kerjasama", changes={"title": "Perpanjangan"})
    stream.do("edit_draft", role="kerjasama", changes={"start_date": NEXT + timedelta(days=30)}, extends=old)
    assert stream.agreement.start_date == NEXT + timedelta(days=30)


# --- final_evaluation_required and the waiver ------------------------------------------------------

def test_submitting_an_extension_needs_the_old_agreements_final_evaluation():
    old = at("EXPIRED").agreement
    stream = extension_of(old)
    with refused("final_evaluation_required", Refusal.CONFLICT):
        submit(stream, old)
    assert stream.status == "DRAFT"
    submit(stream, old, AKHIR)
    assert stream.status == "SUBMITTED"
    assert stream.events[-1].data["final_evaluation"] == {"evaluation_id": "evaluation-akhir"}


def test_a_recorded_waiver_stands_in_for_the_final_evaluation():
    old_stream = at("ACTIVE")
    old_stream.do("waive_final_evaluation", role="pimpinan", reason="Dievaluasi melalui audit kinerja Inspektorat")
    waived = old_stream.events[-1]
    assert waived.type == "agreement.final_evaluation_waived"
    assert waived.data == {"reason": "Dievaluasi melalui audit kinerja Inspektorat", "waived_on": TODAY.isoformat()}
    old = old_stream.rebuilt()
    assert old.snapshot()["final_evaluation_waiver"]["waived_on"] == TODAY.isoformat()
    stream = extension_of(old)
    submit(stream, old)
    assert stream.events[-1].data["final_evaluation"] == {"waived": True, "waived_on": TODAY.isoformat()}


def test_a_waiver_is_the_leaderships_with_a_reason_once_on_a_signed_agreement():
    old = at("SIGNED")
    with refused("role_not_allowed", Refusal.FORBIDDEN):
        old.do("waive_final_evaluation", role="kerjasama", reason="x")
    with refused("reason_required"):
        old.do("waive_final_evaluation", role="pimpinan", reason="  ")
    old.do("waive_final_evaluation", role="pimpinan", reason="Program dilanjutkan atas arahan Menteri")
    with refused("final_evaluation_already_waived", Refusal.CONFLICT):
        old.do("waive_final_evaluation", role="pimpinan", reason="lagi")
    with refused("invalid_transition", Refusal.CONFLICT):
        at("DRAFT").do("waive_final_evaluation", role="pimpinan", reason="belum ditandatangani")


# --- checked again at signing ----------------------------------------------------------------------

def ready_extension(old_stream: Stream) -> Stream:
    stream = extension_of(old_stream.agreement)
    submit(stream, old_stream.agreement, AKHIR)
    stream.do("start_review", role="tkksd")
    stream.do("record_review", role="tkksd", recommended=True, notes="Layak", reviewed_on=date(2027, 11, 10))
    assert stream.status == "READY_TO_SIGN"
    return stream


SIGN = dict(role="pimpinan", signatory_name="Bupati", signatory_position="kepala_daerah", signed_on=date(2027, 12, 1))


def test_signing_checks_the_extension_against_the_old_agreement_as_it_is_now():
    old_stream = at("ACTIVE")
    stream = ready_extension(old_stream)
    # the old agreement was amended meanwhile: it now runs into the extension's term
    old_stream.do("amend", role="pimpinan", number="ADD-1", signed_on=date(2027, 11, 20), reason="Diperpanjang",
                  changes={"end_date": date(2028, 6, 30)}, signatory_name="Bupati",
                  signatory_position="kepala_daerah")
    with refused("extension_overlaps_old_term"):
        stream.do("sign", **SIGN, extends=old_stream.agreement)
    assert stream.status == "READY_TO_SIGN"


def test_an_extension_of_an_agreement_terminated_meanwhile_cannot_be_signed():
    old_stream = at("ACTIVE")
    stream = ready_extension(old_stream)
    old_stream.do("terminate", role="pimpinan", reason="Diakhiri para pihak", on=date(2027, 11, 30))
    with refused("extension_requires_signed_agreement"):
        stream.do("sign", **SIGN, extends=old_stream.agreement)
    with pytest.raises(ValueError):  # the extended agreement is the one on record, never another
        stream.do("sign", **SIGN, extends=at("ACTIVE").agreement)


def test_a_plain_agreement_needs_no_extended_agreement_anywhere():
    stream = at("READY_TO_SIGN")
    stream.do("sign", **SIGN)
    assert stream.status == "SIGNED"
    assert rules.check_one_live_extension("agreement-old", None) is None


# --- through the handlers: the evaluation replica and the extension index ------------------------

def extension_cmd(old_id: str, **overrides) -> DraftAgreement:
    return draft_cmd(**{"extends_agreement_id": old_id, "start_date": H_END + timedelta(days=1),
                        "end_date": date(2029, 3, 31), "title": "Perpanjangan kerja sama angkutan", **overrides})


def test_submission_needs_a_finalized_akhir_evaluation_of_the_old_agreement(jalin):
    old = signed(jalin)
    ext = jalin.handlers.draft(extension_cmd(old), STAFF).stream_id
    jalin.evaluations.add("evaluation-tw", old, "TAHUNAN", 2026)                   # not the final one
    jalin.evaluations.add("evaluation-draft", old, "AKHIR", 2027, status="SUBMITTED")  # not finalized
    jalin.evaluations.add("evaluation-other", "agreement-other", "AKHIR", 2027)      # another agreement's
    with refused("final_evaluation_required", Refusal.CONFLICT):
        jalin.handlers.submit(SubmitAgreement(ext), STAFF)
    jalin.evaluations.add("evaluation-draft", old, "AKHIR", 2027, status="FINALIZED")
    jalin.handlers.submit(SubmitAgreement(ext), STAFF)
    assert jalin.last(ext)["final_evaluation"] == {"evaluation_id": "evaluation-draft"}


def test_the_leaderships_waiver_lets_the_extension_be_submitted(jalin):
    old = signed(jalin)
    ext = jalin.handlers.draft(extension_cmd(old), STAFF).stream_id
    jalin.handlers.waive_final_evaluation(WaiveFinalEvaluation(old, "Monev digantikan audit Inspektorat"), LEADER)
    assert jalin.types(old)[-1] == "agreement.final_evaluation_waived"
    assert jalin.last(old)["waived_on"] == "2025-03-03"
    jalin.handlers.submit(SubmitAgreement(ext), STAFF)
    assert jalin.last(ext)["final_evaluation"] == {"waived": True, "waived_on": "2025-03-03"}


def test_editing_and_signing_an_extension_load_the_old_agreement(jalin):
    old = signed(jalin)
    ext = jalin.handlers.draft(extension_cmd(old), STAFF).stream_id
    with refused("extension_gap_too_long"):
        jalin.handlers.edit_draft(EditDraft(ext, {"start_date": H_END + timedelta(days=200)}), STAFF)
    jalin.evaluations.add("evaluation-akhir", old, "AKHIR", 2027)
    jalin.handlers.submit(SubmitAgreement(ext), STAFF)
    jalin.handlers.start_review(StartReview(ext), TKKSD)
    jalin.handlers.record_review(RecordReview(ext, recommended=True), TKKSD)
    jalin.handlers.terminate(TerminateAgreement(old, "Diakhiri para pihak"), LEADER)
    with refused("extension_requires_signed_agreement"):
        jalin.handlers.sign(SignAgreement(ext, signatory_name="Bupati", signatory_position="kepala_daerah"), LEADER)


def test_one_live_extension_at_a_time(jalin):
    old = signed(jalin)
    first = jalin.handlers.draft(extension_cmd(old), STAFF).stream_id
    with refused("one_live_extension", Refusal.CONFLICT) as info:
        jalin.handlers.draft(extension_cmd(old, title="Perpanjangan kedua"), STAFF)
    assert first in info.value.detail
    assert len(list(jalin.store.stream_ids())) == 2  # the old agreement and the first extension only
    jalin.handlers.cancel(CancelAgreement(first, "Diganti rancangan baru"), STAFF)
    second = jalin.handlers.draft(extension_cmd(old, title="Perpanjangan kedua"), STAFF).stream_id
    jalin.evaluations.add("evaluation-akhir", old, "AKHIR", 2027)
    jalin.handlers.submit(SubmitAgreement(second), STAFF)
    jalin.handlers.start_review(StartReview(second), TKKSD)
    jalin.handlers.reject(RejectAgreement(second, "Tidak sesuai RPJMD"), TKKSD)
    third = jalin.handlers.draft(extension_cmd(old, title="Perpanjangan ketiga"), STAFF).stream_id
    assert jalin.status(third) == "DRAFT"


def test_of_two_concurrent_extension_drafts_one_is_kept(jalin):
    old = signed(jalin)
    barrier, results = threading.Barrier(4), {}

    def draft(n):
        barrier.wait()
        try:
            results[n] = jalin.handlers.draft(extension_cmd(old, title=f"Perpanjangan {n}"), STAFF).stream_id
        except Exception as exc:  # noqa: BLE001 - the refusal is the result
            results[n] = getattr(exc, "rule", repr(exc))
    threads = [threading.Thread(target=draft, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kept = [r for r in results.values() if r.startswith("agreement-")]
    assert len(kept) == 1 and sorted(results.values()).count("one_live_extension") == 3
    assert sorted(jalin.store.stream_ids()) == sorted([old, kept[0]])


def test_a_claim_left_by_a_draft_that_was_never_stored_is_taken_over_after_the_grace(jalin):
    old = signed(jalin)
    jalin.extensions.insert(old, 1, "agreement-being-appended", jalin.clock.now() - CLAIM_GRACE / 2)
    with refused("one_live_extension"):  # its draft may be being appended right now
        jalin.handlers.draft(extension_cmd(old), STAFF)
    jalin.extensions.claims[(old, 1)]["claimed_at"] = jalin.clock.now() - CLAIM_GRACE  # a crash left it
    ext = jalin.handlers.draft(extension_cmd(old), STAFF).stream_id
    assert jalin.extensions.get(old) == {"extension_id": ext, "claimed_at": jalin.clock.now(), "generation": 2}


def test_an_extension_drafted_before_the_index_is_claimed_at_submission(jalin):
    old = signed(jalin)
    legacy = jalin.handlers.draft(extension_cmd(old), STAFF).stream_id
    jalin.extensions.release(old, legacy)  # as if drafted before the index existed
    newer = jalin.handlers.draft(extension_cmd(old, title="Perpanjangan baru"), STAFF).stream_id
    jalin.evaluations.add("evaluation-akhir", old, "AKHIR", 2027)
    with refused("one_live_extension"):
        jalin.handlers.submit(SubmitAgreement(legacy), STAFF)
    jalin.handlers.submit(SubmitAgreement(newer), STAFF)
    assert jalin.status(newer) == "SUBMITTED"


def test_a_refused_extension_draft_claims_nothing(jalin):
    old = signed(jalin)
    jalin.partners.add(id="partner-muarojambi", name="Kabupaten Batang Hari", kind="daerah_lain")
    with refused("extension_partner_mismatch"):
        jalin.handlers.draft(extension_cmd(old, partner_ids=("partner-muarojambi",)), STAFF)
    assert jalin.extensions.claims == {}
    assert jalin.status(jalin.handlers.draft(extension_cmd(old), STAFF).stream_id) == "DRAFT"


# --- every generated extension term is accepted exactly when it follows the old one ----------------

@settings(max_examples=200, deadline=None)
@given(old_end=st.dates(min_value=date(2025, 6, 1), max_value=date(2029, 12, 31)),
       offset=st.integers(min_value=-800, max_value=800))
def test_an_extension_term_is_accepted_exactly_from_the_day_after_the_old_end_to_ninety_days_later(old_end, offset):
    start = old_end + timedelta(days=offset)
    accepted = 1 <= offset <= 1 + MAX_EXTENSION_GAP_DAYS
    try:
        rules.check_extension_term(old_end, start)
    except DomainError as error:
        assert not accepted
        assert error.rule == ("extension_overlaps_old_term" if offset < 1 else "extension_gap_too_long")
    else:
        assert accepted


@pytest.mark.parametrize("stored", [False, True], ids=["append failed", "answer lost after the append"])
def test_a_failed_draft_releases_its_claim_only_when_nothing_was_stored(jalin, monkeypatch, stored):
    old = signed(jalin)
    save = jalin.handlers.repository.save

    def failing(agreement, events, ctx):
        if stored:
            save(agreement, events, ctx)
        raise ConnectionError("database went away")
    monkeypatch.setattr(jalin.handlers.repository, "save", failing)
    with pytest.raises(ConnectionError):
        jalin.handlers.draft(extension_cmd(old), STAFF)
    claim = jalin.extensions.get(old)
    assert (claim is not None) == stored
    if stored:
        assert jalin.status(claim["extension_id"]) == "DRAFT"
