"""The open-data package: OCDS-style releases of published agreements, without personal data."""
import json
from datetime import date

from services.evaluation.exports.open_data import open_data_package, open_party


def test_open_data_has_no_personal_data():
    partners = {
        "p1": {"_id": "p1", "name": "Pemerintah Kota Jambi", "kind": "daerah_lain", "region_code": "15.71",
               "country": "ID", "contacts": [{"name": "Hendra", "email": "h@jambikota.example", "phone": "+62 1"}],
               "identifiers": {"npwp": "0123456789012345"}, "address": {"street": "Jl. Rahasia 1"}},
        "p2": {"_id": "p2", "name": "Budi Santoso", "kind": "pihak_ketiga", "subtype": "perseorangan",
               "country": "ID", "identifiers": {"npwp": "9999999999999999"}},
    }
    doc = {"_id": "a1", "status": "ACTIVE", "category": "KSDD", "lead_opd": "DINKES", "start_date": "2023-01-01",
           "end_date": "2027-12-31", "signed_on": "2022-12-20", "partner_ids": ["p1", "p2"],
           "partner_kind_of": {"p1": "daerah_lain"},
           "partner_names": {"p1": "Pemerintah Kota Jambi", "p2": "Budi Santoso"},
           "value": 100, "title": "PKS Uji", "version": 7, "activities": {"x": {"name": "Kegiatan", "target": 10}}}
    package = open_data_package([doc], partners, "http://example/api/v1/exports/open-data.json", date(2026, 1, 1),
                                published="2026-01-01T00:00:00+00:00")
    text = json.dumps(package, ensure_ascii=False)
    for secret in ("contacts", "email", "phone", "Hendra", "npwp", "Jl. Rahasia", "Budi Santoso", "9999"):
        assert secret not in text, secret
    release = package["releases"][0]
    assert release["ocid"] == "ocds-jalin-a1" and release["id"] == "a1-v7"
    assert release["contracts"][0]["value"] == {"amount": 100, "currency": "IDR"}
    assert release["contracts"][0]["status"] == "active" and "implementation" in release["tag"]
    assert [p["name"] for p in release["parties"]][:2] == ["Pemerintah Kota Jambi",
                                                           "Perseorangan (nama tidak dipublikasikan)"]
    assert open_party("p1", partners["p1"], "x")["identifier"] == {"scheme": "ID-KEMENDAGRI", "id": "15.71"}


def test_open_data_names_the_urusan_the_lead_opd_and_the_funding_sources():
    doc = {"_id": "a2", "status": "ACTIVE", "category": "KSDPK", "lead_opd": "DISBUN", "start_date": "2024-05-01",
           "end_date": "2027-01-31", "signed_on": "2024-04-22", "partner_ids": [], "version": 3, "value": 2_300,
           "urusan": ["pertanian", "kode_lama"],
           "funding": [{"source": "csr_tjsl", "amount": 1_500, "budgeted": None},
                       {"source": "apbd", "amount": 800, "budgeted": False}]}
    release = open_data_package([doc], {}, "http://x", date(2026, 1, 1), published="2026-01-01T00:00:00+00:00")[
        "releases"][0]
    items = release["contracts"][0]["items"]
    assert [(i["classification"]["id"], i["description"]) for i in items] == [("pertanian", "Pertanian"),
                                                                               ("kode_lama", "kode_lama")]
    cooperation = release["cooperation"]
    assert cooperation["leadOpd"] == "DISBUN" and cooperation["leadOpdName"] == "Dinas Perkebunan"
    assert [(f["source"], f["amount"], f["budgetedInApbd"]) for f in cooperation["fundingSources"]] == [
        ("csr_tjsl", 1_500, None), ("apbd", 800, False)]
    assert cooperation["fundingSources"][0]["name"].startswith("CSR")
    assert "budgetedInApbd" not in cooperation
