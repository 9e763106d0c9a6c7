"""Each request schema builds its command in ``post_load``, with the ids of the route's path."""
from __future__ import annotations

import dataclasses
import io
from datetime import date

import pytest
from marshmallow import ValidationError
from marshmallow.experimental.context import Context

from services.agreements import commands as c
from services.agreements import schemas as s

AID = "agreement-1"
PATH = {"agreement_id": AID}
ACTIVITY = {"agreement_id": AID, "activity_id": "bus-sekolah"}
DRAFT = {"category": "KSDD", "ksdd_type": "sukarela", "document_kind": "KB", "title": "Kerja sama angkutan",
         "partner_ids": ["partner-kota"], "start_date": "2025-04-01", "end_date": "2027-03-31",
         "lead_opd": "DISHUB", "urusan": ["perhubungan"], "burdens_public": False, "budgeted_in_apbd": True}
SIGNATORY = {"signatory_name": "Dr. H. Bambang", "signatory_position": "kepala_daerah"}

CASES = [
    (s.DraftSchema, {}, DRAFT, c.DraftAgreement(
        category="KSDD", ksdd_type="sukarela", document_kind="KB", title="Kerja sama angkutan",
        partner_ids=("partner-kota",), start_date=date(2025, 4, 1), end_date=date(2027, 3, 31), lead_opd="DISHUB",
        urusan=("perhubungan",), burdens_public=False, budgeted_in_apbd=True)),
    (s.EditDraftSchema, PATH, {"title": "Judul baru", "our_number": None, "partner_ids": ["p-1"], "parent_kb_id": "kb"},
     c.EditDraft(AID, {"title": "Judul baru", "our_number": None}, partner_ids=("p-1",), parent_kb_id="kb")),
    (s.EditDraftSchema, PATH, {"value": 5}, c.EditDraft(AID, {"value": 5})),
    (s.SubmitSchema, PATH, {}, c.SubmitAgreement(AID)),
    (s.StartReviewSchema, PATH, {}, c.StartReview(AID)),
    (s.ReturnForRevisionSchema, PATH, {"reason": "Lengkapi KAK"}, c.ReturnForRevision(AID, "Lengkapi KAK")),
    (s.ReviewSchema, PATH, {"recommended": True}, c.RecordReview(AID, recommended=True)),
    (s.ReviewSchema, PATH, {"recommended": False, "notes": "Tidak layak", "reviewed_on": "2025-02-27"},
     c.RecordReview(AID, recommended=False, notes="Tidak layak", reviewed_on=date(2025, 2, 27))),
    (s.ApproveDprdSchema, PATH, {"approval_ref": "KEP-DPRD/3"}, c.ApproveDprd(AID, "KEP-DPRD/3")),
    (s.ApproveCentralSchema, PATH, {"approval_ref": "KEMENDAGRI/9", "approved_on": "2025-03-01"},
     c.ApproveCentral(AID, "KEMENDAGRI/9", date(2025, 3, 1))),
    (s.SignSchema, PATH, SIGNATORY, c.SignAgreement(AID, **SIGNATORY)),
    (s.SignSchema, PATH, {**SIGNATORY, "signed_on": "2025-02-28", "our_number": "100/KB/2025"},
     c.SignAgreement(AID, **SIGNATORY, signed_on=date(2025, 2, 28), our_number="100/KB/2025")),
    (s.ActivateSchema, PATH, {}, c.ActivateAgreement(AID)),
    (s.ExpireSchema, PATH, {"on": "2027-04-01"}, c.ExpireAgreement(AID, on=date(2027, 4, 1))),
    (s.TerminateSchema, PATH, {"reason": "Mitra pailit"}, c.TerminateAgreement(AID, "Mitra pailit")),
    (s.RejectSchema, PATH, {"reason": "Tidak sesuai"}, c.RejectAgreement(AID, "Tidak sesuai")),
    (s.CancelSchema, PATH, {"reason": "Ditarik"}, c.CancelAgreement(AID, "Ditarik")),
    (s.AmendSchema, PATH, {"number": "ADD-1", "reason": "Nilai bertambah", "changes": {"value": 3}, **SIGNATORY},
     c.AmendAgreement(AID, number="ADD-1", reason="Nilai bertambah", changes={"value": 3}, **SIGNATORY)),
    (s.WaiveFinalEvaluationSchema, PATH, {"reason": "Evaluasi digantikan audit Inspektorat"},
     c.WaiveFinalEvaluation(AID, "Evaluasi digantikan audit Inspektorat")),
    (s.DraftSchema, {}, {**DRAFT, "extends_agreement_id": "agreement-0", "partner_successions": [
        {"predecessor_id": "partner-kominfo", "successor_id": "partner-kota", "basis": "Perpres 174/2024"}]},
     c.DraftAgreement(
         category="KSDD", ksdd_type="sukarela", document_kind="KB", title="Kerja sama angkutan",
         partner_ids=("partner-kota",), start_date=date(2025, 4, 1), end_date=date(2027, 3, 31), lead_opd="DISHUB",
         urusan=("perhubungan",), burdens_public=False, budgeted_in_apbd=True, extends_agreement_id="agreement-0",
         partner_successions=({"predecessor_id": "partner-kominfo", "successor_id": "partner-kota",
                               "basis": "Perpres 174/2024"},))),
    (s.AddActivitySchema, PATH, {"activity_id": "bus-sekolah", "name": "Bus sekolah", "indicator": "rute aktif",
                                 "target": 4, "unit": "rute", "schedule_start": "2025-04-01",
                                 "schedule_end": "2025-12-31", "responsible_opd": "DISHUB"},
     c.AddActivity(AID, "bus-sekolah", name="Bus sekolah", indicator="rute aktif", target=4.0, unit="rute",
                   schedule_start=date(2025, 4, 1), schedule_end=date(2025, 12, 31), responsible_opd="DISHUB")),
    (s.UpdateActivitySchema, ACTIVITY, {"target": 6}, c.UpdateActivity(AID, "bus-sekolah", {"target": 6.0})),
    (s.RemoveActivitySchema, ACTIVITY, {}, c.RemoveActivity(AID, "bus-sekolah")),
    (s.ReportSchema, ACTIVITY, {"period": "2025-TW2", "realisation": 2, "evidence": ["file-1"]},
     c.FileReport(AID, "bus-sekolah", period="2025-TW2", realisation=2.0, evidence=("file-1",))),
]


