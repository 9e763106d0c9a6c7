"""Agreements over HTTP with every process running: the whole lifecycle, into the read model."""
import uuid

import pytest
from pymongo import MongoClient

from tests.e2e.flows import act, draft, register_verified, to_ready
from tests.support import wait_until


def register_item(stack, agreement_id, role="kerjasama", headers=None):
    r = stack.call("GET", "evaluation", f"/api/v1/agreements/{agreement_id}", role=None,
                   headers=headers or stack.headers(role))
    return r.json() if r.status_code == 200 else None


def test_kb_to_pks_with_work_plan_reports_then_expiry(stack):
    partner = register_verified(stack, name="Kota Jambi (uji)")
    kb = draft(stack, partner).json()
    assert kb["status"] == "DRAFT" and kb["dprd_required"] is False
    assert to_ready(stack, kb["id"])["status"] == "READY_TO_SIGN"
    signed = act(stack, kb["id"], "sign", "pimpinan", {"signatory_name": "Bupati Muaro Jambi",
                                                      "signatory_position": "kepala_daerah"})
    assert signed["status"] == "SIGNED"
    wait_until(lambda: stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}").json()["status"] == "ACTIVE",
               30, what="scheduler activates the KB (start date reached)")

    pks = draft(stack, partner, document_kind="PKS", parent_kb_id=kb["id"], title="PKS Layanan Uji",
                lead_opd="DISKOMINFO", start_date="2026-01-15", end_date="2028-12-31").json()
    to_ready(stack, pks["id"])
    act(stack, pks["id"], "sign", "pimpinan", {"signatory_name": "Sekda", "signatory_position": "sekretaris_daerah",
                                              "power_of_attorney_ref": "SK-KUASA/12/2026"})
    # The scheduler (every second here) activates it: wait, so that its append does not race the
    # commands below (a race answers 409 concurrent_modification, correctly, to one of them).
    wait_until(lambda: stack.call("GET", "agreements", f"/api/v1/agreements/{pks['id']}").json()["status"] == "ACTIVE",
               30, what="scheduler activates the PKS (start date reached)")
    for activity in ({"activity_id": "jaringan", "responsible_opd": "DISKOMINFO", "target": 10},
                     {"activity_id": "pelatihan", "responsible_opd": "DINKES", "target": 4}):
        act(stack, pks["id"], "activities", "kerjasama", {
            "name": f"Kegiatan {activity['activity_id']}", "indicator": "titik terpasang", "unit": "titik",
            "schedule_start": "2026-01-15", "schedule_end": "2027-12-31", "budget": 50_000_000, **activity})
    opd_headers = {"Authorization": f"Bearer {stack.token('opd', opd='DISKOMINFO')}"}
    for period, realisation in (("2026-TW1", 5), ("2026-TW2", 8)):
        r = stack.call("POST", "agreements", f"/api/v1/agreements/{pks['id']}/activities/jaringan/reports", role=None,
                       headers=opd_headers, json={"period": period, "realisation": realisation,
                                                  "obstacles": "cuaca", "solutions": "jadwal ulang"})
        assert r.status_code == 200, r.text
    other_opd = {"Authorization": f"Bearer {stack.token('opd', opd='DINKES')}"}
    r = stack.call("POST", "agreements", f"/api/v1/agreements/{pks['id']}/activities/jaringan/reports", role=None,
                   headers=other_opd, json={"period": "2026-TW3", "realisation": 9})
    assert r.status_code == 403 and r.json()["rule"] == "opd_not_responsible"

    write_side = stack.call("GET", "agreements", f"/api/v1/agreements/{pks['id']}").json()
    assert write_side["progress"] == 40.0  # (80 + 0) / 2
    item = wait_until(lambda: (i := register_item(stack, pks["id"])) and i["status"] == "ACTIVE"
                      and i["progress"] == 40.0 and i, 30, what="PKS active with progress in the read model")
    assert item["partners"][0]["name"] == "Kota Jambi (uji)" and item["document_kind"] == "PKS"
    assert {a["activity_id"]: a["progress"] for a in item["activities"]} == {"jaringan": 80.0, "pelatihan": 0.0}
    assert register_item(stack, pks["id"], headers=opd_headers) is not None
    assert register_item(stack, pks["id"], headers={"Authorization": f"Bearer {stack.token('opd', opd='DISPAR')}"}) \
        is None  # another OPD does not see it
    listed = stack.call("GET", "evaluation", "/api/v1/agreements",
                        params={"partner": partner, "status": "ACTIVE", "category": "KSDD"}).json()
    assert {i["id"] for i in listed["items"]} == {kb["id"], pks["id"]}

    try:
        stack.set_today("2029-01-02")  # past the PKS's end, inside the KB's term
        wait_until(lambda: register_item(stack, pks["id"])["status"] == "EXPIRED", 30, what="PKS expired")
        assert register_item(stack, kb["id"])["status"] == "ACTIVE"
        kb_now = register_item(stack, kb["id"])
        assert kb_now["days_to_end"] > 90 and kb_now["expiring_within_90_days"] is False
        stack.set_today("2030-11-01")  # H-60 of the KB: reminder raised once, flag on
        wait_until(lambda: stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}")
                   .json()["expiry_reminder"], 30, what="H-90 reminder")
        assert register_item(stack, kb["id"])["expiring_within_90_days"] is True
        expiring = stack.call("GET", "evaluation", "/api/v1/agreements", params={"expiring": 90, "partner": partner})
        assert [i["id"] for i in expiring.json()["items"]] == [kb["id"]]
    finally:
        stack.set_today(None)
    events = stack.call("GET", "agreements", f"/api/v1/streams/{kb['id']}/events", role="auditor").json()
    types = [e["event_type"] for e in events["events"]]
    assert types.count("agreement.expiry_reminder_raised") == 1 and events["chain_intact"] is True


