"""The agreements application layer with in-memory fakes: each command through its handler.

The handlers are wired as in production (``bootstrap.build``) but on the fakes of their ports:
``InMemoryEventStore``, ``InMemoryPartnerDirectory``, ``InMemoryAttachmentStore`` and a
``FixedClock``. What is asserted is what a caller sees: the events stored, the refusals, the
files kept or removed.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

import pytest

from shared.application import CommandContext, FixedClock, Repository, StreamNotFound, VersionMismatch
from shared.domain import DomainError, Refusal
from shared.envelope import Actor, verify_chain
from shared.eventstore import InMemoryEventStore

from services.agreements.commands import (
    ActivateAgreement, AddActivity, ApproveAddendumCentral, ApproveAddendumDprd, ApproveCentral, ApproveDprd,
    AttachDocument, CancelAgreement, DraftAddendum, DraftAgreement, EditAddendum, EditDraft, ExpireAgreement,
    FileReport, RaiseExpiryReminder, RecordAddendumReview, RecordReview, RejectAddendum, RejectAgreement,
    RemoveActivity, ReturnForRevision, SignAddendum, SignAgreement, StartReview, SubmitAddendum, SubmitAgreement,
    TerminateAgreement, UpdateActivity, WaiveFinalEvaluation, WithdrawAddendum,
)
from services.agreements.domain import Agreement
from services.agreements.handlers import AgreementHandlers
from services.agreements.ports import (
    InMemoryAttachmentStore, InMemoryEvaluationDirectory, InMemoryExtensionIndex, InMemoryPartnerDirectory, TooLarge,
)
from services.agreements.scheduler import tick

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc)  # 09:00 WIB
TODAY = date(2025, 3, 3)
START, END = date(2025, 4, 1), date(2027, 3, 31)
KOTA, PT, MY = "partner-kota-jambi", "partner-pt-angkasa", "partner-johor"

STAFF = CommandContext(Actor("siti", "kerjasama"))
TKKSD = CommandContext(Actor("tono", "tkksd"))
LEADER = CommandContext(Actor("bupati", "pimpinan"))
SCHEDULER = CommandContext(Actor("jalin-scheduler", "service"))


def APBD(amount: int) -> dict:  # noqa: N802 - reads like the funding line it builds
    return {"source": "apbd", "amount": amount, "budgeted": True}


def opd(code: str) -> CommandContext:
    return CommandContext(Actor(f"officer-{code.lower()}", "opd", opd=code))


@dataclass
class Jalin:
    """The handlers and the fakes behind them, for assertions."""

    handlers: AgreementHandlers
    store: InMemoryEventStore
    partners: InMemoryPartnerDirectory
    files: InMemoryAttachmentStore
    clock: FixedClock
    evaluations: InMemoryEvaluationDirectory
    extensions: InMemoryExtensionIndex

    def types(self, agreement_id: str) -> list[str]:
        return [e["event_type"] for e in self.store.load(agreement_id)]

    def last(self, agreement_id: str) -> dict:
        return self.store.load(agreement_id)[-1]["data"]

    def status(self, agreement_id: str) -> str:
        return self.handlers.get(agreement_id).status


@pytest.fixture
def jalin() -> Jalin:
    store, clock = InMemoryEventStore(), FixedClock(NOW)
    partners = InMemoryPartnerDirectory([
        {"id": KOTA, "name": "Pemerintah Kota Jambi", "kind": "daerah_lain"},
        {"id": PT, "name": "PT Angkasa Pura", "kind": "pihak_ketiga"},
        {"id": MY, "name": "Kerajaan Negeri Johor", "kind": "pemda_luar_negeri", "country": "MY"},
    ])
    files = InMemoryAttachmentStore(max_bytes=64 * 1024)
    evaluations, extensions = InMemoryEvaluationDirectory(), InMemoryExtensionIndex()
    return Jalin(AgreementHandlers(Repository(store, Agreement, clock), partners, files, clock,
                                   evaluations=evaluations, extensions=extensions),
                 store, partners, files, clock, evaluations, extensions)


def draft_cmd(**overrides) -> DraftAgreement:
    return replace(DraftAgreement(
        category="KSDD", ksdd_type="sukarela", document_kind="KB", title="Kerja sama angkutan antarkota",
        partner_ids=(KOTA,), start_date=START, end_date=END, lead_opd="DISHUB", urusan=("perhubungan",),
        burdens_public=False, value=250_000_000,
        funding=({"source": "apbd", "amount": 250_000_000, "budgeted": True},)), **overrides)


def upload(content: bytes = b"%PDF-1.7 scan", filename: str = "naskah.pdf") -> dict:
    return {"stream": io.BytesIO(content), "filename": filename, "media_type": "application/pdf"}


def ready_to_sign(jalin: Jalin, **draft_overrides) -> str:
    h = jalin.handlers
    aid = h.draft(draft_cmd(**draft_overrides), STAFF).stream_id
    h.submit(SubmitAgreement(aid), STAFF)
    h.start_review(StartReview(aid), TKKSD)
    h.record_review(RecordReview(aid, recommended=True, notes="Layak"), TKKSD)
    return aid


def signed(jalin: Jalin, **draft_overrides) -> str:
    aid = ready_to_sign(jalin, **draft_overrides)
    jalin.handlers.sign(SignAgreement(aid, signatory_name="Dr. H. Bambang", signatory_position="kepala_daerah"),
                        LEADER)
    return aid


def signed_pks(jalin: Jalin) -> tuple[str, str]:
    kb = signed(jalin)
    pks = jalin.handlers.draft(draft_cmd(document_kind="PKS", parent_kb_id=kb, title="PKS layanan bus"), STAFF)
    h = jalin.handlers
    h.submit(SubmitAgreement(pks.stream_id), STAFF)
    h.start_review(StartReview(pks.stream_id), TKKSD)
    h.record_review(RecordReview(pks.stream_id, recommended=True), TKKSD)
    h.sign(SignAgreement(pks.stream_id, signatory_name="Ir. Sutrisno", signatory_position="kepala_perangkat_daerah",
                         power_of_attorney_ref="SK-KUASA/7/2025"), LEADER)
    return kb, pks.stream_id


def activity(agreement_id: str, activity_id: str = "bus-sekolah", **overrides) -> AddActivity:
    return replace(AddActivity(
        agreement_id, activity_id=activity_id, name="Bus sekolah antarkota", indicator="rute beroperasi",
        target=4, unit="rute", schedule_start=START, schedule_end=date(2025, 12, 31), responsible_opd="DISHUB"),
        **overrides)


def refused(rule: str, kind: Refusal | None = None):
    return _Refused(rule, kind)


class _Refused:
    def __init__(self, rule, kind):
        self.rule, self.kind, self._raises = rule, kind, pytest.raises(DomainError)

    def __enter__(self):
        self.info = self._raises.__enter__()
        return self.info

    def __exit__(self, *exc):
        if not self._raises.__exit__(*exc):
            return False
        assert self.info.value.rule == self.rule, f"expected {self.rule}, got {self.info.value.rule}"
        assert self.kind is None or self.info.value.kind == self.kind
        return True


# --- DraftAgreement / EditDraft ----------------------------------------------------------------

def test_draft_resolves_the_partners_and_stores_one_sealed_commit(jalin):
    agreement = jalin.handlers.draft(draft_cmd(partner_ids=(KOTA, KOTA)), STAFF)
    stored = jalin.store.load(agreement.stream_id)
    assert [e["event_type"] for e in stored] == ["agreement.drafted"]
    assert stored[0]["data"]["partner_ids"] == [KOTA] and stored[0]["data"]["urusan"] == ["perhubungan"]
    assert stored[0]["actor"]["sub"] == "siti" and stored[0]["occurred_at"].startswith("2025-03-03T02:00")
    assert verify_chain(stored, agreement.stream_id) == []
    assert jalin.store.unpublished_count() == 1
    assert jalin.handlers.get(agreement.stream_id).snapshot()["status"] == "DRAFT"


def test_draft_with_an_unknown_partner_is_refused_and_stores_nothing(jalin):
    with refused("partner_not_found", Refusal.INVALID) as info:
        jalin.handlers.draft(draft_cmd(partner_ids=(KOTA, "partner-ghost")), STAFF)
    assert info.value.fields == {"partner_ids": ["unknown: partner-ghost"]}
    assert list(jalin.store.stream_ids()) == []


@pytest.mark.parametrize("field", ["parent_kb_id", "extends_agreement_id"])
def test_draft_linking_an_agreement_that_does_not_exist_is_refused(jalin, field):
    with refused(f"{field}_not_found"):
        jalin.handlers.draft(draft_cmd(document_kind="PKS", **{field: "agreement-none"}), STAFF)
    assert list(jalin.store.stream_ids()) == []


def test_draft_of_a_pks_links_its_kb_and_an_extension_its_predecessor(jalin):
    kb = signed(jalin)
    pks = jalin.handlers.draft(draft_cmd(document_kind="PKS", parent_kb_id=kb), STAFF)
    assert jalin.last(pks.stream_id)["parent_kb_id"] == kb
    extension = jalin.handlers.draft(draft_cmd(extends_agreement_id=kb, start_date=END + timedelta(days=1),
                                               end_date=date(2029, 3, 31)), STAFF)
    assert jalin.last(extension.stream_id)["extends_agreement_id"] == kb


def test_edit_draft_resolves_new_partners_and_records_only_what_changed(jalin):
    aid = jalin.handlers.draft(draft_cmd(), STAFF).stream_id
    jalin.handlers.edit_draft(EditDraft(aid, {"title": "Judul baru", "value": 250_000_000}), STAFF, 1)
    assert jalin.last(aid) == {"changes": {"title": "Judul baru"}, "author": "siti"}
    with refused("partner_not_found"):
        jalin.handlers.edit_draft(EditDraft(aid, partner_ids=("partner-ghost",)), STAFF)
    jalin.partners.add(id="partner-batanghari", name="Kabupaten Batang Hari", kind="daerah_lain")
    jalin.handlers.edit_draft(EditDraft(aid, partner_ids=(KOTA, "partner-batanghari")), STAFF, 2)
    assert jalin.handlers.get(aid).partner_ids == [KOTA, "partner-batanghari"]
    version = jalin.handlers.get(aid).version
    jalin.handlers.edit_draft(EditDraft(aid, {"title": "Judul baru"}), STAFF)
    assert jalin.handlers.get(aid).version == version  # nothing changed: no event


# --- SubmitAgreement and the review ----------------------------------------------------------------

def test_submit_checks_the_partners_again_as_they_are_now(jalin):
    aid = jalin.handlers.draft(draft_cmd(), STAFF).stream_id
    jalin.partners.add(id=KOTA, name="Pemerintah Kota Jambi", kind="daerah_lain", status="registered")
    with refused("partner_not_verified"):
        jalin.handlers.submit(SubmitAgreement(aid), STAFF)
    assert jalin.status(aid) == "DRAFT"
    jalin.partners.partners.pop(KOTA)
    with refused("partner_not_found"):
        jalin.handlers.submit(SubmitAgreement(aid), STAFF)
    jalin.partners.add(id=KOTA, name="Pemerintah Kota Jambi", kind="daerah_lain", status="verified")
    assert jalin.handlers.submit(SubmitAgreement(aid), STAFF, 1).status == "SUBMITTED"
    assert jalin.last(aid) == {"dprd_required": False, "central_required": False}


def test_a_stale_expected_version_is_refused_before_anything_is_stored(jalin):
    aid = jalin.handlers.draft(draft_cmd(), STAFF).stream_id
    jalin.handlers.edit_draft(EditDraft(aid, {"title": "Versi kedua"}), STAFF, 1)
    with pytest.raises(VersionMismatch) as info:
        jalin.handlers.submit(SubmitAgreement(aid), STAFF, 1)
    assert (info.value.expected, info.value.current) == (1, 2)
    assert jalin.types(aid) == ["agreement.drafted", "agreement.draft_edited"]


def test_a_command_on_an_agreement_that_does_not_exist(jalin):
    with pytest.raises(StreamNotFound):
        jalin.handlers.submit(SubmitAgreement("agreement-none"), STAFF)


def test_review_path_return_for_revision_then_review_dated_today_by_default(jalin):
    h = jalin.handlers
    aid = h.draft(draft_cmd(), STAFF).stream_id
    h.submit(SubmitAgreement(aid), STAFF)
    h.start_review(StartReview(aid), TKKSD)
    h.return_for_revision(ReturnForRevision(aid, reason="Lengkapi KAK"), TKKSD)
    assert jalin.status(aid) == "DRAFT" and jalin.last(aid)["reason"] == "Lengkapi KAK"
    h.submit(SubmitAgreement(aid), STAFF)
    h.start_review(StartReview(aid), TKKSD)
    h.record_review(RecordReview(aid, recommended=True), TKKSD)
    assert jalin.last(aid)["reviewed_on"] == TODAY.isoformat()
    assert jalin.status(aid) == "READY_TO_SIGN"


def test_a_review_date_given_is_kept(jalin):
    h = jalin.handlers
    aid = h.draft(draft_cmd(), STAFF).stream_id
    h.submit(SubmitAgreement(aid), STAFF)
    h.start_review(StartReview(aid), TKKSD)
    h.record_review(RecordReview(aid, recommended=False, notes="Tidak layak", reviewed_on=date(2025, 2, 27)), TKKSD)
    assert jalin.last(aid)["reviewed_on"] == "2025-02-27" and jalin.status(aid) == "DRAFT"
    h.reject(RejectAgreement(aid, reason="Kepala daerah mengikuti rekomendasi TKKSD"), LEADER)
    assert jalin.status(aid) == "REJECTED"


def test_the_reviewer_is_the_token_subject_and_not_the_drafter(jalin):
    """Segregation of duties: siti drafted; a TKKSD token of the same subject may not record the review."""
    h = jalin.handlers
    aid = h.draft(draft_cmd(), STAFF).stream_id
    h.submit(SubmitAgreement(aid), STAFF)
    h.start_review(StartReview(aid), TKKSD)
    with pytest.raises(DomainError) as err:
        h.record_review(RecordReview(aid, recommended=True), CommandContext(Actor("siti", "tkksd")))
    assert err.value.rule == "reviewer_is_author" and err.value.kind == Refusal.FORBIDDEN
    assert jalin.status(aid) == "UNDER_REVIEW"
    h.record_review(RecordReview(aid, recommended=True), TKKSD)
    assert jalin.store.load(aid)[0]["data"]["author"] == "siti" and jalin.status(aid) == "READY_TO_SIGN"


def test_the_role_comes_from_the_context(jalin):
    aid = jalin.handlers.draft(draft_cmd(), STAFF).stream_id
    jalin.handlers.submit(SubmitAgreement(aid), STAFF)
    with refused("role_not_allowed", Refusal.FORBIDDEN):
        jalin.handlers.start_review(StartReview(aid), opd("DISHUB"))


def test_foreign_cooperation_approvals_default_to_today(jalin):
    aid = ready_to_sign(jalin, category="KSDPL", ksdd_type=None, partner_ids=(MY,))
    assert jalin.status(aid) == "AWAITING_DPRD"
    jalin.handlers.approve_dprd(ApproveDprd(aid, approval_ref="KEP-DPRD/3/2025"), LEADER)
    assert jalin.last(aid) == {"approval_ref": "KEP-DPRD/3/2025", "approved_on": "2025-03-03",
                               "next_status": "AWAITING_CENTRAL"}
    with refused("date_before_previous_step"):  # the central approval cannot predate the DPRD's
        jalin.handlers.approve_central(ApproveCentral(aid, approval_ref="KEMENDAGRI/9/2025",
                                                      approved_on=date(2025, 3, 1)), LEADER)
    with refused("date_in_future"):
        jalin.handlers.approve_central(ApproveCentral(aid, approval_ref="KEMENDAGRI/9/2025",
                                                      approved_on=date(2025, 3, 4)), LEADER)
    jalin.handlers.approve_central(ApproveCentral(aid, approval_ref="KEMENDAGRI/9/2025",
                                                  approved_on=date(2025, 3, 3)), LEADER)
    assert jalin.last(aid)["approved_on"] == "2025-03-03" and jalin.status(aid) == "READY_TO_SIGN"


# --- SignAgreement, the calendar and the end ----------------------------------------------------

def test_sign_defaults_signed_on_to_today_of_the_clock(jalin):
    aid = ready_to_sign(jalin)
    jalin.handlers.sign(SignAgreement(aid, signatory_name="Dr. H. Bambang", signatory_position="kepala_daerah",
                                      our_number="100/KB/2025"), LEADER)
    data = jalin.last(aid)
    assert data["signed_on"] == TODAY.isoformat() and data["our_number"] == "100/KB/2025"
    assert data["signatory"] == {"name": "Dr. H. Bambang", "position": "kepala_daerah", "power_of_attorney_ref": None}


def test_today_is_the_regions_date_not_utcs(jalin):
    jalin.clock.moment = datetime(2025, 3, 3, 18, 30, tzinfo=timezone.utc)  # 01:30 WIB on 4 March
    aid = ready_to_sign(jalin)
    jalin.handlers.sign(SignAgreement(aid, signatory_name="Dr. H. Bambang", signatory_position="kepala_daerah"),
                        LEADER)
    assert jalin.last(aid)["signed_on"] == "2025-03-04"


def test_a_signing_date_given_is_kept(jalin):
    aid = ready_to_sign(jalin)
    jalin.clock.moment = datetime(2025, 3, 10, 2, tzinfo=timezone.utc)  # signed a week ago, recorded today
    jalin.handlers.sign(SignAgreement(aid, signatory_name="Dr. H. Bambang", signatory_position="kepala_daerah",
                                      signed_on=date(2025, 3, 4)), LEADER)
    assert jalin.last(aid)["signed_on"] == "2025-03-04"


def test_a_date_of_an_act_lies_between_the_previous_step_and_today(jalin):
    aid = ready_to_sign(jalin)  # reviewed on 2025-03-03, today
    sign = dict(signatory_name="Dr. H. Bambang", signatory_position="kepala_daerah")
    with refused("date_before_previous_step"):
        jalin.handlers.sign(SignAgreement(aid, signed_on=date(2025, 2, 28), **sign), LEADER)
    with refused("date_in_future"):
        jalin.handlers.sign(SignAgreement(aid, signed_on=date(2025, 3, 4), **sign), LEADER)
    assert jalin.status(aid) == "READY_TO_SIGN"


def test_signing_a_pks_checks_its_kb_as_it_is_now(jalin):
    kb = signed(jalin)
    pks = jalin.handlers.draft(draft_cmd(document_kind="PKS", parent_kb_id=kb), STAFF).stream_id
    jalin.handlers.submit(SubmitAgreement(pks), STAFF)
    jalin.handlers.start_review(StartReview(pks), TKKSD)
    jalin.handlers.record_review(RecordReview(pks, recommended=True), TKKSD)
    jalin.handlers.terminate(TerminateAgreement(kb, reason="Diakhiri bersama"), LEADER)
    with refused("pks_requires_signed_kb"):
        jalin.handlers.sign(SignAgreement(pks, signatory_name="Ir. Sutrisno", signatory_position="kepala_perangkat_daerah",
                                          power_of_attorney_ref="SK-KUASA/7/2025"), LEADER)


def test_activate_and_expire_default_to_today_and_wait_for_their_dates(jalin):
    aid = signed(jalin)
    with refused("not_yet_started", Refusal.CONFLICT):
        jalin.handlers.activate(ActivateAgreement(aid), SCHEDULER)
    jalin.clock.moment = datetime(2025, 4, 1, 1, tzinfo=timezone.utc)
    jalin.handlers.activate(ActivateAgreement(aid), SCHEDULER)
    assert jalin.last(aid) == {"activated_on": "2025-04-01"}
    with refused("not_yet_ended"):
        jalin.handlers.expire(ExpireAgreement(aid), SCHEDULER)
    jalin.clock.moment = datetime(2027, 4, 2, 1, tzinfo=timezone.utc)
    jalin.handlers.expire(ExpireAgreement(aid), SCHEDULER)
    assert jalin.status(aid) == "EXPIRED" and jalin.last(aid)["expired_on"] == "2027-04-01"


def test_only_the_scheduler_gives_the_day_of_a_scheduler_command_and_never_a_future_one(jalin):
    aid = signed(jalin)
    with refused("date_set_by_server", Refusal.FORBIDDEN):  # a person cannot expire it years early
        jalin.handlers.expire(ExpireAgreement(aid, on=date(2027, 4, 2)), STAFF)
    with refused("date_in_future"):
        jalin.handlers.expire(ExpireAgreement(aid, on=date(2027, 4, 2)), SCHEDULER)
    assert jalin.status(aid) == "SIGNED"


def test_expiry_reminder_only_within_ninety_days(jalin):
    aid = signed(jalin)
    version = jalin.handlers.get(aid).version
    jalin.handlers.raise_expiry_reminder(RaiseExpiryReminder(aid), SCHEDULER)
    assert jalin.handlers.get(aid).version == version
    jalin.clock.moment = datetime(2027, 1, 1, 1, tzinfo=timezone.utc)
    jalin.handlers.raise_expiry_reminder(RaiseExpiryReminder(aid), SCHEDULER)
    assert jalin.last(aid)["days_left"] == 89


def test_terminate_defaults_to_today_reject_and_cancel_end_before_signing(jalin):
    aid = signed(jalin)
    jalin.handlers.terminate(TerminateAgreement(aid, reason="Mitra pailit"), LEADER)
    assert jalin.last(aid) == {"reason": "Mitra pailit", "reason_code": "lainnya", "terminated_on": "2025-03-03"}
    rejected = jalin.handlers.draft(draft_cmd(), STAFF).stream_id
    jalin.handlers.reject(RejectAgreement(rejected, reason="Tidak sesuai RPJMD"), LEADER)
    cancelled = jalin.handlers.draft(draft_cmd(), STAFF).stream_id
    jalin.handlers.cancel(CancelAgreement(cancelled, reason="Ditarik kembali"), STAFF)
    assert (jalin.status(rejected), jalin.status(cancelled)) == ("REJECTED", "CANCELLED")
    with refused("invalid_transition"):
        jalin.handlers.cancel(CancelAgreement(aid, reason="Terlambat"), STAFF)


def test_an_addendum_goes_through_its_lifecycle_with_dates_defaulting_to_today(jalin):
    aid = signed(jalin)
    h = jalin.handlers
    h.draft_addendum(DraftAddendum(aid, reason="Nilai bertambah", changes={"funding": [APBD(300_000_000)]}), STAFF)
    h.edit_addendum(EditAddendum(aid, 1, changes={"funding": [APBD(280_000_000)]}), STAFF)
    h.submit_addendum(SubmitAddendum(aid, 1), STAFF)
    assert h.get(aid).value == 250_000_000  # nothing applies before the signing
    h.record_addendum_review(RecordAddendumReview(aid, 1, recommended=True), TKKSD)
    assert jalin.last(aid)["reviewed_on"] == "2025-03-03" and jalin.last(aid)["next_status"] == "READY_TO_SIGN"
    h.sign_addendum(SignAddendum(aid, 1, number="ADD-1/2025", signatory_name="Dr. H. Bambang",
                                 signatory_position="kepala_daerah"), LEADER)
    data = jalin.last(aid)
    assert jalin.types(aid)[-1] == "agreement.amended"
    # the value follows the new funding sources
    assert data["signed_on"] == "2025-03-03"
    assert data["changes"] == {"funding": [APBD(280_000_000)], "value": 280_000_000}
    assert data["previous"] == {"funding": [APBD(250_000_000)], "value": 250_000_000}
    assert h.get(aid).value == 280_000_000


def test_an_addendum_needing_approvals_records_them_and_can_be_withdrawn_or_rejected(jalin):
    aid = ready_to_sign(jalin, category="KSDPL", ksdd_type=None, partner_ids=(MY,))
    h = jalin.handlers
    h.approve_dprd(ApproveDprd(aid, approval_ref="KEP-DPRD/3/2025"), LEADER)
    h.approve_central(ApproveCentral(aid, approval_ref="KEMENDAGRI/9"), LEADER)
    h.sign(SignAgreement(aid, signatory_name="Bupati", signatory_position="kepala_daerah"), LEADER)
    h.draft_addendum(DraftAddendum(aid, reason="Perpanjangan", changes={"end_date": date(2027, 12, 31)}), STAFF)
    h.submit_addendum(SubmitAddendum(aid, 1), STAFF)
    h.record_addendum_review(RecordAddendumReview(aid, 1, recommended=True), TKKSD)
    assert jalin.last(aid)["next_status"] == "AWAITING_DPRD"
    h.approve_addendum_dprd(ApproveAddendumDprd(aid, 1, approval_ref="KEP-DPRD/7/2025"), LEADER)
    h.approve_addendum_central(ApproveAddendumCentral(aid, 1, approval_ref="KEMENDAGRI/12"), LEADER)
    assert jalin.last(aid) == {"addendum_no": 1, "approval_ref": "KEMENDAGRI/12", "approved_on": "2025-03-03",
                               "next_status": "READY_TO_SIGN"}
    h.withdraw_addendum(WithdrawAddendum(aid, 1, reason="Dirundingkan ulang"), STAFF)
    h.draft_addendum(DraftAddendum(aid, reason="Perpanjangan", changes={"end_date": date(2027, 9, 30)}), STAFF)
    h.reject_addendum(RejectAddendum(aid, 2, reason="Tidak disetujui Bupati"), LEADER)
    assert [(a["addendum_no"], a["status"]) for a in h.get(aid).addenda] == [(1, "WITHDRAWN"), (2, "REJECTED")]
    assert h.get(aid).end_date == END


def test_the_scheduler_builds_its_commands_and_records_each_fact_once(jalin):
    aid = signed(jalin)
    cancelled = jalin.handlers.draft(draft_cmd(), STAFF).stream_id
    jalin.handlers.cancel(CancelAgreement(cancelled, reason="Ditarik kembali"), STAFF)
    assert tick(jalin.handlers) == {"activate": 0, "raise_expiry_reminder": 0, "expire": 0, "conflicts": 0, "refused": 0}
    jalin.clock.moment = datetime(2027, 1, 1, 1, tzinfo=timezone.utc)
    assert tick(jalin.handlers) == {"activate": 1, "raise_expiry_reminder": 1, "expire": 0, "conflicts": 0, "refused": 0}
    assert tick(jalin.handlers)["raise_expiry_reminder"] == 0
    jalin.clock.moment = datetime(2027, 4, 1, 1, tzinfo=timezone.utc)
    assert tick(jalin.handlers)["expire"] == 1
    assert jalin.types(aid)[-3:] == ["agreement.activated", "agreement.expiry_reminder_raised", "agreement.expired"]
    assert all(e["actor"]["role"] == "service" for e in jalin.store.load(aid)[-3:])


# --- AttachDocument and downloads --------------------------------------------------------------

def test_attach_document_stores_the_file_and_records_its_hash(jalin):
    aid = signed(jalin)
    agreement = jalin.handlers.attach_document(AttachDocument(aid, kind="signed_scan", **upload()), LEADER)
    recorded = jalin.last(aid)["file"]
    assert jalin.files.meta(recorded["file_id"]) == recorded
    assert jalin.handlers.attachment(aid, recorded["file_id"]).content == b"%PDF-1.7 scan"
    assert agreement.snapshot()["documents"][0]["kind"] == "signed_scan"


@pytest.mark.parametrize("why", ["cancelled", "stale_version", "unknown_kind"])
def test_attach_document_removes_the_file_again_when_refused(jalin, why):
    aid = jalin.handlers.draft(draft_cmd(), STAFF).stream_id
    expected, kind = None, "kak"
    if why == "cancelled":
        jalin.handlers.cancel(CancelAgreement(aid, reason="Ditarik kembali"), STAFF)
    elif why == "stale_version":
        expected = 7
    else:
        kind = "selfie"
    with pytest.raises((DomainError, VersionMismatch)):
        jalin.handlers.attach_document(AttachDocument(aid, kind=kind, **upload()), STAFF, expected)
    assert jalin.files.files == {}


def test_an_upload_beyond_the_limit_keeps_nothing(jalin):
    aid = jalin.handlers.draft(draft_cmd(), STAFF).stream_id
    with pytest.raises(TooLarge):
        jalin.handlers.attach_document(AttachDocument(aid, kind="kak", **upload(b"x" * (64 * 1024 + 1))), STAFF)
    assert jalin.files.files == {} and jalin.types(aid) == ["agreement.drafted"]


def test_download_checks_the_recorded_hash_and_the_agreement(jalin):
    aid = signed(jalin)
    other = signed(jalin)
    jalin.handlers.attach_document(AttachDocument(aid, kind="signed_scan", **upload()), LEADER)
    file_id = jalin.last(aid)["file"]["file_id"]
    with refused("file_not_found", Refusal.NOT_FOUND):
        jalin.handlers.attachment(other, file_id)
    jalin.files.tamper(file_id, b"%PDF-1.7 forged")
    with refused("attachment_tampered", Refusal.CONFLICT):
        jalin.handlers.attachment(aid, file_id)


# --- the work plan and FileReport --------------------------------------------------------------

def test_activities_are_scoped_to_the_actors_opd(jalin):
    _kb, pks = signed_pks(jalin)
    with refused("opd_not_responsible", Refusal.FORBIDDEN):
        jalin.handlers.add_activity(activity(pks), opd("DINKES"))
    jalin.handlers.add_activity(activity(pks), opd("DISHUB"))
    assert jalin.last(pks)["activity_id"] == "bus-sekolah" and jalin.last(pks)["target"] == 4
    jalin.handlers.update_activity(UpdateActivity(pks, "bus-sekolah", {"target": 6}), opd("DISHUB"))
    assert jalin.last(pks) == {"activity_id": "bus-sekolah", "changes": {"target": 6}}
    jalin.handlers.remove_activity(RemoveActivity(pks, "bus-sekolah"), STAFF)
    assert jalin.handlers.get(pks).activities == {}


def test_report_evidence_must_have_been_uploaded(jalin):
    _kb, pks = signed_pks(jalin)
    jalin.handlers.add_activity(activity(pks), STAFF)
    jalin.clock.moment = datetime(2025, 7, 2, 2, tzinfo=timezone.utc)
    with refused("file_not_found") as info:
        jalin.handlers.file_report(FileReport(pks, "bus-sekolah", period="2025-TW2", realisation=2,
                                              evidence=("file-never-uploaded",)), opd("DISHUB"))
    assert info.value.fields == {"evidence": ["unknown file-never-uploaded"]}
    evidence = jalin.files.put(io.BytesIO(b"foto rute"), "rute.jpg", "image/jpeg", "officer-dishub")
    jalin.handlers.file_report(FileReport(pks, "bus-sekolah", period="2025-TW2", realisation=2,
                                          evidence=(evidence["file_id"],)), opd("DISHUB"))
    data = jalin.last(pks)
    assert data["filed_on"] == "2025-07-02" and data["evidence"] == [evidence]
    assert jalin.handlers.attachment(pks, evidence["file_id"]).content == b"foto rute"
    assert jalin.handlers.get(pks).progress == 50.0


def test_evidence_is_the_uploaders_until_a_report_of_one_agreement_cites_it(jalin):
    kb, pks = signed_pks(jalin)
    jalin.handlers.add_activity(activity(pks), STAFF)
    jalin.clock.moment = datetime(2025, 7, 2, 2, tzinfo=timezone.utc)
    report = dict(period="2025-TW2", realisation=2)
    theirs = jalin.handlers.upload_evidence(io.BytesIO(b"foto"), "foto.jpg", "image/jpeg", opd("DINKES"))
    with refused("evidence_not_yours", Refusal.FORBIDDEN):  # someone else's upload
        jalin.handlers.file_report(FileReport(pks, "bus-sekolah", evidence=(theirs["file_id"],), **report),
                                   opd("DISHUB"))
    jalin.handlers.attach_document(AttachDocument(kb, kind="signed_scan", **upload()), LEADER)
    scan = jalin.last(kb)["file"]["file_id"]
    with refused("evidence_of_another_agreement", Refusal.CONFLICT):  # another agreement's signed scan
        jalin.handlers.file_report(FileReport(pks, "bus-sekolah", evidence=(scan,), **report), STAFF)
    mine = jalin.handlers.upload_evidence(io.BytesIO(b"foto rute"), "rute.jpg", "image/jpeg", opd("DISHUB"))
    jalin.handlers.file_report(FileReport(pks, "bus-sekolah", evidence=(mine["file_id"],), **report), opd("DISHUB"))
    assert jalin.files.provenance(mine["file_id"])["agreement_id"] == pks
    # cited once, it belongs to the agreement: a report filed again may cite it, another may not
    jalin.handlers.file_report(FileReport(pks, "bus-sekolah", evidence=(mine["file_id"],), **report), STAFF)
    with refused("evidence_of_another_agreement", Refusal.CONFLICT):
        jalin.handlers.file_report(FileReport(kb, "bus-sekolah", evidence=(mine["file_id"],), **report), STAFF)


def test_uncited_uploads_are_limited_per_user_and_expire(jalin):
    jalin.handlers.max_pending_uploads = 2
    jalin.files.now = jalin.clock.now
    first = jalin.handlers.upload_evidence(io.BytesIO(b"a"), "a.pdf", "application/pdf", opd("DISHUB"))
    jalin.handlers.upload_evidence(io.BytesIO(b"b"), "b.pdf", "application/pdf", opd("DISHUB"))
    with refused("upload_quota_exceeded", Refusal.CONFLICT):
        jalin.handlers.upload_evidence(io.BytesIO(b"c"), "c.pdf", "application/pdf", opd("DISHUB"))
    jalin.handlers.upload_evidence(io.BytesIO(b"d"), "d.pdf", "application/pdf", opd("DINKES"))  # another user
    aid = signed(jalin)
    jalin.handlers.attach_document(AttachDocument(aid, kind="kak", **upload()), STAFF)  # documents never expire
    jalin.clock.advance(hours=23)
    assert jalin.handlers.expire_uploads() == 0
    jalin.clock.advance(hours=2)
    assert jalin.handlers.expire_uploads() == 3 and jalin.files.meta(first["file_id"]) is None
    assert len(jalin.files.files) == 1  # the KAK
    jalin.handlers.upload_evidence(io.BytesIO(b"e"), "e.pdf", "application/pdf", opd("DISHUB"))  # quota freed


def test_a_report_for_a_quarter_not_yet_started_is_refused_on_todays_date(jalin):
    _kb, pks = signed_pks(jalin)
    jalin.handlers.add_activity(activity(pks), STAFF)
    with refused("period_not_started"):
        jalin.handlers.file_report(FileReport(pks, "bus-sekolah", period="2025-TW2", realisation=1), STAFF)
