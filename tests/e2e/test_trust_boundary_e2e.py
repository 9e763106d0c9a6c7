"""The trust boundary over HTTP (issue 10's observations): the public sees no personal data
anywhere, and clients do not choose "today".

Access by role and OPD for every operation is tested by test_access_matrix_e2e.py.
"""
import uuid

from shared.personal_data import PUBLIC_INDIVIDUAL_NAME
from tests.e2e.flows import act, draft, register_verified, to_ready
from tests.e2e.test_evaluation_e2e import in_register
from tests.support import wait_until

SECRETS = ("Siti Aminah", "3505123456780001", "Jl. Lintas Timur", "0812-7777-1234", "siti@example.id",
           "wafat", "Drs. H. Bachyuni")


def public(stack, service, path, **params):
    r = stack.call("GET", service, path, role="publik", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def leaked(body) -> list[str]:
    text = str(body)
    return [secret for secret in SECRETS if secret in text]


def test_the_public_never_sees_personal_data(stack):
    tag = uuid.uuid4().hex[:6]
    person = register_verified(stack, name=f"Siti Aminah {tag}", kind="pihak_ketiga", subtype="perseorangan",
                               identifiers={"npwp": "3505123456780001"}, address={"street": "Jl. Lintas Timur No. 7", "city": "Sengeti"},
                               contacts=[{"name": "Siti Aminah", "position": "Pemilik", "phone": "0812-7777-1234",
                                          "email": "siti@example.id"}])
    kb = draft(stack, person, category="KSDPK", ksdd_type=None, title=f"KB Beasiswa Perseorangan {tag}").json()
    to_ready(stack, kb["id"])
    act(stack, kb["id"], "sign", "pimpinan", {"signatory_name": "Drs. H. Bachyuni", "signatory_position":
                                              "kepala_daerah"})
    act(stack, kb["id"], "terminate", "pimpinan", {"reason": "Penerima beasiswa wafat"})
    wait_until(lambda: in_register(stack, kb["id"])["status"] == "TERMINATED" or None, 30, what="terminated KB")
    wait_until(lambda: stack.call("GET", "evaluation", f"/api/v1/portfolios/partners/{person}").status_code == 200
               or None, 30, what="the partner's portfolio")

    # staff see everything (the data is there to leak)
    staff = stack.call("GET", "partners", f"/api/v1/partners/{person}").json()
    assert staff["contacts"] and staff["identifiers"]["npwp"] == "3505123456780001"
    assert in_register(stack, kb["id"])["closing_reason"] == "Penerima beasiswa wafat"

    # the public: the partners service, the read model's list, the register entry, portfolios, open data
    partner = public(stack, "partners", f"/api/v1/partners/{person}")
    assert partner["name"] == PUBLIC_INDIVIDUAL_NAME and partner["kind"] == "pihak_ketiga"
    listed = public(stack, "evaluation", "/api/v1/partners", kind="pihak_ketiga", per_page=200)["items"]
    entry = public(stack, "evaluation", f"/api/v1/agreements/{kb['id']}")
    assert [p["name"] for p in entry["partners"]] == [PUBLIC_INDIVIDUAL_NAME] and entry["status"] == "TERMINATED"
    portfolio = public(stack, "evaluation", f"/api/v1/portfolios/partners/{person}")
    assert portfolio["name"] == PUBLIC_INDIVIDUAL_NAME
    portfolios = public(stack, "evaluation", "/api/v1/portfolios/partners")
    open_data = public(stack, "evaluation", "/api/v1/exports/open-data.json")
    register = public(stack, "evaluation", "/api/v1/agreements", q="Beasiswa Perseorangan", per_page=50)
    for body in (partner, listed, entry, portfolio, portfolios, open_data, register):
        assert leaked(body) == [], leaked(body)


def test_clients_do_not_choose_today(stack):
    partner = register_verified(stack)
    kb = draft(stack, partner, start_date="2026-01-01", end_date="2027-12-31").json()
    to_ready(stack, kb["id"])
    # a signing dated after today, or before the review it follows, is refused
    sign = {"signatory_name": "Bupati Muaro Jambi", "signatory_position": "kepala_daerah"}
    future = act(stack, kb["id"], "sign", "pimpinan", {**sign, "signed_on": "2099-01-01"}, expect=422)
    assert future["rule"] == "date_in_future"
    early = act(stack, kb["id"], "sign", "pimpinan", {**sign, "signed_on": "2000-01-01"}, expect=422)
    assert early["rule"] == "date_before_previous_step"
    act(stack, kb["id"], "sign", "pimpinan", sign)
    # an officer cannot expire it years early by choosing the day
    refused = act(stack, kb["id"], "expire", "kerjasama", {"on": "2028-01-01"}, expect=403)
    assert refused["rule"] == "date_set_by_server"
    assert stack.call("GET", "agreements", f"/api/v1/agreements/{kb['id']}").json()["status"] in ("SIGNED", "ACTIVE")


def test_evidence_is_cited_only_by_its_uploader_and_only_in_one_agreement(stack):
    partner = register_verified(stack)
    kb = draft(stack, partner, start_date="2026-01-01", end_date="2028-12-31").json()
    to_ready(stack, kb["id"])
    act(stack, kb["id"], "sign", "pimpinan", {"signatory_name": "Bupati Muaro Jambi",
                                              "signatory_position": "kepala_daerah"})
    scan = stack.call("POST", "agreements", f"/api/v1/agreements/{kb['id']}/documents",
                      files={"file": ("kb.pdf", b"%PDF-1.7 naskah", "application/pdf")}, data={"kind": "signed_scan"},
                      role="pimpinan").json()["documents"][0]["file"]["file_id"]
    pks = draft(stack, partner, document_kind="PKS", parent_kb_id=kb["id"], lead_opd="DISKOMINFO",
                start_date="2026-01-15", end_date="2028-12-31").json()
    to_ready(stack, pks["id"])
    act(stack, pks["id"], "sign", "pimpinan", {"signatory_name": "Kepala Dinas Kominfo", "signatory_position":
                                               "kepala_perangkat_daerah", "power_of_attorney_ref": "SK-KUASA/3"})
    wait_until(lambda: stack.call("GET", "agreements", f"/api/v1/agreements/{pks['id']}").json()["status"] == "ACTIVE",
               30, what="the scheduler activates the PKS")
    act(stack, pks["id"], "activities", "kerjasama", {
        "activity_id": "jaringan", "name": "Jaringan desa", "indicator": "titik terpasang", "target": 10,
        "unit": "titik", "schedule_start": "2026-01-15", "schedule_end": "2027-12-31",
        "responsible_opd": "DISKOMINFO"})
    officer = {"Authorization": f"Bearer {stack.token('opd', sub='officer-a')}"}
    colleague = {"Authorization": f"Bearer {stack.token('opd', sub='officer-b')}"}
    upload = stack.call("POST", "agreements", "/api/v1/files", role=None, headers=officer,
                        files={"file": ("foto.jpg", b"\xff\xd8foto", "image/jpeg")})
    assert upload.status_code == 201, upload.text
    report = f"/api/v1/agreements/{pks['id']}/activities/jaringan/reports"
    body = {"period": "2026-TW1", "realisation": 3}
    r = stack.call("POST", "agreements", report, role=None, headers=colleague,
                   json={**body, "evidence": [upload.json()["file_id"]]})
    assert r.status_code == 403 and r.json()["rule"] == "evidence_not_yours"
    r = stack.call("POST", "agreements", report, role=None, headers=officer, json={**body, "evidence": [scan]})
    assert r.status_code == 409 and r.json()["rule"] == "evidence_of_another_agreement"
    r = stack.call("POST", "agreements", report, role=None, headers=officer,
                   json={**body, "evidence": [upload.json()["file_id"]]})
    assert r.status_code == 200, r.text