def test_dprd_approval_required_when_the_agreement_burdens_the_public(stack):
    partner = register_verified(stack)
    kb = draft(stack, partner, burdens_public=True).json()
    assert to_ready(stack, kb["id"])["status"] == "AWAITING_DPRD"
    r = stack.call("POST", "agreements", f"/api/v1/agreements/{kb['id']}/sign", role="pimpinan",
                   json={"signatory_name": "Bupati", "signatory_position": "kepala_daerah"})
    assert r.status_code == 409 and r.json()["rule"] == "dprd_approval_required"
    assert act(stack, kb["id"], "dprd-approval", "pimpinan", {"approval_ref": "DPRD/07/2026"})["status"] == "READY_TO_SIGN"
    assert act(stack, kb["id"], "sign", "pimpinan", {"signatory_name": "Bupati",
                                                    "signatory_position": "kepala_daerah"})["status"] == "SIGNED"


def test_foreign_agreement_without_central_approval_cannot_be_signed(stack):
    partner = register_verified(stack, kind="pemda_luar_negeri", country="MY", name="Negeri Sembilan (uji)")
    kb = draft(stack, partner, category="KSDPL", ksdd_type=None).json()
    assert kb["central_required"] is True
    assert to_ready(stack, kb["id"])["status"] == "AWAITING_DPRD"
    assert act(stack, kb["id"], "dprd-approval", "pimpinan", {"approval_ref": "DPRD/1"})["status"] == "AWAITING_CENTRAL"
    r = stack.call("POST", "agreements", f"/api/v1/agreements/{kb['id']}/sign", role="pimpinan",
                   json={"signatory_name": "Bupati", "signatory_position": "kepala_daerah"})
    assert r.status_code == 409 and r.json()["rule"] == "central_approval_required"
    assert stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}").json()["status"] == "AWAITING_CENTRAL"


def test_two_officers_editing_one_draft_one_gets_412(stack):
    kb = draft(stack, register_verified(stack)).json()
    path = f"/api/v1/agreements/{kb['id']}/edit"
    first = stack.call("POST", "agreements", path, json={"title": "Judul A"}, headers={"If-Match": '"1"'})
    second = stack.call("POST", "agreements", path, json={"title": "Judul B"}, headers={"If-Match": '"1"'})
    assert first.status_code == 200 and second.status_code == 412
    assert stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}").json()["title"] == "Judul A"


@pytest.mark.parametrize("fields, status, rule", [
    ({"end_date": "2025-12-31"}, 422, "end_before_start"),
    ({"end_date": "2031-01-02"}, 422, "term_exceeds_five_years"),
    ({"partner_ids": ["partner-does-not-exist"]}, 422, "partner_not_found"),
    ({"category": "KSDPK", "ksdd_type": None}, 422, "category_partner_mismatch"),
    ({"start_date": "31-12-2026"}, 422, "validation_failed"),
    ({"urusan": ["perencanaan pembangunan"]}, 422, "unknown_urusan"),
    ({"lead_opd": "SETDA-KS"}, 422, "unknown_opd"),
    ({"value": 5}, 422, "funding_required"),
    ({"funding": [{"source": "dak", "amount": 5}]}, 422, "unknown_funding_source"),
    ({"ksdd_type": "wajib"}, 422, "ksdd_wajib_requires_neighbour"),
])
def test_bad_drafts_are_refused_by_name_and_store_nothing(stack, fields, status, rule):
    partner = register_verified(stack)
    draft(stack, partner)  # the replica has the partner now
    before = stack.call("GET", "evaluation", "/api/v1/agreements", params={"partner": partner}).json()["total"]
    body = {"category": "KSDD", "ksdd_type": "sukarela", "document_kind": "KB", "title": "Uji",
            "partner_ids": [partner], "start_date": "2026-01-01", "end_date": "2030-12-31", "lead_opd": "SETDA",
            "urusan": ["pariwisata"], "burdens_public": False, **fields}
    r = stack.call("POST", "agreements", "/api/v1/agreements", json=body)
    assert r.status_code == status and r.json()["rule"] == rule, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json") and r.json()["errors"]
    wait_until(lambda: stack.call("GET", "evaluation", "/api/v1/agreements",
                                  params={"partner": partner}).json()["total"] == 1, 30, what="the good draft only")
    assert before <= 1