@pytest.mark.parametrize("schema, path, body, command", CASES,
                         ids=[f"{case[0].__name__}-{i}" for i, case in enumerate(CASES)])
def test_the_schema_builds_its_command(schema, path, body, command):
    with Context(path):
        assert schema().load(body) == command


def test_attach_document_form_builds_its_command_with_the_upload():
    stream = io.BytesIO(b"scan")
    upload = {"stream": stream, "filename": "naskah.pdf", "media_type": "application/pdf"}
    with Context({"agreement_id": AID, "upload": upload}):
        assert s.AttachDocumentForm().load({"kind": "signed_scan"}) == c.AttachDocument(
            AID, kind="signed_scan", stream=stream, filename="naskah.pdf", media_type="application/pdf")


def test_every_command_a_request_can_carry_has_a_schema_case():
    covered = {type(case[3]) for case in CASES} | {c.AttachDocument}
    scheduler_only = {c.RaiseExpiryReminder}
    every = {obj for obj in vars(c).values() if dataclasses.is_dataclass(obj) and obj.__module__ == c.__name__}
    assert every - scheduler_only == covered


@pytest.mark.parametrize("schema, body", [
    (s.EditDraftSchema, {}),                                        # nothing to change
    (s.AddActivitySchema, {"name": "Bus sekolah", "indicator": "rute aktif", "target": 4, "unit": "rute",
                           "schedule_start": "2025-04-01", "schedule_end": "2025-12-31",
                           "responsible_opd": "DISHUB"}),          # no activity_id
    (s.SubmitSchema, {"agreement_id": "agreement-other"}),          # the target comes from the path only
])
def test_invalid_bodies_build_no_command(schema, body):
    with Context(ACTIVITY), pytest.raises(ValidationError):
        schema().load(body)


def test_commands_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.SubmitAgreement(AID).agreement_id = "agreement-2"  # type: ignore[misc]
