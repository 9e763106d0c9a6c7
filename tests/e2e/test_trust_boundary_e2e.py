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