def test_unverified_partner_cannot_be_party_to_a_submitted_agreement(stack):
    r = stack.call("POST", "partners", "/api/v1/partners", json={
        "name": f"Belum Verifikasi {uuid.uuid4().hex[:5]}", "kind": "daerah_lain",
        "region_code": f"16.{uuid.uuid4().int % 90 + 10}"})
    kb = draft(stack, r.json()["id"]).json()
    r = stack.call("POST", "agreements", f"/api/v1/agreements/{kb['id']}/submit", json={})
    assert r.status_code == 422 and r.json()["rule"] == "partner_not_verified"
    assert stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}").json()["status"] == "DRAFT"


def test_attachments_hash_checked_size_limited_and_tamper_evident(stack):
    kb = draft(stack, register_verified(stack)).json()
    path = f"/api/v1/agreements/{kb['id']}/documents"
    content = b"%PDF-1.4 naskah kesepakatan bersama " * 100
    r = stack.call("POST", "agreements", path, files={"file": ("kb.pdf", content, "application/pdf")},
                   data={"kind": "kak"})
    assert r.status_code == 201, r.text
    meta = r.json()["documents"][0]["file"]
    import hashlib
    assert meta["sha256"] == hashlib.sha256(content).hexdigest() and meta["size"] == len(content)
    events = stack.call("GET", "agreements", f"/api/v1/streams/{kb['id']}/events", role="auditor").json()["events"]
    assert events[-1]["data"]["file"]["sha256"] == meta["sha256"]  # the hash chain covers the document
    download = stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}/files/{meta['file_id']}")
    assert download.status_code == 200 and download.content == content

    big = stack.call("POST", "agreements", path, files={"file": ("big.pdf", b"0" * (50 * 1024 * 1024))},
                     data={"kind": "other"})
    assert big.status_code == 413 and big.json()["status"] == 413
    bad_kind = stack.call("POST", "agreements", path, files={"file": ("a.pdf", b"x")}, data={"kind": "selfie"})
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json()["errors"]
    assert len(stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}").json()["documents"]) == 1

    db = MongoClient(stack.profile.mongo_uri)[stack.settings.database("agreements")]
    chunk = db["attachments.chunks"].find_one({"files_id": meta["file_id"]})
    tampered = bytearray(chunk["data"])
    tampered[0] ^= 0xFF
    db["attachments.chunks"].update_one({"_id": chunk["_id"]}, {"$set": {"data": bytes(tampered)}})
    r = stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}/files/{meta['file_id']}")
    assert r.status_code == 409 and r.json()["rule"] == "attachment_tampered"


def test_roles_are_enforced_at_each_step(stack):
    kb = draft(stack, register_verified(stack)).json()
    r = stack.call("POST", "agreements", f"/api/v1/agreements/{kb['id']}/submit", role="opd", json={})
    assert r.status_code == 403
    r = stack.call("POST", "agreements", f"/api/v1/agreements/{kb['id']}/sign", role="kerjasama",
                   json={"signatory_name": "X", "signatory_position": "kepala_daerah"})
    assert r.status_code == 403
    assert stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}", role="publik").status_code == 403


def test_an_upload_over_the_json_limit_with_an_idempotency_key_is_stored_once(stack):
    """Issue 10: an upload with an Idempotency-Key over 1 MiB got 413 (the key's fingerprint read the
    body under the JSON limit). It is hashed under the upload limit; a retry replays the answer."""
    kb = draft(stack, register_verified(stack)).json()
    path = f"/api/v1/agreements/{kb['id']}/documents"
    content = bytes(range(256)) * (12 * 1024)  # 3 MiB: over JALIN_MAX_BODY_BYTES, under the upload limit
    key = {"Idempotency-Key": str(uuid.uuid4())}

    def upload(data):
        # A fixed multipart boundary: a client's retry sends the same bytes.
        from urllib3 import encode_multipart_formdata

        body, ctype = encode_multipart_formdata({"kind": "kak", "file": ("kak.pdf", data, "application/pdf")},
                                                boundary="jalin-retry-boundary")
        return stack.call("POST", "agreements", path, data=body, headers={**key, "Content-Type": ctype})

    first = upload(content)
    assert first.status_code == 201, first.text
    again = upload(content)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other = upload(content[:-1] + b"!")
    assert other.status_code == 422 and other.json()["rule"] == "idempotency_key_reused"
    documents = stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}").json()["documents"]
    assert len(documents) == 1 and documents[0]["file"]["size"] == len(content)


