"""The agreements API's routes on the handlers wired with fakes: every command route reaches its
handler with the ids of its path, the body's fields and the caller (HTTP contract unchanged)."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest

from shared.application import FixedClock, Repository
from shared.auth import mint_token
from shared.config import Settings
from shared.eventstore import InMemoryEventStore
from shared.http import create_service_app
from shared.idempotency import InMemoryIdempotencyStore

from services.agreements.api import blp
from services.agreements.bootstrap import Container
from services.agreements.domain import Agreement
from services.agreements.handlers import AgreementHandlers
from services.agreements.policy import build_policy
from services.agreements.ports import InMemoryAttachmentStore, InMemoryEvaluationDirectory, InMemoryExtensionIndex, InMemoryPartnerDirectory

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=timezone.utc)
DRAFT = {"category": "KSDD", "ksdd_type": "sukarela", "document_kind": "KB", "title": "Kerja sama angkutan",
         "partner_ids": ["partner-kota"], "start_date": "2025-04-01", "end_date": "2027-03-31",
         "lead_opd": "DISHUB", "urusan": ["perhubungan"], "burdens_public": False}
SIGN = {"signatory_name": "Dr. H. Bambang", "signatory_position": "kepala_daerah"}


class Api:
    def __init__(self):
        settings = Settings.from_env({})
        self.settings, self.store, self.clock = settings, InMemoryEventStore(), FixedClock(NOW)
        self.partners = InMemoryPartnerDirectory([
            {"id": "partner-kota", "name": "Kota Jambi", "kind": "daerah_lain"},
            {"id": "partner-johor", "name": "Negeri Johor", "kind": "pemda_luar_negeri", "country": "MY"}])
        self.files = InMemoryAttachmentStore(settings.max_upload_bytes)
        self.evaluations = InMemoryEvaluationDirectory()
        handlers = AgreementHandlers(Repository(self.store, Agreement, self.clock), self.partners, self.files,
                                     self.clock, settings.timezone, evaluations=self.evaluations,
                                     extensions=InMemoryExtensionIndex())
        container = Container(settings, None, self.clock, self.store, handlers)
        app, api = create_service_app("agreements", settings, title="t", idempotency=InMemoryIdempotencyStore(),
                                      policy=build_policy(container))
        app.extensions["jalin"].container = container
        api.register_blueprint(blp)
        self.client = app.test_client()

    def call(self, path, role, body=None, *, version=None, opd=None, **kwargs):
        headers = {"Authorization": "Bearer " + mint_token(self.settings, role, opd=opd)}
        if version is not None:
            headers["If-Match"] = f'"{version}"'
        if "data" in kwargs:
            return self.client.post(f"/api/v1{path}", headers=headers, **kwargs)
        return self.client.post(f"/api/v1{path}", json=body if body is not None else {}, headers=headers)

    def last(self, aid):
        return self.store.load(aid)[-1]

    def draft(self, **overrides):
        response = self.call("/agreements", "kerjasama", {**DRAFT, **overrides})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    def walk(self, aid, *steps):
        for path, role, body in steps:
            response = self.call(f"/agreements/{aid}/{path}", role, body)
            assert response.status_code == 200, (path, response.get_json())
        return response


@pytest.fixture
def api():
    return Api()


def test_the_workflow_routes_reach_their_handlers(api):
    aid = api.draft()
    assert api.last(aid)["data"]["partner_ids"] == ["partner-kota"]
    response = api.call(f"/agreements/{aid}/edit", "kerjasama", {"title": "Judul baru"}, version=1)
    assert response.status_code == 200 and response.headers["ETag"] == '"2"'
    assert api.last(aid)["data"] == {"changes": {"title": "Judul baru"}, "author": "kerjasama-user"}
    api.walk(aid, ("submit", "kerjasama", {}), ("start-review", "tkksd", {}),
             ("return", "tkksd", {"reason": "Lengkapi KAK"}), ("submit", "kerjasama", {}),
             ("start-review", "tkksd", {}), ("review", "tkksd", {"recommended": True}))
    assert api.last(aid)["data"]["reviewed_on"] == "2025-03-03"
    response = api.walk(aid, ("sign", "pimpinan", SIGN))
    assert response.get_json()["status"] == "SIGNED" and api.last(aid)["data"]["signed_on"] == "2025-03-03"
    assert api.last(aid)["actor"]["role"] == "pimpinan"
    api.clock.moment = datetime(2025, 4, 1, 2, tzinfo=timezone.utc)  # the start date: in force from today
    api.walk(aid, ("activate", "service", {}),
             ("addenda", "kerjasama", {"reason": "Nilai bertambah", "changes": {"funding": [{"source": "mitra", "amount": 5}]}}),
             ("addenda/1/edit", "kerjasama", {"changes": {"funding": [{"source": "mitra", "amount": 6}]}}),
             ("addenda/1/submit", "kerjasama", {}),
             ("addenda/1/review", "tkksd", {"recommended": True}),
             ("addenda/1/sign", "pimpinan", {"number": "ADD-1", **SIGN}),
             ("terminate", "pimpinan", {"reason": "Mitra pailit"}))
    assert [e["event_type"] for e in api.store.load(aid)][-7:] == [
        "agreement.activated", "agreement.addendum_drafted", "agreement.addendum_edited",
        "agreement.addendum_submitted", "agreement.addendum_review_recorded", "agreement.amended",
        "agreement.terminated"]
    assert api.last(aid)["data"] == {"reason": "Mitra pailit", "reason_code": "lainnya", "terminated_on": "2025-04-01"}


def test_foreign_approvals_reject_and_cancel(api):
    aid = api.draft(category="KSDPL", ksdd_type=None, partner_ids=["partner-johor"])
    api.walk(aid, ("submit", "kerjasama", {}), ("start-review", "tkksd", {}), ("review", "tkksd", {"recommended": True}),
             ("dprd-approval", "pimpinan", {"approval_ref": "KEP-DPRD/3"}),
             ("central-approval", "pimpinan", {"approval_ref": "KEMENDAGRI/9", "approved_on": "2025-03-03"}))
    assert api.last(aid)["data"]["approved_on"] == "2025-03-03"
    api.walk(aid, ("reject", "pimpinan", {"reason": "Tidak sesuai RPJMD"}))
    response = api.call(f"/agreements/{aid}/addenda/x/submit", "kerjasama", {})
    assert response.status_code == 409 and response.get_json()["rule"] == "invalid_transition"
    other = api.draft()
    api.walk(other, ("cancel", "kerjasama", {"reason": "Ditarik kembali"}))
    assert api.last(other)["event_type"] == "agreement.cancelled"
    response = api.call(f"/agreements/{other}/expire", "service", {})
    assert response.status_code == 409 and response.get_json()["rule"] == "invalid_transition"


def test_the_work_plan_routes_take_the_activity_from_the_path(api):
    kb = api.draft()
    api.walk(kb, ("submit", "kerjasama", {}), ("start-review", "tkksd", {}), ("review", "tkksd", {"recommended": True}),
             ("sign", "pimpinan", SIGN))
    pks = api.draft(document_kind="PKS", parent_kb_id=kb)
    api.walk(pks, ("submit", "kerjasama", {}), ("start-review", "tkksd", {}),
             ("review", "tkksd", {"recommended": True}),
             ("sign", "pimpinan", {"signatory_name": "Ir. Sutrisno", "signatory_position": "kepala_perangkat_daerah",
                                   "power_of_attorney_ref": "SK-KUASA/7"}))
    activity = {"name": "Bus sekolah", "indicator": "rute aktif", "target": 4, "unit": "rute",
                "schedule_start": "2025-04-01", "schedule_end": "2025-12-31", "responsible_opd": "DISHUB"}
    missing_id = api.call(f"/agreements/{pks}/activities", "kerjasama", activity)
    assert missing_id.status_code == 422 and "activity_id" in missing_id.get_json()["errors"]
    for activity_id in ("bus-sekolah", "halte"):
        response = api.call(f"/agreements/{pks}/activities", "opd", {**activity, "activity_id": activity_id},
                            opd="DISHUB")
        assert response.status_code == 200, response.get_json()
    api.walk(pks, ("activities/halte/update", "kerjasama", {"target": 6}))
    assert api.last(pks)["data"] == {"activity_id": "halte", "changes": {"target": 6}}
    api.walk(pks, ("activities/halte/remove", "kerjasama", {}))
    assert api.last(pks)["data"] == {"activity_id": "halte"}
    api.clock.moment = datetime(2025, 7, 2, 2, tzinfo=timezone.utc)
    response = api.call(f"/agreements/{pks}/activities/bus-sekolah/reports", "opd",
                        {"period": "2025-TW2", "realisation": 2}, opd="DISHUB")
    assert response.status_code == 200 and response.get_json()["progress"] == 50.0
    assert api.last(pks)["data"]["activity_id"] == "bus-sekolah" and api.last(pks)["data"]["filed_on"] == "2025-07-02"


def test_documents_are_attached_with_the_path_id_and_a_stale_version_is_412(api):
    aid = api.draft()
    response = api.call(f"/agreements/{aid}/documents", "kerjasama",
                        data={"kind": "kak", "file": (io.BytesIO(b"KAK angkutan"), "kak.pdf", "application/pdf")},
                        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    file_id = api.last(aid)["data"]["file"]["file_id"]
    assert api.files.get_verified(file_id).content == b"KAK angkutan"
    stale = api.call(f"/agreements/{aid}/documents", "kerjasama", version=1,
                     data={"kind": "kak", "file": (io.BytesIO(b"lagi"), "lagi.pdf", "application/pdf")},
                     content_type="multipart/form-data")
    assert stale.status_code == 412 and len(api.files.files) == 1
    response = api.call(f"/agreements/{aid}/submit", "kerjasama", version=1)
    assert response.status_code == 412 and response.get_json()["current_version"] == 2


def test_the_access_policy_guards_the_command_routes(api):
    aid = api.draft()
    response = api.call(f"/agreements/{aid}/sign", "tkksd", SIGN)
    assert response.status_code == 403 and response.get_json()["rule"] == "access_denied"
    assert [e["event_type"] for e in api.store.load(aid)] == ["agreement.drafted"]


def test_a_body_field_cannot_name_another_target(api):
    aid = api.draft()
    response = api.call(f"/agreements/{aid}/submit", "kerjasama", {"agreement_id": "agreement-other"})
    assert response.status_code == 422 and response.get_json()["rule"] == "validation_failed"


def test_the_final_evaluation_is_waived_by_the_leadership_only(api):
    aid = api.draft()
    api.walk(aid, ("submit", "kerjasama", {}), ("start-review", "tkksd", {}), ("review", "tkksd", {"recommended": True}),
             ("sign", "pimpinan", SIGN))
    for role in ("admin", "kerjasama", "tkksd"):
        response = api.call(f"/agreements/{aid}/waive-final-evaluation", role, {"reason": "Diaudit Inspektorat"})
        assert response.status_code == 403 and response.get_json()["rule"] == "access_denied"
    response = api.call(f"/agreements/{aid}/waive-final-evaluation", "pimpinan", {"reason": "Diaudit Inspektorat"})
    assert response.status_code == 200
    assert response.get_json()["final_evaluation_waiver"] == {"reason": "Diaudit Inspektorat", "waived_on": "2025-03-03"}
    assert api.last(aid)["event_type"] == "agreement.final_evaluation_waived"
    again = api.call(f"/agreements/{aid}/waive-final-evaluation", "pimpinan", {"reason": "Sekali lagi"})
    assert again.status_code == 409 and again.get_json()["rule"] == "final_evaluation_already_waived"