def test_an_addendum_goes_through_the_procedure_and_the_register_shows_where_it_stands(stack):
    partner = register_verified(stack)
    kb = draft(stack, partner, burdens_public=True,
               funding=[{"source": "apbd", "amount": 1_000_000_000, "budgeted": True}]).json()
    assert to_ready(stack, kb["id"])["status"] == "AWAITING_DPRD"
    act(stack, kb["id"], "dprd-approval", "pimpinan", {"approval_ref": "DPRD/08/2026"})
    act(stack, kb["id"], "sign", "pimpinan", {"signatory_name": "Bupati", "signatory_position": "kepala_daerah"})
    wait_until(lambda: stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}").json()["status"] == "ACTIVE",
               30, what="scheduler activates the KB")
    add = "addenda/1"
    act(stack, kb["id"], "addenda", "kerjasama", {"reason": "Nilai bertambah",
                                                "changes": {"funding": [{"source": "apbd", "amount": 1_200_000_000,
                                                                         "budgeted": True}]}})
    act(stack, kb["id"], f"{add}/submit", "kerjasama")
    act(stack, kb["id"], f"{add}/review", "tkksd", {"recommended": True, "notes": "Layak"}, expect=200)
    r = stack.call("POST", "agreements", f"/api/v1/agreements/{kb['id']}/{add}/sign", role="pimpinan",
                   json={"number": "ADD-1", "signatory_name": "Bupati", "signatory_position": "kepala_daerah"})
    assert r.status_code == 409 and r.json()["rule"] == "dprd_approval_required"  # it burdens the public
    awaiting = {"addendum_no": 1, "status": "AWAITING_DPRD"}
    item = wait_until(lambda: (i := register_item(stack, kb["id"])) and i.get("open_addendum") == awaiting and i, 30,
                      what="the addendum awaiting the DPRD in the register")
    assert item["value"] == 1_000_000_000 and item["status"] == "ACTIVE"  # in force, unchanged meanwhile
    act(stack, kb["id"], f"{add}/dprd-approval", "pimpinan", {"approval_ref": "DPRD/11/2026"})
    signed = act(stack, kb["id"], f"{add}/sign", "pimpinan",
                 {"number": "ADD-1", "signatory_name": "Bupati", "signatory_position": "kepala_daerah"})
    assert signed["value"] == 1_200_000_000 and signed["addenda"][0]["status"] == "SIGNED"
    item = wait_until(lambda: (i := register_item(stack, kb["id"])) and i.get("amendment_count") == 1 and i, 30,
                      what="the signed addendum in the register")
    assert item["value"] == 1_200_000_000 and item["open_addendum"] is None
    assert [(a["addendum_no"], a["status"], sorted(a["changed"])) for a in item["addenda"]] == [
        (1, "SIGNED", ["funding", "value"])]
    feed = stack.call("GET", "evaluation", "/api/v1/feed", params={"subject": kb["id"], "per_page": 50}).json()
    assert {"agreement.addendum_drafted", "agreement.addendum_review_recorded", "agreement.addendum_dprd_approved",
            "agreement.amended"} <= {e["event_type"] for e in feed["items"]}


def test_a_negative_review_returns_the_draft_and_rejection_is_the_leaders_decision(stack):
    kb = draft(stack, register_verified(stack)).json()
    flow_review = {"recommended": False, "notes": "Objek tumpang tindih dengan program provinsi"}
    for command, role in (("submit", "kerjasama"), ("start-review", "tkksd")):
        act(stack, kb["id"], command, role)
    returned = act(stack, kb["id"], "review", "tkksd", flow_review)
    assert returned["status"] == "DRAFT"
    assert returned["revision_requests"] == [{"reason": flow_review["notes"], "negative_review": True}]
    r = stack.call("POST", "agreements", f"/api/v1/agreements/{kb['id']}/reject", role="tkksd",
                   json={"reason": "Ditolak"})
    assert r.status_code == 403
    assert act(stack, kb["id"], "reject", "pimpinan", {"reason": "Sesuai rekomendasi TKKSD"})["status"] == "REJECTED"
    wait_until(lambda: (register_item(stack, kb["id"]) or {}).get("status") == "REJECTED", 30,
               what="the rejection in the register")
